"""Training options: one table drives the command line, TOML files and the classifier.

Each row of `OPTIONS` is one option: its flag (also its TOML key), how its value is
read and checked, its default, its help, and where the value goes. Scheduled jobs keep
their options in a TOML file and people type them; both go through the same row, so a
value is refused with the same words wherever it came from. Precedence, lowest first:
defaults, preset, config file, command line.
"""

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from trainer.cli import heldout
from trainer.cli.values import TEXT, OptionError, hidden_sizes, parse_value
from trainer.data.baseline import DEFAULT_BASELINE_SAMPLES
from trainer.nn.hyperparameters import (
    DEFAULTS,
    FLAG,
    NON_NEGATIVE,
    POSITIVE_INT,
    Hyperparameters,
    Rule,
    rule_of,
)
from trainer.nn.presets import TUTORIAL_PASSES, tutorial_params
from trainer.registry.manifest import KINDS

PRESETS = ("tutorial",)
DEFAULT_REGISTRY = "models"
MAX_SEED = 2**32 - 1  # numpy's legacy RandomState takes seeds below 2**32


def default_registry() -> str:
    """The registry when no option names one: $SCRATCHNET_REGISTRY, else `models`."""
    return os.environ.get("SCRATCHNET_REGISTRY") or DEFAULT_REGISTRY


@dataclass(frozen=True)
class Recipe:
    """What to fit, on what: everything `trainer.cli.training.fit` reads.

    No output or publishing option reaches it. `holdout_fraction` is the share of the
    data held out for the metrics and the quality gate (`--validation-fraction`); the
    classifier's own `validation_fraction` is its early-stopping holdout, taken from
    what is left.
    """

    dataset: str
    samples: int | None
    noise: float | None
    classes: int | None
    holdout_fraction: float
    kind: str
    preset: str | None
    # ScratchNetClassifier keywords set by options, in the classifier's order
    hyperparameters: Mapping[str, Any]
    # ... and those a preset fixes that have no option of their own
    preset_params: Mapping[str, Any] = field(default_factory=dict)
    # the training points the logistic-regression baseline is fitted on, at most
    baseline_samples: int = DEFAULT_BASELINE_SAMPLES
    # a separate held-out dataset (--validation-data SPEC): the model is then fitted
    # on every point of `dataset` and `holdout_fraction` is not used
    validation_data: str | None = None

    @property
    def seed(self) -> int:
        """One seed for the data, the split, the baseline and the weights."""
        return self.hyperparameters["random_state"]

    def with_hyperparameters(self, **changes: Any) -> "Recipe":
        return replace(self, hyperparameters={**self.hyperparameters, **changes})

    def classifier_params(self) -> dict[str, Any]:
        """Keyword arguments for ScratchNetClassifier."""
        stopping = {}
        if not self.hyperparameters["early_stopping"]:
            # run every epoch: the moons' loss plateaus before it falls again, and
            # the classifier's plateau rule stopped seed 0 at epoch 43 and 85%
            stopping = {
                "tol": 0.0,
                "n_iter_no_change": self.hyperparameters["max_iter"],
            }
        return {**stopping, **self.preset_params, **self.hyperparameters}


@dataclass(frozen=True)
class RunOptions:
    """One `train` or `sweep` run: the recipe, where it is published, what is shown."""

    recipe: Recipe
    registry: str
    name: str
    promote: bool
    promote_if_better: bool
    tolerance: float
    report: str | None
    json: bool
    print_every: int
    # the gate's second test: the share of production's grid that may change label
    max_boundary_change: float | None = None
    # where the gate's decisions are counted for Prometheus (textfile collector)
    metrics_file: str | None = None


_RECIPE_FIELDS = frozenset(f.name for f in fields(Recipe))


# --- the table ----------------------------------------------------------------

Parse = Rule | Callable[[Any, str], Any]


@dataclass(frozen=True)
class Option:
    """One option as the command line, a TOML file and the classifier see it.

    `flag` is also the TOML key (with `-` or `_`). The value goes to the field
    `attribute` of `Recipe` or `RunOptions`, or to the ScratchNetClassifier keyword
    `param`. `metavar` None is a switch (`store_true`). `help` may say `{default}`.
    """

    flag: str
    metavar: str | None
    parse: Parse
    default: Any
    help: str
    attribute: str | None = None
    param: str | None = None

    @property
    def fits(self) -> bool:
        """Whether the value reaches the fitting code (the `Recipe`)."""
        return self.param is not None or self.attribute in _RECIPE_FIELDS

    @property
    def key(self) -> str:
        """The option's name in TOML, in argparse's namespace and in `resolve`."""
        return self.flag.removeprefix("--").replace("-", "_")

    def formatted_help(self) -> str:
        return self.help.format(default=_shown_default(self.default))


# the order is --help's; the defaults of hyperparameters are the classifier's
OPTIONS = (
    Option("--registry", "REGISTRY", TEXT, None,
           "registry directory (default: $SCRATCHNET_REGISTRY, else ./models)",
           attribute="registry"),
    Option("--name", "NAME", TEXT, "moons", "model name ({default})",
           attribute="name"),
    Option("--dataset", "DATA", TEXT, "moons",
           "moons, circles, blobs or csv:PATH ({default})", attribute="dataset"),
    Option("--samples", "N", POSITIVE_INT, None, "points to generate (200)",
           attribute="samples"),
    Option("--noise", "X", NON_NEGATIVE, None,
           "noise of the generated data (moons: 0.2)", attribute="noise"),
    Option("--classes", "K", POSITIVE_INT, None, "classes of blobs (3)",
           attribute="classes"),
    Option("--kind", "KIND", Rule(str, choices=KINDS), "mlp",
           "mlp (network) or logreg (the baseline) ({default})", attribute="kind"),
    Option("--hidden", "SIZES", hidden_sizes, DEFAULTS.hidden_layer_sizes,
           "hidden layer sizes, e.g. 3 or 5,5 ({default})",
           param="hidden_layer_sizes"),
    Option("--activation", "FN", rule_of("activation"), DEFAULTS.activation,
           "tanh, sigmoid or relu ({default})", param="activation"),
    Option("--optimizer", "OPT", rule_of("optimizer"), DEFAULTS.optimizer,
           "gd, sgd, momentum or adam ({default})", param="optimizer"),
    Option("--epochs", "N", rule_of("max_iter"), DEFAULTS.max_iter,
           "passes over the training data ({default})", param="max_iter"),
    Option("--learning-rate", "LR", rule_of("learning_rate"), DEFAULTS.learning_rate,
           "step size ({default})", param="learning_rate"),
    Option("--learning-rate-decay", "D", rule_of("learning_rate_decay"),
           DEFAULTS.learning_rate_decay,
           "annealing: lr / (1 + D * epoch) ({default})",
           param="learning_rate_decay"),
    Option("--l2", "ALPHA", rule_of("alpha"), DEFAULTS.alpha,
           "L2 penalty on the weights ({default})", param="alpha"),
    Option("--batch-size", "N", rule_of("batch_size"), DEFAULTS.batch_size,
           "mini-batch size ({default})", param="batch_size"),
    # the classifier's default is None (fresh entropy); a run is reproducible
    Option("--seed", "N", Rule(int, low=0, high=MAX_SEED), 0,
           "seed for data, split and weights ({default})", param="random_state"),
    Option("--validation-fraction", "F", Rule(float, low=0, high=1, strict=True), 0.2,
           "share held out for validation ({default})",
           attribute="holdout_fraction"),
    Option("--validation-data", "SPEC", heldout.parse_spec, None,
           "score on this separate dataset instead of a split, spelt like --dataset "
           "(generated ones may add :samples=N,noise=X,seed=N; default seed: --seed "
           "+ 1); the model then fits on all of --dataset. --preset tutorial: "
           "DATASET:seed=1", attribute="validation_data"),
    Option("--baseline-samples", "N", POSITIVE_INT, DEFAULT_BASELINE_SAMPLES,
           "fit the baseline on at most N training points, stratified ({default})",
           attribute="baseline_samples"),
    Option("--preset", "NAME", Rule(str, choices=PRESETS), None,
           f"tutorial: the tutorial's exact run ({TUTORIAL_PASSES} full-batch "
           "passes, summed gradient)", attribute="preset"),
    Option("--early-stopping", None, FLAG, DEFAULTS.early_stopping,
           f"hold out {DEFAULTS.validation_fraction:.0%} of the training data; stop "
           "when its accuracy stops improving and keep the best epoch",
           param="early_stopping"),
    Option("--promote", None, FLAG, False, "point production at the new version",
           attribute="promote"),
    Option("--promote-if-better", None, FLAG, False,
           "promote only if validation accuracy >= production's minus --tolerance; "
           "otherwise publish unpromoted and exit 3", attribute="promote_if_better"),
    Option("--tolerance", "ACC", NON_NEGATIVE, 0.0,
           "accuracy the gate forgives ({default})", attribute="tolerance"),
    Option("--max-boundary-change", "F", Rule(float, low=0, high=1), None,
           "with --promote-if-better: refuse when more than this share of the grid "
           "over production's data extent changes label (off)",
           attribute="max_boundary_change"),
    Option("--metrics-file", "FILE", TEXT, None,
           "with --promote-if-better: count the gate's decision in this Prometheus "
           "text file (node_exporter's textfile collector)", attribute="metrics_file"),
    Option("--print-every", "N", Rule(int, low=0), 1000,
           "print the loss every N epochs, 0 for never ({default}, as the tutorial)",
           attribute="print_every"),
    Option("--report", "DIR", TEXT, None, "write the boundary and loss figures",
           attribute="report"),
    Option("--json", None, FLAG, False, "print one JSON result", attribute="json"),
)  # fmt: skip
OPTION = {option.key: option for option in OPTIONS}
# the classifier's keyword order, which the manifest's optimizer settings follow
_PARAM_ORDER = (*(f.name for f in fields(Hyperparameters)), "random_state")


def parse_option(key: str, value: Any) -> Any:
    """Check one option's value; the message names the option as a user wrote it."""
    option = OPTION[key]
    if not isinstance(option.parse, Rule):
        return option.parse(value, option.flag)
    return parse_value(option.parse, value, option.flag)


def _shown_default(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


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
        if option not in OPTION:
            raise OptionError(
                f"config file {str(path)!r}: unknown option {key!r}; known: "
                + ", ".join(sorted(OPTION))
            )
        try:
            _check_toml_type(OPTION[option], value)
            options[option] = parse_option(option, value)
        except OptionError as exc:
            raise OptionError(f"config file {str(path)!r}: {exc}") from None
    return options


def _check_toml_type(option: Option, value: Any) -> None:
    """Numbers must be TOML numbers: `epochs = "100"` is a mistake, not 100.

    The parsers accept text because the command line is text; a file has types.
    """
    kind = option.parse.kind if isinstance(option.parse, Rule) else None
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind is int and not is_int:
        raise OptionError(f"{option.flag} must be a TOML integer, got {value!r}")
    if kind is float and not (is_int or isinstance(value, float)):
        raise OptionError(f"{option.flag} must be a TOML number, got {value!r}")


def resolve(
    command_line: dict[str, Any],
    config_file: dict[str, Any] | None = None,
    command_defaults: dict[str, Any] | None = None,
) -> RunOptions:
    """Merge defaults < preset < command's defaults < config file < command line.

    The dicts are keyed by `Option.key` and hold only the options their source
    actually set, already parsed; `command_defaults` lets a command differ from
    `train` (the sweep's sizes).
    """
    chosen = {**(config_file or {}), **command_line}
    chosen.setdefault("registry", default_registry())
    preset, preset_params = _preset_options(chosen.get("preset"))
    defaults = {option.key: option.default for option in OPTIONS}
    merged = {**defaults, **preset, **(command_defaults or {}), **chosen}
    if merged["promote"] and merged["promote_if_better"]:
        raise OptionError("choose one of --promote and --promote-if-better")
    if merged["kind"] == "logreg" and merged["preset"]:
        raise OptionError("--preset applies to --kind mlp only")
    for gated in ("max_boundary_change", "metrics_file"):
        if merged[gated] is not None and not merged["promote_if_better"]:
            raise OptionError(
                f"--{gated.replace('_', '-')} goes with --promote-if-better"
            )
    _held_out_data(merged, chosen)
    params = {option.param: merged[option.key] for option in OPTIONS if option.param}
    recipe = Recipe(
        **{
            option.attribute: merged[option.key]
            for option in OPTIONS
            if option.attribute in _RECIPE_FIELDS
        },
        hyperparameters={p: params[p] for p in _PARAM_ORDER if p in params},
        preset_params=preset_params,
    )
    return RunOptions(
        recipe=recipe,
        **{
            option.attribute: merged[option.key]
            for option in OPTIONS
            if option.attribute and not option.fits
        },
    )


def _held_out_data(merged: dict[str, Any], chosen: dict[str, Any]) -> None:
    """Settle `validation_data` in `merged`: the option, the preset's, or none."""
    if merged["validation_data"] is not None:
        if "validation_fraction" in chosen:
            raise OptionError(
                "choose one of --validation-data (a separate dataset) and "
                "--validation-fraction (a split of --dataset)"
            )
        return
    if merged["preset"] != "tutorial":
        return
    # the tutorial fits on every point, so it is scored on a separate dataset
    if "validation_fraction" in chosen:
        raise OptionError(
            "--preset tutorial fits on every point of --dataset; it is scored on "
            "--validation-data (default DATASET:seed=1), not a --validation-fraction"
        )
    merged["validation_data"] = heldout.preset_spec(merged["dataset"])
    if merged["validation_data"] is None:
        raise OptionError(
            "--preset tutorial fits on every point of a CSV dataset: give the "
            "points to score it on with --validation-data csv:PATH"
        )


def _preset_options(preset: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A preset as (options it sets, classifier settings without an option)."""
    if preset is None:
        return {}, {}
    params = dict(tutorial_params())
    options = {
        option.key: params.pop(option.param)
        for option in OPTIONS
        if option.param in params
    }
    return options, params
