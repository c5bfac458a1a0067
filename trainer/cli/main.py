"""`python -m trainer`: the argument parser and the mapping of errors to exit codes.

The commands themselves are in `trainer.cli.commands`. Here every refusal becomes
one line on stderr and a documented exit code, so cron jobs and scripts can act on it.
"""

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from trainer.cli import commands
from trainer.cli import options as config
from trainer.cli.commands import (
    EXIT_BAD_INPUT,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_VERIFY_FAILED,
)
from trainer.errors import (
    DataError,
    InvalidNameError,
    NotFoundError,
    TrainingError,
    VerificationError,
)
from trainer.registry import STALE_SECONDS

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
    except BrokenPipeError:
        # the reader went away (`trainer list | head`): what it read was complete,
        # so end quietly like other Unix tools; stdout is pointed at /dev/null so
        # the interpreter's final flush does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:  # the disk, not the code: full, read-only, permissions
        return _refuse(exc, EXIT_INTERNAL)
    except MemoryError:
        # before publishing (a version is a few KB): nothing was written
        return _refuse(
            MemoryError(
                "out of memory: the network or the data is too large for this "
                "machine; try smaller --hidden, --samples or --batch-size"
            ),
            EXIT_BAD_INPUT,
        )
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
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = _command(
        subparsers, "train", commands.train, "train a model and publish a version"
    )
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

    sweep = _command(
        subparsers, "sweep", commands.sweep, "train one network per hidden size"
    )
    _add_training_options(sweep, sweep=True)
    sweep.add_argument("--jobs", type=int, default=-1, help="parallel jobs (all cores)")
    sweep.add_argument(
        "--publish", action="store_true", help="publish each network as a version"
    )
    _option(sweep, "--report", "report", "DIR", "write a grid of decision boundaries")
    sweep.add_argument("--json", action="store_true", help="print the table as JSON")

    listing = _command(
        subparsers, "list", commands.list_models, "list models and their versions"
    )
    listing.add_argument("--json", action="store_true", help="print JSON")

    show = _command(
        subparsers, "show", commands.show, "print a version's verified manifest"
    )
    _add_name(show)
    show.add_argument("--version", help="number or alias (default: the served one)")

    promote = _command(
        subparsers, "promote", commands.promote, "point an alias at a version"
    )
    _add_name(promote)
    promote.add_argument("--version", required=True, help="version number to promote")
    promote.add_argument("--alias", default="production", help="(production)")

    rollback = _command(
        subparsers,
        "rollback",
        commands.rollback,
        "move production back to its previous version",
    )
    _add_name(rollback)
    rollback.add_argument("--alias", default="production", help="(production)")

    verify = _command(
        subparsers, "verify", commands.verify, "check every version's checksums"
    )
    verify.add_argument("--name", help="one model (default: all)")
    verify.add_argument(
        "--fix",
        action="store_true",
        help="remove temporary files and directories left by interrupted writes "
        f"(older than {STALE_SECONDS / 60:.0f} minutes)",
    )
    verify.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _command(
    subparsers: Any, name: str, handler: Callable[[argparse.Namespace], int], text: str
) -> argparse.ArgumentParser:
    sub = subparsers.add_parser(name, help=text, description=text)
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
    flag = "--" + key.replace("_", "-")

    def parse(text: str) -> Any:
        try:
            return config.parse_option(key, text)
        except config.OptionError as exc:
            # argparse already says "argument --flag: "; do not name it twice
            message = str(exc).removeprefix(f"{flag}: ").removeprefix(f"{flag} ")
            raise argparse.ArgumentTypeError(message) from None

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
        help="hold out 10%% of the training data; stop when its accuracy stops "
        "improving and keep the best epoch",
    )
