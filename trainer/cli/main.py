"""`python -m trainer`: the argument parser and the mapping of errors to exit codes.

The commands themselves are in `trainer.cli.commands` and `.registry_commands`. Here
every refusal becomes one line on stderr and a documented exit code, so cron jobs and
scripts can act on it.
"""

import argparse
import difflib
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from trainer.cli import commands, gc, registry_commands, scoring
from trainer.cli.commands import (
    EXIT_BAD_INPUT,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_VERIFY_FAILED,
)
from trainer.cli.options import OPTION, OPTIONS, Option, parse_option
from trainer.cli.values import OptionError
from trainer.errors import (
    DataError,
    InvalidNameError,
    NotFoundError,
    StorageError,
    StoreConfigError,
    TrainingError,
    VerificationError,
)
from trainer.nn.presets import TUTORIAL_SIZES
from trainer.registry import STALE_SECONDS
from trainer.registry.boundary_change import IncomparableError

BAD_INPUT = (
    OptionError,
    DataError,
    TrainingError,
    InvalidNameError,
    NotFoundError,
    # an s3:// URL without a bucket, a missing bucket, refused credentials
    StoreConfigError,
    IncomparableError,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed
        code = exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
        words = sys.argv[1:] if argv is None else list(argv)
        if code != EXIT_OK and "--json" in words:
            _print_error("bad_input", _Parser.last_error or "invalid arguments")
        return code
    as_json = bool(getattr(args, "json", False))
    try:
        return args.handler(args)
    except BAD_INPUT as exc:
        return _refuse(exc, EXIT_BAD_INPUT, as_json)
    except VerificationError as exc:
        return _refuse(exc, EXIT_VERIFY_FAILED, as_json)
    except StorageError as exc:  # says where and what was left; not a bug
        return _refuse(exc, EXIT_INTERNAL, as_json)
    except BrokenPipeError:
        # the reader went away (`trainer list | head`): what it read was complete,
        # so end quietly like other Unix tools; stdout is pointed at /dev/null so
        # the interpreter's final flush does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:  # the disk, not the code: full, read-only, permissions
        return _refuse(exc, EXIT_INTERNAL, as_json)
    except MemoryError:
        # before publishing (a version is a few KB): nothing was written
        return _refuse(
            MemoryError(
                "out of memory: the network or the data is too large for this "
                "machine; try smaller --hidden, --samples or --batch-size"
            ),
            EXIT_BAD_INPUT,
            as_json,
        )
    except KeyboardInterrupt:
        return 130
    except Exception:
        traceback.print_exc()
        message = "internal error (a bug): please report it"
        print(f"trainer: {message}", file=sys.stderr)
        if as_json:
            _print_error("internal_error", message)
        return EXIT_INTERNAL


# what `--json` calls each refusal, by exit code
_ERROR_CODES = {
    EXIT_BAD_INPUT: "bad_input",
    EXIT_VERIFY_FAILED: "verification_failed",
    EXIT_INTERNAL: "storage_error",
}


def _refuse(exc: Exception, code: int, as_json: bool = False) -> int:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    print(f"trainer: error: {message}", file=sys.stderr)
    if as_json:
        # a script reading stdout gets one line it can parse, as on success
        _print_error(_ERROR_CODES[code], message)
    return code


def _print_error(code: str, message: str) -> None:
    print(json.dumps({"error": {"code": code, "message": message}}), flush=True)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: a cron log should say what was wrong, once."""

    last_error: str | None = None  # for --json, which cannot print before parsing

    def error(self, message: str) -> NoReturn:
        _Parser.last_error = f"{message} (see --help)"
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> argparse.Namespace:
        # a flag the command does not know is the command's error, said by the
        # command's own parser with the nearest flag it has: `train --hiden 5`
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = _COMMANDS.get(getattr(parsed, "command", None), self)
            command.error(_unrecognized(command, extras))
        return parsed


# each command's parser by name, for its own usage errors
_COMMANDS: dict[str, argparse.ArgumentParser] = {}


def _unrecognized(parser: argparse.ArgumentParser, extras: list[str]) -> str:
    message = f"unrecognized arguments: {' '.join(extras)}"
    flags = [flag for action in parser._actions for flag in action.option_strings]
    for extra in extras:
        if extra.startswith("--"):
            near = difflib.get_close_matches(extra.split("=")[0], flags, n=1)
            if near:
                return f"{message}; did you mean {near[0]}?"
    return message


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m trainer",
        description="Train, publish and manage scratchnet models.",
        epilog="Exit codes: 0 ok, 1 internal error, 2 bad input (nothing written), "
        "3 published but not promoted (quality gate), 4 verification failed.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = _command(
        subparsers, "train", commands.train, "train a model and publish a version"
    )
    _add_config(train)
    _add_options(train, [o for o in OPTIONS if o.key != "registry"])

    sweep = _command(
        subparsers, "sweep", commands.sweep, "train one network per hidden size"
    )
    _add_config(sweep)
    sizes = ",".join(str(size) for size in TUTORIAL_SIZES)
    _add_options(
        sweep,
        [o for o in OPTIONS if o.fits or o.key == "name"],
        {"hidden": f"hidden sizes to compare, one network each ({sizes})"},
    )
    sweep.add_argument("--jobs", type=int, default=-1, help="parallel jobs (all cores)")
    sweep.add_argument(
        "--publish", action="store_true", help="publish each network as a version"
    )
    sweep.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the fits on this dask.distributed scheduler (tcp://HOST:8786; "
        "needs the 'dask' extra) instead of this machine's cores",
    )
    _add_options(
        sweep,
        [OPTION["report"], OPTION["json"]],
        {
            "report": "write a grid of decision boundaries",
            "json": "print the table as JSON",
        },
    )

    listing = _command(
        subparsers,
        "list",
        registry_commands.list_models,
        "list models and their versions",
    )
    listing.add_argument("--json", action="store_true", help="print JSON")

    show = _command(
        subparsers,
        "show",
        registry_commands.show,
        "print a version's verified manifest",
    )
    _add_name(show)
    show.add_argument("--version", help="number or alias (default: the served one)")

    promote = _command(
        subparsers, "promote", registry_commands.promote, "point an alias at a version"
    )
    _add_name(promote)
    promote.add_argument("--version", required=True, help="version number to promote")
    promote.add_argument("--alias", default="production", help="(production)")
    promote.add_argument(
        "--max-boundary-change",
        metavar="F",
        help="refuse (exit 3) if more than this share of the grid over the alias's "
        "current version's data extent changes label",
    )

    diff = _command(
        subparsers,
        "diff",
        registry_commands.diff,
        "the share of grid cells whose label differs between two versions",
    )
    _add_name(diff)
    diff.add_argument("a", help="version number or alias")
    diff.add_argument("b", help="version number or alias")
    for side, what in (("nx", "columns"), ("ny", "rows")):
        diff.add_argument(f"--{side}", type=int, default=200, help=f"grid {what} (200)")
    diff.add_argument("--json", action="store_true", help="print JSON")

    rollback = _command(
        subparsers,
        "rollback",
        registry_commands.rollback,
        "move production back to its previous version",
    )
    _add_name(rollback)
    rollback.add_argument("--alias", default="production", help="(production)")

    verify = _command(
        subparsers,
        "verify",
        registry_commands.verify,
        "check every version's checksums",
    )
    verify.add_argument("--name", help="one model (default: all)")
    verify.add_argument(
        "--fix",
        action="store_true",
        help="remove temporary files and directories left by interrupted writes "
        f"(older than {STALE_SECONDS / 60:.0f} minutes)",
    )
    verify.add_argument("--json", action="store_true", help="print JSON")
    _add_scoring_commands(subparsers)
    return parser


def _add_scoring_commands(subparsers: Any) -> None:
    """predict, evaluate and gc: a published version used offline, old ones removed."""
    predict = _command(
        subparsers,
        "predict",
        scoring.predict,
        "score a CSV of feature rows with a published version",
    )
    _add_name(predict)
    predict.add_argument("--version", help="number or alias (default: the served one)")
    predict.add_argument(
        "--input",
        required=True,
        metavar="FILE",
        help="CSV of feature columns, header optional",
    )
    predict.add_argument(
        "--output",
        metavar="FILE",
        help="CSV of a label and one probability per class, replaced atomically "
        "(default: stdout)",
    )
    predict.add_argument(
        "--json", action="store_true", help="print a one-line summary (needs --output)"
    )

    evaluate = _command(
        subparsers,
        "evaluate",
        scoring.evaluate,
        "accuracy, log loss and confusion matrix of a version on a dataset",
    )
    _add_name(evaluate)
    evaluate.add_argument("--version", help="number or alias (default: the served one)")
    evaluate.add_argument(
        "--data",
        required=True,
        metavar="DATA",
        type=_parser_for(OPTION["dataset"]),
        help="moons, circles, blobs or csv:PATH (labels in the last column)",
    )
    for key in ("samples", "noise", "classes", "seed"):
        option = OPTION[key]
        evaluate.add_argument(
            option.flag,
            dest=key,
            metavar=option.metavar,
            type=_parser_for(option),
            default=option.default,
            help=option.formatted_help()
            .replace("%", "%%")
            .replace("seed for data, split and weights", "seed of the generated data"),
        )
    evaluate.add_argument("--json", action="store_true", help="print JSON")

    collect = _command(
        subparsers,
        "gc",
        gc.gc,
        "remove old versions, keeping every one an alias, a rollback or the "
        "service needs",
    )
    _add_name(collect)
    collect.add_argument(
        "--keep",
        required=True,
        metavar="N",
        type=_parser_for(OPTION["samples"]),  # a positive integer, in its words
        help="newest versions to keep (at least 1), besides the protected ones",
    )
    collect.add_argument(
        "--dry-run", action="store_true", help="print what would go; remove nothing"
    )
    collect.add_argument("--json", action="store_true", help="print JSON")


def _command(
    subparsers: Any, name: str, handler: Callable[[argparse.Namespace], int], text: str
) -> argparse.ArgumentParser:
    sub = subparsers.add_parser(name, help=text, description=text)
    sub.set_defaults(handler=handler)
    _COMMANDS[name] = sub
    # every command has it; `train` and `sweep` read it through the table
    sub.add_argument(
        "--registry", default=argparse.SUPPRESS, help=OPTION["registry"].help
    )
    return sub


def _add_name(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--name", default="moons", help="model name (moons)")


def _add_config(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--config",
        dest="config_file",
        metavar="FILE",
        help="TOML file of these options (the command line wins)",
    )


def _add_options(
    sub: argparse.ArgumentParser,
    options: Sequence[Option],
    help_for: dict[str, str] | None = None,
) -> None:
    """Rows of the option table, each in the namespace only when given (so that a
    config file can set it)."""
    for option in options:
        text = (help_for or {}).get(option.key) or option.formatted_help()
        text = text.replace("%", "%%")  # argparse formats help with %
        if option.metavar is None:
            sub.add_argument(
                option.flag,
                dest=option.key,
                action="store_true",
                default=argparse.SUPPRESS,
                help=text,
            )
        else:
            sub.add_argument(
                option.flag,
                dest=option.key,
                metavar=option.metavar,
                type=_parser_for(option),
                default=argparse.SUPPRESS,
                help=text,
            )


def _parser_for(option: Option) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return parse_option(option.key, text)
        except OptionError as exc:
            # argparse already says "argument --flag: "; do not name it twice
            message = str(exc).removeprefix(f"{option.flag}: ")
            raise argparse.ArgumentTypeError(
                message.removeprefix(f"{option.flag} ")
            ) from None

    parse.__name__ = option.key
    return parse
