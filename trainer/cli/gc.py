"""`gc`: remove old versions of a model, keeping every one that is still needed.

The decision is the registry's (`trainer.registry.retention`): the newest `--keep`,
every alias's version, every version a rollback could step back to, and the served
one stay. This prints what goes and why the rest stays; `--dry-run` only prints.
"""

import argparse

from trainer.cli.commands import EXIT_OK, _print_json, _registry
from trainer.registry.names import check_name


def gc(args: argparse.Namespace) -> int:
    """Remove all but the newest --keep versions and the protected ones."""
    plan = _registry(args).gc(check_name(args.name), args.keep, args.dry_run)
    if args.json:
        _print_json(
            {
                "name": plan.name,
                "keep": plan.keep,
                "dry_run": args.dry_run,
                "removed": plan.removed,
                "kept": [
                    {"version": version, "reasons": reasons}
                    for version, reasons in plan.kept.items()
                ],
            }
        )
        return EXIT_OK
    verb = "would remove" if args.dry_run else "removed"
    for version in plan.removed:
        print(f"{plan.name}: {verb} v{version}")
    for version, reasons in plan.kept.items():
        print(f"{plan.name}: kept v{version} ({', '.join(reasons)})")
    if not plan.removed:
        print(f"{plan.name}: nothing to remove")
    return EXIT_OK
