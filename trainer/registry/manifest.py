"""`manifest.json`: build it, seal it with its own digest, parse and validate it.

Everything about a version except its arrays lives in the manifest, and the service
trusts it for shapes, classes and data extents, so reading it checks every field's
type and range. `trainer.registry.artifact` handles the weights themselves.
"""

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NoReturn

import numpy as np

from trainer.errors import VerificationError
from trainer.nn.activations import ACTIVATIONS
from trainer.registry.artifact import WEIGHTS_FILE
from trainer.registry.sample import SAMPLE_FILE

Array = np.ndarray

SCHEMA_VERSION = 1
MANIFEST_FILE = "manifest.json"
# a published version holds exactly its manifest and the files the manifest lists
VERSION_FILES = frozenset({MANIFEST_FILE, WEIGHTS_FILE})
# files a version may hold besides those, each listed in `files` with its sha256
OPTIONAL_FILES = frozenset({SAMPLE_FILE})
# the loss curve kept in the manifest: evenly downsampled to at most this many points
MAX_LOSS_POINTS = 1000
KINDS = ("mlp", "logreg")
MAX_MANIFEST_BYTES = 1024 * 1024
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def build_manifest(
    name: str,
    version: int,
    fields: Mapping[str, Any],
    weights_sha256: str,
    extra_files: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The full manifest of a version: the trainer's fields plus identity and checksums.

    `fields` holds `kind`, `created_at`, `architecture`, `training`, `data`, `metrics`
    and `trainer_version` (and optionally `loss_curve`); this adds `schema_version`,
    `name`, `version`, `files` (the weights and `extra_files`, name -> sha256) and
    `manifest_digest`, then validates the result.
    """
    given = {**fields, "files": {WEIGHTS_FILE: weights_sha256, **(extra_files or {})}}
    given.update(schema_version=SCHEMA_VERSION, name=name, version=version)
    given.pop("manifest_digest", None)
    # documented fields first, in the documented order, for people reading the file
    manifest = {key: given.pop(key) for key in _FIELD_ORDER if key in given}
    manifest.update(given)
    manifest["manifest_digest"] = manifest_digest(manifest)
    validate_manifest(manifest)
    return manifest


_FIELD_ORDER = (
    "schema_version",
    "name",
    "version",
    "kind",
    "created_at",
    "architecture",
    "training",
    "data",
    "metrics",
    "files",
    "trainer_version",
)


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    """The manifest as written to disk: indented JSON for people, no NaN allowed."""
    return (json.dumps(manifest, indent=2, allow_nan=False) + "\n").encode()


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of every field except `manifest_digest` itself.

    Canonical (sorted keys, no spaces) so that a parse and re-serialise reproduces it:
    any edit to a published manifest, even a metric, is caught on read.
    """
    body = {k: v for k, v in manifest.items() if k != "manifest_digest"}
    try:
        canonical = json.dumps(
            body,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
    except (TypeError, ValueError) as exc:
        raise VerificationError(
            f"{MANIFEST_FILE}: not plain JSON with finite numbers ({exc})"
        ) from exc
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse_manifest(data: bytes) -> dict[str, Any]:
    """Parse and validate manifest bytes (schema and its own digest)."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise VerificationError(f"{MANIFEST_FILE}: {len(data)} bytes is over the limit")
    try:
        manifest = json.loads(data, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        # ValueError: bad UTF-8, bad JSON, or an integer over Python's digit limit;
        # RecursionError: deeply nested brackets. A damaged or hostile file, not a bug
        raise VerificationError(f"{MANIFEST_FILE}: not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise VerificationError(f"{MANIFEST_FILE}: must be a JSON object")
    validate_manifest(manifest)
    return manifest


def _refuse_constant(constant: str) -> None:
    raise VerificationError(f"{MANIFEST_FILE}: {constant} is not allowed")


def validate_manifest(manifest: Mapping[str, Any]) -> None:
    """Raise VerificationError unless every field has the documented type and range."""
    schema = manifest.get("schema_version")
    if schema != SCHEMA_VERSION or isinstance(schema, bool):
        raise VerificationError(
            f"{MANIFEST_FILE}: unknown schema_version {schema!r} "
            f"(this trainer reads {SCHEMA_VERSION})"
        )
    _expect(manifest, "name", str)
    _expect(manifest, "version", int, positive=True)
    kind = manifest.get("kind")
    if kind not in KINDS:
        _fail("kind", f"must be one of {list(KINDS)}, got {kind!r}")
    created_at = _expect(manifest, "created_at", str)
    try:
        datetime.fromisoformat(created_at)
    except ValueError:
        _fail("created_at", f"is not an ISO 8601 time: {created_at!r}")
    _validate_architecture(_expect(manifest, "architecture", dict), kind)
    n_features = manifest["architecture"]["n_features"]
    _expect(manifest, "training", dict)
    _validate_data(_expect(manifest, "data", dict), n_features)
    _validate_metrics(_expect(manifest, "metrics", dict))
    files = _expect(manifest, "files", dict)
    if (
        WEIGHTS_FILE not in files
        or not set(files) <= {WEIGHTS_FILE, *OPTIONAL_FILES}
        or not all(_is_sha256(digest) for digest in files.values())
    ):
        _fail(
            "files",
            f"must map {WEIGHTS_FILE} (and optionally {', '.join(OPTIONAL_FILES)}) "
            "to sha256 hex digests",
        )
    if "loss_curve" in manifest:
        _validate_loss_curve(manifest["loss_curve"])
    _expect(manifest, "trainer_version", str)
    digest = manifest.get("manifest_digest")
    if digest != manifest_digest(manifest):
        raise VerificationError(
            f"{MANIFEST_FILE}: manifest_digest does not match its content "
            "(the manifest was edited or damaged)"
        )


def _validate_architecture(arch: Mapping[str, Any], kind: str) -> None:
    _expect(arch, "n_features", int, positive=True, where="architecture.")
    hidden = _expect(arch, "hidden_layer_sizes", list, where="architecture.")
    if not all(_is_positive_int(size) for size in hidden):
        _fail("architecture.hidden_layer_sizes", "must be a list of positive integers")
    if (kind == "logreg") != (len(hidden) == 0):
        _fail("architecture.hidden_layer_sizes", "must be empty exactly for logreg")
    activation = arch.get("activation")
    if kind == "logreg" and activation is not None:
        _fail("architecture.activation", "must be null for logreg")
    if kind == "mlp" and activation not in ACTIVATIONS:
        _fail("architecture.activation", f"must be one of {sorted(ACTIVATIONS)}")
    classes = _expect(arch, "classes", list, where="architecture.")
    scalars = all(isinstance(c, str | int) and not isinstance(c, bool) for c in classes)
    if len(classes) < 2 or not scalars or len(set(classes)) != len(classes):
        _fail("architecture.classes", "must be two or more distinct ints or strings")


def _validate_data(data: Mapping[str, Any], n_features: int) -> None:
    if not _is_sha256(data.get("sha256")):
        _fail("data.sha256", "must be a sha256 hex digest")
    for key in ("feature_min", "feature_max"):
        values = _expect(data, key, list, where="data.")
        if len(values) != n_features or not all(_is_finite_number(v) for v in values):
            _fail(f"data.{key}", f"must be {n_features} finite numbers")
    # the service draws its default /boundary between them
    bounds = zip(data["feature_min"], data["feature_max"], strict=True)
    if any(low > high for low, high in bounds):
        _fail("data.feature_min", "must not exceed data.feature_max")


def _validate_metrics(metrics: Mapping[str, Any]) -> None:
    # the quality gate compares validation accuracies: a version without one could
    # neither be judged nor judge the next
    if metrics.get("validation_accuracy") is None:
        _fail("metrics.validation_accuracy", "is required")
    for key, value in metrics.items():
        if value is not None and not _is_finite_number(value):
            _fail(f"metrics.{key}", f"must be a finite number or null, got {value!r}")
        if key.endswith("_accuracy") and value is not None and not 0 <= value <= 1:
            _fail(f"metrics.{key}", f"must be between 0 and 1, got {value!r}")


def _validate_loss_curve(curve: Any) -> None:
    # {"epochs": [1, ...], "loss": [...]}: which epochs were kept, and their losses
    if not isinstance(curve, dict) or set(curve) != {"epochs", "loss"}:
        _fail("loss_curve", 'must be {"epochs": [...], "loss": [...]}')
    epochs, loss = curve["epochs"], curve["loss"]
    if not (isinstance(epochs, list) and isinstance(loss, list)):
        _fail("loss_curve", "epochs and loss must be lists")
    if len(epochs) != len(loss) or len(loss) > MAX_LOSS_POINTS:
        _fail("loss_curve", f"must pair epochs and losses, at most {MAX_LOSS_POINTS}")
    if not all(_is_positive_int(e) for e in epochs) or epochs != sorted(set(epochs)):
        _fail("loss_curve", "epochs must be increasing positive integers")
    if not all(_is_finite_number(v) for v in loss):
        _fail("loss_curve", "loss must be finite numbers")


def downsample_loss_curve(
    loss_curve: Sequence[float], max_points: int = MAX_LOSS_POINTS
) -> dict[str, list]:
    """A loss per epoch as the manifest keeps it: at most `max_points`, evenly spaced.

    The first and last epochs are always kept (where training started and ended).
    """
    n_epochs = len(loss_curve)
    if n_epochs <= max_points:
        kept = list(range(n_epochs))
    else:
        kept = sorted(set(np.linspace(0, n_epochs - 1, max_points).round().astype(int)))
    return {
        "epochs": [int(i) + 1 for i in kept],
        "loss": [float(loss_curve[i]) for i in kept],
    }


def check_architecture(manifest: Mapping[str, Any], coefs: Sequence[Array]) -> None:
    """Raise VerificationError unless the arrays have the shapes the manifest names."""
    arch = manifest["architecture"]
    sizes = [arch["n_features"], *arch["hidden_layer_sizes"], len(arch["classes"])]
    expected = [(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]
    actual = [W.shape for W in coefs]
    if actual != expected:
        raise VerificationError(
            f"{WEIGHTS_FILE}: layer shapes {actual} disagree with the manifest's "
            f"architecture {expected}"
        )


def _expect(
    mapping: Mapping[str, Any],
    key: str,
    kind: type,
    positive: bool = False,
    where: str = "",
) -> Any:
    value = mapping.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        _fail(f"{where}{key}", f"must be a {kind.__name__}, got {value!r}")
    if positive and value < 1:
        _fail(f"{where}{key}", f"must be positive, got {value!r}")
    return value


def _fail(field: str, message: str) -> NoReturn:
    raise VerificationError(f"{MANIFEST_FILE}: {field} {message}")


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _is_finite_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _is_sha256(value: Any) -> bool:
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None
