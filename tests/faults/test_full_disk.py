"""A full disk while the trainer publishes or promotes: exit 1 with a message naming the
path and the state left, one JSON line with --json, and nothing partial in the registry.

The disk is a tmpfs of a few pages, filled to leave exactly k pages free: with none,
the version itself cannot be written; with five, the version lands (weights.npz and
manifest.json are a page each, the 200 points of data_sample.json three) and the
promotion after it fails.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.conftest import ROOT, record
from trainer.registry import Registry

PAGE = 4096
NAME = "full"
# what one version of the training run below takes on the tmpfs, in pages
VERSION_PAGES = 5


@pytest.fixture
def small_disk(tmp_path: Path):
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs as a small disk")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                   check=True)  # fmt: skip
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill_leaving(mount: Path, free_pages: int) -> None:
    stats = os.statvfs(mount)
    with open(mount / "filler", "wb") as filler:
        filler.write(b"\0" * (stats.f_bavail - free_pages) * PAGE)


def train(registry: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "trainer",
            "train",
            "--registry",
            str(registry),
            "--name",
            NAME,
            "--epochs",
            "20",
            "--print-every",
            "0",
            "--promote",
            *extra,
        ],  # fmt: skip
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("as_json", [False, True])
def test_no_room_for_the_version_publishes_nothing(small_disk, as_json):
    registry = small_disk / "registry"
    (registry / NAME).mkdir(parents=True)
    fill_leaving(small_disk, 0)
    result = train(registry, *(["--json"] if as_json else []))
    message = _error_message(result, as_json)
    record("full_disk_publish", exit_code=result.returncode, message=message)
    assert result.returncode == 1
    assert "No space left on device" in message
    assert str(registry / NAME) in message
    assert "nothing was published" in message
    assert Registry(registry).versions(NAME) == []
    assert Registry(registry).temp_entries(NAME) == []


@pytest.mark.parametrize("as_json", [False, True])
def test_no_room_for_the_promotion_says_the_version_is_published(small_disk, as_json):
    registry = small_disk / "registry"
    (registry / NAME).mkdir(parents=True)
    fill_leaving(small_disk, VERSION_PAGES)
    result = train(registry, *(["--json"] if as_json else []))
    message = _error_message(result, as_json)
    record("full_disk_promote", exit_code=result.returncode, message=message)
    reader = Registry(registry)
    assert reader.versions(NAME) == [1], result.stderr
    assert result.returncode == 1
    assert "No space left on device" in message
    assert str(registry / NAME) in message
    assert "version 1 was published" in message
    assert "production was not changed" in message
    assert reader.aliases(NAME) == {}
    assert reader.check(NAME) == []
    # the promotion that never landed is not in the rollback history either
    history = registry / NAME / "alias_history.jsonl"
    assert not history.exists() or history.read_text() == ""


def _error_message(result: subprocess.CompletedProcess, as_json: bool) -> str:
    if not as_json:
        return result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    error = json.loads(lines[0])["error"]
    assert set(error) >= {"code", "message"}
    return error["message"]
