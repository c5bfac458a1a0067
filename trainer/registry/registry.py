"""`Registry`: the one object trainers and the service use, over one store.

Reading comes from `reading.Reader` as is (the service's poll and load go straight
there); writing and maintenance are the functions of `publishing`, `aliases` and
`maintenance`, bound to this registry's storage and to its verified reads.
"""

from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

import numpy as np

from trainer.registry import aliases, maintenance, publishing
from trainer.registry.maintenance import STALE_SECONDS, Problem
from trainer.registry.reading import Reader, read_verified

Array = np.ndarray


class Registry(Reader):
    """Versions and aliases of every model under one root directory."""

    def publish(
        self,
        name: str,
        coefs: Sequence[Array],
        intercepts: Sequence[Array],
        manifest_fields: Mapping[str, Any],
        probe_sample: Array | None = None,
    ) -> int:
        """Publish a new version atomically and return its number; `probe_sample`
        (n_samples, n_features), the training data, adds points to its reference."""
        return publishing.publish(
            self.storage, name, coefs, intercepts, manifest_fields, probe_sample
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

    def _verify(self, name: str, version: int) -> None:
        read_verified(self.storage, name, version, self.reference_tolerance)
