"""SIGKILL the trainer 30 times during `train --promote`: the registry never shows a
partial version or a dangling alias, and `verify --fix` removes what the killed runs
left once it is stale.

Publishing takes milliseconds of a run of seconds, so random moments alone would almost
never land in it: 21 kills come at random times, and 9 exactly at each of the writes
that publish and promote (every fsync and rename in turn), injected with strace.
"""

import os
import random
import shutil
import signal
import subprocess
import sys
import time

from tests.faults.conftest import ROOT, record
from trainer.registry import STALE_SECONDS, Registry

RANDOM_KILLS = 21
# publishing syncs three files, renames the version in, syncs its directory; promoting
# syncs and renames aliases.json and syncs the directory: 7 fsyncs and 2 renames
SYSCALL_KILLS = [("fsync", k) for k in range(1, 8)] + [("rename", 1), ("rename", 2)]
NAME = "killed"


def test_a_killed_trainer_never_leaves_a_visible_partial_version(tmp_path):
    root = tmp_path / "registry"
    command = [
        sys.executable, "-m", "trainer", "train", "--registry", str(root),
        "--name", NAME, "--epochs", "50", "--print-every", "0", "--promote",
    ]  # fmt: skip
    full_run = _timed_run(command)
    registry = Registry(root)
    strace = shutil.which("strace")
    assert strace, "strace is missing: apt-get install -y strace"
    rng = random.Random(1)
    moments = [None] * RANDOM_KILLS + SYSCALL_KILLS
    rng.shuffle(moments)
    killed = 0
    for moment in moments:
        if moment is None:
            process = subprocess.Popen(command, cwd=ROOT, **QUIET)
            # anywhere from the imports to the last write and rename
            time.sleep(rng.uniform(0.0, full_run * 1.1))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
        else:
            syscall, nth = moment
            inject = f"inject={syscall}:signal=KILL:when={nth}"
            trace = f"trace={syscall}"
            # (not --seccomp-bpf: with it the injection never fired here)
            tracer = [strace, "-f", "-qq", "-o", os.devnull]
            tracer += ["-e", trace, "-e", inject]
            process = subprocess.Popen([*tracer, *command], cwd=ROOT, **QUIET)
        process.wait()
        killed += process.returncode != 0
        assert registry.check(NAME) == [], "a visible version or alias does not verify"
        for version in registry.versions(NAME):
            registry.load(NAME, version)
    leftovers = registry.temp_entries(NAME)
    versions = registry.versions(NAME)

    # what the killed runs left is cleaned once it is stale, and only then
    fresh = _verify_fix(root)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert len(registry.temp_entries(NAME)) == len(leftovers)
    stale = time.time() - STALE_SECONDS - 60
    for entry in leftovers:
        os.utime(entry, (stale, stale), follow_symlinks=False)
    cleaned = _verify_fix(root)
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert registry.temp_entries(NAME) == []
    assert registry.versions(NAME) == versions
    record(
        "trainer_kill",
        runs=len(moments),
        killed_before_exit=killed,
        killed_at_a_write=len(SYSCALL_KILLS),
        full_run_seconds=round(full_run, 2),
        versions_published=len(versions),
        leftovers_cleaned=len(leftovers),
    )
    assert killed >= len(SYSCALL_KILLS), "every injected kill must end its run"
    assert leftovers, "kills before a rename leave a temporary entry to clean"


QUIET = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def _timed_run(command: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return time.monotonic() - started


def _verify_fix(root) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trainer", "verify", "--registry", str(root), "--fix"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
