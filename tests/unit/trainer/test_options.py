"""The option table: every row reaches argparse, TOML and its destination, once.

Adding an option means adding a row; these tests hold every row, present and future,
to the same contract without naming it.
"""

import inspect
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from trainer.cli.main import build_parser, main
from trainer.cli.options import (
    OPTION,
    OPTIONS,
    Option,
    Recipe,
    RunOptions,
    read_config,
    resolve,
)
from trainer.nn.classifier import ScratchNetClassifier
from trainer.nn.hyperparameters import DEFAULTS, Hyperparameters, Rule

CLASSIFIER_PARAMS = inspect.signature(ScratchNetClassifier).parameters
# the options that say where a result goes and what is shown: never the fitting code's
PUBLISHING_AND_OUTPUT = {
    "registry", "name", "promote", "promote_if_better", "tolerance", "report",
    "json", "print_every", "max_boundary_change", "metrics_file",
}  # fmt: skip


def _subparser(command: str) -> Any:
    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if a.dest == "command"]
    return subparsers.choices[command]


def _flags(command: str) -> dict[str, Any]:
    return {
        flag: action
        for action in _subparser(command)._actions
        for flag in action.option_strings
    }


def test_every_option_is_a_flag_of_train_with_its_key_as_destination():
    actions = _flags("train")
    for option in OPTIONS:
        assert actions[option.flag].dest == option.key
        # a switch (store_true) takes no value; every other option takes one
        assert (actions[option.flag].nargs == 0) == (option.metavar is None)


def test_sweep_takes_every_option_that_reaches_the_fit():
    actions = _flags("sweep")
    for option in OPTIONS:
        if option.fits:
            assert option.flag in actions, option.flag


def test_every_option_is_a_toml_key_in_both_spellings(tmp_path):
    lines = [f"{option.flag[2:]} = {_toml(_good_value(option))}" for option in OPTIONS]
    path = tmp_path / "all.toml"
    path.write_text("\n".join(lines) + "\n")
    assert set(read_config(path)) == set(OPTION)
    lines = [f"{option.key} = {_toml(_good_value(option))}" for option in OPTIONS]
    path.write_text("\n".join(lines) + "\n")
    assert set(read_config(path)) == set(OPTION)


def test_every_option_lands_in_exactly_one_place():
    run_fields = {f.name for f in fields(RunOptions)} - {"recipe"}
    recipe_fields = {f.name for f in fields(Recipe)} - {
        "hyperparameters",
        "preset_params",
    }
    attributes = [o.attribute for o in OPTIONS if o.attribute]
    assert sorted(attributes) == sorted(run_fields | recipe_fields)
    for option in OPTIONS:
        # a classifier keyword, or a field, never both and never neither
        assert (option.param is None) != (option.attribute is None), option.flag
        if option.param:
            assert option.param in CLASSIFIER_PARAMS


def test_resolve_puts_each_value_where_its_row_says():
    given = {option.key: _good_value(option) for option in OPTIONS}
    given["promote"] = False  # one of the two gates
    given["preset"] = None  # a preset sets options of its own
    given["validation_data"] = None  # refused beside --validation-fraction
    options = resolve(given)
    for option in OPTIONS:
        expected = given[option.key]
        if option.param:
            assert options.recipe.hyperparameters[option.param] == expected
        elif option.fits:
            assert getattr(options.recipe, option.attribute) == expected
        else:
            assert getattr(options, option.attribute) == expected


def test_hyperparameter_defaults_are_the_classifiers():
    defaults = ScratchNetClassifier().get_params()
    for option in OPTIONS:
        if option.param and option.param != "random_state":
            assert option.default == defaults[option.param], option.flag
    # one place: the classifier's signature takes them from Hyperparameters
    del defaults["random_state"]  # the loop takes the RNG, not a hyperparameter
    assert Hyperparameters(**defaults) == DEFAULTS
    assert {f.name for f in fields(Hyperparameters)} == set(defaults)


def test_output_and_publishing_options_never_reach_the_fit():
    assert {o.key for o in OPTIONS if not o.fits} == PUBLISHING_AND_OUTPUT
    assert not PUBLISHING_AND_OUTPUT & {f.name for f in fields(Recipe)}
    quiet = resolve({"registry": "a", "name": "one"})
    loud = resolve(
        {"registry": "b", "name": "two", "promote_if_better": True, "tolerance": 0.5,
         "report": "figures", "json": True, "print_every": 7}
    )  # fmt: skip
    assert quiet.recipe == loud.recipe
    assert quiet.recipe.classifier_params() == loud.recipe.classifier_params()


def _bad_cases() -> list[Any]:
    cases = []
    for option in OPTIONS:
        if option.metavar is None:
            continue  # a switch takes no value on the command line
        if option.key == "hidden":
            cases.append(pytest.param(option, "0", [0], id=option.key))
            continue
        if option.key == "validation_data":
            bad = "moons:seed=-1"
            cases.append(pytest.param(option, bad, bad, id=option.key))
            continue
        rule = option.parse
        assert isinstance(rule, Rule), option.flag
        if rule.choices:
            bad = "nope"
        elif rule.kind is str:
            bad = ""
        elif rule.high is not None:
            bad = rule.kind(rule.high + 1)
        else:
            bad = rule.kind(rule.low if rule.strict else rule.low - 1)
        cases.append(pytest.param(option, str(bad), bad, id=option.key))
    return cases


@pytest.mark.parametrize(("option", "text", "value"), _bad_cases())
def test_a_bad_value_reads_the_same_from_the_flag_and_from_toml(
    tmp_path, capsys, option, text, value
):
    registry = str(tmp_path / "models")
    from_flag = main(["train", "--registry", registry, option.flag, text])
    flag_err = capsys.readouterr().err
    config = tmp_path / "bad.toml"
    config.write_text(f"{option.key} = {_toml(value)}\n")
    from_toml = main(["train", "--registry", registry, "--config", str(config)])
    toml_err = capsys.readouterr().err
    assert from_flag == from_toml == 2
    assert flag_err.count("\n") == toml_err.count("\n") == 1
    assert _words(flag_err, option.flag) == _words(toml_err, option.flag)
    assert not Path(registry).exists()


def _words(err: str, flag: str) -> str:
    """What a message says is wrong, without the value as the source spelled it."""
    match = re.search(re.escape(flag) + r":? (.*), got ", err)
    assert match, err
    return match.group(1)


def _good_value(option: Option) -> Any:
    if option.key == "hidden":
        return (4, 2)
    if option.key == "validation_data":
        return "moons:seed=7"
    rule = option.parse
    if rule.choices:
        return rule.choices[-1]
    if rule.kind is bool:
        return True
    if rule.kind is str:
        return "a-name"
    if rule.high is not None:
        return rule.kind((rule.low + rule.high) / 2)
    return rule.kind(rule.low + 1)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def test_an_integer_too_large_for_a_float_is_refused_in_words(tmp_path, capsys):
    huge = "9" * 400  # float() overflows on it; the check must not
    code = main(["train", "--registry", str(tmp_path / "m"), "--seed", huge])
    err = capsys.readouterr().err
    assert code == 2 and "--seed: must be between 0 and 4294967295" in err
    with pytest.raises(ValueError, match="max_iter must be an integer >= 1"):
        Hyperparameters(max_iter=-int(huge))
