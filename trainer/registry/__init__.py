"""The model registry: versioned, immutable, checksummed artifacts (numpy, stdlib).

The service reads models through this package and nothing else of the trainer's but
`trainer.nn.network`; `tests/unit/test_boundaries.py` holds it to that.
"""

from trainer.registry.aliases import AliasConflictError
from trainer.registry.maintenance import STALE_SECONDS
from trainer.registry.reading import LoadedModel
from trainer.registry.registry import Registry

__all__ = ["STALE_SECONDS", "AliasConflictError", "LoadedModel", "Registry"]
