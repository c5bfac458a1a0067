"""The CLI's registry commands: list, show, promote, diff, rollback, verify.

Each reads or moves what `train` published, through `trainer.registry`, prints for
people (or one JSON document with `--json`) and returns its exit code; errors are
raised and mapped by `trainer.cli`. Apart from `trainer.cli.commands` (train, sweep)
because none of them trains, so none imports scikit-learn (a second to load).
"""

import argparse
import json
from typing import Any

from trainer.cli.commands import (
    EXIT_NOT_PROMOTED,
    EXIT_OK,
    EXIT_VERIFY_FAILED,
    _highest_verified,
    _print_json,
    _registry,
)
from trainer.cli.options import parse_option
from trainer.cli.values import OptionError
from trainer.errors import NotFoundError, VerificationError
from trainer.registry import STALE_SECONDS
from trainer.registry.names import check_name
from trainer.registry.storage import is_s3_url


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
