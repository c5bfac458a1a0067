"""What the fault tests read of a process from /proc: its workers, its peak memory."""

import re
from pathlib import Path


def workers_of(master: int) -> list[int]:
    """The gunicorn master's child processes (its workers), sorted."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def peak_rss(pid: int) -> int:
    """VmHWM: the most resident memory the process has had, in bytes."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024
