"""The model registry on disk: `<root>/<name>/<version>/` and `<name>/aliases.json`.

Scheduled trainers publish here and the service reads from here, so this is where the
guarantees live: versions are immutable and appear atomically, two publishers never
share a number, and nothing that fails verification is ever returned. numpy-only.
"""

import errno
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from trainer import __version__
from trainer.errors import (
    NotFoundError,
    RegistryError,
    VerificationError,
)
from trainer.nn import network
from trainer.registry import aliases, artifact
from trainer.registry.atomic import fsync_dir, locked, read_regular, write_synced
from trainer.registry.manifest import (
    MAX_MANIFEST_BYTES,
    build_manifest,
    check_architecture,
    manifest_bytes,
    parse_manifest,
)
from trainer.registry.names import (
    NAME_PATTERN,
    check_alias,
    check_name,
    is_version_name,
    parse_version,
)

Array = np.ndarray

TEMP_PREFIX = ".tmp-"
LOCK_FILE = ".lock"
# A publish writes two small files and renames: seconds at most. A temporary directory
# older than this belongs to a publisher that died, and may be removed.
STALE_SECONDS = 600.0

_UNSET: Any = object()


class AliasConflictError(RegistryError):
    """An alias changed between reading it and replacing it (another job got there)."""


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A verified version in memory: what the service predicts with.

    Arrays are read-only; `coefs[i]` is (fan_in, fan_out), `intercepts[i]` (fan_out,).
    """

    name: str
    version: int
    manifest: dict[str, Any]
    kind: str
    coefs: tuple[Array, ...]
    intercepts: tuple[Array, ...]
    activation: str | None
    classes: list[Any] = field(default_factory=list)
    n_features: int = 0

    def logits(self, X: Array) -> Array:
        """Pre-softmax scores (n_samples, n_classes) for X (n_samples, n_features)."""
        return network.logits(X, self.coefs, self.intercepts, self.activation)

    def predict_proba(self, X: Array) -> Array:
        """Probabilities (n_samples, n_classes), columns in the order of `classes`."""
        return network.predict_proba(X, self.coefs, self.intercepts, self.activation)


@dataclass(frozen=True)
class Problem:
    """One thing `Registry.check` found wrong."""

    name: str
    where: str  # "v3", "aliases", an entry name
    message: str


class Registry:
    """Versions and aliases of every model under one root directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # --- reading -----------------------------------------------------------------

    def models(self) -> list[str]:
        """Names with at least one published version, sorted.

        A symlinked model directory is not listed: readers refuse it.
        """
        return sorted(
            e.name
            for e in _scandir(self.root)
            if NAME_PATTERN.fullmatch(e.name)
            and e.is_dir(follow_symlinks=False)
            and any(_version_entries(e.path))
        )

    def model_dirs(self) -> list[str]:
        """Every model directory, with or without versions (for maintenance).

        Symlinks are included so that `check` reports them; readers refuse them.
        """
        return sorted(
            e.name
            for e in _scandir(self.root)
            if NAME_PATTERN.fullmatch(e.name)
            and (e.is_dir(follow_symlinks=False) or e.is_symlink())
        )

    def versions(self, name: str) -> list[int]:
        """Published versions, ascending; temporary (dot) directories are ignored."""
        return sorted(int(e.name) for e in _version_entries(self._model_dir(name)))

    def aliases(self, name: str) -> dict[str, int]:
        return aliases.read_aliases(self._model_dir(name))

    def served_version(self, name: str) -> int | None:
        """The `production` alias if set, else the highest version, else None."""
        production = self.aliases(name).get("production")
        if production is not None:
            return production
        versions = self.versions(name)
        return versions[-1] if versions else None

    def resolve(self, name: str, version: int | str | None = None) -> int:
        """A version number from an int, a digit string, an alias, or None (served).

        Raises InvalidNameError for malformed input and NotFoundError for a model,
        version or alias that does not exist.
        """
        versions = self.versions(name)
        if not versions:
            raise NotFoundError(f"unknown model {name!r} (no published versions)")
        if version is None:
            # served_version, without listing the versions a second time
            resolved = self.aliases(name).get("production", versions[-1])
            missing = f"model {name!r}: production points to missing v{resolved}"
        elif not isinstance(version, str) or version.lstrip("+-")[:1].isdigit():
            # "-1", "+1" and 2.0 are malformed versions, not aliases
            resolved = parse_version(version)
            missing = f"model {name!r} has no version {resolved}"
        else:
            alias = check_alias(version)
            resolved = self.aliases(name).get(alias)
            if resolved is None:
                raise NotFoundError(f"model {name!r} has no alias {alias!r}")
            missing = f"model {name!r}: alias {alias!r} points to missing v{resolved}"
        if resolved not in versions:
            if (self._model_dir(name) / str(resolved)).is_symlink():
                raise VerificationError(f"{name} v{resolved}: is a symlink, refused")
            raise NotFoundError(missing)
        return resolved

    def load(self, name: str, version: int | str | None = None) -> LoadedModel:
        """Read and verify one version; raises VerificationError if anything is off."""
        resolved = self.resolve(name, version)
        manifest, coefs, intercepts = self._read_verified(name, resolved)
        arch = manifest["architecture"]
        return LoadedModel(
            name=name,
            version=resolved,
            manifest=manifest,
            kind=manifest["kind"],
            coefs=tuple(coefs),
            intercepts=tuple(intercepts),
            activation=arch["activation"],
            classes=list(arch["classes"]),
            n_features=arch["n_features"],
        )

    def read_manifest(self, name: str, version: int | str | None = None) -> dict:
        """The verified manifest (schema, digest and the weights' checksum all hold)."""
        return self.load(name, version).manifest

    def state_token(self, name: str) -> tuple:
        """A cheap fingerprint of a model's versions and aliases.

        Versions are immutable, so the list of them plus the identity of `aliases.json`
        (a replace gives it a new inode) changes exactly when a poller has work to do.
        """
        versions = tuple(self.versions(name))  # checks the name and the directory
        try:
            st = os.stat(self.root / name / aliases.ALIASES_FILE)
            alias_stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            alias_stamp = None
        return (versions, alias_stamp)

    def version_stamp(self, name: str, version: int) -> tuple:
        """A cheap fingerprint of one version's files: names, sizes, times.

        A version that failed verification can only start verifying if its files
        change (one still being copied in, file by file); a reader that remembers a
        failure compares this instead of re-reading and re-hashing the weights.
        Empty when the version directory cannot be listed (or is refused).
        """
        try:
            directory = self._model_dir(name) / str(parse_version(version))
            with os.scandir(directory) as entries:
                return tuple(
                    sorted(
                        (e.name, st.st_size, st.st_mtime_ns)
                        for e in entries
                        for st in [e.stat(follow_symlinks=False)]
                    )
                )
        except (OSError, RegistryError):
            return ()

    def _read_verified(
        self, name: str, version: int
    ) -> tuple[dict[str, Any], list[Array], list[Array]]:
        try:
            return self._read_version(name, version)
        except VerificationError as exc:
            raise VerificationError(f"{name} v{version}: {exc}") from exc

    def _read_version(
        self, name: str, version: int
    ) -> tuple[dict[str, Any], list[Array], list[Array]]:
        version_dir = self._model_dir(name) / str(parse_version(version))
        if version_dir.is_symlink():
            raise VerificationError("the version directory is a symlink")
        try:
            entries = set(os.listdir(version_dir))
        except (FileNotFoundError, NotADirectoryError):
            raise NotFoundError(f"model {name!r} has no version {version}") from None
        if entries != artifact.FILES:
            missing = sorted(artifact.FILES - entries)
            extra = sorted(entries - artifact.FILES)
            raise VerificationError(
                f"missing files {missing}, unexpected files {extra}"
            )
        manifest = parse_manifest(
            read_regular(version_dir / artifact.MANIFEST_FILE, MAX_MANIFEST_BYTES)
        )
        if manifest["name"] != name or manifest["version"] != version:
            raise VerificationError(
                f"the manifest describes {manifest['name']} v{manifest['version']}"
            )
        # hash and parse the same bytes: nothing can change between the two
        weights = read_regular(
            version_dir / artifact.WEIGHTS_FILE, artifact.MAX_WEIGHTS_BYTES
        )
        if artifact.sha256_hex(weights) != manifest["files"][artifact.WEIGHTS_FILE]:
            raise VerificationError(
                f"{artifact.WEIGHTS_FILE} does not match its sha256 in the manifest "
                "(altered or truncated)"
            )
        coefs, intercepts = artifact.read_weights(weights)
        check_architecture(manifest, coefs)
        return manifest, coefs, intercepts

    def _model_dir(self, name: str) -> Path:
        check_name(name)
        path = self.root / name
        # a symlinked model directory could lead out of the registry, and one that
        # stays inside only shows another model's versions (whose manifests name that
        # model, so none would verify): refuse both, as for version directories
        if path.is_symlink():
            raise VerificationError(f"model {name!r} is a symlink, refused")
        return path

    # --- writing -----------------------------------------------------------------

    def publish(
        self,
        name: str,
        coefs: Sequence[Array],
        intercepts: Sequence[Array],
        manifest_fields: Mapping[str, Any],
    ) -> int:
        """Publish a new version atomically and return its number.

        Everything is validated before the first byte is written. The version is
        assembled in a dot-named temporary directory beside the versions, synced, and
        renamed to its number; a rename onto an existing version fails, so a
        publisher that loses a race takes the next number.
        """
        fields = dict(manifest_fields)
        fields.setdefault("created_at", _utc_now())
        fields.setdefault("trainer_version", __version__)
        weights = artifact.weights_bytes(coefs, intercepts)
        weights_sha = artifact.sha256_hex(weights)
        checked = build_manifest(name, 1, fields, weights_sha)
        check_architecture(checked, artifact.read_weights(weights)[0])

        model_dir = self._model_dir(name)
        model_dir.mkdir(parents=True, exist_ok=True)
        self.clean_stale(name)
        temp_dir = model_dir / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        temp_dir.mkdir()
        try:
            write_synced(temp_dir / artifact.WEIGHTS_FILE, weights)
            version = self._next_version(model_dir)
            while True:
                if not is_version_name(str(version)):
                    raise RegistryError(f"model {name!r}: out of version numbers")
                manifest = build_manifest(name, version, fields, weights_sha)
                write_synced(
                    temp_dir / artifact.MANIFEST_FILE, manifest_bytes(manifest)
                )
                fsync_dir(temp_dir)
                try:
                    os.rename(temp_dir, model_dir / str(version))
                except OSError as exc:
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR):
                        raise
                    version = max(version + 1, self._next_version(model_dir))
                    continue
                fsync_dir(model_dir)
                return version
        except BaseException:
            shutil.rmtree(temp_dir, ignore_errors=True)
            raise

    def set_alias(
        self, name: str, alias: str, version: int, *, expected: Any = _UNSET
    ) -> None:
        """Point `alias` at an existing, verifying version; history is kept.

        With `expected`, the change happens only if the alias still holds that value
        (None: unset), else AliasConflictError: a compare-and-set for quality gates.
        """
        check_alias(alias)
        version = parse_version(version)
        self._read_verified(name, version)  # never point an alias at a bad version
        model_dir = self._model_dir(name)
        with locked(model_dir / LOCK_FILE):
            current = aliases.read_aliases(model_dir)
            previous = current.get(alias)
            if expected is not _UNSET and previous != expected:
                raise AliasConflictError(
                    f"alias {alias!r} of {name!r} is now {previous}, not {expected}"
                )
            if previous == version:
                return
            aliases.record(model_dir, alias, previous, version, "set")
            aliases.write_aliases(model_dir, {**current, alias: version})

    def rollback(self, name: str, alias: str = "production") -> tuple[int, int]:
        """Move `alias` back to the version it held before; returns (from, to)."""
        check_alias(alias)
        model_dir = self._model_dir(name)
        if not self.versions(name):
            raise NotFoundError(f"unknown model {name!r} (no published versions)")
        with locked(model_dir / LOCK_FILE):
            current = aliases.read_aliases(model_dir)
            previous = current.get(alias)
            target = aliases.rollback_target(
                aliases.read_history(model_dir), alias, previous
            )
            self._read_verified(name, target)
            aliases.record(model_dir, alias, previous, target, "rollback")
            aliases.write_aliases(model_dir, {**current, alias: target})
        return previous, target

    def _next_version(self, model_dir: Path) -> int:
        # every numeric entry counts, even a stray file, so a rename never targets it
        numbers = [int(n) for n in os.listdir(model_dir) if is_version_name(n)]
        return max(numbers, default=0) + 1

    # --- maintenance -------------------------------------------------------------

    def check(self, name: str) -> list[Problem]:
        """Verify every version and alias of a model; an empty list: all is well."""
        try:
            model_dir = self._model_dir(name)
        except VerificationError as exc:  # a symlinked model directory
            return [Problem(name, "model", str(exc))]
        problems = []
        versions = self.versions(name)
        for version in versions:
            try:
                self._read_verified(name, version)
            except RegistryError as exc:
                problems.append(Problem(name, f"v{version}", str(exc)))
        try:
            for alias, version in self.aliases(name).items():
                if version not in versions:
                    problems.append(
                        Problem(name, "aliases", f"{alias!r} -> missing v{version}")
                    )
        except VerificationError as exc:
            problems.append(Problem(name, "aliases", str(exc)))
        for entry in _scandir(model_dir):
            if is_version_name(entry.name) and (
                entry.is_symlink() or not entry.is_dir()
            ):
                problems.append(
                    Problem(
                        name, entry.name, "a numbered entry that is not a directory"
                    )
                )
        return problems

    def temp_entries(self, name: str) -> list[Path]:
        """Temporary directories and files of writes in progress or interrupted."""
        return [
            Path(e.path)
            for e in _scandir(self._model_dir(name))
            if e.name.startswith(TEMP_PREFIX)
        ]

    def clean_stale(
        self, name: str, max_age_seconds: float = STALE_SECONDS
    ) -> list[Path]:
        """Remove temporary entries older than `max_age_seconds`; returns them.

        The age threshold spares a publisher that is writing right now.
        """
        removed = []
        now = time.time()
        for path in self.temp_entries(name):
            try:
                age = now - path.lstat().st_mtime
            except FileNotFoundError:
                continue
            if age >= max_age_seconds:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                removed.append(path)
        return removed


def _version_entries(model_dir: str | Path) -> Iterator[os.DirEntry]:
    """The published version directories of a model (none if it has no directory)."""
    try:
        entries = list(os.scandir(model_dir))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if is_version_name(entry.name) and entry.is_dir(follow_symlinks=False):
            yield entry


def _scandir(path: Path) -> list[os.DirEntry]:
    try:
        return list(os.scandir(path))
    except FileNotFoundError:
        return []


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
