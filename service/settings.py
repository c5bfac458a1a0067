"""Service settings: one frozen dataclass, read from the environment by the factory.

Kept apart so tests build `Settings(...)` directly and nothing reads the environment at
import time; every limit the API enforces is a field here, never a constant in a view.
"""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    # a directory, or s3://BUCKET/PREFIX (kept a string: a Path folds its "//")
    registry: Path | str = Path("models")
    # where an s3:// registry's fetched version files are kept (an emptyDir under a
    # read-only root filesystem); shared by the workers, so each file is fetched once
    cache_dir: Path | None = None
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
    # browser origins allowed to call the API from another site, exact matches
    # (`https://app.example.com`), or `*` for any; empty: no CORS headers at all
    cors_origins: tuple[str, ...] = ()
    # responses of at least this many bytes are gzipped for clients that accept it;
    # 0 turns compression off. A 1000 x 1000 /boundary (2 MB of JSON, to 1.3%) pays
    # even on a 1 Gbit/s link; a 10,000-point /predict (426 KB, to 46%) costs more
    # CPU than it saves there (docs/benchmarks.md, bench/http_extras.py)
    gzip_min_bytes: int = 1024 * 1024

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
        _require(self.gzip_min_bytes >= 0, "SCRATCHNET_GZIP_MIN_BYTES must be >= 0")
        for origin in self.cors_origins:
            _require(
                origin == "*" or _is_origin(origin),
                f"SCRATCHNET_CORS_ORIGINS: {origin!r} is not an origin; write "
                "scheme://host[:port] with no path, e.g. https://app.example.com, "
                "or * for any",
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


def _registry(raw: str) -> Path | str:
    return raw if raw.startswith("s3://") else Path(raw)


def _mebibytes(raw: str) -> int:
    return int(float(raw) * 1024 * 1024)


def _origins(raw: str) -> tuple[str, ...]:
    return tuple(origin.strip() for origin in raw.split(",") if origin.strip())


def _is_origin(text: str) -> bool:
    """scheme://host[:port], as a browser sends it in `Origin` (no path, no slash)."""
    scheme, sep, rest = text.partition("://")
    return (
        bool(sep)
        and scheme in ("http", "https")
        and bool(rest)
        and not any(c in rest for c in "/?#@ ")
    )


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError("use DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return level


_ENV: dict[str, tuple[str, Callable[[str], object]]] = {
    "registry": ("SCRATCHNET_REGISTRY", _registry),
    "cache_dir": ("SCRATCHNET_CACHE_DIR", Path),
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
    "cors_origins": ("SCRATCHNET_CORS_ORIGINS", _origins),
    "gzip_min_bytes": ("SCRATCHNET_GZIP_MIN_BYTES", int),
}
