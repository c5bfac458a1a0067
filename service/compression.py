"""gzip for large responses, for clients that say they accept it.

A 10,000-point /predict or a 1000 x 1000 /boundary in JSON is megabytes of digits that
gzip shrinks several times over; a one-point answer is not worth the CPU. So only
bodies of at least `SCRATCHNET_GZIP_MIN_BYTES` are compressed (level 1: most of the
gain for a fraction of the CPU, bench/http_extras.py), PNGs never (already
compressed), and every compressed response says `Vary: Accept-Encoding` for caches.
"""

import zlib
from collections.abc import Callable, Iterable

StartResponse = Callable[..., object]
WsgiApp = Callable[[dict, StartResponse], Iterable[bytes]]

# JSON and .npy grids shrink several times; a PNG is already deflated
COMPRESSIBLE = ("application/json", "application/octet-stream", "text/")
LEVEL = 1


class Compressed:
    """A WSGI app wrapped: bodies over `min_bytes` gzipped when the client accepts."""

    def __init__(self, app: WsgiApp, min_bytes: int) -> None:
        self.app = app
        self.min_bytes = min_bytes

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        accept = environ.get("HTTP_ACCEPT_ENCODING")
        if not accept or not accepts_gzip(accept):
            # the identity answer, untouched: nothing to decide, so no Vary either
            # (a cache that keeps it may hand it to anyone: every client reads it)
            return self.app(environ, start_response)
        captured: list = []

        def start(status: str, headers: list, exc_info: object = None) -> object:
            captured[:] = [status, headers, exc_info]
            return _no_write

        body = self.app(environ, start)
        if not captured:  # an app that starts on first iteration (none here does)
            body = list(body)
        status, headers, exc_info = captured
        if not self._eligible(environ, headers):
            start_response(status, headers, exc_info)
            return body
        headers.append(("Vary", "Accept-Encoding"))
        try:
            content = b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        compressed = gzip_bytes(content)
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers += [
            ("Content-Encoding", "gzip"),
            ("Content-Length", str(len(compressed))),
        ]
        start_response(status, headers, exc_info)
        return [compressed]

    def _eligible(self, environ: dict, headers: list) -> bool:
        """A body worth compressing: big, of a compressible type, not encoded yet;
        HEAD is left alone (its headers would otherwise need the body built)."""
        if environ.get("REQUEST_METHOD") == "HEAD":
            return False
        length = content_type = None
        for key, value in headers:
            lowered = key.lower()
            if lowered == "content-length":
                length = value
            elif lowered == "content-type":
                content_type = value
            elif lowered == "content-encoding":
                return False
        return (
            length is not None
            and length.isdigit()
            and int(length) >= self.min_bytes
            and content_type is not None
            and content_type.startswith(COMPRESSIBLE)
        )


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header admits gzip (`gzip;q=0` refuses it)."""
    wildcard = None
    for part in header.lower().split(","):
        coding, _, params = part.strip().partition(";")
        coding = coding.strip()
        if coding == "gzip":  # named: its own quality decides, whatever `*` says
            return not _zero_quality(params)
        if coding == "*":
            wildcard = not _zero_quality(params)
    return bool(wildcard)


def _zero_quality(params: str) -> bool:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip() == "q":
            try:
                return float(value) == 0.0
            except ValueError:
                return False
    return False


def gzip_bytes(content: bytes) -> bytes:
    """A gzip member of `content` (zlib with gzip framing: one call, no file object)."""
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(content) + compressor.flush()


def _no_write(data: bytes) -> None:
    raise RuntimeError("the write() callable is not supported: return the body")
