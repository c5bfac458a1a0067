"""Reading the registry: every corruption is refused, names cannot escape the root."""

import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import registry_samples as samples
from trainer.errors import InvalidNameError, NotFoundError, VerificationError
from trainer.registry import Registry
from trainer.registry.artifact import WEIGHTS_FILE
from trainer.registry.manifest import MANIFEST_FILE


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    registry = Registry(tmp_path / "models")
    registry.publish("moons", *samples.layers(), samples.fields())
    return registry


def _weights(registry: Registry, version: int = 1) -> Path:
    return registry.root / "moons" / str(version) / WEIGHTS_FILE


def _version_dir(registry: Registry, version: int = 1) -> Path:
    return registry.root / "moons" / str(version)


def test_published_version_loads_and_predicts(registry):
    model = registry.load("moons", 1)
    coefs, intercepts = samples.layers()
    assert (model.name, model.version, model.kind) == ("moons", 1, "mlp")
    assert (model.classes, model.n_features, model.activation) == ([0, 1], 2, "tanh")
    X = np.array([[0.0, 0.5], [1.0, -0.5]])
    hidden = np.tanh(X @ coefs[0] + intercepts[0])
    scores = hidden @ coefs[1] + intercepts[1]
    expected = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_proba(X), expected)
    assert registry.read_manifest("moons", "1")["metrics"]["validation_accuracy"] == 0.9


def test_flipped_byte_in_weights_is_refused(registry):
    path = _weights(registry)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(VerificationError, match="does not match its sha256"):
        registry.load("moons", 1)


def test_truncated_weights_are_refused(registry):
    path = _weights(registry)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(VerificationError, match="altered or truncated"):
        registry.load("moons", 1)


@pytest.mark.parametrize("missing", [WEIGHTS_FILE, MANIFEST_FILE])
def test_deleted_file_is_refused(registry, missing):
    (_version_dir(registry) / missing).unlink()
    with pytest.raises(VerificationError, match=f"missing files \\['{missing}'\\]"):
        registry.load("moons", 1)


def test_added_file_is_refused(registry):
    (_version_dir(registry) / "notes.txt").write_text("hello")
    with pytest.raises(VerificationError, match=r"unexpected files \['notes.txt'\]"):
        registry.load("moons", 1)


def test_edited_manifest_is_refused(registry):
    path = _version_dir(registry) / MANIFEST_FILE
    path.write_text(
        path.read_text().replace(
            '"validation_accuracy": 0.9', '"validation_accuracy": 1.0'
        )
    )
    with pytest.raises(VerificationError, match="manifest was edited"):
        registry.read_manifest("moons", 1)


def test_manifest_that_is_not_json_is_refused(registry):
    (_version_dir(registry) / MANIFEST_FILE).write_text('{"schema_version": 1,')
    with pytest.raises(VerificationError, match="not valid JSON"):
        registry.load("moons", 1)


def test_resealed_manifest_with_another_architecture_is_refused(registry):
    samples.rewrite_manifest(
        _version_dir(registry),
        lambda m: m["architecture"].update(hidden_layer_sizes=[4]),
    )
    with pytest.raises(VerificationError, match="disagree with the manifest"):
        registry.load("moons", 1)


def test_resealed_manifest_with_unknown_schema_is_refused(registry):
    samples.rewrite_manifest(
        _version_dir(registry), lambda m: m.update(schema_version=9)
    )
    with pytest.raises(VerificationError, match="unknown schema_version 9"):
        registry.load("moons", 1)


def test_non_finite_weights_are_refused_even_with_matching_checksums(registry):
    coefs, intercepts = samples.layers()
    coefs[1][0, 0] = np.nan
    # plain np.savez: weights_bytes itself refuses to write a nan
    buffer = io.BytesIO()
    np.savez(
        buffer,
        coef_0=coefs[0],
        intercept_0=intercepts[0],
        coef_1=coefs[1],
        intercept_1=intercepts[1],
    )
    samples.replace_weights(_version_dir(registry), buffer.getvalue())
    with pytest.raises(VerificationError, match="non-finite"):
        registry.load("moons", 1)


def test_copied_version_directory_is_refused(registry):
    shutil.copytree(_version_dir(registry), _version_dir(registry, 7))
    assert registry.versions("moons") == [1, 7]
    with pytest.raises(VerificationError, match="describes moons v1"):
        registry.load("moons", 7)


def test_symlinked_weights_are_refused(registry, tmp_path):
    outside = tmp_path / "outside.npz"
    shutil.copy(_weights(registry), outside)
    _weights(registry).unlink()
    _weights(registry).symlink_to(outside)
    with pytest.raises(VerificationError, match="weights.npz is a symlink"):
        registry.load("moons", 1)


def test_symlinked_version_directory_is_not_a_version(registry, tmp_path):
    outside = tmp_path / "elsewhere"
    shutil.copytree(_version_dir(registry), outside)
    (registry.root / "moons" / "2").symlink_to(outside)
    assert registry.versions("moons") == [1]
    with pytest.raises(VerificationError, match="symlink"):
        registry.load("moons", 2)
    assert [p.where for p in registry.check("moons")] == ["2"]


def test_model_directory_symlinked_out_of_the_registry_is_refused(registry, tmp_path):
    shutil.copytree(registry.root / "moons", tmp_path / "stolen")
    (registry.root / "other").symlink_to(tmp_path / "stolen")
    assert registry.models() == ["moons"]
    with pytest.raises(VerificationError, match="symlink"):
        registry.load("other")


def test_model_directory_symlinked_inside_the_registry_is_refused(registry):
    (registry.root / "other").symlink_to(registry.root / "moons")
    assert registry.models() == ["moons"]
    for read in (registry.versions, registry.aliases, registry.load):
        with pytest.raises(VerificationError, match="model 'other' is a symlink"):
            read("other")


@pytest.mark.parametrize("entry", ["aliases.json", "alias_history.jsonl", ".lock"])
def test_alias_files_symlinked_elsewhere_are_never_read_or_written(
    registry, tmp_path, entry
):
    outside = tmp_path / "outside"
    outside.write_text('{"production": 1}\n')
    (registry.root / "moons" / entry).unlink(missing_ok=True)
    (registry.root / "moons" / entry).symlink_to(outside)
    with pytest.raises(VerificationError, match=f"{entry} is a symlink"):
        registry.set_alias("moons", "production", 1)
    with pytest.raises(VerificationError, match="symlink"):
        registry.rollback("moons")
    assert outside.read_text() == '{"production": 1}\n'


@pytest.mark.parametrize(
    "hostile",
    [
        b"[" * 100_000 + b"]" * 100_000,  # deeper than Python's recursion limit
        b'{"production": ' + b"1" * 5000 + b"}",  # over Python's int digit limit
    ],
)
def test_pathological_json_is_refused_not_a_crash(registry, hostile):
    model_dir = registry.root / "moons"
    (model_dir / "aliases.json").write_bytes(hostile)
    with pytest.raises(VerificationError, match="aliases.json: not valid JSON"):
        registry.aliases("moons")
    (model_dir / "aliases.json").unlink()
    (model_dir / "alias_history.jsonl").write_bytes(hostile + b"\n")
    registry.set_alias("moons", "production", 1)  # the unreadable line is skipped
    (model_dir / "1" / "manifest.json").write_bytes(hostile)
    with pytest.raises(VerificationError, match="manifest.json: not valid JSON"):
        registry.load("moons", 1)


@pytest.mark.parametrize("entry", ["1/weights.npz", "1/manifest.json", "aliases.json"])
def test_a_fifo_in_place_of_a_file_is_refused_without_waiting(registry, entry):
    path = registry.root / "moons" / entry
    path.unlink(missing_ok=True)
    os.mkfifo(path)  # opening it for reading would block until a writer came
    with pytest.raises(VerificationError, match="not a regular file"):
        registry.load("moons")  # the served version: aliases.json is read too


def test_aliases_file_that_is_not_a_regular_file_is_refused(registry):
    (registry.root / "moons" / "aliases.json").mkdir()
    with pytest.raises(VerificationError, match="not a regular file"):
        registry.aliases("moons")


@pytest.mark.parametrize("value", ["10" * 12, "0", "-3", "1.0", "true"])
def test_aliases_file_with_a_version_that_cannot_exist_is_refused(registry, value):
    (registry.root / "moons" / "aliases.json").write_text(f'{{"production": {value}}}')
    with pytest.raises(VerificationError, match="positive version numbers"):
        registry.aliases("moons")


def test_dangling_alias_names_the_alias_and_the_missing_version(registry):
    (registry.root / "moons" / "aliases.json").write_text(
        '{"production": 7, "staging": 8}'
    )
    with pytest.raises(NotFoundError, match="production points to missing v7"):
        registry.load("moons")
    with pytest.raises(NotFoundError, match="'staging' points to missing v8"):
        registry.load("moons", "staging")


@pytest.mark.parametrize(
    "name",
    ["../moons", "moons/1", "", ".moons", "-x", "a" * 65, "mo ons", None, "m\x00"],
)
def test_bad_model_names_are_refused(registry, name):
    with pytest.raises(InvalidNameError):
        registry.load(name)


@pytest.mark.parametrize(
    "version", [0, -1, "0", "01", "-1", "1.5", "1/../2", True, 2.0]
)
def test_bad_versions_are_refused(registry, version):
    with pytest.raises(InvalidNameError, match="not a positive integer"):
        registry.load("moons", version)


@pytest.mark.parametrize("alias", ["prod/../x", "_x", "a b"])
def test_bad_alias_names_are_refused(registry, alias):
    with pytest.raises(InvalidNameError):
        registry.load("moons", alias)


def test_unknown_model_version_and_alias_are_not_found(registry):
    with pytest.raises(NotFoundError, match="unknown model 'circles'"):
        registry.load("circles")
    with pytest.raises(NotFoundError, match="no version 5"):
        registry.load("moons", 5)
    with pytest.raises(NotFoundError, match="no alias 'staging'"):
        registry.load("moons", "staging")


def test_served_version_is_production_else_highest(registry):
    registry.publish("moons", *samples.layers(seed=1), samples.fields())
    assert registry.served_version("moons") == 2
    assert registry.resolve("moons", None) == 2
    assert registry.load("moons").version == 2
    registry.set_alias("moons", "production", 1)
    assert registry.served_version("moons") == 1
    assert registry.resolve("moons", None) == 1
    assert registry.resolve("moons", "production") == 1
    assert registry.resolve("moons", "2") == 2
    assert registry.served_version("unknown") is None


def test_damaged_aliases_file_is_refused(registry):
    (registry.root / "moons" / "aliases.json").write_text('{"production": "3"}')
    with pytest.raises(VerificationError, match="aliases.json"):
        registry.aliases("moons")


def test_temporary_directories_are_invisible_to_readers(registry):
    temp = registry.root / "moons" / ".tmp-half-written"
    temp.mkdir()
    (temp / WEIGHTS_FILE).write_bytes(b"partial")
    assert registry.versions("moons") == [1]
    assert registry.models() == ["moons"]
    assert registry.check("moons") == []


def test_clean_stale_spares_a_fresh_temporary_directory(registry):
    old = registry.root / "moons" / ".tmp-old"
    fresh = registry.root / "moons" / ".tmp-fresh"
    # what a crash inside an aliases.json replace leaves behind
    old_file = registry.root / "moons" / ".tmp-0123-aliases.json"
    old.mkdir()
    fresh.mkdir()
    old_file.write_text("{}")
    for path in (old, old_file):
        os.utime(path, (0, 0))
    assert sorted(registry.clean_stale("moons")) == sorted([old, old_file])
    assert not old.exists() and not old_file.exists() and fresh.exists()


def test_check_reports_each_bad_version_and_dangling_alias(registry):
    registry.publish("moons", *samples.layers(seed=1), samples.fields())
    registry.set_alias("moons", "production", 2)
    _weights(registry, 1).write_bytes(b"garbage")
    aliases_file = registry.root / "moons" / "aliases.json"
    aliases_file.write_text(json.dumps({"production": 2, "old": 9}))
    problems = registry.check("moons")
    assert [(p.where, "sha256" in p.message) for p in problems] == [
        ("v1", True),
        ("aliases", False),
    ]
    assert "missing v9" in problems[1].message


def test_version_stamp_changes_exactly_when_a_versions_files_do(registry):
    stamp = registry.version_stamp("moons", 1)
    assert [entry[0] for entry in stamp] == sorted([MANIFEST_FILE, WEIGHTS_FILE])
    assert registry.version_stamp("moons", 1) == stamp  # reading changes nothing
    registry.load("moons", 1)
    assert registry.version_stamp("moons", 1) == stamp
    with open(_weights(registry), "ab") as weights:
        weights.write(b"\0")
    assert registry.version_stamp("moons", 1) != stamp
    assert registry.version_stamp("moons", 2) == ()  # no such version
    assert registry.version_stamp("../x", 1) == ()  # refused name


def test_entries_readers_skip_are_listed_with_the_reason(registry, tmp_path):
    model_dir = registry.root / "moons"
    shutil.copytree(_version_dir(registry), tmp_path / "elsewhere")
    (model_dir / "2").symlink_to(tmp_path / "elsewhere")
    (model_dir / "3").write_text("a file where a version would be")
    (model_dir / "notes.txt").write_text("hello")
    (model_dir / "04").mkdir()  # a leading zero is never a version
    (model_dir / "latest").symlink_to(model_dir / "1")
    # the registry's own files and dot-names are not stray
    (model_dir / ".tmp-half-written").mkdir()
    registry.set_alias("moons", "production", 1)
    assert registry.ignored_entries("moons") == [
        ("04", "not a version directory"),
        ("2", "symlink"),
        ("3", "not a directory"),
        ("latest", "symlink"),
        ("notes.txt", "not a version directory"),
    ]
    problems = registry.check("moons")
    assert [p.where for p in problems] == ["04", "2", "3", "latest", "notes.txt"]
    assert "symlink" in problems[1].message and "ignored" in problems[1].message
    assert registry.versions("moons") == [1]


def test_a_clean_model_directory_has_no_ignored_entries(registry):
    registry.set_alias("moons", "production", 1)
    assert registry.ignored_entries("moons") == []
    assert registry.ignored_entries("unknown") == []


def test_the_state_token_changes_when_a_stray_entry_appears(registry):
    token = registry.state_token("moons")
    (registry.root / "moons" / "notes.txt").write_text("hello")
    assert registry.state_token("moons") != token


def test_list_and_verify_show_the_ignored_entries(registry, capsys):
    from trainer.cli.main import main

    (registry.root / "moons" / "2").symlink_to(_version_dir(registry))
    (registry.root / "moons" / "notes.txt").write_text("hello")
    listing = ["list", "--registry", str(registry.root)]
    assert main(listing) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2:] == [
        "  2  IGNORED: symlink",
        "  notes.txt  IGNORED: not a version directory",
    ]
    assert main([*listing, "--json"]) == 0
    (model,) = json.loads(capsys.readouterr().out)["models"]
    assert model["ignored_entries"] == [
        {"entry": "2", "reason": "symlink"},
        {"entry": "notes.txt", "reason": "not a version directory"},
    ]
    assert main(["verify", "--registry", str(registry.root)]) == 4
    out = capsys.readouterr().out
    assert "moons v1: ok" in out and "moons 2: FAILED: a symlink, ignored" in out
    assert "moons notes.txt: FAILED: not a version directory, ignored" in out
