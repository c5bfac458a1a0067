"""Training options: defaults, the tutorial preset, a TOML file, the command line.

Scheduled jobs keep their options in a TOML file and people type them; both go
through the same parsers here, so a value is refused with the same words wherever it
came from. Precedence, lowest first: defaults, preset, config file, command line.
"""

import os
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trainer.errors import ScratchNetError
from trainer.nn.activations import ACTIVATIONS
from trainer.nn.presets import tutorial_params

OPTIMIZERS = ("gd", "sgd", "momentum", "adam")
KINDS = ("mlp", "logreg")
PRESETS = ("tutorial",)
DEFAULT_REGISTRY = "models"
MAX_SEED = 2**32 - 1  # numpy's legacy RandomState takes seeds below 2**32


def default_registry() -> str:
    """The registry when no option names one: $SCRATCHNET_REGISTRY, else `models`."""
    return os.environ.get("SCRATCHNET_REGISTRY") or DEFAULT_REGISTRY


class OptionError(ScratchNetError, ValueError):
    """An option value, or a config file, that cannot be used; nothing was written."""


@dataclass(frozen=True)
class TrainOptions:
    """Everything one training run needs, already checked."""

    registry: str = ""
    name: str = "moons"
    dataset: str = "moons"
    samples: int | None = None
    noise: float | None = None
    classes: int | None = None
    kind: str = "mlp"
    hidden: tuple[int, ...] = (3,)
    activation: str = "tanh"
    # Full-batch Adam at 0.05 matches the tutorial's 20000 gradient-descent passes on
    # the moons in 1000 epochs (~0.1 s); small mini-batches got stuck at 85% on some
    # seeds. The tutorial's own run is one `--preset tutorial` away.
    optimizer: str = "adam"
    epochs: int = 1000
    learning_rate: float = 0.05
    learning_rate_decay: float = 0.0
    l2: float = 0.01
    batch_size: int = 200
    early_stopping: bool = False
    seed: int = 0
    validation_fraction: float = 0.2
    preset: str | None = None
    promote: bool = False
    promote_if_better: bool = False
    tolerance: float = 0.0
    report: str | None = None
    json: bool = False
    print_every: int = 1000
    # classifier settings a preset fixes that have no option of their own
    extra_params: dict[str, Any] = field(default_factory=dict)

    def classifier_params(self) -> dict[str, Any]:
        """Keyword arguments for ScratchNetClassifier."""
        stopping = {}
        if not self.early_stopping:
            # run every epoch: the moons' loss plateaus before it falls again, and
            # the classifier's plateau rule stopped seed 0 at epoch 43 and 85%
            stopping = {"tol": 0.0, "n_iter_no_change": self.epochs}
        return {
            **stopping,
            **self.extra_params,
            "hidden_layer_sizes": self.hidden,
            "activation": self.activation,
            "optimizer": self.optimizer,
            "learning_rate": self.learning_rate,
            "learning_rate_decay": self.learning_rate_decay,
            "alpha": self.l2,
            "batch_size": self.batch_size,
            "max_iter": self.epochs,
            "early_stopping": self.early_stopping,
            "random_state": self.seed,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# option -> ScratchNetClassifier parameter, for reading a preset back as options
_CLASSIFIER_PARAM = {
    "hidden": "hidden_layer_sizes",
    "activation": "activation",
    "optimizer": "optimizer",
    "learning_rate": "learning_rate",
    "learning_rate_decay": "learning_rate_decay",
    "l2": "alpha",
    "batch_size": "batch_size",
    "epochs": "max_iter",
    "early_stopping": "early_stopping",
    "seed": "random_state",
}


# --- value parsers: each takes text (command line) or a TOML value --------------


def hidden_sizes(value: Any) -> tuple[int, ...]:
    """`3`, `"5,5"` or `[5, 5]` -> (5, 5): one positive size per hidden layer."""
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        parts = [value]
    sizes = tuple(_int(p, "hidden layer size") for p in parts)
    if not sizes or any(s < 1 for s in sizes):
        raise OptionError(
            f"hidden layer sizes must be positive integers like 3 or 5,5, got {value!r}"
        )
    return sizes


def positive_int(value: Any, what: str = "value") -> int:
    number = _int(value, what)
    if number < 1:
        raise OptionError(f"{what} must be a positive integer, got {value!r}")
    return number


def non_negative_int(value: Any, what: str = "value") -> int:
    number = _int(value, what)
    if number < 0:
        raise OptionError(f"{what} must be 0 or more, got {value!r}")
    return number


def positive_float(value: Any, what: str = "value") -> float:
    number = _float(value, what)
    if number <= 0:
        raise OptionError(f"{what} must be greater than 0, got {value!r}")
    return number


def non_negative_float(value: Any, what: str = "value") -> float:
    number = _float(value, what)
    if number < 0:
        raise OptionError(f"{what} must be 0 or more, got {value!r}")
    return number


def fraction(value: Any, what: str = "value") -> float:
    number = _float(value, what)
    if not 0 < number < 1:
        raise OptionError(f"{what} must be between 0 and 1 (exclusive), got {value!r}")
    return number


def seed(value: Any, what: str = "seed") -> int:
    number = _int(value, what)
    if not 0 <= number <= MAX_SEED:
        raise OptionError(f"{what} must be between 0 and {MAX_SEED}, got {value!r}")
    return number


def choice(options: tuple[str, ...]) -> Any:
    def parse(value: Any, what: str = "value") -> str:
        if value not in options:
            raise OptionError(
                f"{what} must be one of {', '.join(options)}, got {value!r}"
            )
        return value

    return parse


def flag(value: Any, what: str = "value") -> bool:
    if not isinstance(value, bool):
        raise OptionError(f"{what} must be true or false, got {value!r}")
    return value


def text(value: Any, what: str = "value") -> str:
    if not isinstance(value, str) or not value:
        raise OptionError(f"{what} must be a non-empty string, got {value!r}")
    return value


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


# every option a config file or the command line may set, with its parser
PARSERS: dict[str, Any] = {
    "registry": text,
    "name": text,
    "dataset": text,
    "samples": positive_int,
    "noise": non_negative_float,
    "classes": positive_int,
    "kind": choice(KINDS),
    "hidden": hidden_sizes,
    "activation": choice(tuple(ACTIVATIONS)),
    "optimizer": choice(OPTIMIZERS),
    "epochs": positive_int,
    "learning_rate": positive_float,
    "learning_rate_decay": non_negative_float,
    "l2": non_negative_float,
    "batch_size": positive_int,
    "early_stopping": flag,
    "seed": seed,
    "validation_fraction": fraction,
    "preset": choice(PRESETS),
    "promote": flag,
    "promote_if_better": flag,
    "tolerance": non_negative_float,
    "report": text,
    "json": flag,
    "print_every": non_negative_int,
}


_INT_PARSERS = (positive_int, non_negative_int, seed)
_FLOAT_PARSERS = (positive_float, non_negative_float, fraction)


def parse_option(key: str, value: Any) -> Any:
    """Check one option's value; the message names the option as a user wrote it."""
    parser = PARSERS[key]
    if parser is hidden_sizes:
        try:
            return hidden_sizes(value)
        except OptionError as exc:
            raise OptionError(f"--hidden: {exc}") from None
    return parser(value, f"--{key.replace('_', '-')}")


def read_config(path: str | Path) -> dict[str, Any]:
    """Options from a TOML file (keys as the long options, `-` or `_`), checked."""
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise OptionError(f"config file {str(path)!r} does not exist") from None
    except OSError as exc:
        raise OptionError(f"config file {str(path)!r}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise OptionError(
            f"config file {str(path)!r} is not valid TOML: {exc}"
        ) from None
    options = {}
    for key, value in raw.items():
        option = key.replace("-", "_")
        if option not in PARSERS:
            raise OptionError(
                f"config file {str(path)!r}: unknown option {key!r}; known: "
                + ", ".join(sorted(PARSERS))
            )
        try:
            _check_toml_type(option, value)
            options[option] = parse_option(option, value)
        except OptionError as exc:
            raise OptionError(f"config file {str(path)!r}: {exc}") from None
    return options


def _check_toml_type(option: str, value: Any) -> None:
    """Numbers must be TOML numbers: `epochs = "100"` is a mistake, not 100.

    The parsers accept text because the command line is text; a file has types.
    """
    parser = PARSERS[option]
    flag_name = f"--{option.replace('_', '-')}"
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if parser in _INT_PARSERS and not is_int:
        raise OptionError(f"{flag_name} must be a TOML integer, got {value!r}")
    if parser in _FLOAT_PARSERS and not (is_int or isinstance(value, float)):
        raise OptionError(f"{flag_name} must be a TOML number, got {value!r}")


def resolve(
    command_line: dict[str, Any],
    config_file: dict[str, Any] | None = None,
    command_defaults: dict[str, Any] | None = None,
) -> TrainOptions:
    """Merge defaults < preset < command's defaults < config file < command line.

    The dicts hold only the options their source actually set, already parsed;
    `command_defaults` lets a command differ from `train` (the sweep's sizes).
    """
    chosen = {**(config_file or {}), **command_line}
    chosen.setdefault("registry", default_registry())
    preset, extra = _preset_options(chosen.get("preset"))
    merged = {**preset, **(command_defaults or {}), **chosen}
    options = TrainOptions(**merged, extra_params=extra)
    if options.promote and options.promote_if_better:
        raise OptionError("choose one of --promote and --promote-if-better")
    if options.kind == "logreg" and options.preset:
        raise OptionError("--preset applies to --kind mlp only")
    return options


def _preset_options(preset: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A preset as (options it sets, classifier settings without an option)."""
    if preset is None:
        return {}, {}
    params = dict(tutorial_params())
    options = {
        option: params.pop(param)
        for option, param in _CLASSIFIER_PARAM.items()
        if param in params
    }
    if "hidden" in options:
        options["hidden"] = tuple(options["hidden"])
    return options, params
