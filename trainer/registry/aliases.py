"""A model's aliases (`aliases.json`) and their history (`alias_history.jsonl`).

`aliases.json` stays the plain `{"production": 3}` map that readers poll; every change
is also appended to the history so `rollback` can find the version that production
held before. The registry calls these under its lock; stdlib only.
"""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trainer.errors import NotFoundError, VerificationError
from trainer.registry.atomic import append_synced, read_regular, replace_atomically
from trainer.registry.names import ALIAS_PATTERN, is_version_name

ALIASES_FILE = "aliases.json"
HISTORY_FILE = "alias_history.jsonl"
# bounds so a damaged or hostile file cannot make a reader allocate without limit: a
# map of 64-character aliases fits in a few KB; a history line is ~100 bytes
MAX_ALIASES_BYTES = 1024 * 1024
MAX_HISTORY_BYTES = 64 * 1024 * 1024


def read_aliases(model_dir: Path) -> dict[str, int]:
    """The alias map; empty when the model has none. Refuses a damaged file."""
    try:
        data = read_regular(model_dir / ALIASES_FILE, MAX_ALIASES_BYTES)
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


def write_aliases(model_dir: Path, aliases: dict[str, int]) -> None:
    data = json.dumps(dict(sorted(aliases.items())), indent=2) + "\n"
    replace_atomically(model_dir / ALIASES_FILE, data.encode())


def record(
    model_dir: Path, alias: str, previous: int | None, version: int, action: str
) -> None:
    """Append one change to the history, before `aliases.json` is replaced.

    Written first so a crash between the two leaves a history entry the alias file
    never got; `rollback_target` reconciles that with the current value.
    """
    entry = {
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "alias": alias,
        "from": previous,
        "to": version,
        "action": action,
    }
    append_synced(model_dir / HISTORY_FILE, (json.dumps(entry) + "\n").encode())


def read_history(model_dir: Path) -> list[dict[str, Any]]:
    """Every recorded change, oldest first; unreadable lines (a torn write) skipped."""
    try:
        data = read_regular(model_dir / HISTORY_FILE, MAX_HISTORY_BYTES)
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
    """
    stack: list[int] = []
    for entry in history:
        if entry.get("alias") != alias:
            continue
        if entry.get("action") == "rollback":
            if stack:
                stack.pop()
        elif not stack or stack[-1] != entry["to"]:
            stack.append(entry["to"])
    # the alias file is the truth: history may hold a change that never landed (a
    # crash between the two writes), or miss one made by hand
    if current in stack:
        del stack[len(stack) - stack[::-1].index(current) :]
    elif current is not None:
        stack.append(current)
    if current is None or len(stack) < 2:
        raise NotFoundError(
            f"alias {alias!r} has no earlier version to roll back to "
            f"(history: {[e['to'] for e in history if e.get('alias') == alias]})"
        )
    return stack[-2]
