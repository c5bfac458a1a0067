"""What CORS and gzip cost the service, measured in-process (no sockets, no wrk).

Per-request cost of the WSGI layers: 10,000 one-point /predict calls a round straight
into the app, with CORS off (the layer absent), on without an Origin, on with a listed
Origin, and gzip's layer on under its threshold; turns alternated, medians of rounds.
Then gzip's price and gain on large answers: CPU per request (thread CPU time) and
bytes for a 10,000-point /predict and a 1000 x 1000 JSON /boundary.

    .venv/bin/python bench/http_extras.py [--rounds N] [--calls N]
"""

import argparse
import io
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service import create_app  # noqa: E402
from service.settings import Settings  # noqa: E402
from tests.helpers.registry_samples import publish_network  # noqa: E402
from trainer.registry import Registry  # noqa: E402

ORIGIN = "https://app.example.com"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=10_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        registry = Path(tmp) / "models"
        publish_network(Registry(registry), seed=1)
        base = {"registry": registry, "poll_seconds": 0, "log_level": "WARNING"}
        apps = {
            "plain (CORS off, gzip off)": create_app(
                Settings(**base, gzip_min_bytes=0)
            ),
            "plain again (the noise floor)": create_app(
                Settings(**base, gzip_min_bytes=0)
            ),
            "gzip layer on, no Accept-Encoding": create_app(Settings(**base)),
            "gzip layer on, accepts gzip": create_app(Settings(**base)),
            "CORS on, no Origin": create_app(
                Settings(**base, gzip_min_bytes=0, cors_origins=(ORIGIN,))
            ),
            "CORS on, listed Origin": create_app(
                Settings(**base, gzip_min_bytes=0, cors_origins=(ORIGIN,))
            ),
        }
        small = orjson.dumps({"points": [[0.5, 0.25]]})
        print(f"one-point POST /predict, {args.calls} calls a round, "
              f"{args.rounds} rounds (median CPU µs per call):")  # fmt: skip
        per_call = _layer_costs(apps, small, args)
        plain = per_call["plain (CORS off, gzip off)"]
        for name, micros in per_call.items():
            print(f"  {name:<38} {micros:7.2f} µs  ({micros - plain:+.2f})")
        _large_answers(base, args.rounds)
    return 0


def _layer_costs(apps: dict, body: bytes, args: argparse.Namespace) -> dict:
    """Median over rounds of each app's CPU per call; within a round the apps take
    turns in blocks of 1000 calls, so a busy moment of the shared machine falls on
    all of them alike. Thread CPU time: time spent descheduled is not counted."""
    calls = {
        name: _caller(app.wsgi_app, "POST", "/predict", body,
                      ORIGIN if name.endswith("listed Origin") else None,
                      gzip=name.endswith("accepts gzip"))
        for name, app in apps.items()
    }  # fmt: skip
    for call in calls.values():
        call()  # warm
    block = min(1000, args.calls)
    rounds: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(args.rounds):
        spent = dict.fromkeys(apps, 0.0)
        for b in range(max(1, args.calls // block)):
            names = list(calls) if b % 2 == 0 else list(reversed(calls))
            for name in names:
                call = calls[name]
                started = time.thread_time()
                for _ in range(block):
                    call()
                spent[name] += time.thread_time() - started
        for name in apps:
            rounds[name].append(spent[name] / args.calls * 1e6)
    return {name: statistics.median(values) for name, values in rounds.items()}


def _large_answers(base: dict, n_rounds: int) -> None:
    points = np.random.default_rng(0).uniform(-1.5, 2.5, (10_000, 2))
    predict_body = orjson.dumps({"points": points}, option=orjson.OPT_SERIALIZE_NUMPY)
    cases = [
        ("POST /predict, 10,000 points", "POST", "/predict", predict_body, ""),
        ("GET /boundary 1000x1000 json", "GET", "/boundary", b"", "nx=1000&ny=1000"),
    ]
    print("\nlarge answers (median CPU ms per request, bytes sent):")
    for label, method, path, body, query in cases:
        results = {}
        for level in (None, 1, 6):
            app = create_app(Settings(**base, gzip_min_bytes=1))
            import service.compression as compression

            compression.LEVEL = level or 1
            call = _caller(app.wsgi_app, method, path, body, None, query,
                           gzip=level is not None)  # fmt: skip
            call()
            samples = []
            for _ in range(max(n_rounds, 5)):
                started = time.thread_time()
                n = 0
                while time.thread_time() - started < 0.3 or n < 3:
                    sent = call()
                    n += 1
                samples.append((time.thread_time() - started) / n * 1000)
            results[level] = (statistics.median(samples), sent)
        compression.LEVEL = 1
        identity_ms, identity_bytes = results[None]
        print(f"  {label}: identity {identity_ms:.2f} ms, {identity_bytes:,} B")
        for level in (1, 6):
            ms, n_bytes = results[level]
            # what the saving is worth: the time the bytes take on a link
            saved = identity_bytes - n_bytes
            extra = ms - identity_ms
            print(f"    gzip level {level}: {ms:.2f} ms ({extra:+.2f} ms CPU), "
                  f"{n_bytes:,} B ({n_bytes / identity_bytes:.1%}); saves "
                  f"{saved * 8 / 100e6 * 1000:.1f} ms at 100 Mbit/s, "
                  f"{saved * 8 / 1e9 * 1000:.2f} ms at 1 Gbit/s")  # fmt: skip


def _caller(
    app: Callable,
    method: str,
    path: str,
    body: bytes,
    origin: str | None,
    query: str = "",
    gzip: bool = False,
) -> Callable[[], int]:
    """A function that makes one WSGI call and returns the bytes of the body."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "bench",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
    }
    if origin:
        environ["HTTP_ORIGIN"] = origin
    if gzip:
        environ["HTTP_ACCEPT_ENCODING"] = "gzip, deflate"

    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        if not status.startswith("200"):
            raise RuntimeError(f"{path}: {status}")

    def call() -> int:
        env = dict(environ)
        env["wsgi.input"] = io.BytesIO(body)
        chunks = app(env, start_response)
        n_bytes = sum(len(chunk) for chunk in chunks)
        if gzip and n_bytes > 100_000:
            assert zlib.decompress(b"".join(chunks), 16 + zlib.MAX_WBITS)[:1] == b"{"
        return n_bytes

    return call


if __name__ == "__main__":
    raise SystemExit(main())
