"""The quality gate: move `production` to a new version only if it is no worse.

Registry policy, not training: it reads manifests and sets an alias, the same for any
job that publishes. Two tests: validation accuracy no lower than production's minus a
tolerance, and (when asked) no more than a share of production's decision grid
changing label. numpy and stdlib only, like the rest of the registry.
"""

from typing import Any

from trainer.errors import NotFoundError, VerificationError
from trainer.registry import AliasConflictError, Registry
from trainer.registry.boundary_change import (
    boundary_change,
    changed_fraction,
    summary,
    union_bounds,
)

PRODUCTION = "production"
# compare-and-set attempts before giving up when other jobs keep moving production
_GATE_ATTEMPTS = 5
# why the gate refused, as --json and the docs name it
ACCURACY, BOUNDARY_CHANGE, CONFLICT = "accuracy", "boundary_change", "conflict"


def promote_if_better(
    registry: Registry,
    name: str,
    version: int,
    tolerance: float = 0.0,
    max_boundary_change: float | None = None,
) -> dict[str, Any]:
    """Promote `version` if its validation accuracy >= production's - `tolerance` and,
    with `max_boundary_change`, at most that share of production's grid changes label.

    Returns the decision and the numbers behind it (`refused_by` lists the failed
    tests). The alias is compare-and-set: if another job moves production meanwhile,
    the comparison is made again.
    """
    candidate = registry.load(name, version)
    accuracy = candidate.manifest["metrics"]["validation_accuracy"]
    for _ in range(_GATE_ATTEMPTS):
        current = registry.aliases(name).get(PRODUCTION)
        decision: dict[str, Any] = {
            "candidate_version": version,
            "candidate_accuracy": accuracy,
            "production_version": current,
            "production_accuracy": None,
            "tolerance": tolerance,
            "max_boundary_change": max_boundary_change,
            "boundary_change": None,
        }
        refused = []
        if current is not None and current != version:
            try:
                production = registry.load(name, current)
            except (VerificationError, NotFoundError):
                # a production that does not verify, or whose version was deleted,
                # cannot be served: replace it
                decision["production_invalid"] = True
            else:
                bar = production.manifest["metrics"]["validation_accuracy"]
                decision["production_accuracy"] = bar
                if accuracy < bar - tolerance:
                    refused.append(ACCURACY)
                if max_boundary_change is not None:
                    change = measure_change(production, candidate)
                    decision["boundary_change"] = change
                    if change["changed_fraction"] > max_boundary_change:
                        refused.append(BOUNDARY_CHANGE)
        if refused:
            return {**decision, "promoted": False, "refused_by": refused}
        try:
            registry.set_alias(name, PRODUCTION, version, expected=current)
        except AliasConflictError:
            continue
        return {**decision, "promoted": True, "refused_by": []}
    # published but not promoted: the same outcome (exit 3) as a refusal by the gate
    return {
        **decision,
        "promoted": False,
        "refused_by": [CONFLICT],
        "conflict": "production kept changing",
    }


def measure_change(production: Any, candidate: Any) -> dict[str, Any]:
    """The share of cells over production's data extent (plus the margin) whose label
    changes from `production` to `candidate` (LoadedModel-like), with the grid."""
    bounds = union_bounds(production.manifest)
    bounds, mask = boundary_change(production, candidate, bounds)
    measured = summary(production, candidate, bounds, mask)
    return {
        "against_version": production.version,
        "changed_fraction": changed_fraction(mask),
        "changed_cells": measured["changed_cells"],
        "bounds": measured["bounds"],
        "nx": measured["nx"],
        "ny": measured["ny"],
    }
