"""The network's hyperparameters: each one's default and rule, stated once.

`ScratchNetClassifier` takes its defaults from `Hyperparameters` and checks its keyword
arguments by building one; the training loop reads it. The CLI takes its defaults and
rules from here too, so numpy and stdlib only: `--help` needs no scikit-learn.
"""

import math
import numbers
from dataclasses import dataclass, field, fields
from typing import Any

from trainer.nn.activations import ACTIVATIONS
from trainer.nn.optimizers import OPTIMIZERS

INITS = ("glorot", "legacy")
GRADIENTS = ("mean", "sum")


@dataclass(frozen=True)
class Rule:
    """The values one setting accepts: a number in a range, or one of some names.

    `kind` is int, float, str or bool; `strict` makes the bounds exclusive.
    """

    kind: type = float
    low: float | None = None
    high: float | None = None
    strict: bool = False
    choices: tuple[str, ...] = ()

    def accepts(self, value: Any) -> bool:
        """Whether `value`, already of `kind` (no text), follows the rule."""
        if self.choices:
            return value in self.choices
        if self.kind is bool:
            return isinstance(value, bool)
        number = numbers.Integral if self.kind is int else numbers.Real
        if isinstance(value, bool) or not isinstance(value, number):
            return False
        # integers are finite (and may be too large for a float to hold)
        if not isinstance(value, numbers.Integral) and not math.isfinite(value):
            return False
        if self.low is not None and not (
            value > self.low if self.strict else value >= self.low
        ):
            return False
        return self.high is None or (
            value < self.high if self.strict else value <= self.high
        )

    def check(self, name: str, value: Any) -> Any:
        """`value` as `kind`, or a ValueError in scikit-learn's words naming `name`."""
        if self.kind is bool:
            return bool(value)  # the estimator's convention: any truthy value
        if not self.accepts(value):
            raise ValueError(
                f"{name} must be {self.requirement()}; got {self._shown(value)}"
            )
        return self.kind(value)

    def requirement(self) -> str:
        """'an integer >= 1', 'a finite number > 0', 'between 0 and 1', 'one of ...'."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.high is not None:
            return f"between {self.low:g} and {self.high:g}"
        if self.kind is int:
            return f"an integer >= {self.low:g}"
        return f"a finite number {'>' if self.strict else '>='} {self.low:g}"

    def _shown(self, value: Any) -> str:
        # an open-ended number shows as the float it was checked as: 0 -> 0.0
        is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if self.kind is float and self.high is None and is_number:
            return repr(float(value))
        return repr(value)


def _setting(default: Any, rule: Rule) -> Any:
    return field(default=default, metadata={"rule": rule})


POSITIVE_INT = Rule(int, low=1)
NON_NEGATIVE = Rule(float, low=0)
FLAG = Rule(bool)


@dataclass(frozen=True)
class Hyperparameters:
    """What the training loop takes: the classifier's hyperparameters, checked.

    Building one checks every field against its rule (the estimator's error messages)
    and stores it as its kind; see `ScratchNetClassifier` for what each one means.
    """

    # each size follows the rule; () is softmax regression
    hidden_layer_sizes: tuple[int, ...] = _setting((3,), POSITIVE_INT)
    activation: str = _setting("tanh", Rule(str, choices=tuple(ACTIVATIONS)))
    optimizer: str = _setting("adam", Rule(str, choices=OPTIMIZERS))
    learning_rate: float = _setting(0.05, Rule(float, low=0, strict=True))
    learning_rate_decay: float = _setting(0.0, NON_NEGATIVE)
    alpha: float = _setting(0.01, NON_NEGATIVE)
    batch_size: int = _setting(200, POSITIVE_INT)
    max_iter: int = _setting(1000, POSITIVE_INT)
    momentum: float = _setting(0.9, NON_NEGATIVE)
    shuffle: bool = _setting(True, FLAG)
    early_stopping: bool = _setting(False, FLAG)
    # the early-stopping holdout, carved out of the data `fit` is given
    validation_fraction: float = _setting(0.1, Rule(float, low=0, high=1, strict=True))
    n_iter_no_change: int = _setting(20, POSITIVE_INT)
    tol: float = _setting(2e-5, NON_NEGATIVE)
    init: str = _setting("glorot", Rule(str, choices=INITS))
    gradient: str = _setting("mean", Rule(str, choices=GRADIENTS))

    def __post_init__(self) -> None:
        for setting in fields(self):
            value = getattr(self, setting.name)
            if setting.name == "hidden_layer_sizes":
                checked = _checked_sizes(value)
            else:
                checked = rule_of(setting.name).check(setting.name, value)
            # frozen: fields are set once, here, to their checked form
            object.__setattr__(self, setting.name, checked)


def rule_of(name: str) -> Rule:
    """The rule of one hyperparameter (for hidden_layer_sizes: of each size)."""
    return _RULES[name]


def _checked_sizes(sizes: Any) -> tuple[int, ...]:
    if isinstance(sizes, numbers.Integral):
        sizes = (sizes,)
    try:
        return tuple(POSITIVE_INT.check("hidden_layer_sizes", s) for s in sizes)
    except TypeError as error:
        raise ValueError(
            f"hidden_layer_sizes must be a sequence of positive integers; got {sizes!r}"
        ) from error


_RULES = {setting.name: setting.metadata["rule"] for setting in fields(Hyperparameters)}
DEFAULTS = Hyperparameters()
