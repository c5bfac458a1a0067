"""Service settings: one frozen dataclass, read from the environment by the factory.

Kept apart so tests build `Settings(...)` directly and nothing reads the environment at
import time; every limit the API enforces is a field here, never a constant in a view.
"""

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    registry: Path = Path("models")
    default_model: str = "moons"
    poll_seconds: float = 2.0
    max_points: int = 100_000
    max_grid_cells: int = 4_000_000
    # nx and ny each: without it one 4,000,000 x 1 grid (within the cell limit) sent
    # 85 MB of axis values; 2000 x 2000 still reaches the cell limit
    max_grid_side: int = 2000
    # what one /boundary response may take, estimated before it is built; the largest
    # default grid in JSON with one-digit labels is ~8 MB, so this only stops long
    # string labels and future formats from multiplying it
    max_response_bytes: int = 32 * 1024 * 1024
    # 100,000 two-feature points written in full precision take ~4.5 MB; 16 MiB leaves
    # room for more features and whitespace while refusing runaway bodies early
    max_body_bytes: int = 16 * 1024 * 1024
    # features beyond this magnitude are far outside any training data and can overflow
    # the forward pass to inf/nan; refusing them keeps every answer finite
    max_abs_feature: float = 1e15
    # non-served versions loaded on demand (?version=...), least recently used dropped
    version_cache_size: int = 8
    # rendered /boundary responses kept per worker; 0 turns the cache off
    boundary_cache_bytes: int = 64 * 1024 * 1024
    log_level: str = "INFO"
    # bearer tokens, one a line; None leaves every route open (a laptop, or a network
    # policy that already admits only trusted clients)
    api_tokens_file: Path | None = None
    # set by deploy/gunicorn.conf.py, not by hand: the master creates this file on
    # SIGTERM and /readyz answers 503 while it exists (the drain period)
    draining_file: Path | None = None
    # how far a load may recompute a version's reference predictions from its
    # manifest's; raise it only for a fleet whose numeric stack knowingly differs
    reference_tolerance: float = 1e-9

    def __post_init__(self) -> None:
        _require(self.poll_seconds >= 0, "SCRATCHNET_POLL_SECONDS must be >= 0")
        for name in (
            "max_points",
            "max_grid_cells",
            "max_grid_side",
            "max_body_bytes",
            "max_response_bytes",
        ):
            _require(getattr(self, name) >= 1, f"{_ENV[name][0]} must be >= 1")
        _require(self.max_abs_feature > 0, "SCRATCHNET_MAX_ABS_FEATURE must be > 0")
        _require(self.version_cache_size >= 0, "SCRATCHNET_VERSION_CACHE must be >= 0")
        _require(
            self.boundary_cache_bytes >= 0, "SCRATCHNET_BOUNDARY_CACHE_MB must be >= 0"
        )
        _require(bool(self.default_model), "SCRATCHNET_DEFAULT_MODEL must not be empty")
        _require(
            math.isfinite(self.reference_tolerance) and self.reference_tolerance >= 0,
            "SCRATCHNET_REFERENCE_TOLERANCE must be a finite number >= 0",
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Build settings from SCRATCHNET_* variables; unset ones keep their default."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in fields(cls):
            variable, convert = _ENV[field.name]
            raw = env.get(variable, "").strip()
            if raw:
                try:
                    values[field.name] = convert(raw)
                except ValueError as exc:
                    raise ValueError(f"{variable}={raw!r} is not valid: {exc}") from exc
        return cls(**values)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _mebibytes(raw: str) -> int:
    return int(float(raw) * 1024 * 1024)


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError("use DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return level


_ENV: dict[str, tuple[str, Callable[[str], object]]] = {
    "registry": ("SCRATCHNET_REGISTRY", Path),
    "default_model": ("SCRATCHNET_DEFAULT_MODEL", str),
    "poll_seconds": ("SCRATCHNET_POLL_SECONDS", float),
    "max_points": ("SCRATCHNET_MAX_POINTS", int),
    "max_grid_cells": ("SCRATCHNET_MAX_GRID_CELLS", int),
    "max_grid_side": ("SCRATCHNET_MAX_GRID_SIDE", int),
    "max_response_bytes": ("SCRATCHNET_MAX_RESPONSE_MB", _mebibytes),
    "max_body_bytes": ("SCRATCHNET_MAX_BODY_BYTES", int),
    "max_abs_feature": ("SCRATCHNET_MAX_ABS_FEATURE", float),
    "version_cache_size": ("SCRATCHNET_VERSION_CACHE", int),
    "boundary_cache_bytes": ("SCRATCHNET_BOUNDARY_CACHE_MB", _mebibytes),
    "log_level": ("SCRATCHNET_LOG_LEVEL", _log_level),
    "api_tokens_file": ("SCRATCHNET_API_TOKENS_FILE", Path),
    "draining_file": ("SCRATCHNET_DRAINING_FILE", Path),
    "reference_tolerance": ("SCRATCHNET_REFERENCE_TOLERANCE", float),
}
