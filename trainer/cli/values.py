"""One option value, read from text (the command line) or TOML, checked by its rule.

The rules are the network's own (`trainer.nn.hyperparameters.Rule`); here they are read
from what people type and explained in the command line's words ("must be a positive
integer"), where the classifier speaks scikit-learn's ("an integer >= 1").
"""

from typing import Any

from trainer.errors import ScratchNetError
from trainer.nn.hyperparameters import Rule, rule_of

TEXT = Rule(str)  # a non-empty string


class OptionError(ScratchNetError, ValueError):
    """An option value, or a config file, that cannot be used; nothing was written."""


def parse_value(rule: Rule, value: Any, what: str) -> Any:
    """Text (command line) or a TOML value, read as the rule's kind, then checked."""
    if rule.kind is bool:
        if not isinstance(value, bool):
            raise OptionError(f"{what} must be true or false, got {value!r}")
        return value
    if rule.kind is str and not rule.choices:
        if not isinstance(value, str) or not value:
            raise OptionError(f"{what} must be a non-empty string, got {value!r}")
        return value
    parsed = value
    if rule.kind is int:
        parsed = _int(value, what)
    elif rule.kind is float:
        parsed = _float(value, what)
    if not rule.accepts(parsed):
        raise OptionError(f"{what} must be {_in_words(rule)}, got {value!r}")
    return parsed


def _in_words(rule: Rule) -> str:
    """A rule as the command line says it: 'a positive integer', 'greater than 0'."""
    if rule.choices:
        return "one of " + ", ".join(rule.choices)
    low = _number(rule.low)
    if rule.high is not None:
        exclusive = " (exclusive)" if rule.strict else ""
        return f"between {low} and {_number(rule.high)}{exclusive}"
    if rule.kind is int and rule.low == 1:
        return "a positive integer"
    return f"greater than {low}" if rule.strict else f"{low} or more"


def _number(value: float | None) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def hidden_sizes(value: Any, what: str = "--hidden") -> tuple[int, ...]:
    """`3`, `"5,5"` or `[5, 5]` -> (5, 5): one positive size per hidden layer."""
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        parts = [value]
    try:
        sizes = tuple(_int(p, "hidden layer size") for p in parts)
    except OptionError as exc:
        raise OptionError(f"{what}: {exc}") from None
    size_rule = rule_of("hidden_layer_sizes")
    if not sizes or not all(size_rule.accepts(s) for s in sizes):
        raise OptionError(
            f"{what}: hidden layer sizes must be positive integers like 3 or 5,5, "
            f"got {value!r}"
        )
    return sizes


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise OptionError(f"{what} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise OptionError(f"{what} must be an integer, got {value!r}") from None


def _float(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise OptionError(f"{what} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"{what} must be a number, got {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise OptionError(f"{what} must be a finite number, got {value!r}")
    return number
