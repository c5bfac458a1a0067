"""The model registry: versioned, immutable, checksummed artifacts (numpy, stdlib).

The service reads models through this package and nothing else of the trainer's but
`trainer.nn.network`; `tests/unit/test_boundaries.py` holds it to that.
"""

from trainer.registry.registry import (
    STALE_SECONDS,
    AliasConflictError,
    LoadedModel,
    Registry,
)

__all__ = ["STALE_SECONDS", "AliasConflictError", "LoadedModel", "Registry"]
