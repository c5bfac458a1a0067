"""The registry's storage seam: the few operations its guarantees need from a store.

Publishing, aliases and verification are written against `Storage`, never against
files, so a backend on another store (S3: conditional writes, ETags, prefix listings)
can stand beside `trainer.registry.local.LocalStorage` without touching them. Each
operation says what it must guarantee, and how a directory and an object store give it.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import PurePath
from typing import NamedTuple, Protocol

# (file, max_bytes) -> its bytes; FileNotFoundError when absent
ReadFile = Callable[[str, int], bytes]


# why `Storage.ignored_entries` lists an entry
SYMLINK = "symlink"
NOT_A_DIRECTORY = "not a directory"  # named like a version, but a file (or a FIFO)
NOT_A_VERSION = "not a version directory"  # a name no version has: `notes.txt`, `04`


class IgnoredEntry(NamedTuple):
    """An entry in a model's place that no reader uses, and why."""

    entry: str
    reason: str


class AliasChange(NamedTuple):
    """What one alias change writes: a history line first, then the new alias map."""

    history_line: bytes
    aliases: bytes


class StoredVersion(Protocol):
    """One published version, as found: its file names, and its files' bytes."""

    files: frozenset[str]

    def read(self, file: str, max_bytes: int) -> bytes:
        """The file's bytes; VerificationError if the store refuses it (on disk: a
        symlink, not a regular file) or it is over `max_bytes`."""
        ...


class Draft(Protocol):
    """A version being assembled where no reader looks (on disk: a `.tmp-` directory;
    on S3: keys outside `NAME/VERSION/`)."""

    def write(self, file: str, data: bytes) -> None:
        """Store one file of the version, durably (on disk: fsync)."""
        ...

    def commit(self, version: int, last_file: str, data: bytes) -> bool:
        """Write `last_file` (the manifest) and publish the draft as `version`.

        False, and nothing visible, if the number is already taken: the caller tries
        the next. On disk: fsync, then rename the directory onto its number; on S3:
        claim the number with `If-None-Match: *`, copy the files, the manifest last.
        """
        ...


class Storage(Protocol):
    """Where a registry keeps its models: `NAME/VERSION/FILE` and `NAME/FILE`.

    Every model name is checked (`trainer.registry.names`) before a path or key is
    built from it. Absent things raise FileNotFoundError; things the store refuses
    to read (a symlink on disk) raise VerificationError.
    """

    # --- reading ---------------------------------------------------------------

    def model_names(self) -> list[str]:
        """Names with at least one published version, sorted."""
        ...

    def model_entries(self) -> list[str]:
        """Every model entry, with or without versions (and refused ones), sorted."""
        ...

    def versions(self, name: str) -> list[int]:
        """Published versions, ascending; [] for an unknown model."""
        ...

    def refusal(self, name: str, version: int) -> str | None:
        """Why an entry in the place of `version` is refused (not listed), if any."""
        ...

    def version(self, name: str, version: int) -> StoredVersion:
        """A published version's files; FileNotFoundError if there is none."""
        ...

    def read(self, name: str, file: str, max_bytes: int) -> bytes:
        """A model-level file (`aliases.json`, the alias history)."""
        ...

    def state_token(self, name: str) -> tuple:
        """Changes whenever a version is published, the aliases change or an ignored
        entry comes or goes; cheap, so a poller can call it every interval (on S3:
        not a listing of every version)."""
        ...

    def version_stamp(self, name: str, version: int) -> tuple:
        """Changes whenever one version's files do (names, sizes, times or ETags)."""
        ...

    # --- writing ---------------------------------------------------------------

    def next_version(self, name: str) -> int:
        """One above every number in use (published or claimed, even a stray)."""
        ...

    def draft(self, name: str) -> AbstractContextManager[Draft]:
        """A new draft of a version; removed on leaving the block unless committed."""
        ...

    def update_aliases(
        self, name: str, change: Callable[[ReadFile], AliasChange | None]
    ) -> None:
        """Apply `change` to the alias files as one compare-and-set.

        `change` reads the current files through the ReadFile it is given and returns
        what to write, or None for nothing. On disk it runs under the model's flock
        and the map is replaced atomically; on S3 the map is written with `If-Match`
        on the ETag read, and `change` runs again when another writer got there.
        """
        ...

    # --- maintenance -----------------------------------------------------------

    def ignored_entries(self, name: str) -> list[IgnoredEntry]:
        """Entries of a model that are neither a version nor one of the registry's
        own files (on disk: a symlink, a numbered file, `notes.txt`), sorted by name;
        dot-names (drafts, the lock) are the registry's and never listed."""
        ...

    def temp_entries(self, name: str) -> list[PurePath]:
        """Leftovers of writes in progress or interrupted (drafts, temporary files)."""
        ...

    def modified_at(self, entry: PurePath) -> float:
        """When a temporary entry was last written (seconds since the epoch)."""
        ...

    def remove(self, entry: PurePath) -> None:
        """Delete a temporary entry and everything under it."""
        ...

    def remove_version(self, name: str, version: int) -> None:
        """Take a published version out of the registry (`trainer gc`).

        The version disappears at once: a reader lists and reads all of it or none
        of it, never a version with files missing. On disk: rename the directory to
        a temporary entry (atomic), sync the model directory, then delete the entry
        (one left by a crash is removed like an interrupted publish). On S3, with
        no rename: the manifest key first, so what is left for a moment never
        verifies and is never served, then the other keys.
        FileNotFoundError if there is no such version. The caller runs it inside
        `update_aliases` (no alias change lands between its decision and the
        removal) and never removes a model's highest version, so numbers are not
        reused.
        """
        ...


# --- choosing a store ------------------------------------------------------------

# a registry at this kind of location lives in an S3-compatible object store
SCHEME = "s3://"


def is_s3_url(location: object) -> bool:
    """Whether a registry location names an object store (`s3://BUCKET/PREFIX`)."""
    return isinstance(location, str) and location.startswith(SCHEME)


def open_storage(
    location: "str | PurePath", cache_dir: "PurePath | None" = None
) -> Storage:
    """The store a registry location names: a directory, or `s3://BUCKET/PREFIX`.

    boto3 is imported only here, and only for s3:// (the serving path and a local
    registry never load it). `cache_dir` keeps fetched version files of an object
    store on local disk; a directory needs none.
    """
    if is_s3_url(location):
        from trainer.registry.s3 import S3Storage

        return S3Storage(str(location), cache_dir=cache_dir)
    from pathlib import Path

    from trainer.registry.local import LocalStorage

    return LocalStorage(Path(location))
