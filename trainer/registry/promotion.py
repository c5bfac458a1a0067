"""The quality gate: move `production` to a new version only if it is no worse.

Registry policy, not training: it reads manifests and sets an alias, the same for any
job that publishes. numpy and stdlib only, like the rest of the registry.
"""

from typing import Any

from trainer.errors import NotFoundError, VerificationError
from trainer.registry import AliasConflictError, Registry

PRODUCTION = "production"
# compare-and-set attempts before giving up when other jobs keep moving production
_GATE_ATTEMPTS = 5


def promote_if_better(
    registry: Registry, name: str, version: int, tolerance: float = 0.0
) -> dict[str, Any]:
    """Promote `version` if its validation accuracy >= production's - `tolerance`.

    Returns the decision and the numbers behind it. The alias is compare-and-set: if
    another job moves production meanwhile, the comparison is made again.
    """
    candidate = registry.read_manifest(name, version)["metrics"]["validation_accuracy"]
    for _ in range(_GATE_ATTEMPTS):
        current = registry.aliases(name).get(PRODUCTION)
        decision: dict[str, Any] = {
            "candidate_version": version,
            "candidate_accuracy": candidate,
            "production_version": current,
            "production_accuracy": None,
            "tolerance": tolerance,
        }
        if current is not None and current != version:
            try:
                production = registry.read_manifest(name, current)
                decision["production_accuracy"] = production["metrics"][
                    "validation_accuracy"
                ]
            except (VerificationError, NotFoundError):
                # a production that does not verify, or whose version was deleted,
                # cannot be served: replace it
                decision["production_invalid"] = True
        bar = decision["production_accuracy"]
        if bar is not None and candidate < bar - tolerance:
            return {**decision, "promoted": False}
        try:
            registry.set_alias(name, PRODUCTION, version, expected=current)
        except AliasConflictError:
            continue
        return {**decision, "promoted": True}
    # published but not promoted: the same outcome (exit 3) as a refusal by the gate
    return {**decision, "promoted": False, "conflict": "production kept changing"}
