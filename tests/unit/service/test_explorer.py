"""The explorer page, its data route and /boundary's probabilities (test client)."""

import io
import re
from html.parser import HTMLParser

import numpy as np
import orjson
import pytest

from service import create_app
from service.explorer import ASSETS, STATIC_DIR
from service.settings import Settings
from tests.helpers.api_cases import JSON
from tests.helpers.registry_samples import fields, layers, publish_network
from trainer.registry import Registry
from trainer.registry.sample import SAMPLE_FILE, build_sample, sample_bytes


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Registry:
    registry = Registry(tmp_path_factory.mktemp("models"))
    publish_network(registry, "moons", seed=1)  # v1: no data sample (older trainer)
    rng = np.random.default_rng(0)
    sample = build_sample(
        rng.normal(size=(30, 2)), [0, 1] * 15, rng.normal(size=(10, 2)), [1, 0] * 5
    )
    registry.publish(  # v2: with one
        "moons",
        *layers(seed=2, scale=2.0),
        fields(),
        {SAMPLE_FILE: sample_bytes(sample)},
    )
    publish_network(registry, "blobs", seed=3, classes=("a", "b", "c"))
    return registry


@pytest.fixture(scope="module")
def client(registry):
    return create_app(Settings(registry=registry.root, poll_seconds=0)).test_client()


def test_the_page_is_html_under_a_strict_content_security_policy(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "connect-src"):
        assert policy[directive] == "'self'", directive
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.urls += [attributes[k] for k in ("src", "href") if k in attributes]
        if "style" in attributes or any(k.startswith("on") for k in attributes):
            self.inline.append(tag)
        self._script = tag == "script"

    def handle_data(self, data):
        if getattr(self, "_script", False) and data.strip():
            self.inline.append("script")


def test_the_page_asks_only_for_its_own_files(client):
    parser = _References()
    parser.feed(client.get("/").get_data(as_text=True))
    assert parser.inline == []  # the CSP forbids inline script and style
    for url in parser.urls:
        assert url == "data:," or (url.startswith("/") and not url.startswith("//"))
    for asset in ASSETS:
        text = (STATIC_DIR / asset).read_text()
        assert not re.search(r"(https?:)?//[a-z0-9]", text, re.I), asset
        assert "@import" not in text and "url(" not in text, asset


@pytest.mark.parametrize("asset", sorted(ASSETS))
def test_the_assets_are_served_with_their_types(client, asset):
    response = client.get(f"/explorer/{asset}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == ASSETS[asset]
    assert response.data == (STATIC_DIR / asset).read_bytes()
    assert "Content-Security-Policy" in response.headers


@pytest.mark.parametrize("path", ["/explorer/index.html", "/explorer/../api.py"])
def test_nothing_else_is_served_from_the_static_directory(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_the_data_route_serves_the_versions_sample(client):
    response = client.get("/models/moons/versions/2/data")
    assert response.status_code == 200
    assert response.headers["X-Model-Version"] == "2"
    body = response.get_json()
    assert body["model"] == "moons" and body["version"] == 2
    assert body["classes"] == [0, 1] and body["n_features"] == 2
    assert len(body["points"]) == len(body["labels"]) == len(body["split"]) == 40
    assert body["split"].count("validation") == 10
    assert (body["n_train"], body["n_validation"]) == (30, 10)
    # a version may be named by an alias, as on every model route (here: latest
    # is not an alias, so 404; "2" is the number)
    assert client.get("/models/moons/versions/latest/data").status_code == 404


@pytest.mark.parametrize(
    "path, code",
    [
        ("/models/moons/versions/1/data", "no_data_sample"),
        ("/models/moons/versions/9/data", "version_not_found"),
        ("/models/nobody/versions/1/data", "model_not_found"),
    ],
)
def test_the_data_route_says_what_is_missing(client, path, code):
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == code


def test_probabilities_in_json_are_what_predict_gives_for_each_cell(client):
    query = "model=blobs&x_min=-2&x_max=2&y_min=-1&y_max=1.5&nx=7&ny=5"
    grid = client.get(f"/boundary?{query}&values=probabilities").get_json()
    P = np.array(grid["probabilities"])
    assert P.shape == (5, 7, 3)
    np.testing.assert_allclose(P.sum(axis=2), 1.0)
    points = [[x, y] for y in grid["y"] for x in grid["x"]]
    predicted = client.post(
        "/predict?model=blobs", data=orjson.dumps({"points": points}), headers=JSON
    ).get_json()
    assert P.reshape(-1, 3).tolist() == predicted["probabilities"]
    labels = client.get(f"/boundary?{query}").get_json()["labels"]
    assert np.array(labels).ravel().tolist() == predicted["labels"]


def test_probabilities_in_npy_are_float32_ny_nx_classes(client):
    query = "model=blobs&nx=9&ny=4&format=npy"
    response = client.get(f"/boundary?{query}&values=probabilities")
    assert response.status_code == 200
    P = np.load(io.BytesIO(response.data), allow_pickle=False)
    assert P.dtype == np.float32 and P.shape == (4, 9, 3)
    as_json = client.get("/boundary?model=blobs&nx=9&ny=4&values=probabilities")
    np.testing.assert_allclose(
        P, np.array(as_json.get_json()["probabilities"]), rtol=1e-6
    )
    body = orjson.dumps({"nx": 9, "ny": 4, "format": "npy", "values": "probabilities"})
    posted = client.post("/boundary?model=blobs", data=body, headers=JSON)
    assert posted.data == response.data


@pytest.mark.parametrize(
    "query, words",
    [
        ("values=probabilities&format=png", "format=json or format=npy"),
        ("values=odds", "values must be one of labels, probabilities"),
    ],
)
def test_bad_values_are_a_400_that_says_what_is_allowed(client, query, words):
    response = client.get(f"/boundary?{query}")
    assert response.status_code == 400
    assert words in response.get_json()["error"]["message"]


def test_with_tokens_the_page_is_open_and_its_data_is_not(registry, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("page-token\n")
    settings = Settings(registry=registry.root, poll_seconds=0, api_tokens_file=tokens)
    client = create_app(settings).test_client()
    assert client.get("/").status_code == 200
    assert client.get("/explorer/explorer.js").status_code == 200
    assert client.get("/models/moons/versions/2/data").status_code == 401
    authorized = {"Authorization": "Bearer page-token"}
    response = client.get("/models/moons/versions/2/data", headers=authorized)
    assert response.status_code == 200
