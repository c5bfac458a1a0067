"""Publishing a version: validate everything, then make it appear all at once.

The weights and a manifest naming the version are assembled where readers do not
look, and the version number is claimed only as the version becomes visible, so two
publishers at once never share a number and a crash never leaves half a version.
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from trainer import __version__
from trainer.errors import RegistryError
from trainer.registry.artifact import (
    WEIGHTS_FILE,
    read_weights,
    sha256_hex,
    weights_bytes,
)
from trainer.registry.maintenance import clean_stale
from trainer.registry.manifest import (
    MANIFEST_FILE,
    build_manifest,
    check_architecture,
    manifest_bytes,
)
from trainer.registry.names import is_version_name
from trainer.registry.sample import SAMPLE_FILE, parse_sample
from trainer.registry.storage import Storage

Array = np.ndarray


def publish(
    storage: Storage,
    name: str,
    coefs: Sequence[Array],
    intercepts: Sequence[Array],
    manifest_fields: Mapping[str, Any],
    files: Mapping[str, bytes] | None = None,
) -> int:
    """Publish a new version atomically and return its number.

    `files` are the version's optional files (`OPTIONAL_FILES`, e.g. the data
    sample), name -> bytes; the manifest lists each with its sha256.
    Everything is validated before the first byte is written. The draft is committed
    under the next free number; a publisher that loses the race for a number (the
    commit refuses a taken one) takes the next.
    """
    fields = dict(manifest_fields)
    fields.setdefault("created_at", _utc_now())
    fields.setdefault("trainer_version", __version__)
    weights = weights_bytes(coefs, intercepts)
    weights_sha = sha256_hex(weights)
    extra = dict(files or {})
    extra_sha = {file: sha256_hex(data) for file, data in extra.items()}
    checked = build_manifest(name, 1, fields, weights_sha, extra_sha)
    check_architecture(checked, read_weights(weights)[0])
    if SAMPLE_FILE in extra:
        parse_sample(extra[SAMPLE_FILE], checked)

    clean_stale(storage, name)
    with storage.draft(name) as draft:
        draft.write(WEIGHTS_FILE, weights)
        for file, data in sorted(extra.items()):
            draft.write(file, data)
        version = storage.next_version(name)
        while True:
            if not is_version_name(str(version)):
                raise RegistryError(f"model {name!r}: out of version numbers")
            manifest = build_manifest(name, version, fields, weights_sha, extra_sha)
            if draft.commit(version, MANIFEST_FILE, manifest_bytes(manifest)):
                return version
            version = max(version + 1, storage.next_version(name))


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
