"""`--validation-data SPEC`: a separate held-out dataset instead of a split.

The tutorial fits on every one of its 200 points, so its metrics and the quality gate
need points it never saw. SPEC is spelt as `--dataset` (moons, circles, blobs,
csv:PATH), and a generated one may name its own settings after a colon:
`moons:samples=200,noise=0.2,seed=1`. Those left out take the run's `--samples`,
`--noise` and `--classes`, and the seed the run's seed + 1 (other points than the
training ones).
"""

from typing import Any

import numpy as np

from trainer.cli.values import OptionError, parse_value
from trainer.data.datasets import GENERATED, Dataset, load_dataset
from trainer.errors import DataError
from trainer.nn.hyperparameters import NON_NEGATIVE, POSITIVE_INT, Rule

# the settings a generated SPEC may give, each with the rule of its run option
_SETTINGS = {
    "samples": POSITIVE_INT,
    "noise": NON_NEGATIVE,
    "classes": POSITIVE_INT,
    "seed": Rule(int, low=0, high=2**32 - 1),
}
# the tutorial preset's held-out set unless --validation-data names one: its dataset
# (moons) at the run's size and noise (200, 0.2), always seed 1, so that nightly runs
# with new seeds are all judged on the same points
PRESET_SEED = 1


def parse_spec(value: Any, flag: str = "--validation-data") -> str:
    """Check a SPEC's spelling (the data is read later); returns it unchanged."""
    if not isinstance(value, str) or not value:
        raise OptionError(f"{flag} must be a non-empty string, got {value!r}")
    if value.startswith("csv:"):
        if value == "csv:":
            raise OptionError(f"{flag}: csv: needs a path, e.g. csv:data/held-out.csv")
        return value
    _split(value, flag)
    return value


def preset_spec(dataset: str) -> str | None:
    """The tutorial preset's default held-out SPEC for `dataset`; None for a CSV."""
    if dataset.startswith("csv:"):
        return None
    return f"{dataset}:seed={PRESET_SEED}"


def load(
    spec: str,
    *,
    samples: int | None,
    noise: float | None,
    classes: int | None,
    seed: int,
) -> Dataset:
    """The held-out dataset of `spec`, the run's generation options filling the gaps.

    Raises DataError for data that cannot be read or made.
    """
    if spec.startswith("csv:"):
        return load_dataset(spec)
    name, given = _split(spec, "--validation-data")
    settings = {"samples": samples, "noise": noise, "classes": classes}
    settings |= {"seed": seed + 1} | given
    if name != "blobs":
        settings["classes"] = None  # moons and circles have exactly 2
    return load_dataset(
        name,
        n_samples=settings["samples"],
        noise=settings["noise"],
        n_classes=settings["classes"],
        seed=settings["seed"] % 2**32,
    )


def check_compatible(training: Dataset, held_out: Dataset, spec: str) -> None:
    """DataError unless the held-out data has the training data's features, classes.

    Identical data is refused too: a score on the training points is not held out.
    """
    n_train, n_held = training.X.shape[1], held_out.X.shape[1]
    if n_train != n_held:
        raise DataError(
            f"--validation-data {spec}: {n_held} features, the training data has "
            f"{n_train}"
        )
    train_classes = set(np.unique(training.y).tolist())
    held_classes = set(np.unique(held_out.y).tolist())
    if train_classes != held_classes:
        missing = sorted(map(str, train_classes - held_classes))
        extra = sorted(map(str, held_classes - train_classes))
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"not in the training data: {', '.join(extra)}"] if extra else []
        raise DataError(
            f"--validation-data {spec}: its classes differ from the training "
            f"data's ({'; '.join(parts)})"
        )
    if held_out.X.shape == training.X.shape and np.array_equal(held_out.X, training.X):
        raise DataError(
            f"--validation-data {spec} is the training data itself; use another "
            "seed (`:seed=N`) or another file"
        )


def _split(spec: str, flag: str) -> tuple[str, dict[str, Any]]:
    """`moons:samples=200,seed=1` -> ("moons", {"samples": 200, "seed": 1})."""
    name, _, rest = spec.partition(":")
    if name not in GENERATED:
        raise OptionError(
            f"{flag}: unknown dataset {name!r}; expected one of moons, circles, "
            "blobs, csv:PATH"
        )
    given: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, equals, text = part.partition("=")
        key = key.strip()
        if not equals or key not in _SETTINGS:
            raise OptionError(
                f"{flag}: {part!r} is not a setting; a generated dataset takes "
                f"{', '.join(f'{k}=' for k in _SETTINGS)}, e.g. moons:seed=1"
            )
        if key in given:
            raise OptionError(f"{flag}: {key} is given twice")
        given[key] = parse_value(_SETTINGS[key], text.strip(), f"{flag} {key}")
    if "classes" in given and name != "blobs":
        raise OptionError(f"{flag}: classes= applies to blobs only")
    return name, given
