"""Publishing and aliases: atomic, race-free, crash-safe, with history for rollback."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import registry_samples as samples
from trainer.errors import NotFoundError, RegistryError, VerificationError
from trainer.registry import AliasConflictError, Registry
from trainer.registry.artifact import WEIGHTS_FILE
from trainer.registry.manifest import MANIFEST_FILE

ROOT = Path(__file__).resolve().parents[3]


def _publish_one(registry: Registry, seed: int = 0) -> int:
    return registry.publish("moons", *samples.layers(seed=seed), samples.fields())


def test_versions_increase_and_are_immutable_copies(tmp_path):
    registry = Registry(tmp_path)
    assert [_publish_one(registry, seed) for seed in range(3)] == [1, 2, 3]
    first = registry.load("moons", 1)
    assert first.manifest["version"] == 1
    assert first.manifest["created_at"].endswith("Z")
    assert not first.coefs[0].flags.writeable


def test_same_weights_give_the_same_sha256_in_every_version(tmp_path):
    registry = Registry(tmp_path)
    _publish_one(registry, seed=4)
    _publish_one(registry, seed=4)
    sha = [registry.read_manifest("moons", v)["files"]["weights.npz"] for v in (1, 2)]
    assert sha[0] == sha[1]
    files = [(tmp_path / "moons" / str(v) / "weights.npz").read_bytes() for v in (1, 2)]
    assert files[0] == files[1]


def test_invalid_input_writes_nothing(tmp_path):
    registry = Registry(tmp_path / "models")
    coefs, intercepts = samples.layers(hidden=(4,))
    with pytest.raises(VerificationError, match="disagree"):
        registry.publish("moons", coefs, intercepts, samples.fields(hidden=(3,)))
    bad_fields = samples.fields()
    bad_fields["metrics"]["validation_accuracy"] = float("nan")
    with pytest.raises(VerificationError, match="finite"):
        registry.publish("moons", *samples.layers(), bad_fields)
    assert not (tmp_path / "models").exists()


def test_publish_refuses_a_version_number_readers_could_not_see(tmp_path):
    registry = Registry(tmp_path)
    last = tmp_path / "moons" / ("9" * 18)  # the largest version name readers accept
    last.mkdir(parents=True)
    with pytest.raises(RegistryError, match="out of version numbers"):
        registry.publish("moons", *samples.layers(), samples.fields())
    assert sorted(p.name for p in (tmp_path / "moons").iterdir()) == [last.name]


def test_concurrent_threads_get_distinct_versions(tmp_path):
    registry = Registry(tmp_path)
    start = threading.Barrier(4)
    published: list[int] = []
    lock = threading.Lock()

    def publisher(seed: int) -> None:
        start.wait()
        for _ in range(5):
            version = _publish_one(registry, seed)
            with lock:
                published.append(version)

    threads = [threading.Thread(target=publisher, args=(s,)) for s in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(published) == list(range(1, 21))
    assert registry.versions("moons") == list(range(1, 21))
    assert registry.check("moons") == []
    assert registry.temp_entries("moons") == []


_PROCESS_PUBLISHER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tests.helpers import registry_samples as samples
    from trainer.registry import Registry
    root, go, seed = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    while not go.exists():
        time.sleep(0.005)
    registry = Registry(root)
    for _ in range(5):
        print(registry.publish("moons", *samples.layers(seed=seed), samples.fields()))
    """
)


def test_concurrent_processes_get_distinct_versions(tmp_path):
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _PROCESS_PUBLISHER,
                str(tmp_path / "m"),
                str(go),
                str(s),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for s in range(3)
    ]
    go.touch()
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    published = sorted(int(v) for out in outputs for v in out.split())
    assert published == list(range(1, 16))
    registry = Registry(tmp_path / "m")
    assert registry.check("moons") == []
    # each process's seed shows which weights landed in which version
    for out, seed in zip(outputs, range(3), strict=True):
        expected = samples.layers(seed=seed)[0][0]
        for version in map(int, out.split()):
            assert (registry.load("moons", version).coefs[0] == expected).all()


_KILLED_PUBLISHER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tests.helpers import registry_samples as samples
    from trainer.registry import Registry, local
    root, stop_after = Path(sys.argv[1]), sys.argv[2]
    write = local.write_synced
    def write_then_hang(path, data):
        write(path, data)
        if path.name == stop_after:
            print("written", flush=True)
            time.sleep(120)
    local.write_synced = write_then_hang  # where LocalStorage's drafts write
    Registry(root).publish("moons", *samples.layers(), samples.fields())
    """
)


@pytest.mark.parametrize("stop_after", [WEIGHTS_FILE, MANIFEST_FILE])
def test_publisher_killed_mid_write_leaves_no_version(tmp_path, stop_after):
    registry = Registry(tmp_path)
    _publish_one(registry)
    with subprocess.Popen(
        [sys.executable, "-c", _KILLED_PUBLISHER, str(tmp_path), stop_after],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout.readline() == "written\n"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    (leftover,) = registry.temp_entries("moons")
    assert (leftover / stop_after).exists()
    assert registry.versions("moons") == [1]
    assert registry.check("moons") == []
    # the next publish removes the leftover once it is old enough to be abandoned
    os.utime(leftover, (time.time() - 3600,) * 2)
    assert _publish_one(registry) == 2
    assert registry.temp_entries("moons") == []


_PAUSED_PUBLISHER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tests.helpers import registry_samples as samples
    from trainer.registry import Registry, local
    write = local.write_synced
    def write_then_wait(path, data):
        write(path, data)
        if path.name == "weights.npz":
            print("written", flush=True)
            sys.stdin.readline()  # until the test has run verify --fix
    local.write_synced = write_then_wait  # where LocalStorage's drafts write
    registry = Registry(Path(sys.argv[1]))
    print(registry.publish("moons", *samples.layers(), samples.fields()), flush=True)
    """
)


def test_verify_fix_beside_a_live_publisher_leaves_its_work_alone(tmp_path):
    registry = Registry(tmp_path)
    _publish_one(registry)
    with subprocess.Popen(
        [sys.executable, "-c", _PAUSED_PUBLISHER, str(tmp_path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout.readline() == "written\n"
            fix = subprocess.run(
                [sys.executable, "-m", "trainer", "verify", "--fix", "--json",
                 "--registry", str(tmp_path)],
                cwd=ROOT, capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert fix.returncode == 0, fix.stderr
            report = json.loads(fix.stdout)["models"]["moons"]
            assert report["removed_temp_entries"] == []
            assert len(report["temp_entries"]) == 1
            proc.stdin.write("go\n")
            proc.stdin.flush()
            assert proc.stdout.readline() == "2\n"
        finally:
            proc.kill()
            proc.wait(timeout=30)
    assert registry.versions("moons") == [1, 2]
    assert registry.check("moons") == [] and registry.temp_entries("moons") == []


def test_set_alias_refuses_missing_and_corrupt_versions(tmp_path):
    registry = Registry(tmp_path)
    _publish_one(registry)
    _publish_one(registry)
    with pytest.raises(NotFoundError):
        registry.set_alias("moons", "production", 3)
    (tmp_path / "moons" / "2" / "weights.npz").write_bytes(b"broken")
    with pytest.raises(VerificationError):
        registry.set_alias("moons", "production", 2)
    assert registry.aliases("moons") == {}


def test_aliases_file_stays_a_plain_map_and_history_is_kept(tmp_path):
    registry = Registry(tmp_path)
    for seed in range(3):
        _publish_one(registry, seed)
    registry.set_alias("moons", "production", 1)
    registry.set_alias("moons", "staging", 3)
    registry.set_alias("moons", "production", 2)
    aliases_json = json.loads((tmp_path / "moons" / "aliases.json").read_text())
    assert aliases_json == {"production": 2, "staging": 3}
    history = (tmp_path / "moons" / "alias_history.jsonl").read_text().splitlines()
    assert [json.loads(line)["to"] for line in history] == [1, 3, 2]


def test_rollback_steps_back_through_production_history(tmp_path):
    registry = Registry(tmp_path)
    for seed in range(4):
        _publish_one(registry, seed)
    for version in (1, 2, 4):
        registry.set_alias("moons", "production", version)
    assert registry.rollback("moons") == (4, 2)
    assert registry.served_version("moons") == 2
    # a second rollback goes further back instead of toggling to 4
    assert registry.rollback("moons") == (2, 1)
    with pytest.raises(NotFoundError, match="no earlier version"):
        registry.rollback("moons")
    registry.set_alias("moons", "production", 3)
    assert registry.rollback("moons") == (3, 1)


def test_rollback_follows_aliases_json_when_history_disagrees(tmp_path):
    registry = Registry(tmp_path)
    for seed in range(3):
        _publish_one(registry, seed)
    registry.set_alias("moons", "production", 1)
    registry.set_alias("moons", "production", 2)
    # a crash after the history line but before aliases.json: production is still 2
    with open(tmp_path / "moons" / "alias_history.jsonl", "a") as history:
        history.write(
            json.dumps({"alias": "production", "to": 3, "action": "set"}) + "\n"
        )
    assert registry.rollback("moons") == (2, 1)


def test_rollback_without_history_is_not_found(tmp_path):
    registry = Registry(tmp_path)
    _publish_one(registry)
    with pytest.raises(NotFoundError):
        registry.rollback("moons")
    with pytest.raises(NotFoundError, match="unknown model"):
        registry.rollback("circles")


def test_compare_and_set_refuses_a_stale_expectation(tmp_path):
    registry = Registry(tmp_path)
    _publish_one(registry)
    _publish_one(registry)
    registry.set_alias("moons", "production", 1, expected=None)
    with pytest.raises(AliasConflictError):
        registry.set_alias("moons", "production", 2, expected=None)
    registry.set_alias("moons", "production", 2, expected=1)
    assert registry.aliases("moons") == {"production": 2}


def test_state_token_changes_exactly_when_something_is_published_or_aliased(tmp_path):
    registry = Registry(tmp_path)
    _publish_one(registry)
    token = registry.state_token("moons")
    assert registry.state_token("moons") == token
    _publish_one(registry)
    assert registry.state_token("moons") != token
    token = registry.state_token("moons")
    registry.set_alias("moons", "production", 2)
    assert registry.state_token("moons") != token


class MemoryStorage:
    """A `Storage` in a dict, keyed like objects in a bucket (`NAME/VERSION/FILE`).

    A version is published once its manifest is there, and numbers are claimed apart
    from the files, as an object store would do it: if the registry runs on this, its
    publishing, alias and verification logic needs nothing beyond the seam.
    """

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.claimed: set[tuple[str, int]] = set()

    def model_names(self) -> list[str]:
        return sorted({key.split("/")[0] for key in self.objects if self._version(key)})

    def model_entries(self) -> list[str]:
        return sorted({key.split("/")[0] for key in self.objects})

    def versions(self, name: str) -> list[int]:
        return sorted(
            int(key.split("/")[1])
            for key in self.objects
            if key.startswith(f"{name}/") and self._version(key)
        )

    def refusal(self, name: str, version: int) -> None:
        return None

    def version(self, name: str, version: int) -> "MemoryVersion":
        if version not in self.versions(name):
            raise FileNotFoundError(f"{name}/{version}")
        prefix = f"{name}/{version}/"
        return MemoryVersion(
            {
                k[len(prefix) :]: v
                for k, v in self.objects.items()
                if k.startswith(prefix)
            }
        )

    def read(self, name: str, file: str, max_bytes: int) -> bytes:
        try:
            return self.objects[f"{name}/{file}"]
        except KeyError:
            raise FileNotFoundError(f"{name}/{file}") from None

    def state_token(self, name: str) -> tuple:
        return (tuple(self.versions(name)), self.objects.get(f"{name}/aliases.json"))

    def version_stamp(self, name: str, version: int) -> tuple:
        prefix = f"{name}/{version}/"
        return tuple(
            sorted((k, len(v)) for k, v in self.objects.items() if k.startswith(prefix))
        )

    def next_version(self, name: str) -> int:
        taken = [v for n, v in self.claimed if n == name] + self.versions(name)
        return max(taken, default=0) + 1

    @contextmanager
    def draft(self, name: str):
        yield MemoryDraft(self, name)

    def update_aliases(self, name: str, change: Any) -> None:
        written = change(lambda file, limit: self.read(name, file, limit))
        if written is not None:
            history = f"{name}/alias_history.jsonl"
            self.objects[history] = (
                self.objects.get(history, b"") + written.history_line
            )
            self.objects[f"{name}/aliases.json"] = written.aliases

    def ignored_entries(self, name: str) -> list:
        return []

    def temp_entries(self, name: str) -> list:
        return []

    @staticmethod
    def _version(key: str) -> bool:
        parts = key.split("/")
        return len(parts) == 3 and parts[2] == MANIFEST_FILE


class MemoryVersion:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects, self.files = objects, frozenset(objects)

    def read(self, file: str, max_bytes: int) -> bytes:
        return self.objects[file]


class MemoryDraft:
    def __init__(self, storage: MemoryStorage, name: str) -> None:
        self.storage, self.name, self.files = storage, name, {}

    def write(self, file: str, data: bytes) -> None:
        self.files[file] = data

    def commit(self, version: int, last_file: str, data: bytes) -> bool:
        if (self.name, version) in self.storage.claimed:
            return False  # If-None-Match: * refused: another publisher has it
        self.storage.claimed.add((self.name, version))
        for file, content in [*self.files.items(), (last_file, data)]:
            self.storage.objects[f"{self.name}/{version}/{file}"] = content
        return True


def test_the_registry_runs_on_any_storage_behind_the_seam(tmp_path):
    storage = MemoryStorage()
    registry = Registry(tmp_path / "unused", storage=storage)
    assert [_publish_one(registry, seed) for seed in range(2)] == [1, 2]
    storage.claimed.add(("moons", 3))  # a publisher that claimed 3 and died
    assert _publish_one(registry, seed=2) == 4
    assert registry.models() == ["moons"] and registry.versions("moons") == [1, 2, 4]
    expected = samples.layers(seed=2)[0][0]
    assert (registry.load("moons").coefs[0] == expected).all()
    token = registry.state_token("moons")
    registry.set_alias("moons", "production", 1)
    registry.set_alias("moons", "production", 2)
    assert registry.state_token("moons") != token
    with pytest.raises(AliasConflictError):
        registry.set_alias("moons", "production", 4, expected=1)
    assert registry.rollback("moons") == (2, 1)
    assert registry.load("moons").version == 1
    assert registry.check("moons") == []
    weights = f"moons/4/{WEIGHTS_FILE}"
    storage.objects[weights] = storage.objects[weights][:-10]
    with pytest.raises(VerificationError, match="altered or truncated"):
        registry.load("moons", 4)
    with pytest.raises(VerificationError):
        registry.set_alias("moons", "production", 4)
    assert [p.where for p in registry.check("moons")] == ["v4"]
    assert not (tmp_path / "unused").exists()


_PROMOTER_KILLED_BEFORE_RENAME = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from trainer.registry import Registry, local
    replace = local.replace_atomically
    def hang_before_the_alias_file(path, data):
        if path.name == "aliases.json":
            print("history written", flush=True)
            time.sleep(120)
        replace(path, data)
    local.replace_atomically = hang_before_the_alias_file
    Registry(Path(sys.argv[1])).set_alias("moons", "production", int(sys.argv[2]))
    """
)


def test_rollback_skips_a_promotion_killed_before_its_alias_landed(tmp_path):
    registry = Registry(tmp_path)
    for seed in range(4):
        _publish_one(registry, seed)
    registry.set_alias("moons", "production", 1)
    registry.set_alias("moons", "production", 2)
    with subprocess.Popen(
        [sys.executable, "-c", _PROMOTER_KILLED_BEFORE_RENAME, str(tmp_path), "3"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout.readline() == "history written\n"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    assert registry.aliases("moons") == {"production": 2}
    registry.set_alias("moons", "production", 4)
    # 3 was never production: rollback goes to 2, then 1
    assert registry.rollback("moons") == (4, 2)
    assert registry.rollback("moons") == (2, 1)


def test_a_promotion_that_fails_to_land_leaves_no_history_line(tmp_path, monkeypatch):
    from trainer.registry import local

    registry = Registry(tmp_path)
    for seed in range(4):
        _publish_one(registry, seed)
    registry.set_alias("moons", "production", 1)
    registry.set_alias("moons", "production", 2)
    history = tmp_path / "moons" / "alias_history.jsonl"
    before = history.read_bytes()

    def disk_full(path: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device", str(path))

    with monkeypatch.context() as patch:
        patch.setattr(local, "replace_atomically", disk_full)
        with pytest.raises(OSError, match="No space left"):
            registry.set_alias("moons", "production", 3)
    assert history.read_bytes() == before
    assert registry.aliases("moons") == {"production": 2}
    registry.set_alias("moons", "production", 4)
    assert registry.rollback("moons") == (4, 2)


def _history(spec: str) -> list[dict]:
    """History lines from "-:1 1:2 3:2r": from:to, "-" unset, "r" a rollback."""
    entries = []
    for change in spec.split():
        frm, to = change.rstrip("r").split(":")
        entries.append(
            {
                "alias": "production",
                "from": None if frm == "-" else int(frm),
                "to": int(to),
                "action": "rollback" if change.endswith("r") else "set",
            }
        )
    return entries


@pytest.mark.parametrize(
    ("spec", "current", "target"),
    [
        ("-:1 1:2 2:3 2:4", 4, 2),  # 2:3 never landed (killed between the writes)
        ("-:1 1:2 2:3 2:5 2:4", 4, 2),  # nor did 2:3 and 2:5
        ("-:1 1:2 2:3 3:2r 3:4", 4, 3),  # a rollback that never landed
        ("-:1 1:2 2:3 3:2r 2:4", 4, 2),  # one that did: stepping back passes it
        ("-:1 1:2 5:6", 6, 5),  # 2:5 by hand: 5 was production before 6
        ("-:3 -:1 1:2", 2, 1),  # the first change never landed
        ("-:1 1:2 2:3", 2, 1),  # the last one never landed: aliases.json says 2
    ],
)
def test_rollback_target_accepts_only_changes_that_landed(spec, current, target):
    from trainer.registry.aliases import rollback_target

    assert rollback_target(_history(spec), "production", current) == target


def test_a_torn_history_line_does_not_swallow_the_next(tmp_path):
    registry = Registry(tmp_path)
    for seed in range(3):
        _publish_one(registry, seed)
    registry.set_alias("moons", "production", 1)
    with open(tmp_path / "moons" / "alias_history.jsonl", "a") as history:
        history.write('{"alias": "production", "fr')  # a write cut short
    registry.set_alias("moons", "production", 2)
    registry.set_alias("moons", "production", 3)
    lines = (tmp_path / "moons" / "alias_history.jsonl").read_text().splitlines()
    whole = [json.loads(line)["to"] for line in lines if line.endswith("}")]
    assert whole == [1, 2, 3]  # each change kept its own line
    assert registry.rollback("moons") == (3, 2)
    assert registry.rollback("moons") == (2, 1)
