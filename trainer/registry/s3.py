"""`S3Storage`: the registry in an S3-compatible bucket, `PREFIX/NAME/VERSION/FILE`.

The `Storage` seam by object-store means. A draft is uploaded under
`NAME/.drafts/ID/`; committing claims the number with `If-None-Match: *` on
`NAME/.claims/VERSION` (so two publishers never share it), copies the files into
`NAME/VERSION/` and writes `manifest.json` last: a version is listed only once its
manifest exists. Aliases change by `If-Match` on the ETag read. A poll is cheap: a
listing of the model remembered, then one HEAD of the next claim (see `state_token`).
"""

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from trainer.errors import StorageError, VerificationError
from trainer.registry.aliases import ALIASES_FILE, HISTORY_FILE
from trainer.registry.manifest import MANIFEST_FILE
from trainer.registry.names import (
    NAME_PATTERN,
    check_name,
    is_version_name,
    parse_version,
)
from trainer.registry.s3_cache import FileCache
from trainer.registry.s3_client import PreconditionFailed, S3Client, S3Location
from trainer.registry.storage import (
    NOT_A_DIRECTORY,
    NOT_A_VERSION,
    AliasChange,
    IgnoredEntry,
    ReadFile,
)

DRAFTS = ".drafts"
CLAIMS = ".claims"
# a numbered prefix with files but no manifest and no claim: copied in by hand, or
# half deleted; readers skip it (a claimed one is an interrupted commit: temporary)
NO_MANIFEST = "a numbered prefix without manifest.json"
# how long a poller trusts its remembered listing of a model before listing it again:
# new versions are found sooner by the claim probe; this bounds how late it sees
# what no claim announces (a version deleted, or copied in by hand; a stray key)
RESCAN_SECONDS = 60.0
# compare-and-set rounds of one alias change before giving up (each lost round means
# another writer's change landed)
ALIAS_ATTEMPTS = 20


@dataclass
class _Listing:
    """One model's keys, classified: what a full listing of `NAME/` says."""

    versions: tuple[int, ...] = ()
    numbers: set[int] = field(default_factory=set)  # every numbered entry
    claims: set[int] = field(default_factory=set)
    ignored: list[IgnoredEntry] = field(default_factory=list)
    aliases_etag: str | None = None
    temp: dict[str, float] = field(default_factory=dict)  # entry -> last modified


class S3Storage:
    """A bucket and prefix; see `trainer.registry.storage.Storage` for the contract."""

    def __init__(
        self,
        url: str,
        *,
        client: object = None,
        cache_dir: Path | None = None,
        rescan_seconds: float = RESCAN_SECONDS,
    ) -> None:
        self.location = S3Location.parse(url)
        self.s3 = S3Client(self.location, client)
        self.cache = FileCache(cache_dir) if cache_dir is not None else None
        self.rescan_seconds = rescan_seconds
        self._known: dict[str, tuple[float, _Listing]] = {}
        self._lock = threading.Lock()
        self._writes_checked = False

    # --- reading -----------------------------------------------------------------

    def model_names(self) -> list[str]:
        return [n for n in self.model_entries() if self._listing(n).versions]

    def model_entries(self) -> list[str]:
        prefix = self.location.prefix
        names = (
            entry["Prefix"][len(prefix) :].rstrip("/")
            for entry in self.s3.keys(prefix, delimiter="/")
            if "Prefix" in entry
        )
        return sorted(n for n in names if NAME_PATTERN.fullmatch(n))

    def versions(self, name: str) -> list[int]:
        return list(self._scan(name).versions)

    def refusal(self, name: str, version: int) -> str | None:
        return None  # an object store has no symlinks to refuse

    def version(self, name: str, version: int) -> "S3Version":
        files = self._version_files(name, version)
        if MANIFEST_FILE not in files:
            raise FileNotFoundError(f"{self.location.url}/{name}/{version}")
        return S3Version(self, name, version, files)

    def read(self, name: str, file: str, max_bytes: int) -> bytes:
        return self._get(self._key(name, file), max_bytes)[0]

    def state_token(self, name: str) -> tuple:
        """The versions, the ETag of `aliases.json` and the ignored entries.

        Cheap: within `rescan_seconds` of its last listing of the model, one HEAD of
        the claim after the highest version (absent: nothing was published since)
        and one HEAD of `aliases.json`; otherwise one listing of the model (1,000
        keys a request), which also gives the aliases' ETag.
        """
        known = self._known.get(check_name(name))
        if known is None or time.monotonic() - known[0] >= self.rescan_seconds:
            listing = self._scan(name)
            etag = listing.aliases_etag
        else:
            listing = known[1]
            if self._published_since(name, listing):
                listing = self._scan(name)
                etag = listing.aliases_etag
            else:
                etag = self._etag(self._key(name, ALIASES_FILE))
        return (listing.versions, etag, tuple(listing.ignored))

    def version_stamp(self, name: str, version: int) -> tuple:
        files = self._version_files(name, version)
        if not files:
            raise FileNotFoundError(f"{self.location.url}/{name}/{version}")
        return tuple(sorted((f, size, etag) for f, (etag, size) in files.items()))

    # --- writing -----------------------------------------------------------------

    def next_version(self, name: str) -> int:
        # claims count, even abandoned ones: a number is never given out twice
        listing = self._scan(name)
        return max(listing.numbers | listing.claims, default=0) + 1

    @contextmanager
    def draft(self, name: str) -> Iterator["S3Draft"]:
        """Files uploaded under `NAME/.drafts/ID/`, deleted when the block ends."""
        check_name(name)
        self.check_conditional_writes()
        draft = S3Draft(self, name, uuid.uuid4().hex)
        try:
            yield draft
        finally:
            try:
                self.s3.delete(list(draft.keys.values()))
            except (StorageError, OSError):
                pass  # left for `verify --fix`; the outcome of the block stands

    def update_aliases(
        self, name: str, change: Callable[[ReadFile], AliasChange | None]
    ) -> None:
        """History first, then the map, each written `If-Match` the ETag read.

        A lost compare-and-set on either means another writer's change landed: the
        history written (if any) is taken back and `change` runs again on what is
        there now. As on disk, a writer killed between the two writes leaves a
        history line that never landed, which `rollback_target` recognises; so does
        a take-back that a third writer's append beat (a race, rare).
        """
        self.check_conditional_writes()
        aliases_key = self._key(name, ALIASES_FILE)
        history_key = self._key(name, HISTORY_FILE)
        for _ in range(ALIAS_ATTEMPTS):
            # history first: a change landing between the two reads then fails
            # this round's history write, instead of leaving a line after it
            history = self._get_or_none(history_key)
            aliases = self._get_or_none(aliases_key)
            read = self._snapshot(name, {ALIASES_FILE: aliases, HISTORY_FILE: history})
            written = change(read)
            if written is None:
                return
            old_history = history[0] if history else b""
            try:
                new_etag = self._put_if(
                    history_key, old_history + written.history_line, history
                )
            except PreconditionFailed:
                continue
            try:
                self._put_if(aliases_key, written.aliases, aliases)
                return
            except PreconditionFailed:
                self._take_back(history_key, old_history, new_etag)
            except BaseException:
                self._take_back(history_key, old_history, new_etag)
                raise
        raise StorageError(
            f"{self.location.url}/{name}: the aliases kept changing under "
            f"{ALIAS_ATTEMPTS} attempts to change them; nothing was changed"
        )

    def _snapshot(
        self, name: str, snapshot: dict[str, tuple[bytes, str] | None]
    ) -> ReadFile:
        """A ReadFile answering the alias files from what one round read."""

        def read(file: str, max_bytes: int) -> bytes:
            if file not in snapshot:
                return self.read(name, file, max_bytes)
            seen = snapshot[file]
            if seen is None:
                raise FileNotFoundError(file)
            if len(seen[0]) > max_bytes:
                raise VerificationError(f"{file} is over the size limit")
            return seen[0]

        return read

    def check_conditional_writes(self) -> None:
        """Once per store object: refuse to write where writes are not conditional."""
        if not self._writes_checked:
            self.s3.check_conditional_writes()
            self._writes_checked = True

    def check_access(self) -> None:
        """One small listing: the bucket exists and the credentials are accepted."""
        self.s3.call("list_objects_v2", Prefix=self.location.prefix, MaxKeys=1)

    # --- maintenance -------------------------------------------------------------

    def ignored_entries(self, name: str) -> list[IgnoredEntry]:
        return self._scan(name).ignored

    def temp_entries(self, name: str) -> list[PurePosixPath]:
        """Drafts, and versions claimed but left without their manifest."""
        return [PurePosixPath(entry) for entry in self._scan(name).temp]

    def modified_at(self, entry: PurePosixPath) -> float:
        name = entry.parts[0]
        known = self._known.get(name)
        if known is None or str(entry) not in known[1].temp:
            known = (0.0, self._scan(name))
        try:
            return known[1].temp[str(entry)]
        except KeyError:
            raise FileNotFoundError(str(entry)) from None

    def remove(self, entry: PurePosixPath) -> None:
        prefix = f"{self.location.prefix}{entry}/"
        keys = [o["Key"] for o in self.s3.keys(prefix)]
        if is_version_name(entry.name) and f"{prefix}{MANIFEST_FILE}" in keys:
            return  # its publisher finished after all: a version, not a leftover
        self.s3.delete(keys)
        self._known.pop(entry.parts[0], None)

    def remove_version(self, name: str, version: int) -> None:
        """The manifest key first, then the rest (`trainer gc`).

        No rename on S3: without its manifest the version is at once no version
        (never listed, never verified), and keys a crash leaves behind are an
        interrupted commit that `verify --fix` removes. The claim stays, so the
        number is never claimed again.
        """
        prefix = self._key(name, parse_version(version)) + "/"
        keys = [o["Key"] for o in self.s3.keys(prefix)]
        manifest = prefix + MANIFEST_FILE
        if manifest not in keys:
            raise FileNotFoundError(f"{name} v{version}")
        self.s3.delete([manifest])
        self.s3.delete([key for key in keys if key != manifest])
        self._known.pop(name, None)

    # --- helpers -----------------------------------------------------------------

    def _key(self, name: str, *parts: object) -> str:
        return "/".join([f"{self.location.prefix}{check_name(name)}", *map(str, parts)])

    def _listing(self, name: str) -> _Listing:
        """The remembered listing while fresh, else a new one."""
        known = self._known.get(name)
        if known is not None and time.monotonic() - known[0] < self.rescan_seconds:
            return known[1]
        return self._scan(name)

    def _scan(self, name: str) -> _Listing:
        """List every key of a model and classify it; remembered for `state_token`."""
        model = self._key(name) + "/"
        started = time.monotonic()
        listing = _classify(name, model, self.s3.keys(model))
        with self._lock:
            self._known[name] = (started, listing)
        return listing

    def _published_since(self, name: str, listing: _Listing) -> bool:
        """Whether a version above the listed ones has its manifest now.

        Claims come before manifests, so the walk stops at the first number nobody
        claimed: one HEAD when nothing happened; a claim still being committed (or
        abandoned) adds a HEAD of its manifest.
        """
        number = (listing.versions[-1] if listing.versions else 0) + 1
        while True:
            if (
                number not in listing.claims
                and self._etag(self._key(name, CLAIMS, number)) is None
            ):
                return False
            if self._etag(self._key(name, number, MANIFEST_FILE)) is not None:
                return True
            number += 1

    def _version_files(self, name: str, version: int) -> dict[str, tuple[str, int]]:
        prefix = self._key(name, parse_version(version)) + "/"
        return {
            o["Key"][len(prefix) :]: (o["ETag"], o["Size"])
            for o in self.s3.keys(prefix)
        }

    def _etag(self, key: str) -> str | None:
        try:
            return self.s3.call("head_object", Key=key)["ETag"]
        except FileNotFoundError:
            return None

    def _get(self, key: str, max_bytes: int, **params: object) -> tuple[bytes, str]:
        response = self.s3.call("get_object", Key=key, **params)
        with self.s3.translated("get_object", key):
            if response.get("ContentLength", 0) > max_bytes:
                response["Body"].close()
                file = key.rsplit("/", 1)[-1]
                raise VerificationError(f"{file} is over the size limit")
            return response["Body"].read(), response["ETag"]

    def _get_or_none(self, key: str) -> tuple[bytes, str] | None:
        try:
            return self._get(key, 1 << 62)
        except FileNotFoundError:
            return None

    def _put_if(self, key: str, data: bytes, seen: tuple[bytes, str] | None) -> str:
        """Write `key` only if it is still what was read (absent: If-None-Match)."""
        condition = {"IfMatch": seen[1]} if seen else {"IfNoneMatch": "*"}
        return self.s3.call("put_object", Key=key, Body=data, **condition)["ETag"]

    def _take_back(self, key: str, data: bytes, etag: str) -> None:
        """Undo a history write whose alias change did not land, if still ours
        (an absent history comes back empty: a delete cannot be made conditional
        on every store)."""
        try:
            self.s3.call("put_object", Key=key, Body=data, IfMatch=etag)
        except (PreconditionFailed, StorageError, OSError):
            pass  # another writer appended since: `rollback_target` copes


class S3Version:
    """A published version's listing (file -> ETag, size); reads check the ETag."""

    def __init__(
        self,
        storage: S3Storage,
        name: str,
        version: int,
        files: dict[str, tuple[str, int]],
    ) -> None:
        self._storage, self._name, self._version = storage, name, version
        self._listed = files
        self.files = frozenset(files)

    def read(self, file: str, max_bytes: int) -> bytes:
        etag, size = self._listed[file]
        if size > max_bytes:
            raise VerificationError(f"{file} is over the size limit")
        cache = self._storage.cache
        if cache is not None:
            cached = cache.get(self._name, self._version, file, etag)
            if cached is not None:
                return cached
        key = self._storage._key(self._name, self._version, file)
        try:
            # the object listed, not one written since: a version never changes
            data, _ = self._storage._get(key, max_bytes, IfMatch=etag)
        except PreconditionFailed:
            raise VerificationError(f"{file} changed while being read") from None
        if cache is not None:
            cache.put(self._name, self._version, file, etag, data)
        return data


class S3Draft:
    """A version's files under `NAME/.drafts/ID/`; `commit` claims and copies."""

    def __init__(self, storage: S3Storage, name: str, draft_id: str) -> None:
        self._storage, self._name, self._id = storage, name, draft_id
        self.keys: dict[str, str] = {}
        self.committed = False

    def write(self, file: str, data: bytes) -> None:
        key = self._storage._key(self._name, DRAFTS, self._id, file)
        self._storage.s3.call("put_object", Key=key, Body=data)
        self.keys[file] = key

    def commit(self, version: int, last_file: str, data: bytes) -> bool:
        storage, s3 = self._storage, self._storage.s3
        claim = {
            "draft": self._id,
            "claimed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
        try:
            s3.call(
                "put_object",
                Key=storage._key(self._name, CLAIMS, version),
                Body=json.dumps(claim).encode(),
                IfNoneMatch="*",
            )
        except PreconditionFailed:
            return False  # another publisher has this number: try the next
        for file, key in self.keys.items():
            s3.call(
                "copy_object",
                Key=storage._key(self._name, version, file),
                CopySource={"Bucket": s3.location.bucket, "Key": key},
            )
        try:
            s3.call(
                "put_object",
                Key=storage._key(self._name, version, last_file),
                Body=data,
                IfNoneMatch="*",
            )
        except PreconditionFailed:
            raise StorageError(
                f"{s3.location.url}/{self._name}/{version}: a manifest appeared "
                "under a number this publisher had claimed (written outside the "
                "registry?); left as it is"
            ) from None
        self.committed = True
        storage._known.pop(self._name, None)
        return True


def _classify(name: str, model: str, objects: Iterator[dict]) -> _Listing:
    listing = _Listing()
    files: dict[int, set[str]] = {}
    modified: dict[str, float] = {}
    ignored: dict[str, str] = {}
    for entry in objects:
        rel = entry["Key"][len(model) :]
        when = entry["LastModified"].timestamp()
        head, _, rest = rel.partition("/")
        if rel == ALIASES_FILE:
            listing.aliases_etag = entry["ETag"]
        elif rel == HISTORY_FILE:
            continue
        elif head == CLAIMS and is_version_name(rest):
            listing.claims.add(int(rest))
        elif head == DRAFTS and rest:
            draft = f"{name}/{DRAFTS}/{rest.partition('/')[0]}"
            modified[draft] = max(modified.get(draft, 0.0), when)
        elif head.startswith("."):
            continue  # the registry's own (probes, future use): never an entry
        elif not is_version_name(head):
            ignored.setdefault(head, NOT_A_VERSION)
        elif not rest:
            # an object named like a version, beside the version prefixes
            listing.numbers.add(int(head))
            ignored.setdefault(head, NOT_A_DIRECTORY)
        else:
            number = int(head)
            listing.numbers.add(number)
            files.setdefault(number, set()).add(rest)
            entry_name = f"{name}/{number}"
            modified[entry_name] = max(modified.get(entry_name, 0.0), when)
    published = []
    for number, names in files.items():
        if MANIFEST_FILE in names:
            published.append(number)
            modified.pop(f"{name}/{number}", None)
        elif number in listing.claims:
            pass  # an interrupted commit: a temporary entry (kept in `modified`)
        else:
            modified.pop(f"{name}/{number}", None)
            ignored.setdefault(str(number), NO_MANIFEST)
    listing.versions = tuple(sorted(published))
    listing.temp = modified
    listing.ignored = [IgnoredEntry(e, r) for e, r in sorted(ignored.items())]
    return listing
