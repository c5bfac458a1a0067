"""`python -m trainer gc` and the registry's retention: what stays, what goes, how.

Registries are built from seeded networks (no training) and aliases moved through the
registry, so the history `rollback` replays is the real one.
"""

import json
import os
from pathlib import Path

import pytest

from tests.helpers.registry_samples import corrupt_copy, publish_network
from trainer.cli.main import main
from trainer.errors import NotFoundError, VerificationError
from trainer.registry import Registry, aliases
from trainer.registry.local import LocalStorage


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def registry_with(root: Path, n_versions: int) -> Registry:
    registry = Registry(root)
    for seed in range(n_versions):
        publish_network(registry, seed=seed)
    return registry


def test_gc_keeps_the_newest_the_aliased_and_the_rollback_chain(tmp_path, capsys):
    registry = registry_with(tmp_path, 8)
    for version in (2, 4, 5):  # production 2 -> 4 -> 5; rollback steps 5 -> 4 -> 2
        registry.set_alias("moons", "production", version)
    registry.set_alias("moons", "staging", 3)
    code, out, err = run(capsys, "gc", "--registry", str(tmp_path), "--keep", "2",
                         "--json")  # fmt: skip
    assert (code, err) == (0, "")
    assert out.count("\n") == 1
    report = json.loads(out)
    assert report["removed"] == [6, 1]
    assert {k["version"]: k["reasons"] for k in report["kept"]} == {
        8: ["newest"],
        7: ["newest"],
        5: ["alias production"],
        4: ["rollback history of production"],
        3: ["alias staging"],
        2: ["rollback history of production"],
    }
    assert registry.versions("moons") == [2, 3, 4, 5, 7, 8]
    assert registry.temp_entries("moons") == []
    # every rollback the history allows still lands on a version that verifies
    assert registry.rollback("moons") == (5, 4)
    assert registry.rollback("moons") == (4, 2)
    # numbers are never reused: the next publication is still 9
    assert publish_network(registry, seed=9) == 9


def test_dry_run_prints_the_plan_and_removes_nothing(tmp_path, capsys):
    registry = registry_with(tmp_path, 4)
    registry.set_alias("moons", "production", 1)
    before = sorted(os.listdir(tmp_path / "moons"))
    code, out, _ = run(capsys, "gc", "--registry", str(tmp_path), "--keep", "1",
                       "--dry-run")  # fmt: skip
    assert code == 0
    assert out.splitlines() == [
        "moons: would remove v3",
        "moons: would remove v2",
        "moons: kept v4 (newest)",
        "moons: kept v1 (alias production)",
    ]
    assert sorted(os.listdir(tmp_path / "moons")) == before
    code, out, _ = run(capsys, "gc", "--registry", str(tmp_path), "--keep", "1")
    assert out.splitlines()[:2] == ["moons: removed v3", "moons: removed v2"]
    assert registry.versions("moons") == [1, 4]
    code, out, _ = run(capsys, "gc", "--registry", str(tmp_path), "--keep", "1")
    assert out.splitlines()[-1] == "moons: nothing to remove"


def test_without_production_the_served_version_stays_even_past_keep(tmp_path):
    registry = registry_with(tmp_path, 2)
    corrupt_copy(tmp_path, "moons", 2, 3)  # the newest does not verify
    plan = registry.gc("moons", keep=1)
    # v3 is the newest (kept so its number is never reused); v2 is what is served
    assert plan.kept == {3: ["newest"], 2: ["served"]}
    assert plan.removed == [1]
    assert registry.versions("moons") == [2, 3]


def test_gc_refusals(tmp_path, capsys):
    registry_with(tmp_path, 1)
    code, out, err = run(capsys, "gc", "--registry", str(tmp_path), "--name", "nope",
                         "--keep", "1", "--json")  # fmt: skip
    assert code == 2 and json.loads(out)["error"]["code"] == "bad_input"
    assert "unknown model 'nope'" in err
    for keep in ("0", "-1", "x"):
        code, out, _ = run(capsys, "gc", "--registry", str(tmp_path), "--keep", keep,
                           "--json")  # fmt: skip
        assert code == 2 and "--keep" in json.loads(out)["error"]["message"]
    with pytest.raises(ValueError, match="keep must be an integer >= 1"):
        Registry(tmp_path).gc("moons", keep=0)


def test_a_promotion_never_lands_on_a_removed_version(tmp_path):
    registry = registry_with(tmp_path, 3)
    registry.gc("moons", keep=1)
    # as if verified just before gc removed it: the change itself checks again
    with pytest.raises(NotFoundError, match="has no version 1"):
        aliases.set_alias(registry.storage, lambda n, v: None, "moons", "production", 1)
    assert registry.aliases("moons") == {}


def test_remove_version_is_one_rename_then_a_delete(tmp_path, monkeypatch):
    registry = registry_with(tmp_path, 3)
    storage = registry.storage
    assert isinstance(storage, LocalStorage)
    # a crash after the rename: the version is already gone from every listing, and
    # what is left is a temporary entry that `verify --fix` removes
    monkeypatch.setattr("shutil.rmtree", lambda path: (_ for _ in ()).throw(OSError))
    with pytest.raises(OSError):
        storage.remove_version("moons", 1)
    monkeypatch.undo()
    assert registry.versions("moons") == [2, 3]
    assert [
        p.name.startswith(".tmp-removed-1-") for p in registry.temp_entries("moons")
    ] == [True]
    assert registry.check("moons") == []
    registry.clean_stale("moons", max_age_seconds=0)
    assert registry.temp_entries("moons") == []
    with pytest.raises(FileNotFoundError):
        storage.remove_version("moons", 1)
    (tmp_path / "moons" / "9").symlink_to(tmp_path / "moons" / "2")
    with pytest.raises(VerificationError, match="symlink"):
        storage.remove_version("moons", 9)
    assert registry.versions("moons") == [2, 3]
