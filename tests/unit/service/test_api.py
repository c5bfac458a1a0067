"""The Flask app through its test client: shapes, errors and limits, no sockets."""

import io
import re

import numpy as np
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service import create_app, logs
from service.boundary import Grid, render, response_size
from service.fastpath import HOT_ROUTES
from service.runtime import ServedModel
from service.settings import Settings
from service.v2.routes import templates as v2_templates
from tests.helpers.api_cases import JSON, REJECTIONS
from tests.helpers.registry_samples import forward_from_disk, publish_network
from trainer.registry import Registry


def build_registry(root) -> Registry:
    registry = Registry(root)
    publish_network(registry, "moons", seed=1)
    publish_network(registry, "moons", seed=2)
    publish_network(registry, "blobs", seed=3, n_features=3, classes=("a", "b", "c"))
    return registry


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Registry:
    # shared by the module's tests, which only read it (publishing fsyncs: slow-ish)
    return build_registry(tmp_path_factory.mktemp("models"))


def make_client(registry: Registry, **settings):
    app = create_app(Settings(registry=registry.root, poll_seconds=0, **settings))
    return app.test_client()


@pytest.fixture(scope="module")
def client(registry):
    return make_client(registry)


def post_points(client, points, query=""):
    return client.post(
        f"/predict{query}", data=orjson.dumps({"points": points}), headers=JSON
    )


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["status"] == status and error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


@pytest.mark.parametrize("case", REJECTIONS, ids=lambda case: case.id)
def test_every_rejection_has_its_status_and_the_error_shape(client, case):
    response = client.open(
        case.path, method=case.method, data=case.body, headers=case.headers
    )
    assert_error(response, case.status, case.code)


def test_predict_answers_with_the_served_version(client, registry):
    X = np.random.default_rng(0).uniform(-1, 2, (40, 2))
    response = post_points(client, X.tolist())
    assert response.status_code == 200
    body = response.get_json()
    assert (body["model"], body["version"], body["classes"]) == ("moons", 2, [0, 1])
    assert response.headers["X-Model"] == "moons"
    assert response.headers["X-Model-Version"] == "2"
    indices, P = forward_from_disk(registry.root, "moons", 2, X)
    np.testing.assert_allclose(body["probabilities"], P, rtol=1e-12)
    assert body["labels"] == indices.tolist()


def test_predict_on_an_older_version_and_another_model(client, registry):
    assert post_points(client, [[0, 0]], "?version=1").get_json()["version"] == 1
    body = post_points(client, [[0, 0, 0], [1, 2, 3]], "?model=blobs").get_json()
    assert body["model"] == "blobs" and body["classes"] == ["a", "b", "c"]
    indices, _ = forward_from_disk(
        registry.root, "blobs", 1, np.array([[0, 0, 0], [1, 2, 3.0]])
    )
    assert body["labels"] == [["a", "b", "c"][i] for i in indices]


def test_boundary_json_defaults_to_the_training_extent(client):
    response = client.get("/boundary")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["model"], body["version"]) == ("moons", 2)
    # tests.helpers.registry_samples publishes x in [-1.2, 2.2] and y in [-0.7, 1.3]
    assert len(body["x"]) == 200 and len(body["y"]) == 200
    assert body["x"][0] == pytest.approx(-1.7) and body["x"][-1] == pytest.approx(2.7)
    assert body["y"][0] == pytest.approx(-1.2) and body["y"][-1] == pytest.approx(1.8)
    labels = np.array(body["labels"])
    assert labels.shape == (200, 200) and set(np.unique(labels)) <= {0, 1}


def test_boundary_labels_equal_predict_on_the_same_points(client):
    query = "x_min=-2&x_max=3&y_min=-1.5&y_max=2&nx=37&ny=23"
    grid = client.get(f"/boundary?{query}").get_json()
    xx, yy = np.meshgrid(grid["x"], grid["y"])
    points = np.column_stack([xx.ravel(), yy.ravel()])
    predicted = post_points(client, points.tolist()).get_json()["labels"]
    assert np.array(grid["labels"]).ravel().tolist() == predicted


def test_boundary_post_body_and_formats(client):
    fields = {"x_min": -1, "x_max": 1, "y_min": -1, "y_max": 1, "nx": 30, "ny": 20}
    as_json = client.post(
        "/boundary", data=orjson.dumps(fields), headers=JSON
    ).get_json()
    assert as_json["x"][0] == -1 and len(as_json["x"]) == 30 and len(as_json["y"]) == 20
    npy = client.post(
        "/boundary", data=orjson.dumps({**fields, "format": "npy"}), headers=JSON
    )
    assert npy.status_code == 200 and npy.headers["X-Model-Version"] == "2"
    indices = np.load(io.BytesIO(npy.data), allow_pickle=False)
    assert indices.dtype == np.uint8 and indices.shape == (20, 30)
    np.testing.assert_array_equal(indices, np.array(as_json["labels"]))
    png = client.get("/boundary?format=png&nx=30&ny=20")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert int.from_bytes(png.data[16:20], "big") == 30  # IHDR width
    assert int.from_bytes(png.data[20:24], "big") == 20  # IHDR height


def test_boundary_without_a_body_uses_the_defaults(client):
    response = client.post("/boundary?version=1")
    assert response.status_code == 200 and response.get_json()["version"] == 1


def test_boundary_needs_two_features(client):
    error = assert_error(client.get("/boundary?model=blobs"), 400, "not_two_features")
    assert "takes 3" in error["message"]


def test_models_listing_and_manifests(tmp_path):
    registry = build_registry(tmp_path)
    registry.set_alias("moons", "canary", 1)
    client = make_client(registry)
    listing = client.get("/models").get_json()
    assert listing["default_model"] == "moons"
    by_name = {model["name"]: model for model in listing["models"]}
    assert by_name["moons"]["versions"] == [1, 2]
    assert by_name["moons"]["aliases"] == {"canary": 1}
    assert by_name["moons"]["served_version"] == 2
    assert by_name["blobs"]["served_version"] == 1
    manifest = client.get("/models/moons").get_json()
    assert (manifest["name"], manifest["version"]) == ("moons", 2)
    assert client.get("/models/moons/versions/canary").get_json()["version"] == 1


def test_models_lists_ignored_entries_and_an_unreadable_aliases_file(tmp_path):
    registry = build_registry(tmp_path)
    (registry.root / "moons" / "3").symlink_to(registry.root / "moons" / "1")
    (registry.root / "moons" / "notes.txt").write_text("hello")
    (registry.root / "blobs" / "aliases.json").write_text("{")
    listing = make_client(registry).get("/models").get_json()
    by_name = {model["name"]: model for model in listing["models"]}
    assert by_name["moons"]["ignored_entries"] == [
        {"entry": "3", "reason": "symlink"},
        {"entry": "notes.txt", "reason": "not a version directory"},
    ]
    assert by_name["moons"]["aliases_error"] is None
    assert by_name["blobs"]["ignored_entries"] == []
    assert "aliases.json: not valid JSON" in by_name["blobs"]["aliases_error"]
    assert by_name["blobs"]["versions"] == [1]


def test_limits_come_from_the_settings(registry):
    client = make_client(registry, max_points=5, max_grid_cells=100, max_body_bytes=200)
    assert_error(post_points(client, [[0, 0]] * 6), 413, "too_many_points")
    assert post_points(client, [[0, 0]] * 5).status_code == 200
    assert_error(client.get("/boundary?nx=11&ny=10"), 413, "too_many_cells")
    assert client.get("/boundary?nx=10&ny=10").status_code == 200
    big = b'{"points": [' + b",".join([b"[0.5, 0.5]"] * 30) + b"]}"
    assert_error(client.post("/predict", data=big, headers=JSON), 413, "body_too_large")


def test_empty_registry_is_503_not_404(tmp_path, capsys):
    client = make_client(Registry(tmp_path / "empty"))
    # the operator's log names the missing directory once, at start
    warnings = [
        orjson.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if '"WARNING"' in line
    ]
    assert any(
        f"registry directory {tmp_path / 'empty'} does not exist" in w["msg"]
        for w in warnings
    ), warnings
    assert_error(client.get("/readyz"), 503, "model_not_ready")
    error = assert_error(post_points(client, [[0, 0]]), 503, "model_not_ready")
    # how to fix it, in the service's own terms, without the server's path
    assert (
        '--registry "$SCRATCHNET_REGISTRY" --name moons --promote' in error["message"]
    )
    assert str(tmp_path) not in error["message"]
    assert client.get("/healthz").status_code == 200
    assert client.get("/models").get_json()["models"] == []


def test_readyz_names_the_default_model(client):
    body = client.get("/readyz").get_json()
    assert body == {"status": "ready", "model": "moons", "version": 2}


def test_request_ids_are_echoed_or_generated(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert (
        len(generated) == 32
        and generated != client.get("/healthz").headers["X-Request-ID"]
    )
    # not a token we would log verbatim: replaced
    assert (
        client.get("/healthz", headers={"X-Request-ID": "a b"}).headers["X-Request-ID"]
        != "a b"
    )


def test_one_json_access_line_per_request(client, capsys):
    capsys.readouterr()
    post_points(client, [[0, 0]], "?version=1")
    logs.flush()
    lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    access = [line for line in lines if line.get("logger") == "scratchnet.access"]
    assert len(access) == 1
    line = access[0]
    assert (line["route"], line["status"], line["model"], line["version"]) == (
        "/predict",
        200,
        "moons",
        "1",
    )
    assert len(line["request_id"]) == 32 and line["duration_ms"] >= 0


def test_an_unexpected_error_is_a_json_500_without_internals(registry, monkeypatch):
    client = make_client(registry)
    from service.runtime import ServedModel

    def broken(self, X):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(ServedModel, "predict", broken)
    error = assert_error(post_points(client, [[0, 0]]), 500, "internal_error")
    assert "secret" not in error["message"]


def test_metrics_count_requests_points_and_cells(client):
    # counters live as long as the process: compare before and after
    before = sample_values(client.get("/metrics").data.decode())
    post_points(client, [[0, 0]] * 7)
    client.get("/boundary?nx=10&ny=10")
    after = sample_values(client.get("/metrics").data.decode())

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    moons = {"model": "moons", "version": "2"}
    assert delta("scratchnet_points_predicted_total", **moons) == 7
    assert delta("scratchnet_grid_cells_classified_total", **moons) == 100
    request = {"route": "/predict", "method": "POST", "status": "200", **moons}
    assert delta("scratchnet_http_requests_total", **request) == 1
    served = after[("scratchnet_served_version", (("model", "moons"),))]
    assert served == 2


def sample_values(text: str) -> dict:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_openapi_documents_every_route_and_the_limits(registry):
    client = make_client(registry, max_points=123, max_grid_cells=456)
    doc = client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {
        "/predict",
        "/boundary",
        "/boundary/diff",
        "/models",
        "/models/{name}",
        "/models/{name}/versions/{version}",
        "/models/{name}/versions/{version}/data",
        "/",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    } | set(v2_templates())
    points = doc["components"]["schemas"]["PredictRequest"]["properties"]["points"]
    assert points["maxItems"] == 123
    nx = next(
        p for p in doc["paths"]["/boundary"]["get"]["parameters"] if p["name"] == "nx"
    )
    assert nx["schema"]["minimum"] == 1 and nx["schema"]["maximum"] == 456
    # every route is reachable as documented (no 404 or 405 for a documented method)
    app_rules = {
        rule.rule: {method.lower() for method in rule.methods}
        for rule in client.application.url_map.iter_rules()
    }
    assert "/models/<name>/versions/<version>" in app_rules
    # the V2 routes are served before Flask, from their own table
    app_rules |= {
        re.sub(r"\{(\w+)\}", r"<\1>", path): {m.lower() for m in methods}
        for path, methods in v2_templates().items()
    }
    for path, operations in doc["paths"].items():
        rule = re.sub(r"\{(\w+)\}", r"<\1>", path)
        assert set(operations) <= app_rules.get(rule, set()), path


def test_the_hot_routes_are_flask_rules_the_fast_path_serves_in_full(client):
    # declared once (HOT_ROUTES): Flask routes them (405, OPTIONS, url_map) but never
    # runs a view for them, so every method their rules match must reach the fast path
    app = client.application
    served = {(route.method, route.path) for route in HOT_ROUTES}
    served |= {("HEAD", path) for method, path in served if method == "GET"}
    viewless = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in app.view_functions
    ]
    assert {rule.rule for rule in viewless} == {path for _, path in served}
    for rule in viewless:
        assert {(m, rule.rule) for m in rule.methods - {"OPTIONS"}} <= served
    assert {(m, r.rule) for r in viewless for m in r.methods} >= served


def test_head_boundary_is_get_without_the_body(client):
    get = client.get("/boundary?nx=5&ny=4")
    head = client.head("/boundary?nx=5&ny=4")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(len(get.data))
    for name in ("Content-Type", "X-Model", "X-Model-Version"):
        assert head.headers[name] == get.headers[name]
    refused = client.head("/boundary?nx=0")
    assert refused.status_code == 400 and refused.data == b""
    assert refused.mimetype == "application/json"
    allow = client.head("/predict").headers["Allow"]
    assert sorted(allow.split(", ")) == ["OPTIONS", "POST"]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/predict", "OPTIONS, POST"), ("/models", "GET, HEAD, OPTIONS")],
)
def test_options_lists_the_methods_with_no_content(client, path, allowed):
    response = client.options(path)
    assert response.status_code == 204
    assert ", ".join(sorted(response.headers["Allow"].split(", "))) == allowed
    assert "Content-Type" not in response.headers and response.data == b""


def test_a_route_without_parameters_says_so_when_given_one(client):
    error = assert_error(client.get("/models?verbose=1"), 400, "unknown_parameter")
    assert error["message"].endswith("this route takes no query parameters")


def test_grid_fields_in_a_post_boundary_query_point_to_the_body(client):
    response = client.post("/boundary?nx=3", json={})
    error = assert_error(response, 400, "unknown_parameter")
    assert "JSON body" in error["message"]


def test_a_served_manifest_names_a_csv_file_without_its_path(tmp_path):
    # versions published before the trainer recorded only file names carry a path
    registry = Registry(tmp_path / "models")
    publish_network(registry, "moons", seed=1)
    loaded = registry.load("moons", 1)
    fields = {
        key: value
        for key, value in loaded.manifest.items()
        if key not in ("schema_version", "name", "version", "files", "manifest_digest")
        and key not in ("created_at", "trainer_version")
    }
    secret = "/home/alice/private/points.csv"
    fields["training"] = {
        **fields["training"],
        "dataset": {"name": "csv", "path": secret, "sha256": "ab" * 32},
    }
    version = registry.publish("moons", loaded.coefs, loaded.intercepts, fields)
    client = make_client(registry)
    for url in ("/models/moons", f"/models/moons/versions/{version}"):
        response = client.get(url)
        assert response.status_code == 200
        assert "/home/alice" not in response.get_data(as_text=True)
        dataset = response.get_json()["training"]["dataset"]
        assert dataset["file"] == "points.csv" and dataset["sha256"] == "ab" * 32


@pytest.mark.parametrize("query", ["nx=2001", "ny=2001", "nx=4000000&ny=1"])
def test_a_grid_side_over_the_limit_is_a_413(client, query):
    # within the cell limit, but one axis alone would carry tens of MB
    error = assert_error(client.get(f"/boundary?{query}"), 413, "too_many_cells")
    assert "from 1 to 2000" in error["message"]


def test_a_response_over_the_byte_budget_is_a_413_before_any_work(tmp_path):
    registry = Registry(tmp_path / "models")
    publish_network(registry, "moons", seed=1, classes=("x" * 50, "y" * 50))
    client = make_client(registry, max_response_bytes=200_000)
    error = assert_error(
        client.get("/boundary?nx=100&ny=100"), 413, "response_too_large"
    )
    assert "format=npy or png" in error["message"]
    # a byte a cell fits where 52 bytes a cell do not
    assert client.get("/boundary?nx=100&ny=100&format=npy").status_code == 200
    assert client.get("/boundary?nx=100&ny=100&format=png").status_code == 200


@pytest.mark.parametrize("fmt", ["json", "npy", "png"])
@pytest.mark.parametrize("classes", [(0, 1), ("a", "b", "c"), ("Iris-versicolor", 7)])
def test_the_size_estimate_bounds_every_rendered_response(tmp_path, fmt, classes):
    registry = Registry(tmp_path / "models")
    publish_network(registry, "m", seed=3, classes=classes)
    model = ServedModel(registry.load("m", 1))
    for nx, ny in [(1, 1), (7, 3), (200, 200), (1000, 13)]:
        grid = Grid(-1e15, 1e15, -123.456789, 987.654321, nx, ny)
        assert len(render(model, grid, fmt)) <= response_size(model, grid, fmt)
        if fmt != "png":
            probabilities = render(model, grid, fmt, "probabilities")
            assert len(probabilities) <= response_size(
                model, grid, fmt, "probabilities"
            )
