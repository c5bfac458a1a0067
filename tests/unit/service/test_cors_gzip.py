"""CORS and gzip: preflights, headers for listed origins only, compressed big bodies.

Through the real app (`create_app`, its test client: no sockets) so the layers are
checked where they sit: outside the token check, around the fast path and Flask.
"""

import gzip
import json

import numpy as np
import pytest

from service import create_app
from service.compression import accepts_gzip
from service.settings import Settings
from tests.helpers.registry_samples import publish_network
from trainer.registry import Registry

LISTED = "https://app.example.com"
OTHER = "https://evil.example.net"
PREFLIGHT = {
    "Origin": LISTED,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type, authorization",
}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    publish_network(Registry(root), seed=1)
    return root


def client(registry, **settings):
    base = {"registry": registry, "poll_seconds": 0}
    return create_app(Settings(**base, **settings)).test_client()


@pytest.fixture(scope="module")
def cors(registry, tmp_path_factory):
    tokens = tmp_path_factory.mktemp("auth") / "tokens"
    tokens.write_text("secret\n")
    settings = {"cors_origins": (LISTED, "http://localhost:5173"),
                "api_tokens_file": tokens}  # fmt: skip
    return client(registry, **settings)


AUTH = {"Authorization": "Bearer secret"}
POINT = {"points": [[0.5, 0.25]]}


@pytest.mark.parametrize("path", ["/predict", "/boundary", "/models", "/nowhere"])
def test_a_preflight_from_a_listed_origin_is_answered_without_a_token(cors, path):
    response = cors.options(path, headers=PREFLIGHT)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == LISTED
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert response.headers["Vary"] == "Origin"
    assert response.data == b""


def test_a_preflight_from_another_origin_gets_no_cors_headers(cors):
    response = cors.options("/predict", headers={**PREFLIGHT, "Origin": OTHER})
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.status_code == 401  # passed on: the token check refuses it


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/predict", {"json": POINT}),  # the fast path
        ("GET", "/boundary", {"query_string": {"nx": 5, "ny": 5}}),  # the fast path
        ("GET", "/models", {}),  # Flask
        ("GET", "/healthz", {}),  # open, no token
        ("GET", "/nowhere", {}),  # a 404
    ],
)
def test_every_route_carries_the_headers_for_a_listed_origin_only(
    cors, method, path, kwargs
):
    listed = cors.open(path, method=method, headers={**AUTH, "Origin": LISTED},
                       **kwargs)  # fmt: skip
    assert listed.headers["Access-Control-Allow-Origin"] == LISTED
    exposed = listed.headers["Access-Control-Expose-Headers"]
    assert "X-Model-Version" in exposed and "X-Request-ID" in exposed
    assert listed.headers.get_all("Vary") == ["Origin"]
    for headers in ({**AUTH, "Origin": OTHER}, AUTH):
        other = cors.open(path, method=method, headers=headers, **kwargs)
        assert other.status_code == listed.status_code
        assert "Access-Control-Allow-Origin" not in other.headers
        assert other.headers.get_all("Vary") == ["Origin"]


def test_a_refusal_carries_the_headers_so_the_page_can_read_it(cors):
    response = cors.post("/predict", json=POINT, headers={"Origin": LISTED})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == LISTED
    assert response.json["error"]["code"] == "unauthorized"


def test_origins_match_exactly(cors):
    for near in (LISTED + "/", LISTED + ":443", "http://app.example.com",
                 "https://APP.example.com", "null"):  # fmt: skip
        response = cors.get("/healthz", headers={"Origin": near})
        assert "Access-Control-Allow-Origin" not in response.headers, near


def test_a_wildcard_allows_any_origin_without_vary(registry):
    app = client(registry, cors_origins=("*",))
    response = app.post("/predict", json=POINT, headers={"Origin": OTHER})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Vary" not in response.headers
    preflight = app.options("/predict", headers={**PREFLIGHT, "Origin": OTHER})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"


def test_cors_is_off_by_default(registry):
    app = client(registry)
    response = app.post("/predict", json=POINT, headers={"Origin": LISTED})
    assert not any(k.startswith("Access-Control") for k in response.headers.keys())
    preflight = app.options("/predict", headers=PREFLIGHT)
    assert preflight.status_code == 204  # Flask's own OPTIONS: Allow, nothing more
    assert "Access-Control-Allow-Origin" not in preflight.headers


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("https://app.example.com/", "is not an origin"),
        ("app.example.com", "is not an origin"),
        ("ftp://x", "is not an origin"),
    ],
)
def test_a_malformed_origin_setting_is_refused_at_start(raw, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env({"SCRATCHNET_CORS_ORIGINS": raw})


def test_origins_and_the_gzip_threshold_are_read_from_the_environment():
    settings = Settings.from_env(
        {
            "SCRATCHNET_CORS_ORIGINS": " https://a.example , http://localhost:3000,",
            "SCRATCHNET_GZIP_MIN_BYTES": "0",
        }  # fmt: skip
    )
    assert settings.cors_origins == ("https://a.example", "http://localhost:3000")
    assert settings.gzip_min_bytes == 0
    assert Settings().cors_origins == () and Settings().gzip_min_bytes == 1024 * 1024
    with pytest.raises(ValueError, match="SCRATCHNET_GZIP_MIN_BYTES must be >= 0"):
        Settings(gzip_min_bytes=-1)


BIG = {"points": np.random.default_rng(0).uniform(-1, 2, (3000, 2)).tolist()}


def test_a_body_over_the_threshold_is_gzipped_for_a_client_that_accepts_it(registry):
    app = client(registry, gzip_min_bytes=10_000)
    plain = app.post("/predict", json=BIG)
    assert "Content-Encoding" not in plain.headers
    assert len(plain.data) > 10_000
    packed = app.post("/predict", json=BIG, headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers.get_all("Vary") == ["Accept-Encoding"]
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data)
    assert gzip.decompress(packed.data) == plain.data
    grid = app.get("/boundary?nx=300&ny=300", headers={"Accept-Encoding": "gzip"})
    assert grid.headers["Content-Encoding"] == "gzip"
    assert set(json.loads(gzip.decompress(grid.data))) >= {"labels", "x", "y"}
    npy = app.get("/boundary?nx=300&ny=300&format=npy",
                  headers={"Accept-Encoding": "gzip"})  # fmt: skip
    assert npy.headers["Content-Encoding"] == "gzip"


def test_small_bodies_images_head_and_refusing_clients_stay_identity(registry):
    app = client(registry, gzip_min_bytes=10_000)
    gz = {"Accept-Encoding": "gzip"}
    small = app.post("/predict", json=POINT, headers=gz)
    assert "Content-Encoding" not in small.headers and "Vary" not in small.headers
    png = app.get("/boundary?nx=400&ny=400&format=png", headers=gz)
    assert int(png.headers["Content-Length"]) > 0
    assert "Content-Encoding" not in png.headers
    head = app.head("/boundary?nx=300&ny=300", headers=gz)
    assert "Content-Encoding" not in head.headers
    for refusal in ("gzip;q=0", "identity", "br", "*;q=0"):
        response = app.post("/predict", json=BIG, headers={"Accept-Encoding": refusal})
        assert "Content-Encoding" not in response.headers, refusal
    off = client(registry, gzip_min_bytes=0).post("/predict", json=BIG, headers=gz)
    assert "Content-Encoding" not in off.headers


@pytest.mark.parametrize(
    ("header", "accepted"),
    [("gzip", True), ("GZIP", True), ("deflate, gzip;q=0.5", True), ("*", True),
     ("gzip;q=0", False), ("gzip; q=0.0", False), ("*;q=0, gzip", True),
     ("gzip;q=0, *", False), ("br", False), ("", False), ("x-gzip", False)],
)  # fmt: skip
def test_accept_encoding_is_read_with_its_qualities(header, accepted):
    assert accepts_gzip(header) is accepted
