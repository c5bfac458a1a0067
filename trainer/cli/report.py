"""Figures: decision boundaries over the training points, and loss curves.

matplotlib comes from the optional `plots` extra, so it is imported only inside these
functions, with the non-interactive Agg canvas: training and serving never need it,
and `require_matplotlib` lets the CLI refuse `--report` before any work is done.
"""

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from trainer.cli.training import TrainedModel, class_indices
from trainer.cli.values import OptionError
from trainer.nn import network

INSTALL_HINT = "pip install 'scratchnet[plots]'"
# grid cells per axis for the decision regions: smooth at the figure's size
GRID_STEPS = 300
MARGIN = 0.5  # the tutorial's plot_decision_boundary pads the data's extent by 0.5
CMAP = "Spectral"  # the tutorial's colour map


def require_matplotlib() -> None:
    """Raise OptionError with the install command when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise OptionError(f"--report needs matplotlib: {INSTALL_HINT}") from None


def train_report(
    result: TrainedModel, directory: Path, name: str, version: int
) -> list[Path]:
    """Write `<name>-v<version>-boundary.png` (2-feature data only) and
    `<name>-v<version>-loss.png`: named and titled by the version they show, so a
    retrain adds figures instead of overwriting the last ones."""
    figure_class = _figure_class()
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    label = f"{name} v{version}"
    if result.X_train.shape[1] == 2:
        figure = figure_class(figsize=(7, 6), layout="constrained")
        hidden = result.manifest_fields["architecture"]["hidden_layer_sizes"]
        m = result.metrics
        title = (
            f"{label}: hidden layers {hidden}\ntrain {m['train_accuracy']:.3f}, "
            f"validation {m['validation_accuracy']:.3f}, logistic-regression "
            f"baseline {m['baseline_validation_accuracy']:.3f}"
        )
        split = result.manifest_fields["training"]["validation"]["source"] == "split"
        _draw_boundary(figure.add_subplot(), result, title, validation=split)
        _legend_below(figure)
        written.append(_save(figure, directory / f"{name}-v{version}-boundary.png"))
    if result.loss_curve:
        figure = figure_class(figsize=(7, 4), layout="constrained")
        axes = figure.add_subplot()
        axes.plot(np.arange(len(result.loss_curve)), result.loss_curve)
        axes.set(
            xlabel="epoch",
            ylabel="training loss (cross-entropy + L2)",
            yscale="log",
            title=f"{label}: loss per epoch",
        )
        axes.grid(True, alpha=0.3)
        written.append(_save(figure, directory / f"{name}-v{version}-loss.png"))
    return written


def sweep_report(
    entries: Sequence[Any], directory: Path, baseline: TrainedModel | None = None
) -> Path:
    """The tutorial's figures on one page: the logistic-regression baseline first,
    then one panel per hidden size, each over its training points.

    `entries` are `trainer.cli.sweep.SweepEntry`; writes `sweep-boundaries.png`.
    Validation points are drawn only when they are a split of the same data (a
    separate --validation-data set would hide the points the model was fitted on).
    """
    directory.mkdir(parents=True, exist_ok=True)
    figure = sweep_figure(entries, baseline)
    return _save(figure, directory / "sweep-boundaries.png")


def sweep_figure(entries: Sequence[Any], baseline: TrainedModel | None = None) -> Any:
    """The figure `sweep_report` writes (a matplotlib Figure), baseline first."""
    if entries and entries[0].result.X_train.shape[1] != 2:
        raise OptionError("--report draws decision boundaries of 2-feature data only")
    figure_class = _figure_class()
    panels = [(f"Hidden layer size {e.hidden}", e.result) for e in entries]
    if baseline is not None:
        panels.insert(0, ("Logistic regression (baseline)", baseline))
    n_rows = math.ceil(len(panels) / 2)
    figure = figure_class(figsize=(12, 4.2 * n_rows), layout="constrained")
    for i, (name, result) in enumerate(panels):
        axes = figure.add_subplot(n_rows, 2, i + 1)
        metrics = result.metrics
        title = (
            f"{name}: train {metrics['train_accuracy']:.3f}, "
            f"validation {metrics['validation_accuracy']:.3f}"
        )
        split = result.manifest_fields["training"]["validation"]["source"] == "split"
        _draw_boundary(axes, result, title, validation=split)
    if panels:
        first = panels[0][1]
        spec = first.manifest_fields["training"]["dataset"]
        figure.suptitle(
            f"Decision boundaries by hidden layer size: {spec.get('name', 'csv')}, "
            f"{len(first.y_train)} training points",
            fontsize=13,
        )
        _legend_below(figure)
    return figure


def _draw_boundary(
    axes: Any, result: TrainedModel, title: str, validation: bool = True
) -> None:
    """Decision regions on a grid, training points (dots) and validation (crosses)."""
    X = np.vstack([result.X_train, result.X_validation])
    (x_min, y_min), (x_max, y_max) = X.min(axis=0) - MARGIN, X.max(axis=0) + MARGIN
    xs = np.linspace(x_min, x_max, GRID_STEPS)
    ys = np.linspace(y_min, y_max, GRID_STEPS)
    xx, yy = np.meshgrid(xs, ys)
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    P = network.predict_proba(grid, result.coefs, result.intercepts, result.activation)
    regions = P.argmax(axis=1).reshape(xx.shape)
    n_classes = len(result.classes)
    levels = np.arange(n_classes + 1) - 0.5
    # one colour scale for regions and points, so a point's colour names its region
    scale = {"cmap": CMAP, "vmin": 0, "vmax": max(n_classes - 1, 1)}
    axes.contourf(xx, yy, regions, levels=levels, alpha=0.55, **scale)
    style = {**scale, "edgecolors": "k"}
    axes.scatter(
        *result.X_train.T,
        c=class_indices(result.y_train, result.classes),
        s=18,
        linewidths=0.5,
        label="training",
        **style,
    )
    if validation:
        axes.scatter(
            *result.X_validation.T,
            c=class_indices(result.y_validation, result.classes),
            s=40,
            marker="X",
            linewidths=0.7,
            label="validation",
            **style,
        )
    x_name, y_name = feature_names(result)
    axes.set(
        xlim=(x_min, x_max),
        ylim=(y_min, y_max),
        title=title,
        xlabel=x_name,
        ylabel=y_name,
    )
    axes.title.set_fontsize(10)


def feature_names(result: TrainedModel) -> list[str]:
    """The CSV header's feature columns, else x1, x2, ...: what the axes are."""
    columns = result.manifest_fields["training"]["dataset"].get("columns")
    n_features = result.X_train.shape[1]
    if columns and len(columns) == n_features + 1:
        return [str(c) for c in columns[:-1]]
    return [f"x{i}" for i in range(1, n_features + 1)]


def _legend_below(figure: Any) -> None:
    # below the panels, never over the points; markers only (their colour means
    # nothing: the class is the region's colour)
    handles, labels = figure.axes[0].get_legend_handles_labels()
    legend = figure.legend(
        handles, labels, loc="outside lower center", ncols=len(handles), fontsize=9
    )
    for handle in legend.legend_handles:
        handle.set_array(None)
        handle.set_facecolor("white")


def _figure_class() -> Any:
    require_matplotlib()
    # Figure without pyplot: no global state, no GUI backend, safe in any process
    from matplotlib.figure import Figure

    return Figure


def _save(figure: Any, path: Path) -> Path:
    figure.savefig(path, dpi=100)
    return path
