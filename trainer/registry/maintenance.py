"""Maintenance for `python -m trainer verify`: check everything, clean up leftovers.

`check` verifies every version and alias of a model and reports each problem instead
of stopping at the first; `clean_stale` removes what interrupted writes left behind,
sparing anything young enough to belong to a publisher still at work.
"""

import time
from dataclasses import dataclass
from pathlib import PurePath

from trainer.errors import RegistryError, VerificationError
from trainer.registry.reading import Reader, read_verified
from trainer.registry.storage import (
    NOT_A_DIRECTORY,
    NOT_A_VERSION,
    SYMLINK,
    Storage,
)

# A publish writes two small files and renames: seconds at most. A temporary entry
# older than this belongs to a publisher that died, and may be removed.
STALE_SECONDS = 600.0


@dataclass(frozen=True)
class Problem:
    """One thing `check` found wrong."""

    name: str
    where: str  # "v3", "aliases", an entry name
    message: str


def check(registry: Reader, name: str) -> list[Problem]:
    """Verify every version and alias of a model; an empty list: all is well."""
    try:
        versions = registry.versions(name)
    except VerificationError as exc:  # a symlinked model directory
        return [Problem(name, "model", str(exc))]
    problems = []
    for version in versions:
        try:
            read_verified(registry.storage, name, version, registry.reference_tolerance)
        except RegistryError as exc:
            problems.append(Problem(name, f"v{version}", str(exc)))
    try:
        current = registry.aliases(name)
    except VerificationError as exc:
        problems.append(Problem(name, "aliases", str(exc)))
    else:
        for alias, version in current.items():
            if version not in versions:
                problems.append(
                    Problem(name, "aliases", f"{alias!r} -> missing v{version}")
                )
    for entry, reason in registry.ignored_entries(name):
        problems.append(Problem(name, entry, _IGNORED.get(reason, reason)))
    return problems


# what `check` says of each entry readers skip (`Storage.ignored_entries`)
_IGNORED = {
    SYMLINK: "a symlink, ignored: readers never follow one (it could lead out of "
    "the registry)",
    NOT_A_DIRECTORY: "a numbered entry that is not a directory, ignored",
    NOT_A_VERSION: "not a version directory, ignored: versions are directories "
    "named 1, 2, 3, ...",
}


def clean_stale(
    storage: Storage, name: str, max_age_seconds: float = STALE_SECONDS
) -> list[PurePath]:
    """Remove temporary entries older than `max_age_seconds`; returns them.

    The age threshold spares a publisher that is writing right now.
    """
    removed = []
    now = time.time()
    for entry in storage.temp_entries(name):
        try:
            age = now - storage.modified_at(entry)
        except FileNotFoundError:
            continue
        if age >= max_age_seconds:
            storage.remove(entry)
            removed.append(entry)
    return removed
