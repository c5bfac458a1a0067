"""The registry's reading side: what the service polls and loads models through.

Resolving a version (a number, an alias, the served one) and verifying everything a
load reads: the file list, the manifest and its digest, the weights' sha256, the
shapes. Nothing that fails is ever returned. numpy-only, storage-agnostic.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trainer.errors import NotFoundError, RegistryError, VerificationError
from trainer.nn import network
from trainer.registry import aliases
from trainer.registry.artifact import (
    MAX_WEIGHTS_BYTES,
    WEIGHTS_FILE,
    read_weights,
    sha256_hex,
)
from trainer.registry.manifest import (
    MANIFEST_FILE,
    MAX_MANIFEST_BYTES,
    OPTIONAL_FILES,
    VERSION_FILES,
    check_architecture,
    parse_manifest,
)
from trainer.registry.names import check_alias, parse_version
from trainer.registry.sample import MAX_SAMPLE_BYTES, SAMPLE_FILE, parse_sample
from trainer.registry.storage import IgnoredEntry, Storage, is_s3_url, open_storage

Array = np.ndarray


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

    def predict(self, X: Array) -> tuple[Array, Array]:
        """What the service answers for X: class indices (n_samples,) into `classes`
        and probabilities P (n_samples, n_classes).

        The label is the argmax of the logits (softmax is monotonic, so it is the
        most probable class, first on ties); `trainer predict` shares this pass.
        """
        Z = self.logits(X)
        indices = Z.argmax(axis=1)
        return indices, network.softmax(Z)


class Reader:
    """Versions and aliases of every model in one store (a directory by default)."""

    def __init__(self, root: str | Path, storage: Storage | None = None) -> None:
        # an s3:// URL stays a string: a Path would fold its "//"
        self.root = root if is_s3_url(root) else Path(root)
        self.storage = storage if storage is not None else open_storage(root)

    def models(self) -> list[str]:
        """Names with at least one published version, sorted.

        A symlinked model directory is not listed: readers refuse it.
        """
        return self.storage.model_names()

    def model_dirs(self) -> list[str]:
        """Every model directory, with or without versions (for maintenance).

        Symlinks are included so that `check` reports them; readers refuse them.
        """
        return self.storage.model_entries()

    def versions(self, name: str) -> list[int]:
        """Published versions, ascending; temporary (dot) directories are ignored."""
        return self.storage.versions(name)

    def ignored_entries(self, name: str) -> list[IgnoredEntry]:
        """Entries of a model no reader uses, with the reason: a symlink, a numbered
        file, anything else that is not a version or the registry's own file."""
        return self.storage.ignored_entries(name)

    def aliases(self, name: str) -> dict[str, int]:
        storage = self.storage
        return aliases.read_aliases(lambda file, limit: storage.read(name, file, limit))

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
            refusal = self.storage.refusal(name, resolved)
            if refusal is not None:
                raise VerificationError(f"{name} v{resolved}: {refusal}")
            raise NotFoundError(missing)
        return resolved

    def load(self, name: str, version: int | str | None = None) -> LoadedModel:
        """Read and verify one version; raises VerificationError if anything is off."""
        resolved = self.resolve(name, version)
        manifest, coefs, intercepts = read_verified(self.storage, name, resolved)
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

    def read_sample(self, name: str, version: int, manifest: dict) -> dict | None:
        """The version's data sample, checked against its verified `manifest`.

        None when the version has none (published before samples were stored);
        VerificationError when its bytes do not match the manifest's sha256.
        """
        if SAMPLE_FILE not in manifest["files"]:
            return None
        try:
            stored = self.storage.version(name, version)
        except FileNotFoundError:
            raise NotFoundError(f"model {name!r} has no version {version}") from None
        try:
            return _verified_sample(stored, manifest)
        except VerificationError as exc:
            raise VerificationError(f"{name} v{version}: {exc}") from exc

    def state_token(self, name: str) -> tuple:
        """A cheap fingerprint of a model's versions and aliases.

        Versions are immutable, so it changes exactly when a poller has work to do.
        """
        return self.storage.state_token(name)

    def version_stamp(self, name: str, version: int) -> tuple:
        """A cheap fingerprint of one version's files: names, sizes, times.

        A version that failed verification can only start verifying if its files
        change (one still being copied in, file by file); a reader that remembers a
        failure compares this instead of re-reading and re-hashing the weights.
        Empty when the version cannot be listed (or is refused).
        """
        try:
            return self.storage.version_stamp(name, version)
        except (OSError, RegistryError):
            return ()


def read_verified(
    storage: Storage, name: str, version: int
) -> tuple[dict[str, Any], list[Array], list[Array]]:
    """A version's manifest and arrays, every check passed; errors name the version."""
    try:
        return _read_version(storage, name, version)
    except VerificationError as exc:
        raise VerificationError(f"{name} v{version}: {exc}") from exc


def _read_version(
    storage: Storage, name: str, version: int
) -> tuple[dict[str, Any], list[Array], list[Array]]:
    try:
        stored = storage.version(name, version)
    except FileNotFoundError:
        raise NotFoundError(f"model {name!r} has no version {version}") from None
    _check_files(stored.files, VERSION_FILES, VERSION_FILES | OPTIONAL_FILES)
    manifest = parse_manifest(stored.read(MANIFEST_FILE, MAX_MANIFEST_BYTES))
    # exactly the files the manifest lists: an optional file present but unlisted
    # (or listed but gone) is as wrong as a missing weights file
    listed = frozenset({MANIFEST_FILE, *manifest["files"]})
    _check_files(stored.files, listed, listed)
    if manifest["name"] != name or manifest["version"] != version:
        raise VerificationError(
            f"the manifest describes {manifest['name']} v{manifest['version']}"
        )
    # hash and parse the same bytes: nothing can change between the two
    weights = stored.read(WEIGHTS_FILE, MAX_WEIGHTS_BYTES)
    if sha256_hex(weights) != manifest["files"][WEIGHTS_FILE]:
        raise VerificationError(
            f"{WEIGHTS_FILE} does not match its sha256 in the manifest "
            "(altered or truncated)"
        )
    coefs, intercepts = read_weights(weights)
    check_architecture(manifest, coefs)
    if SAMPLE_FILE in manifest["files"]:
        _verified_sample(stored, manifest)
    return manifest, coefs, intercepts


def _check_files(
    files: frozenset[str], required: frozenset[str], allowed: frozenset[str]
) -> None:
    missing, extra = sorted(required - files), sorted(files - allowed)
    if missing or extra:
        raise VerificationError(f"missing files {missing}, unexpected files {extra}")


def _verified_sample(stored: Any, manifest: dict[str, Any]) -> dict[str, Any]:
    data = stored.read(SAMPLE_FILE, MAX_SAMPLE_BYTES)
    if sha256_hex(data) != manifest["files"][SAMPLE_FILE]:
        raise VerificationError(
            f"{SAMPLE_FILE} does not match its sha256 in the manifest "
            "(altered or truncated)"
        )
    return parse_sample(data, manifest)
