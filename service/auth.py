"""Bearer tokens: who may call the service, read from a file an operator controls.

With `SCRATCHNET_API_TOKENS_FILE` set, every route but the probes and metrics needs
`Authorization: Bearer <token>`. The file holds one token a line (blank lines and `#`
comments ignored) and is re-read when it changes, so a Kubernetes Secret can be rotated
without a restart. A WSGI middleware, so a refusal costs no Flask work and is still
counted and logged by the instrumentation around it.
"""

import hashlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import orjson

from service.errors import error_json

log = logging.getLogger("scratchnet.service")

StartResponse = Callable[..., object]
WsgiApp = Callable[[dict, StartResponse], Iterable[bytes]]

# probes and the metrics scrape run without credentials: a kubelet or Prometheus
# should not need a client token, and none of them reveals a model or a prediction
# the explorer page (service.explorer) and its files under /explorer/: no model or data
# in them, and a browser cannot attach a bearer token to a navigation or a module
# import; the page asks for a token and sends it with each of its API calls
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/"})
OPEN_PREFIXES = ("/v2/health/", "/explorer/")
# how often the token file is looked at (one stat); a rotation takes effect this fast
RECHECK_SECONDS = 1.0


class TokenFileError(ValueError):
    """The token file cannot be used at start: the service refuses to run open."""


class TokenFile:
    """The tokens of one file, re-read when its stat changes; compared in constant time.

    Tokens are kept as sha256 digests, so every comparison is between two 32-byte
    strings and takes the same time whatever the token's length or how much matches.
    """

    def __init__(self, path: Path, recheck_seconds: float = RECHECK_SECONDS) -> None:
        self.path = path
        self.recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        self._stat: tuple | None = None
        try:
            self._digests = self._read()
        except OSError as exc:
            raise TokenFileError(
                f"SCRATCHNET_API_TOKENS_FILE={path} cannot be read: {exc.strerror}"
            ) from exc
        self._checked_at = time.monotonic()
        if not self._digests:
            log.warning("token file %s holds no token: every request is refused", path)

    def allows(self, token: str) -> bool:
        self._refresh()
        offered = _digest(token)
        matched = False
        for digest in self._digests:  # no early exit: the time says nothing
            matched |= hmac.compare_digest(offered, digest)
        return matched

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self.recheck_seconds:
            return
        with self._lock:
            if now - self._checked_at < self.recheck_seconds:
                return
            self._checked_at = now
            try:
                if _stat_key(self.path) != self._stat:
                    self._digests = self._read()
                    log.info("token file %s re-read", self.path)
            except OSError as exc:
                # a Secret being swapped, or an operator's mistake: keep the tokens in
                # force rather than lock every client out (or let everyone in)
                log.error("token file %s unreadable, keeping the last tokens: %s",
                          self.path, exc.strerror)  # fmt: skip

    def _read(self) -> tuple[bytes, ...]:
        stat = _stat_key(self.path)
        text = self.path.read_text(encoding="utf-8", errors="replace")
        self._stat = stat
        tokens = (line.strip() for line in text.splitlines())
        return tuple(_digest(t) for t in tokens if t and not t.startswith("#"))


class Authenticated:
    """A WSGI app that answers 401 unless the request carries a listed bearer token."""

    def __init__(self, app: WsgiApp, tokens: TokenFile) -> None:
        self.app = app
        self.tokens = tokens

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return self.app(environ, start_response)
        header = environ.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            if self.tokens.allows(token.strip()):
                return self.app(environ, start_response)
            return _refuse(start_response, path, invalid=True)
        return _refuse(start_response, path, invalid=False)


def _refuse(start_response: StartResponse, path: str, invalid: bool) -> list[bytes]:
    if invalid:
        message = "the bearer token is not valid"
        challenge = 'Bearer realm="scratchnet", error="invalid_token"'
    else:
        message = "this route needs an Authorization: Bearer <token> header"
        challenge = 'Bearer realm="scratchnet"'
    # each route family keeps its own error shape: the V2 protocol's is a bare string
    if path == "/v2" or path.startswith("/v2/"):
        body = orjson.dumps({"error": message})
    else:
        body = error_json(401, "unauthorized", message)
    start_response(
        "401 UNAUTHORIZED",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("WWW-Authenticate", challenge),
        ],
    )
    return [body]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def _stat_key(path: Path) -> tuple:
    # a Secret update swaps a symlink: follow it, and notice inode changes too
    stat = os.stat(path)
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)
