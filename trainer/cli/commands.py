"""The CLI's commands: train, sweep, list, show, promote, rollback, verify.

Each takes the parsed arguments, does its work through `trainer.cli.training`,
`trainer.cli.sweep` and `trainer.registry`, prints for people (or one JSON document with
`--json`) and returns its exit code; errors are raised and mapped by `trainer.cli`.
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
from trainer.errors import NotFoundError, StorageError, VerificationError
from trainer.nn.presets import TUTORIAL_SIZES
from trainer.registry import STALE_SECONDS, Registry
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


def list_models(args: argparse.Namespace) -> int:
    """Every model and version, with aliases, the served one, and broken ones."""
    registry = _registry(args)
    models = []
    for name in registry.models():
        alias_error = None
        try:
            aliases = registry.aliases(name)
            served = registry.served_version(name)
        except VerificationError as exc:
            # one damaged aliases.json must not hide every other model and version
            aliases, served, alias_error = {}, None, str(exc)
        versions = []
        for version in registry.versions(name):
            row: dict[str, Any] = {"version": version}
            try:
                manifest = registry.read_manifest(name, version)
            except VerificationError as exc:
                row["error"] = str(exc)
            else:
                row.update(
                    kind=manifest["kind"],
                    hidden_layer_sizes=manifest["architecture"]["hidden_layer_sizes"],
                    validation_accuracy=manifest["metrics"].get("validation_accuracy"),
                    created_at=manifest["created_at"],
                    # verified when present: read_manifest recomputed it
                    reference="verified" if "reference" in manifest else "absent",
                )
            row["aliases"] = sorted(a for a, v in aliases.items() if v == version)
            versions.append(row)
        if served is not None and "production" not in aliases:
            # like the service: without a production alias, the highest version
            # that verifies is served, not a broken newer one
            verified = [row["version"] for row in versions if "error" not in row]
            served = max(verified, default=None)
        for row in versions:
            row["served"] = row["version"] == served
        model = {"name": name, "aliases": aliases, "served_version": served,
                 "versions": versions}  # fmt: skip
        # what readers skip (a symlinked version, a stray file): shown, never served
        model["ignored_entries"] = [
            {"entry": entry, "reason": reason}
            for entry, reason in registry.ignored_entries(name)
        ]
        if alias_error:
            model["error"] = alias_error
        models.append(model)
    if args.json:
        _print_json({"models": models})
        return EXIT_OK
    if not models:
        print(f"no models in {registry.root}")
    for model in models:
        if "error" in model:
            print(f"{model['name']}  (served: none: {model['error']})")
        else:
            print(f"{model['name']}  (served: v{model['served_version']})")
        for row in model["versions"]:
            print("  " + _version_line(row))
        for ignored in model["ignored_entries"]:
            print(f"  {ignored['entry']}  IGNORED: {ignored['reason']}")
    return EXIT_OK


def _version_line(row: dict[str, Any]) -> str:
    marks = " ".join(row["aliases"] + (["<- served"] if row["served"] else []))
    if "error" in row:
        return f"v{row['version']:<4} DOES NOT VERIFY: {row['error']}  {marks}"
    accuracy = row["validation_accuracy"]
    shown = "n/a" if accuracy is None else f"{accuracy:.3f}"
    hidden = str(row["hidden_layer_sizes"])
    unchecked = "  no reference" if row["reference"] == "absent" else ""
    return (
        f"v{row['version']:<4} {row['kind']:<6} hidden={hidden:<8} "
        f"val_acc={shown}  {row['created_at']}{unchecked}  {marks}"
    ).rstrip()


def show(args: argparse.Namespace) -> int:
    """Print one version's verified manifest (exit 2 for an unknown model).

    Without --version, the version the service serves: production if set, else the
    highest version that verifies (a broken newer one is reported, not shown).
    """
    registry = _registry(args)
    version = args.version
    if version is None and "production" not in registry.aliases(args.name):
        version = _highest_verified(registry, args.name)
    manifest = registry.read_manifest(args.name, version)
    print(json.dumps(manifest, indent=2))  # for people; `list --json` is for scripts
    return EXIT_OK


def _highest_verified(registry: Registry, name: str) -> int | None:
    for version in reversed(registry.versions(name)):
        try:
            registry.read_manifest(name, version)
        except VerificationError:
            continue
        return version
    return None


def promote(args: argparse.Namespace) -> int:
    """Point an alias at an existing version that verifies; with
    --max-boundary-change, only if it changes at most that share of the alias's
    current version's grid (exit 3 otherwise)."""
    registry = _registry(args)
    limit = args.max_boundary_change
    if limit is not None:
        limit = parse_option("max_boundary_change", limit)
    version = registry.resolve(args.name, args.version)  # unknown: exit 2
    before = registry.aliases(args.name).get(args.alias)
    if limit is not None and before is not None and before != version:
        from trainer.registry.promotion import measure_change

        change = measure_change(
            registry.load(args.name, before), registry.load(args.name, version)
        )
        if change["changed_fraction"] > limit:
            print(
                f"{args.name}: {args.alias} kept at v{before}: v{version} changes "
                f"{change['changed_fraction']:.2%} of its grid, over the limit "
                f"{limit:.2%} (--max-boundary-change)"
            )
            return EXIT_NOT_PROMOTED
    registry.set_alias(args.name, args.alias, version)
    print(f"{args.name}: {args.alias} -> v{version} (was {_v(before)})")
    return EXIT_OK


def diff(args: argparse.Namespace) -> int:
    """The share of grid cells whose label differs between two versions."""
    from trainer.registry.boundary_change import boundary_change, summary

    registry = _registry(args)
    for side in ("nx", "ny"):
        if not 1 <= getattr(args, side) <= MAX_DIFF_SIDE:
            raise OptionError(f"--{side} must be from 1 to {MAX_DIFF_SIDE}")
    a = registry.load(args.name, args.a)
    b = registry.load(args.name, args.b)
    bounds, mask = boundary_change(a, b, nx=args.nx, ny=args.ny)
    result = summary(a, b, bounds, mask)
    if args.json:
        _print_json(result)
        return EXIT_OK
    x_min, x_max, y_min, y_max = result["bounds"]
    print(
        f"{args.name} v{a.version} -> v{b.version}: {result['changed_fraction']:.2%} "
        f"of the {result['nx']}x{result['ny']} grid changes label "
        f"({result['changed_cells']} cells; x {x_min:g}..{x_max:g}, "
        f"y {y_min:g}..{y_max:g})"
    )
    return EXIT_OK


# cells per side of `diff`'s grid: 2000 x 2000 is the service's limit too
MAX_DIFF_SIDE = 2000


def rollback(args: argparse.Namespace) -> int:
    """Move an alias back to the version it held before."""
    before, after = _registry(args).rollback(args.name, args.alias)
    print(f"{args.name}: {args.alias} -> v{after} (was v{before})")
    return EXIT_OK


def verify(args: argparse.Namespace) -> int:
    """Verify every version and alias; exit 4 if anything fails; --fix cleans up."""
    registry = _registry(args)
    if is_s3_url(registry.root):
        registry.storage.check_access()  # a missing bucket is not "all verified"
    elif not registry.root.is_dir():
        # a cron job pointed at a mistyped path must not report "all verified"
        raise NotFoundError(f"registry {str(registry.root)!r} is not a directory")
    if args.name:
        if args.name not in registry.model_dirs():
            raise NotFoundError(f"unknown model {check_name(args.name)!r}")
        names = [args.name]
    else:
        names = registry.model_dirs()
    report: dict[str, Any] = {"ok": True, "models": {}}
    for name in names:
        problems = registry.check(name)
        bad = {p.where for p in problems}
        entry = {
            "verified": [],
            "problems": [{"where": p.where, "message": p.message} for p in problems],
            "removed_temp_entries": [],
            "temp_entries": [],
        }
        # "model": the directory itself is refused (a symlink); nothing inside counts
        if "model" not in bad:
            entry["verified"] = [
                v for v in registry.versions(name) if f"v{v}" not in bad
            ]
            if args.fix:
                entry["removed_temp_entries"] = [
                    p.name for p in registry.clean_stale(name)
                ]
            entry["temp_entries"] = [p.name for p in registry.temp_entries(name)]
        report["models"][name] = entry
        report["ok"] = report["ok"] and not problems
    if args.json:
        _print_json(report)
    else:
        _print_verify(report)
    return EXIT_OK if report["ok"] else EXIT_VERIFY_FAILED


def _print_verify(report: dict[str, Any]) -> None:
    if not report["models"]:
        print("no models to verify")
    for name, entry in report["models"].items():
        # one line per version in version order, good or bad, then the rest (aliases)
        lines = [((0, v), f"{name} v{v}: ok") for v in entry["verified"]] + [
            (_where_order(p["where"]), f"{name} {p['where']}: FAILED: {p['message']}")
            for p in entry["problems"]
        ]
        for _, line in sorted(lines):
            print(line)
        for temp in entry["removed_temp_entries"]:
            print(f"{name}: removed stale temporary entry {temp}")
        if entry["temp_entries"]:
            print(
                f"{name}: {len(entry['temp_entries'])} temporary entries from "
                "writes in progress or interrupted; `verify --fix` removes those "
                f"older than {STALE_SECONDS / 60:.0f} minutes"
            )


def _where_order(where: str) -> tuple[int, int]:
    """Versions ("v12") by number first, anything else ("aliases", "model") after."""
    number = where.removeprefix("v")
    return (0, int(number)) if where != number and number.isdigit() else (1, 0)


def _v(version: int | None) -> str:
    return "unset" if version is None else f"v{version}"


def _print_json(data: Any) -> None:
    # exactly one line: `--json >> retrain.jsonl` must stay JSON Lines
    print(json.dumps(data), flush=True)
