"""Retention (`python -m trainer gc`): which old versions of a model may go, and going.

A version stays when it is one of the newest `keep`, when an alias names it, when a
rollback of any alias could still step back to it, or when the service serves it (no
production alias: the highest version that verifies). Everything else is removed
through the storage seam, decided and removed where no alias change can land between.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from trainer.errors import NotFoundError, RegistryError
from trainer.registry.aliases import read_aliases, read_history, rollback_chain
from trainer.registry.storage import ReadFile, Storage

# raises if a version does not verify (`Registry._verify`)
Verify = Callable[[str, int], object]


@dataclass(frozen=True)
class RetentionPlan:
    """What `collect` kept (each version with its reasons) and removed, newest first."""

    name: str
    keep: int
    kept: dict[int, list[str]] = field(default_factory=dict)
    removed: list[int] = field(default_factory=list)


def collect(
    storage: Storage, verify: Verify, name: str, keep: int, dry_run: bool = False
) -> RetentionPlan:
    """Keep the newest `keep` versions and every protected one; remove the rest.

    With `dry_run` nothing is written, not even a lock. Otherwise the plan is made and
    carried out inside one `update_aliases` that changes nothing: on disk under the
    model's lock, which a promotion or rollback takes before it moves an alias (and
    then checks that its version still exists), so neither can pick a version
    between its being judged unprotected and its removal.
    """
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ValueError(f"keep must be an integer >= 1, got {keep!r}")
    if not storage.versions(name):
        raise NotFoundError(f"unknown model {name!r} (no published versions)")
    plans: list[RetentionPlan] = []

    def plan_and_remove(read: ReadFile) -> None:
        plans.clear()  # a store that runs the change again keeps only the last plan
        plan = _plan(storage, verify, name, keep, read)
        if not dry_run:
            for version in plan.removed:
                storage.remove_version(name, version)
        plans.append(plan)

    if dry_run:
        plan_and_remove(lambda file, limit: storage.read(name, file, limit))
    else:
        storage.update_aliases(name, plan_and_remove)
    return plans[-1]


def _plan(
    storage: Storage, verify: Verify, name: str, keep: int, read: ReadFile
) -> RetentionPlan:
    versions = sorted(storage.versions(name), reverse=True)
    aliases = read_aliases(read)
    history = read_history(read)
    reasons: dict[int, list[str]] = {}

    def protect(version: int, reason: str) -> None:
        if version in versions and reason not in reasons.setdefault(version, []):
            reasons[version].append(reason)

    # newest first by number: the highest always stays, so a number is never reused
    for version in versions[:keep]:
        protect(version, "newest")
    for alias, version in sorted(aliases.items()):
        protect(version, f"alias {alias}")
    named = {alias for alias in aliases} | {
        entry["alias"] for entry in history if isinstance(entry.get("alias"), str)
    }
    for alias in sorted(named):
        chain = rollback_chain(history, alias, aliases.get(alias))
        for version in chain[:-1]:  # the last is the alias's own version
            protect(version, f"rollback history of {alias}")
    if "production" not in aliases:
        served = _highest_verified(verify, name, versions)
        if served is not None:
            protect(served, "served")
    kept = {v: reasons[v] for v in versions if v in reasons}
    removed = [v for v in versions if v not in reasons]
    return RetentionPlan(name=name, keep=keep, kept=kept, removed=removed)


def _highest_verified(verify: Verify, name: str, versions: list[int]) -> int | None:
    """What the service serves without a production alias (`versions` newest first)."""
    for version in versions:
        try:
            verify(name, version)
        except RegistryError:
            continue
        return version
    return None
