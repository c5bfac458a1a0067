"""A model's aliases (`aliases.json`) and their history (`alias_history.jsonl`).

`aliases.json` stays the plain `{"production": 3}` map that readers poll; every change
is also appended to the history so `rollback` can find the version that production
held before. Each change is one compare-and-set through the storage seam; stdlib only.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from trainer.errors import NotFoundError, RegistryError, VerificationError
from trainer.registry.names import (
    ALIAS_PATTERN,
    check_alias,
    is_version_name,
    parse_version,
)
from trainer.registry.storage import AliasChange, ReadFile, Storage

ALIASES_FILE = "aliases.json"
HISTORY_FILE = "alias_history.jsonl"
# bounds so a damaged or hostile file cannot make a reader allocate without limit: a
# map of 64-character aliases fits in a few KB; a history line is ~100 bytes
MAX_ALIASES_BYTES = 1024 * 1024
MAX_HISTORY_BYTES = 64 * 1024 * 1024

# `set_alias(expected=UNSET)`: no expectation (None already means "unset")
UNSET: Any = object()

# reads and verifies a version, raising if it does not: an alias never points at one
Verify = Callable[[str, int], object]


class AliasConflictError(RegistryError):
    """An alias changed between reading it and replacing it (another job got there)."""


def set_alias(
    storage: Storage,
    verify: Verify,
    name: str,
    alias: str,
    version: int,
    expected: Any = UNSET,
) -> None:
    """Point `alias` at an existing, verifying version; history is kept.

    With `expected`, the change happens only if the alias still holds that value
    (None: unset), else AliasConflictError: a compare-and-set for quality gates.
    """
    check_alias(alias)
    version = parse_version(version)
    verify(name, version)

    def change(read: ReadFile) -> AliasChange | None:
        current = read_aliases(read)
        previous = current.get(alias)
        if expected is not UNSET and previous != expected:
            raise AliasConflictError(
                f"alias {alias!r} of {name!r} is now {previous}, not {expected}"
            )
        if previous == version:
            return None
        # checked again where no removal can land (on disk: under the model's lock,
        # which `trainer gc` holds too): verified above, it may have gone since
        if version not in storage.versions(name):
            raise NotFoundError(f"model {name!r} has no version {version} (removed)")
        return _change(current, alias, previous, version, "set")

    storage.update_aliases(name, change)


def rollback(
    storage: Storage, verify: Verify, name: str, alias: str = "production"
) -> tuple[int, int]:
    """Move `alias` back to the version it held before; returns (from, to)."""
    check_alias(alias)
    if not storage.versions(name):
        raise NotFoundError(f"unknown model {name!r} (no published versions)")
    moved: list[tuple[int, int]] = []

    def change(read: ReadFile) -> AliasChange:
        moved.clear()  # a store that retries the change keeps only the last
        current = read_aliases(read)
        previous = current.get(alias)
        target = rollback_target(read_history(read), alias, previous)
        verify(name, target)
        moved.append((previous, target))
        return _change(current, alias, previous, target, "rollback")

    storage.update_aliases(name, change)
    return moved[-1]


def read_aliases(read: ReadFile) -> dict[str, int]:
    """The alias map; empty when the model has none. Refuses a damaged file."""
    try:
        data = read(ALIASES_FILE, MAX_ALIASES_BYTES)
    except FileNotFoundError:
        return {}
    try:
        aliases = json.loads(data)
    except (ValueError, RecursionError) as exc:
        # ValueError: bad UTF-8, bad JSON, or an integer over Python's digit limit;
        # RecursionError: deeply nested brackets. A damaged or hostile file, not a bug
        raise VerificationError(f"{ALIASES_FILE}: not valid JSON: {exc}") from exc
    if not isinstance(aliases, dict) or not all(
        isinstance(k, str)
        and ALIAS_PATTERN.fullmatch(k)
        and isinstance(v, int)
        and not isinstance(v, bool)
        and is_version_name(str(v))
        for k, v in aliases.items()
    ):
        raise VerificationError(
            f"{ALIASES_FILE}: must map alias names to positive version numbers"
        )
    return aliases


def aliases_bytes(aliases: dict[str, int]) -> bytes:
    """`aliases.json` as written: sorted, indented, for people reading it."""
    return (json.dumps(dict(sorted(aliases.items())), indent=2) + "\n").encode()


def _change(
    current: dict[str, int], alias: str, previous: int | None, version: int, action: str
) -> AliasChange:
    entry = {
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "alias": alias,
        "from": previous,
        "to": version,
        "action": action,
    }
    return AliasChange(
        history_line=(json.dumps(entry) + "\n").encode(),
        aliases=aliases_bytes({**current, alias: version}),
    )


def read_history(read: ReadFile) -> list[dict[str, Any]]:
    """Every recorded change, oldest first; unreadable lines (a torn write) skipped."""
    try:
        data = read(HISTORY_FILE, MAX_HISTORY_BYTES)
    except FileNotFoundError:
        return []
    lines = data.decode(errors="replace").splitlines()
    history = []
    for line in lines:
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(entry, dict) and isinstance(entry.get("to"), int):
            history.append(entry)
    return history


def rollback_target(
    history: list[dict[str, Any]], alias: str, current: int | None
) -> int:
    """The version `alias` held before its current one.

    Replays the history as a stack: a change pushes its version, a rollback pops, so
    two rollbacks in a row step back twice instead of toggling between two versions.
    Only changes that landed count: each line's `from` is what `aliases.json` held
    when it was written (read under the lock), so before a line is applied the stack
    is brought to that value, exactly as it is brought to `aliases.json` at the end.
    A line that never landed (a writer killed between the two writes) is thus undone
    by the next line's `from`, and a change the history misses (made by hand) is
    added by it.
    """
    stack = rollback_chain(history, alias, current)
    if current is None:
        raise NotFoundError(
            f"alias {alias!r} is not set, so there is nothing to roll back: point it "
            "at a version first (promote)"
        )
    if len(stack) < 2:
        raise NotFoundError(
            f"alias {alias!r} has held only version {current}: there is no earlier "
            "version to roll back to"
        )
    return stack[-2]


def rollback_chain(
    history: list[dict[str, Any]], alias: str, current: int | None
) -> list[int]:
    """The versions successive rollbacks of `alias` step back through, oldest first,
    ending at `current` (empty when the alias is unset): the replay `rollback_target`
    takes its answer from, and what retention (`trainer gc`) must keep.
    """
    stack: list[int] = []
    for entry in history:
        if entry.get("alias") != alias:
            continue
        if "from" in entry:  # a line written without one cannot be checked
            _arrive(stack, entry["from"])
        if entry.get("action") == "rollback":
            if stack:
                stack.pop()
            # a rollback that landed made its target production, whatever the
            # stack says (one written by an older, chain-blind rollback_target)
            if not stack or stack[-1] != entry["to"]:
                stack.append(entry["to"])
        elif not stack or stack[-1] != entry["to"]:
            stack.append(entry["to"])
    # the alias file is the truth: the last line may never have landed, or a change
    # may have been made by hand since
    _arrive(stack, current)
    return stack


def _arrive(stack: list[int], value: object) -> None:
    """Bring the stack to `value`, the alias's value known from outside the stack.

    Back to where `value` was last on the stack (what came after it never landed, or
    was undone by hand), or, for a value it never held, a change the history misses.
    None (the alias unset) empties it; anything but a version number is ignored.
    """
    if value is None:
        stack.clear()
    elif not isinstance(value, int) or isinstance(value, bool):
        return
    elif value in stack:
        del stack[len(stack) - stack[::-1].index(value) :]
    else:
        stack.append(value)
