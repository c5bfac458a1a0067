"""The versions that did not verify, each remembered until its files change.

One book per store, for the served version and `?version=` requests alike, so there is
one rule: a failure is kept with its files' stamp (`Registry.version_stamp`) and
forgotten as soon as the stamp differs. A corrupt version is not re-read, re-logged or
re-counted on every poll or request; one copied in file by file is looked at again once
its last file lands.
"""

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Failed:
    """Why a version did not verify, and its files' (name, size, mtime) when it did not.

    A published version never changes, but one synced or copied in file by file
    shows its directory before its last file: it fails once and must be looked at
    again when its files change, though the model's version list does not.
    """

    reason: str
    stamp: tuple


class FailedVersions:
    """Failures by (model, version), checked against the registry's stamps on reading.

    Parameters
    ----------
    registry : anything with `version_stamp(name, version) -> tuple`
    """

    def __init__(self, registry: object) -> None:
        self._registry = registry
        self._failed: dict[tuple[str, int], Failed] = {}
        # request threads and the poll thread both record and forget
        self._lock = threading.Lock()

    def stamp(self, name: str, number: int) -> tuple:
        """The version's files' stamp now; take it before a load (see `remember`)."""
        return self._registry.version_stamp(name, number)

    def remember(self, name: str, number: int, failure: Failed) -> None:
        """Record a failure; its stamp is taken before the load that failed, so a
        file landing during that load counts as a change."""
        with self._lock:
            self._failed[(name, number)] = failure

    def current(self, name: str, number: int) -> Failed | None:
        """The version's failure while its files are those it failed with, else None
        (a failure whose files changed is forgotten here)."""
        key = (name, number)
        failure = self._failed.get(key)
        if failure is None:
            return None
        if self.stamp(name, number) == failure.stamp:
            return failure
        with self._lock:
            if self._failed.get(key) is failure:
                del self._failed[key]
        return None

    def hold(self, name: str, numbers: Iterable[int]) -> bool:
        """Whether every one of `numbers` still fails with the files it failed with."""
        return all(self.current(name, number) is not None for number in numbers)

    def retain(self, listed: Mapping[str, Iterable[int]]) -> None:
        """Forget the versions no longer listed (`listed`: versions by model)."""
        kept = {name: set(numbers) for name, numbers in listed.items()}
        with self._lock:
            for name, number in list(self._failed):
                if number not in kept.get(name, ()):
                    del self._failed[(name, number)]
