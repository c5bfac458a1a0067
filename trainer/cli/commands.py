"""The CLI's training commands, train and sweep, and what every command shares: the
exit codes, opening the registry, printing JSON.

Each takes the parsed arguments, does its work through `trainer.cli.training`,
`trainer.cli.sweep` and `trainer.registry`, prints for people (or one JSON document with
`--json`) and returns its exit code; errors are raised and mapped by `trainer.cli`.
The registry's own commands are in `trainer.cli.registry_commands`.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainer.cli.options import (
    OPTION,
    RunOptions,
    default_registry,
    parse_option,
    read_config,
    resolve,
)
from trainer.cli.values import OptionError
from trainer.errors import StorageError, VerificationError
from trainer.nn.presets import TUTORIAL_SIZES
from trainer.registry import Registry
from trainer.registry.names import check_name
from trainer.registry.reference import tolerance_from_env
from trainer.registry.registry import check_writable_store
from trainer.registry.storage import is_s3_url

if TYPE_CHECKING:
    from trainer.cli.training import PublishOutcome, TrainedModel

EXIT_OK = 0
EXIT_INTERNAL = 1  # a bug (traceback printed) or the disk (one line)
EXIT_BAD_INPUT = 2  # options, data, unknown model/version; nothing was written
EXIT_NOT_PROMOTED = 3  # --promote-if-better: published, production kept
EXIT_VERIFY_FAILED = 4  # an artifact does not verify


def train(args: argparse.Namespace) -> int:
    """Fit, optionally draw, publish, then promote or apply the quality gate."""
    # imported per command: scikit-learn's import is slow, and list/show never need it
    from trainer.cli import training
    from trainer.cli.progress import Progress

    options = _options(args)
    with Progress(options) as progress:
        result = training.fit(options.recipe, on_epoch=progress)
    outcome = training.publish(open_registry(options.registry), options, result)
    figures = []
    if options.report:
        # after publishing, so the figures carry the version they show; the report
        # directory was found writable before training began
        figures = _write_report(result, options, outcome)
    if options.metrics_file and outcome.gate is not None:
        _count_gate(options, outcome)
    if options.json:
        _print_json(
            {
                "name": outcome.name,
                "version": outcome.version,
                "promoted": outcome.promoted,
                "gate": outcome.gate,
                "metrics": result.metrics,
                "registry": str(options.registry),
                "report": [str(p) for p in figures],
            }
        )
    else:
        print(_train_summary(result, outcome, figures, options.registry))
    if options.promote_if_better and not outcome.promoted:
        return EXIT_NOT_PROMOTED
    return EXIT_OK


def _write_report(
    result: "TrainedModel", options: RunOptions, outcome: "PublishOutcome"
) -> list[Path]:
    from trainer.cli import report

    directory = Path(options.report)
    try:
        return report.train_report(result, directory, outcome.name, outcome.version)
    except OSError as exc:
        state = "and promoted" if outcome.promoted else "(production unchanged)"
        raise StorageError(
            f"{outcome.name!r} version {outcome.version} was published {state}, but "
            f"its figures could not be written in {str(directory)!r}: "
            f"{exc.strerror or exc}"
        ) from exc


def _count_gate(options: RunOptions, outcome: "PublishOutcome") -> None:
    """Add the decision to --metrics-file; a failure there is a warning, never a
    change of the run's outcome (the version is published, the gate has decided)."""
    from trainer.cli import gate_metrics

    try:
        gate_metrics.record(
            Path(options.metrics_file),
            options.name,
            outcome.promoted,
            outcome.gate.get("refused_by", []),
        )
    except (OSError, VerificationError) as exc:
        print(
            f"trainer: warning: cannot update --metrics-file "
            f"{options.metrics_file!r}: {exc}",
            file=sys.stderr,
        )


def _options(
    args: argparse.Namespace,
    command_defaults: dict[str, Any] | None = None,
    publishes: bool = True,
) -> RunOptions:
    """The run's options: defaults < preset < --config file < command line."""
    # parsed again: --registry comes from the shared parser, not the option table
    given = {k: parse_option(k, v) for k, v in vars(args).items() if k in OPTION}
    from_file = read_config(args.config_file) if args.config_file else {}
    options = resolve(given, from_file, command_defaults)
    check_name(options.name)
    # both are checked before training: a mistyped or read-only path in a cron job
    # is bad input (exit 2) found in a second, not an error after the whole run
    if publishes and is_s3_url(options.registry):
        check_writable_store(options.registry)
    elif publishes:
        _check_writable_directory("registry", Path(options.registry))
    if options.report:
        from trainer.cli import report

        report.require_matplotlib()
        _check_writable_directory("report", Path(options.report))
    return options


def _check_writable_directory(what: str, directory: Path) -> None:
    """Refuse a directory that could not be created or written in.

    Nothing is created: the probe is an unnamed temporary file in the nearest
    directory that exists (the registry and the report are created on first use).
    """
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "is not a directory" if existing == directory else (
            f"cannot be created: {str(existing)!r} is not a directory"
        )  # fmt: skip
        raise OptionError(f"{what} {str(directory)!r} {where}")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if existing == directory:
            raise OptionError(
                f"{what} {str(directory)!r} is not writable ({reason})"
            ) from None
        # e.g. /proc exists but takes no new entries (ENOENT, not EACCES)
        raise OptionError(
            f"{what} {str(directory)!r} cannot be created: {str(existing)!r} takes no "
            f"new files or directories ({reason})"
        ) from None


def _registry(args: argparse.Namespace) -> Registry:
    return open_registry(getattr(args, "registry", None) or default_registry())


def open_registry(root: str | Path) -> Registry:
    """The registry at `root`, loading with $SCRATCHNET_REFERENCE_TOLERANCE."""
    try:
        tolerance = tolerance_from_env()
    except ValueError as exc:
        raise OptionError(str(exc)) from None
    return Registry(root, reference_tolerance=tolerance)


def _train_summary(
    result: "TrainedModel",
    outcome: "PublishOutcome",
    figures: list[Path],
    registry: str | Path,
) -> str:
    m = result.metrics
    baseline = m["baseline_validation_accuracy"]
    lines = [
        f"published {outcome.name} v{outcome.version} in {registry}: validation "
        f"accuracy "
        f"{m['validation_accuracy']:.3f} (baseline {baseline:.3f}), train accuracy "
        f"{m['train_accuracy']:.3f}, validation loss {m['validation_loss']:.4f}"
    ]
    gate = outcome.gate
    if gate and gate["production_accuracy"] is not None:
        verdict = "promoted" if outcome.promoted else "NOT promoted, production kept"
        if gate.get("refused_by"):
            verdict += f" (refused by: {', '.join(gate['refused_by'])})"
        lines.append(
            f"quality gate: v{outcome.version} {gate['candidate_accuracy']:.3f} vs "
            f"production v{gate['production_version']} "
            f"{gate['production_accuracy']:.3f} - tolerance {gate['tolerance']}: "
            f"{verdict}"
        )
        change = gate.get("boundary_change")
        if change is not None:
            lines.append(
                f"boundary change against v{change['against_version']}: "
                f"{change['changed_fraction']:.2%} of {change['nx']}x{change['ny']} "
                f"cells (limit {gate['max_boundary_change']:.2%})"
            )
    if outcome.promoted:
        lines.append(f"production -> v{outcome.version}")
    lines += [f"wrote {path}" for path in figures]
    return "\n".join(lines)


def sweep(args: argparse.Namespace) -> int:
    """Fit one network per hidden size in parallel; print the comparison."""
    from trainer.cli import sweep as hidden_sweep

    options = _options(args, {"hidden": TUTORIAL_SIZES}, publishes=args.publish)
    entries, baseline = hidden_sweep.run(
        options.recipe,
        jobs=args.jobs,
        scheduler=getattr(args, "scheduler", None),
        with_baseline=bool(options.report),
    )
    figure = None
    if options.report:
        from trainer.cli import report

        figure = report.sweep_report(entries, Path(options.report), baseline)
    if args.publish:
        entries = hidden_sweep.publish(
            open_registry(options.registry), options.name, entries
        )
    if options.json:
        _print_json({"sweep": [entry.row() for entry in entries]})
    else:
        print(hidden_sweep.table(entries))
        if figure:
            print(f"wrote {figure}")
    return EXIT_OK


def _highest_verified(registry: Registry, name: str) -> int | None:
    for version in reversed(registry.versions(name)):
        try:
            registry.read_manifest(name, version)
        except VerificationError:
            continue
        return version
    return None


def _print_json(data: Any) -> None:
    # exactly one line: `--json >> retrain.jsonl` must stay JSON Lines
    print(json.dumps(data), flush=True)
