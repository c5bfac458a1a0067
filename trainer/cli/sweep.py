"""The tutorial's hidden-size comparison, with held-out accuracy: one network per size.

Each size trains in its own joblib worker; the networks are independent, so the sweep
takes about as long as the slowest one when there are cores to spare. With a dask
scheduler the same joblib calls run on that cluster's workers (joblib's dask backend),
so the fits, seeded the same, give the same networks as on this machine.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from joblib import Parallel, delayed, parallel_config

from trainer.cli import training
from trainer.cli.options import Recipe
from trainer.cli.values import OptionError
from trainer.registry import Registry


@dataclass(frozen=True)
class SweepEntry:
    """One size's result, its wall time, and its version once published."""

    hidden: int
    result: training.TrainedModel
    seconds: float
    version: int | None = None

    def row(self) -> dict[str, Any]:
        metrics = self.result.metrics
        return {
            "hidden": self.hidden,
            "train_accuracy": metrics["train_accuracy"],
            "validation_accuracy": metrics["validation_accuracy"],
            "train_loss": metrics["train_loss"],
            "validation_loss": metrics["validation_loss"],
            "epochs": len(self.result.loss_curve),
            "seconds": round(self.seconds, 3),
            "version": self.version,
        }


def run(
    recipe: Recipe, jobs: int = -1, scheduler: str | None = None
) -> list[SweepEntry]:
    """Train a one-hidden-layer network for each of the recipe's hidden sizes, on
    this machine's cores or on the dask cluster of `scheduler`."""
    if recipe.kind != "mlp":
        raise OptionError("sweep compares networks: --kind must be mlp")
    if jobs == 0:
        raise OptionError("--jobs must not be 0 (use -1 for every core)")
    sizes = recipe.hyperparameters["hidden_layer_sizes"]
    runs = [recipe.with_hyperparameters(hidden_layer_sizes=(size,)) for size in sizes]
    # the data and the baseline are the same for every size: fitted once, here
    prepared = training.prepare(recipe)
    with _backend(scheduler):
        timed = Parallel(n_jobs=jobs)(
            delayed(_fit_timed)(run, prepared) for run in runs
        )
    return [
        SweepEntry(size, result, seconds)
        for size, (result, seconds) in zip(sizes, timed, strict=True)
    ]


def publish(
    registry: Registry, name: str, entries: list[SweepEntry]
) -> list[SweepEntry]:
    """Publish every network as a version of `name`, none promoted."""
    return [
        replace(
            entry,
            version=registry.publish(
                name,
                entry.result.coefs,
                entry.result.intercepts,
                entry.result.manifest_fields,
                entry.result.files,
            ),
        )
        for entry in entries
    ]


def table(entries: list[SweepEntry]) -> str:
    """A plain-text table: one row per size, accuracies, losses, epochs, time."""
    header = (
        f"{'hidden':>6}  {'train_acc':>9}  {'val_acc':>7}  {'train_loss':>10}  "
        f"{'val_loss':>8}  {'epochs':>6}  {'seconds':>7}"
    )
    published = any(entry.version is not None for entry in entries)
    lines = [header + ("  version" if published else "")]
    for entry in entries:
        r = entry.row()
        line = (
            f"{r['hidden']:>6}  {r['train_accuracy']:>9.3f}  "
            f"{r['validation_accuracy']:>7.3f}  {r['train_loss']:>10.4f}  "
            f"{r['validation_loss']:>8.4f}  {r['epochs']:>6}  {r['seconds']:>7.2f}"
        )
        if published:
            line += f"  {r['version']:>7}"
        lines.append(line)
    return "\n".join(lines)


def _fit_timed(
    recipe: Recipe, prepared: training.Prepared
) -> tuple[training.TrainedModel, float]:
    started = time.perf_counter()
    result = training.fit(recipe, prepared=prepared)
    return result, time.perf_counter() - started


# how long connecting to a scheduler may take before the sweep gives up
SCHEDULER_TIMEOUT_SECONDS = 10


@contextmanager
def _backend(scheduler: str | None) -> Iterator[None]:
    """joblib's default (processes here), or its dask backend on `scheduler`."""
    if scheduler is None:
        yield
        return
    try:
        from distributed import Client
    except ImportError:
        raise OptionError(
            "--scheduler needs dask.distributed: pip install 'scratchnet[dask]'"
        ) from None
    try:
        client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_SECONDS)
    except (OSError, TimeoutError, ValueError) as exc:
        raise OptionError(
            f"--scheduler {scheduler!r}: cannot connect to a dask scheduler there "
            f"({exc})"
        ) from None
    try:
        with parallel_config(backend="dask"):
            yield
    finally:
        client.close()
