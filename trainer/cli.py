"""`python -m trainer`: train, sweep, list, show, promote, rollback, verify.

Parsing, printing and exit codes live here and nowhere else; the work is done by
`trainer.training`, `trainer.sweep` and `trainer.registry`. Every refusal is one line
on stderr and a documented exit code, so cron jobs and scripts can act on it.
"""

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from trainer import config
from trainer.errors import (
    DataError,
    InvalidNameError,
    NotFoundError,
    TrainingError,
    VerificationError,
)
from trainer.names import check_name
from trainer.registry import STALE_SECONDS, Registry

EXIT_OK = 0
EXIT_INTERNAL = 1  # a bug: the traceback is printed
EXIT_BAD_INPUT = 2  # options, data, unknown model/version; nothing was written
EXIT_NOT_PROMOTED = 3  # --promote-if-better: published, production kept
EXIT_VERIFY_FAILED = 4  # an artifact does not verify

BAD_INPUT = (
    config.OptionError,
    DataError,
    TrainingError,
    InvalidNameError,
    NotFoundError,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    try:
        return args.handler(args)
    except BAD_INPUT as exc:
        return _refuse(exc, EXIT_BAD_INPUT)
    except VerificationError as exc:
        return _refuse(exc, EXIT_VERIFY_FAILED)
    except OSError as exc:  # the disk, not the code: full, read-only, permissions
        return _refuse(exc, EXIT_INTERNAL)
    except KeyboardInterrupt:
        return 130
    except Exception:
        traceback.print_exc()
        print("trainer: internal error (a bug): please report it", file=sys.stderr)
        return EXIT_INTERNAL


def _refuse(exc: Exception, code: int) -> int:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    print(f"trainer: error: {message}", file=sys.stderr)
    return code


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: a cron log should say what was wrong, once."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m trainer",
        description="Train, publish and manage scratchnet models.",
        epilog="Exit codes: 0 ok, 1 internal error, 2 bad input (nothing written), "
        "3 published but not promoted (quality gate), 4 verification failed.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = _command(commands, "train", _train, "train a model and publish a version")
    _add_training_options(train)
    train.add_argument(
        "--promote", action="store_true", help="point production at the new version"
    )
    train.add_argument(
        "--promote-if-better",
        action="store_true",
        help="promote only if validation accuracy >= production's minus --tolerance; "
        "otherwise publish unpromoted and exit 3",
    )
    _option(train, "--tolerance", "tolerance", "ACC", "accuracy the gate forgives (0)")
    _option(train, "--print-every", "print_every", "N", "print the loss every N "
            "epochs, 0 for never (1000, as the tutorial)")  # fmt: skip
    _option(train, "--report", "report", "DIR", "write the boundary and loss figures")
    train.add_argument("--json", action="store_true", help="print one JSON result")

    sweep = _command(commands, "sweep", _sweep, "train one network per hidden size")
    _add_training_options(sweep, sweep=True)
    sweep.add_argument("--jobs", type=int, default=-1, help="parallel jobs (all cores)")
    sweep.add_argument(
        "--publish", action="store_true", help="publish each network as a version"
    )
    _option(sweep, "--report", "report", "DIR", "write a grid of decision boundaries")
    sweep.add_argument("--json", action="store_true", help="print the table as JSON")

    listing = _command(commands, "list", _list, "list models and their versions")
    listing.add_argument("--json", action="store_true", help="print JSON")

    show = _command(commands, "show", _show, "print a version's verified manifest")
    _add_name(show)
    show.add_argument("--version", help="number or alias (default: the served one)")

    promote = _command(commands, "promote", _promote, "point an alias at a version")
    _add_name(promote)
    promote.add_argument("--version", required=True, help="version number to promote")
    promote.add_argument("--alias", default="production", help="(production)")

    rollback = _command(
        commands, "rollback", _rollback, "move production back to its previous version"
    )
    _add_name(rollback)
    rollback.add_argument("--alias", default="production", help="(production)")

    verify = _command(commands, "verify", _verify, "check every version's checksums")
    verify.add_argument("--name", help="one model (default: all)")
    verify.add_argument(
        "--fix",
        action="store_true",
        help="remove temporary directories left by interrupted publishes "
        f"(older than {STALE_SECONDS / 60:.0f} minutes)",
    )
    verify.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _command(
    commands: Any, name: str, handler: Callable[[argparse.Namespace], int], text: str
) -> argparse.ArgumentParser:
    sub = commands.add_parser(name, help=text, description=text)
    sub.set_defaults(handler=handler)
    sub.add_argument(
        "--registry",
        default=argparse.SUPPRESS,
        help="registry directory (default: $SCRATCHNET_REGISTRY, else ./models)",
    )
    return sub


def _add_name(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--name", default="moons", help="model name (moons)")


def _option(
    sub: argparse.ArgumentParser, flag: str, key: str, metavar: str, text: str
) -> None:
    """An option that appears in the namespace only when given (config can set it)."""
    sub.add_argument(
        flag,
        dest=key,
        metavar=metavar,
        type=_parser_for(key),
        default=argparse.SUPPRESS,
        help=text,
    )


def _parser_for(key: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return config.parse_option(key, text)
        except config.OptionError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = key
    return parse


def _add_training_options(sub: argparse.ArgumentParser, sweep: bool = False) -> None:
    d = config.TrainOptions()
    hidden_help = (
        "hidden sizes to compare, one network each (1,2,3,4,5,20,50)"
        if sweep
        else f"hidden layer sizes, e.g. 3 or 5,5 ({d.hidden[0]})"
    )
    for flag, key, metavar, text in [
        ("--config", "config_file", "FILE", "TOML file of these options (the "
         "command line wins)"),
        ("--name", "name", "NAME", f"model name ({d.name})"),
        ("--dataset", "dataset", "DATA", "moons, circles, blobs or csv:PATH (moons)"),
        ("--samples", "samples", "N", "points to generate (200)"),
        ("--noise", "noise", "X", "noise of the generated data (moons: 0.2)"),
        ("--classes", "classes", "K", "classes of blobs (3)"),
        ("--kind", "kind", "KIND", "mlp (network) or logreg (the baseline) (mlp)"),
        ("--hidden", "hidden", "SIZES", hidden_help),
        ("--activation", "activation", "FN", f"tanh, sigmoid or relu ({d.activation})"),
        ("--optimizer", "optimizer", "OPT", "gd, sgd, momentum or adam "
         f"({d.optimizer})"),
        ("--epochs", "epochs", "N", f"passes over the training data ({d.epochs})"),
        ("--learning-rate", "learning_rate", "LR", f"step size ({d.learning_rate})"),
        ("--learning-rate-decay", "learning_rate_decay", "D", "annealing: lr / (1 + D "
         "* epoch) (0)"),
        ("--l2", "l2", "ALPHA", f"L2 penalty on the weights ({d.l2})"),
        ("--batch-size", "batch_size", "N", f"mini-batch size ({d.batch_size})"),
        ("--seed", "seed", "N", f"seed for data, split and weights ({d.seed})"),
        ("--validation-fraction", "validation_fraction", "F", "share held out for "
         f"validation ({d.validation_fraction})"),
        ("--preset", "preset", "NAME", "tutorial: the tutorial's exact run (20000 "
         "full-batch passes, summed gradient)"),
    ]:  # fmt: skip
        if key == "config_file":
            sub.add_argument(flag, dest=key, metavar=metavar, help=text)
        else:
            _option(sub, flag, key, metavar, text)
    sub.add_argument(
        "--early-stopping",
        dest="early_stopping",
        action="store_true",
        default=argparse.SUPPRESS,
        help="stop when validation loss stops improving",
    )


def _options(
    args: argparse.Namespace, command_defaults: dict[str, Any] | None = None
) -> config.TrainOptions:
    """The run's options: defaults < preset < --config file < command line."""
    given = {k: v for k, v in vars(args).items() if k in config.PARSERS}
    for flag in ("promote", "promote_if_better", "json"):
        if not given.get(flag):
            given.pop(flag, None)  # store_true: only an explicit flag overrides config
    from_file = config.read_config(args.config_file) if args.config_file else {}
    options = config.resolve(given, from_file, command_defaults)
    check_name(options.name)
    registry = Path(options.registry)
    if registry.exists() and not registry.is_dir():
        raise config.OptionError(f"registry {str(registry)!r} is not a directory")
    if options.report:
        from trainer import report

        report.require_matplotlib()
        if Path(options.report).exists() and not Path(options.report).is_dir():
            raise config.OptionError(f"report {options.report!r} is not a directory")
    return options


def _registry(args: argparse.Namespace) -> Registry:
    root = getattr(args, "registry", None) or os.environ.get("SCRATCHNET_REGISTRY")
    return Registry(root or config.DEFAULT_REGISTRY)


# --- commands ------------------------------------------------------------------


def _train(args: argparse.Namespace) -> int:
    from trainer import training
    from trainer.progress import Progress

    options = _options(args)
    with Progress(options) as progress:
        result = training.fit(options, on_epoch=progress)
    figures = []
    if options.report:
        from trainer import report

        figures = report.train_report(result, Path(options.report), options.name)
    outcome = training.publish(Registry(options.registry), options, result)
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
        print(_train_summary(result, outcome, figures))
    if options.promote_if_better and not outcome.promoted:
        return EXIT_NOT_PROMOTED
    return EXIT_OK


def _train_summary(result: Any, outcome: Any, figures: list[Path]) -> str:
    m = result.metrics
    baseline = m["baseline_validation_accuracy"]
    lines = [
        f"published {outcome.name} v{outcome.version}: validation accuracy "
        f"{m['validation_accuracy']:.3f} (baseline {baseline:.3f}), train accuracy "
        f"{m['train_accuracy']:.3f}, validation loss {m['validation_loss']:.4f}"
    ]
    gate = outcome.gate
    if gate and gate["production_accuracy"] is not None:
        verdict = "promoted" if outcome.promoted else "NOT promoted, production kept"
        lines.append(
            f"quality gate: v{outcome.version} {gate['candidate_accuracy']:.3f} vs "
            f"production v{gate['production_version']} "
            f"{gate['production_accuracy']:.3f} - tolerance {gate['tolerance']}: "
            f"{verdict}"
        )
    if outcome.promoted:
        lines.append(f"production -> v{outcome.version}")
    lines += [f"wrote {path}" for path in figures]
    return "\n".join(lines)


def _sweep(args: argparse.Namespace) -> int:
    from trainer import sweep

    options = _options(args, {"hidden": sweep.TUTORIAL_SIZES})
    entries = sweep.run(options, jobs=args.jobs)
    figure = None
    if options.report:
        from trainer import report

        figure = report.sweep_report(entries, Path(options.report))
    if args.publish:
        entries = sweep.publish(Registry(options.registry), options, entries)
    if options.json:
        _print_json({"sweep": [entry.row() for entry in entries]})
    else:
        print(sweep.table(entries))
        if figure:
            print(f"wrote {figure}")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    registry = _registry(args)
    models = []
    for name in registry.models():
        aliases = registry.aliases(name)
        served = registry.served_version(name)
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
                )
            row["aliases"] = sorted(a for a, v in aliases.items() if v == version)
            row["served"] = version == served
            versions.append(row)
        models.append(
            {"name": name, "aliases": aliases, "served_version": served,
             "versions": versions}
        )  # fmt: skip
    if args.json:
        _print_json({"models": models})
        return EXIT_OK
    if not models:
        print(f"no models in {registry.root}")
    for model in models:
        print(f"{model['name']}  (served: v{model['served_version']})")
        for row in model["versions"]:
            print("  " + _version_line(row))
    return EXIT_OK


def _version_line(row: dict[str, Any]) -> str:
    marks = " ".join(row["aliases"] + (["<- served"] if row["served"] else []))
    if "error" in row:
        return f"v{row['version']:<4} DOES NOT VERIFY: {row['error']}  {marks}"
    accuracy = row["validation_accuracy"]
    shown = "n/a" if accuracy is None else f"{accuracy:.3f}"
    hidden = str(row["hidden_layer_sizes"])
    return (
        f"v{row['version']:<4} {row['kind']:<6} hidden={hidden:<8} "
        f"val_acc={shown}  {row['created_at']}  {marks}"
    ).rstrip()


def _show(args: argparse.Namespace) -> int:
    manifest = _registry(args).read_manifest(args.name, args.version)
    _print_json(manifest)
    return EXIT_OK


def _promote(args: argparse.Namespace) -> int:
    registry = _registry(args)
    version = registry.resolve(args.name, args.version)  # unknown: exit 2
    before = registry.aliases(args.name).get(args.alias)
    registry.set_alias(args.name, args.alias, version)
    print(f"{args.name}: {args.alias} -> v{version} (was {_v(before)})")
    return EXIT_OK


def _rollback(args: argparse.Namespace) -> int:
    before, after = _registry(args).rollback(args.name, args.alias)
    print(f"{args.name}: {args.alias} -> v{after} (was v{before})")
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    registry = _registry(args)
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
            "verified": [v for v in registry.versions(name) if f"v{v}" not in bad],
            "problems": [{"where": p.where, "message": p.message} for p in problems],
            "removed_temp_dirs": [],
            "temp_dirs": [],
        }
        if args.fix:
            entry["removed_temp_dirs"] = [p.name for p in registry.clean_stale(name)]
        entry["temp_dirs"] = [p.name for p in registry.temp_dirs(name)]
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
        for version in entry["verified"]:
            print(f"{name} v{version}: ok")
        for problem in entry["problems"]:
            print(f"{name} {problem['where']}: FAILED: {problem['message']}")
        for temp in entry["removed_temp_dirs"]:
            print(f"{name}: removed stale temporary directory {temp}")
        if entry["temp_dirs"]:
            print(
                f"{name}: {len(entry['temp_dirs'])} temporary director(ies) from "
                "publishes in progress or interrupted; `verify --fix` removes those "
                f"older than {STALE_SECONDS / 60:.0f} minutes"
            )


def _v(version: int | None) -> str:
    return "unset" if version is None else f"v{version}"


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))
