"""`Registry`: the one object trainers and the service use, over one store.

Reading comes from `reading.Reader` as is (the service's poll and load go straight
there); writing and maintenance are the functions of `publishing`, `aliases` and
`maintenance`, bound to this registry's storage and to its verified reads.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from trainer.registry import aliases, maintenance, publishing, retention
from trainer.registry.maintenance import STALE_SECONDS, Problem
from trainer.registry.reading import Reader, read_verified
from trainer.registry.retention import RetentionPlan
from trainer.registry.storage import open_storage

Array = np.ndarray


class Registry(Reader):
    """Versions and aliases of every model under one root directory."""

    def publish(
        self,
        name: str,
        coefs: Sequence[Array],
        intercepts: Sequence[Array],
        manifest_fields: Mapping[str, Any],
        files: Mapping[str, bytes] | None = None,
    ) -> int:
        """Publish a new version atomically and return its number.

        `files`: optional files of the version (the data sample), name -> bytes.
        """
        return publishing.publish(
            self.storage, name, coefs, intercepts, manifest_fields, files
        )

    def set_alias(
        self, name: str, alias: str, version: int, *, expected: Any = aliases.UNSET
    ) -> None:
        """Point `alias` at an existing, verifying version; history is kept.

        With `expected`, a compare-and-set: AliasConflictError if the alias moved.
        """
        aliases.set_alias(self.storage, self._verify, name, alias, version, expected)

    def rollback(self, name: str, alias: str = "production") -> tuple[int, int]:
        """Move `alias` back to the version it held before; returns (from, to)."""
        return aliases.rollback(self.storage, self._verify, name, alias)

    def check(self, name: str) -> list[Problem]:
        """Verify every version and alias of a model; an empty list: all is well."""
        return maintenance.check(self, name)

    def temp_entries(self, name: str) -> list[PurePath]:
        """Temporary directories and files of writes in progress or interrupted."""
        return self.storage.temp_entries(name)

    def clean_stale(
        self, name: str, max_age_seconds: float = STALE_SECONDS
    ) -> list[PurePath]:
        """Remove temporary entries older than `max_age_seconds`; returns them."""
        return maintenance.clean_stale(self.storage, name, max_age_seconds)

    def gc(self, name: str, keep: int, dry_run: bool = False) -> RetentionPlan:
        """Remove all but the newest `keep` versions and those an alias, a rollback
        or the service still needs; with `dry_run`, only say which."""
        return retention.collect(self.storage, self._verify, name, keep, dry_run)

    def _verify(self, name: str, version: int) -> None:
        read_verified(self.storage, name, version)


def open_registry(location: str | Path, cache_dir: Path | None = None) -> Registry:
    """The registry at a directory or `s3://BUCKET/PREFIX`; `cache_dir` keeps an
    object store's fetched version files on local disk (the service's emptyDir)."""
    return Registry(location, open_storage(location, cache_dir))


def check_writable_store(location: str) -> None:
    """Before a long job publishes to an object store: the bucket exists, the
    credentials are accepted, and writes are conditional (else publishing is
    refused). Raises StoreConfigError (bad input) or StorageError; writes nothing
    but a probe key it deletes."""
    storage = open_storage(location)
    storage.check_access()
    storage.check_conditional_writes()
