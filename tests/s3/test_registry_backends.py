"""The registry's guarantees, each checked on a directory and on a real S3 server.

Every test takes `backend` (tests/s3/conftest.py) and runs twice: determinism, each
corruption case, concurrent publishers as processes, a publisher SIGKILLed mid-write,
promotion races and bad names behave the same, in the same words, on both stores.
"""

import json
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from botocore.exceptions import ClientError

from tests.helpers import registry_samples as samples
from tests.s3.conftest import environ
from trainer.errors import InvalidNameError, NotFoundError, VerificationError
from trainer.registry import AliasConflictError, Registry
from trainer.registry.artifact import WEIGHTS_FILE
from trainer.registry.manifest import MANIFEST_FILE

ROOT = Path(__file__).resolve().parents[2]


def _publish(registry: Registry, seed: int = 0) -> int:
    return registry.publish("moons", *samples.layers(seed=seed), samples.fields())


def test_published_versions_load_predict_and_are_deterministic(backend):
    registry = backend.registry
    assert [_publish(registry), _publish(registry)] == [1, 2]
    assert registry.models() == ["moons"] and registry.versions("moons") == [1, 2]
    # the same weights give the same bytes in every version and on every store
    assert backend.get(f"moons/1/{WEIGHTS_FILE}") == backend.get(
        f"moons/2/{WEIGHTS_FILE}"
    )
    model = registry.load("moons")
    coefs, intercepts = samples.layers(seed=0)
    X = np.array([[0.5, 0.25], [-1.0, 1.0]])
    H = np.tanh(X @ coefs[0] + intercepts[0]) @ coefs[1] + intercepts[1]
    expected = np.exp(H) / np.exp(H).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_proba(X), expected)
    assert model.version == 2 and registry.check("moons") == []


def _flip(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :]


@pytest.mark.parametrize(
    ("file", "edit", "words"),
    [
        (WEIGHTS_FILE, _flip, "does not match its sha256"),
        (WEIGHTS_FILE, lambda d: d[: len(d) // 2], "does not match its sha256"),
        (MANIFEST_FILE, lambda d: d.replace(b'"tanh"', b'"relu"'), "manifest"),
        (MANIFEST_FILE, lambda d: b"{not json", "manifest"),
    ],
)
def test_every_corruption_is_refused(backend, file, edit, words):
    registry = backend.registry
    _publish(registry)
    backend.put(f"moons/1/{file}", edit(backend.get(f"moons/1/{file}")))
    with pytest.raises(VerificationError, match=words):
        registry.load("moons", 1)
    (problem,) = registry.check("moons")
    assert problem.where == "v1"


def test_a_missing_or_added_file_is_refused(backend):
    registry = backend.registry
    _publish(registry)
    _publish(registry)
    backend.delete(f"moons/1/{WEIGHTS_FILE}")
    backend.put("moons/2/notes.txt", b"hello")
    with pytest.raises(VerificationError, match=r"missing files \['weights.npz'\]"):
        registry.load("moons", 1)
    with pytest.raises(VerificationError, match=r"unexpected files \['notes.txt'\]"):
        registry.load("moons", 2)
    assert [p.where for p in registry.check("moons")] == ["v1", "v2"]


def test_a_version_copied_under_another_number_is_refused(backend):
    registry = backend.registry
    _publish(registry)
    for file in (MANIFEST_FILE, WEIGHTS_FILE):
        backend.put(f"moons/7/{file}", backend.get(f"moons/1/{file}"))
    with pytest.raises(VerificationError, match="describes moons v1"):
        registry.load("moons", 7)


@pytest.mark.parametrize("content", [b"[1, 2", b'{"production": -1}', b'{"1x": 1}'])
def test_damaged_aliases_are_refused(backend, content):
    registry = backend.registry
    _publish(registry)
    backend.put("moons/aliases.json", content)
    with pytest.raises(VerificationError, match="aliases.json"):
        registry.aliases("moons")
    assert [p.where for p in registry.check("moons")] == ["aliases"]


def test_a_dangling_alias_is_reported(backend):
    registry = backend.registry
    _publish(registry)
    backend.put("moons/aliases.json", b'{"production": 5}')
    with pytest.raises(NotFoundError, match="production points to missing v5"):
        registry.load("moons")


@pytest.mark.parametrize("name", ["../up", "a/b", ".hidden", "", "x" * 65, "a b"])
def test_bad_names_are_refused_and_write_nothing(backend, name):
    with pytest.raises(InvalidNameError):
        backend.registry.publish(name, *samples.layers(), samples.fields())
    with pytest.raises(InvalidNameError):
        backend.registry.versions(name)
    assert [f for f in backend.files() if not f.startswith(".")] == []


def test_stray_entries_are_ignored_and_reported(backend):
    registry = backend.registry
    _publish(registry)
    backend.put("moons/notes.txt", b"x")
    backend.put("moons/04/manifest.json", b"{}")
    assert registry.versions("moons") == [1]
    assert [e.entry for e in registry.ignored_entries("moons")] == ["04", "notes.txt"]
    assert {p.where for p in registry.check("moons")} == {"04", "notes.txt"}


_PUBLISHER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tests.helpers import registry_samples as samples
    from trainer.registry import Registry
    location, go, seed = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    registry = Registry(location)
    while not go.exists():
        time.sleep(0.005)
    for _ in range(4):
        print(registry.publish("moons", *samples.layers(seed=seed), samples.fields()))
    """
)


def test_concurrent_publisher_processes_never_share_a_number(backend, tmp_path):
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PUBLISHER, backend.location, str(go), str(seed)],
            cwd=ROOT,
            env=environ(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in range(3)
    ]
    go.touch()
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    published = sorted(int(v) for out in outputs for v in out.split())
    assert published == list(range(1, 13))
    registry = backend.registry
    assert registry.versions("moons") == published and registry.check("moons") == []
    for out, seed in zip(outputs, range(3), strict=True):
        expected = samples.layers(seed=seed)[0][0]
        for version in map(int, out.split()):
            assert (registry.load("moons", version).coefs[0] == expected).all()


# stops the publisher right after the write of a file whose name ends in argv[2]:
# on disk the draft's files; on S3 the draft upload, then the manifest's own write
_KILLED = textwrap.dedent(
    """
    import sys, time
    from tests.helpers import registry_samples as samples
    from trainer.registry import Registry, local
    from trainer.registry import s3_client
    location, stop_after = sys.argv[1], sys.argv[2]
    def hang():
        print("written", flush=True)
        time.sleep(120)
    write = local.write_synced
    def write_then_hang(path, data):
        write(path, data)
        if str(path).endswith(stop_after):
            hang()
    local.write_synced = write_then_hang
    call = s3_client.S3Client.call
    def call_then_hang(self, operation, **params):
        result = call(self, operation, **params)
        if operation in ("put_object", "copy_object") and str(
            params.get("Key", "")
        ).endswith(stop_after) and ".probe/" not in params["Key"]:
            hang()
        return result
    s3_client.S3Client.call = call_then_hang
    Registry(location).publish("moons", *samples.layers(), samples.fields())
    """
)


@pytest.mark.parametrize("stop_after", [WEIGHTS_FILE, MANIFEST_FILE])
def test_a_publisher_killed_mid_write_leaves_no_version(backend, stop_after):
    registry = backend.registry
    _publish(registry)
    if backend.kind == "s3" and stop_after == MANIFEST_FILE:
        stop_after = f"2/{WEIGHTS_FILE}"  # after the claim and the copy, before it
    with subprocess.Popen(
        [sys.executable, "-c", _KILLED, backend.location, stop_after],
        cwd=ROOT,
        env=environ(),
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout.readline() == "written\n"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    # killed mid-commit on S3: the draft, and the claimed number's copied files
    claimed = backend.kind == "s3" and stop_after != WEIGHTS_FILE
    assert registry.versions("moons") == [1]
    assert len(registry.temp_entries("moons")) == (2 if claimed else 1)
    assert registry.check("moons") == []
    # a fresh leftover is spared (its publisher may be at work); an old one removed
    assert registry.clean_stale("moons") == []
    assert len(registry.clean_stale("moons", max_age_seconds=0)) == (
        2 if claimed else 1
    )
    assert registry.temp_entries("moons") == []
    # a number claimed by the dead publisher is never handed out again
    assert _publish(registry) == (3 if claimed else 2)
    assert registry.check("moons") == []


def test_verify_fix_from_the_cli_cleans_abandoned_drafts(backend):
    registry = backend.registry
    _publish(registry)
    with registry.storage.draft("moons") as draft:
        draft.write(WEIGHTS_FILE, b"half a publish")
        leftover = registry.temp_entries("moons")
        assert len(leftover) == 1
        fix = subprocess.run(
            [sys.executable, "-m", "trainer", "verify", "--fix", "--json",
             "--registry", backend.location],
            cwd=ROOT, env=environ(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert fix.returncode == 0, fix.stderr
    report = json.loads(fix.stdout)["models"]["moons"]
    assert report["verified"] == [1]
    # younger than the threshold: a publisher may still be at work
    assert report["removed_temp_entries"] == []


def test_concurrent_promotions_keep_one_winner_and_the_history(backend):
    registry = backend.registry
    for seed in range(4):
        _publish(registry, seed)
    registry.set_alias("moons", "production", 1)
    outcomes: list[object] = []

    def promote(version: int) -> None:
        try:
            Registry(backend.location).set_alias(
                "moons", "production", version, expected=1
            )
            outcomes.append(version)
        except AliasConflictError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=promote, args=(v,)) for v in (2, 3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    winners = [o for o in outcomes if isinstance(o, int)]
    assert len(winners) == 1 and len(outcomes) == 3
    assert registry.aliases("moons") == {"production": winners[0]}
    assert registry.rollback("moons") == (winners[0], 1)
    assert registry.aliases("moons") == {"production": 1}


_PROMOTER = textwrap.dedent(
    """
    import sys
    from trainer.registry import Registry
    registry = Registry(sys.argv[1])
    for version in map(int, sys.argv[2:]):
        registry.set_alias("moons", "production", version)
    """
)


def test_promoting_processes_lose_no_history_line(backend):
    registry = backend.registry
    for seed in range(4):
        _publish(registry, seed)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PROMOTER, backend.location, *versions],
            cwd=ROOT,
            env=environ(),
        )
        for versions in (["1", "2"] * 3, ["3", "4"] * 3)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    history = [
        json.loads(line)
        for line in backend.get("moons/alias_history.jsonl").splitlines()
    ]
    # every change that landed has its line (on S3 a lost race may add one that
    # did not land, which rollback recognises by the next line's `from`)
    assert len(history) >= 12
    production = registry.aliases("moons")["production"]
    assert history[-1]["to"] == production
    assert registry.rollback("moons") == (production, history[-1]["from"])


def test_the_state_token_changes_exactly_when_something_happens(backend):
    registry = backend.registry
    _publish(registry)
    token = registry.state_token("moons")
    assert registry.state_token("moons") == token
    other = Registry(backend.location)  # another process's writes
    _publish(other)
    moved = registry.state_token("moons")
    assert moved != token and moved[0] == (1, 2)
    other.set_alias("moons", "production", 1)
    aliased = registry.state_token("moons")
    assert aliased != moved and registry.state_token("moons") == aliased


def test_gc_removes_old_versions_whole_and_keeps_what_aliases_need(backend):
    registry = backend.registry
    for seed in range(5):
        _publish(registry, seed)
    for version in (2, 4):
        registry.set_alias("moons", "production", version)

    plan = registry.gc("moons", keep=1)

    # v4 served, v2 what a rollback returns to, v5 the newest: v1 and v3 go, whole
    assert sorted(plan.removed) == [1, 3]
    assert registry.versions("moons") == [2, 4, 5]
    for gone in (1, 3):
        for file in (MANIFEST_FILE, WEIGHTS_FILE):
            with pytest.raises((FileNotFoundError, ClientError)):
                backend.get(f"moons/{gone}/{file}")
    assert registry.check("moons") == [] and registry.temp_entries("moons") == []
    assert registry.rollback("moons") == (4, 2)
    # numbers are never reused
    assert _publish(registry, 9) == 6
