"""The fault suite: the service and the trainer under the faults a deployment meets.

Every test here is bounded in time and count, starts its own servers on free loopback
ports and stops them by their own PID. Each records its figures with `record(...)`,
appended as one JSON line to build/fault-report.jsonl, which docs/reliability.md quotes.
"""

import json
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "build" / "fault-report.jsonl"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.faults)


def record(test: str, **figures: object) -> None:
    """Append one test's figures to the fault report (and show them with -s)."""
    REPORT.parent.mkdir(exist_ok=True)
    line = json.dumps({"test": test, "at": time.strftime("%FT%TZ"), **figures})
    with REPORT.open("a") as report:
        report.write(line + "\n")
    print(line)
