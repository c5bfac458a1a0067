"""The V2 protocol through the app, without sockets: routing, tensors, every refusal.

The binary tensor extension is where a body can lie about its sizes; the sweep tests
cut and mislabel one valid body every possible way and expect a 400 (or the right
answer), never a 500.
"""

import struct

import numpy as np
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service import create_app
from service.settings import Settings
from tests.unit.service.test_api import build_registry, make_client

HEADER_LENGTH = "Inference-Header-Content-Length"
X = np.array([[0.25, -0.5], [1.5, 0.75], [-1.0, 0.0]])
FLAT = X.ravel().tolist()


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return build_registry(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def client(registry):
    return make_client(registry)


def tensor(data=None, shape=(3, 2), datatype="FP64", **parameters) -> dict:
    found = {"name": "points", "datatype": datatype, "shape": list(shape)}
    if data is not None:
        found["data"] = data
    if parameters:
        found["parameters"] = parameters
    return found


def infer(client, doc: dict, path: str = "/v2/models/moons/infer", **headers):
    return client.post(path, data=orjson.dumps(doc), headers=headers)


def binary(client, doc: dict, raw: bytes, path="/v2/models/moons/infer", length=None):
    header = orjson.dumps(doc)
    value = str(len(header) if length is None else length)
    return client.post(path, data=header + raw, headers={HEADER_LENGTH: value})


def predicted(client, points, query="?model=moons&version=2") -> dict:
    response = client.post(
        f"/predict{query}", data=orjson.dumps({"points": np.asarray(points).tolist()}),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 200, response.data
    return response.get_json()


def refused(response, status: int, words: str) -> str:
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json"
    message = response.get_json()["error"]
    assert isinstance(message, str) and words in message, message
    return message


def outputs_of(response) -> dict:
    """The outputs of a JSON or binary answer, by name, as numpy arrays."""
    length = response.headers.get(HEADER_LENGTH)
    body = response.data
    header = orjson.loads(body if length is None else body[: int(length)])
    offset = len(body) if length is None else int(length)
    found = {}
    for output in header["outputs"]:
        size = output.get("parameters", {}).get("binary_data_size")
        if size is None:
            values = np.array(output["data"])
        else:
            raw = body[offset : offset + size]
            offset += size
            values = _decode(raw, output["datatype"])
        found[output["name"]] = values.reshape(output["shape"])
    assert offset == len(body)
    return found


def _decode(raw: bytes, datatype: str) -> np.ndarray:
    if datatype == "BYTES":
        items, at = [], 0
        while at < len(raw):
            (n,) = struct.unpack_from("<I", raw, at)
            items.append(raw[at + 4 : at + 4 + n].decode())
            at += 4 + n
        return np.array(items)
    return np.frombuffer(raw, dtype={"FP64": "<f8", "INT64": "<i8"}[datatype])


# --- routes and metadata ------------------------------------------------------------


def test_server_metadata_and_health(client):
    metadata = client.get("/v2").get_json()
    assert metadata == {
        "name": "scratchnet",
        "version": metadata["version"],
        "extensions": ["binary_tensor_data"],
    }
    assert client.get("/v2/health/live").get_json() == {"live": True}
    assert client.get("/v2/health/ready").get_json() == {"ready": True}


def test_model_metadata_follows_the_model(client):
    blobs = client.get("/v2/models/blobs").get_json()
    assert blobs["name"] == "blobs" and blobs["versions"] == ["1"]
    assert blobs["inputs"] == [{"name": "points", "datatype": "FP64", "shape": [-1, 3]}]
    assert blobs["outputs"][1] == {"name": "labels", "datatype": "BYTES", "shape": [-1]}
    moons = client.get("/v2/models/moons/versions/1")
    assert moons.headers["X-Model-Version"] == "1"
    assert moons.get_json()["versions"] == ["1", "2"]
    assert moons.get_json()["outputs"][1]["datatype"] == "INT64"
    ready = client.get("/v2/models/moons/versions/1/ready").get_json()
    assert ready == {"name": "moons", "version": "1", "ready": True}


@pytest.mark.parametrize(
    "path, status",
    [
        ("/v2/models/nope", 404),
        ("/v2/models/nope/ready", 404),
        ("/v2/models/moons/versions/7", 404),
        ("/v2/models/moons/versions/staging/ready", 404),
        ("/v2/models/moons/versions/0", 400),
        ("/v2/models/moons/versions/x!y", 400),
        ("/v2/nowhere", 404),
        ("/v2/", 404),
        ("/v2/models/moons/", 404),
        ("/v2/models//ready", 404),
        ("/v2/models/moons/versions/1/infer/more", 404),
    ],
)
def test_unknown_routes_models_and_versions(client, path, status):
    refused(client.get(path), status, "")


def test_methods_options_and_head(client):
    response = client.delete("/v2/models/moons")
    refused(response, 405, "allowed: GET, HEAD, OPTIONS")
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    refused(client.get("/v2/models/moons/infer"), 405, "POST")
    options = client.options("/v2/models/moons/infer")
    assert options.status_code == 204 and options.headers["Allow"] == "OPTIONS, POST"
    head = client.head("/v2/models/moons")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(
        len(client.get("/v2/models/moons").data)
    )


def test_query_parameters_are_refused(client):
    refused(client.get("/v2/models/moons?version=1"), 400, "unknown query parameter")


def test_readiness_without_a_model_and_while_draining(tmp_path):
    empty = create_app(Settings(registry=tmp_path / "none", poll_seconds=0))
    client = empty.test_client()
    assert client.get("/v2/health/live").status_code == 200
    refused(client.get("/v2/health/ready"), 503, "no verified version")
    draining = tmp_path / "draining"
    draining.touch()
    registry = build_registry(tmp_path / "models")
    app = create_app(
        Settings(registry=registry.root, poll_seconds=0, draining_file=draining)
    )
    refused(app.test_client().get("/v2/health/ready"), 503, "shutting down")


def test_tokens_guard_every_v2_route_but_health(registry, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("v2-token\n")
    client = make_client(registry, api_tokens_file=tokens)
    assert client.get("/v2/health/live").status_code == 200
    assert client.get("/v2/health/ready").status_code == 200
    for path in ("/v2", "/v2/models/moons", "/v2/nowhere"):
        response = client.get(path)
        refused(response, 401, "Authorization: Bearer")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    refused(infer(client, {"inputs": [tensor(FLAT)]}), 401, "Bearer")
    auth = {"Authorization": "Bearer v2-token"}
    assert client.get("/v2/models/moons", headers=auth).status_code == 200
    response = infer(client, {"inputs": [tensor(FLAT)]}, **auth)
    assert response.status_code == 200


# --- infer: answers -----------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [FLAT, X.tolist()],
    ids=["flat", "nested"],
)
def test_json_infer_equals_predict(client, data):
    response = infer(client, {"id": "q-7", "inputs": [tensor(data)]})
    assert response.status_code == 200, response.data
    assert response.mimetype == "application/json"
    answer = response.get_json()
    assert answer["model_name"] == "moons" and answer["model_version"] == "2"
    assert answer["id"] == "q-7"
    expected = predicted(client, X)
    outputs = outputs_of(response)
    assert np.array_equal(outputs["probabilities"], expected["probabilities"])
    assert outputs["labels"].tolist() == expected["labels"]


@pytest.mark.parametrize("datatype", ["FP64", "FP32", "INT64", "INT32"])
def test_binary_infer_of_every_datatype(client, datatype):
    dtype = {"FP64": "<f8", "FP32": "<f4", "INT64": "<i8", "INT32": "<i4"}[datatype]
    values = (X * 4).astype(dtype)
    doc = {
        "inputs": [tensor(datatype=datatype, binary_data_size=values.nbytes)],
        "parameters": {"binary_data_output": True},
    }
    response = binary(client, doc, values.tobytes())
    assert response.status_code == 200, response.data
    assert response.mimetype == "application/octet-stream"
    expected = predicted(client, values.astype(np.float64))
    outputs = outputs_of(response)
    assert np.array_equal(outputs["probabilities"], expected["probabilities"])
    assert outputs["labels"].dtype == np.int64
    assert outputs["labels"].tolist() == expected["labels"]


def test_json_fp32_and_integers_are_converted_like_binary(client):
    values = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    fp32 = infer(client, {"inputs": [tensor(values, datatype="FP32")]})
    rounded = np.array(values, dtype=np.float32).astype(np.float64).reshape(3, 2)
    expected = predicted(client, rounded)
    assert np.array_equal(outputs_of(fp32)["probabilities"], expected["probabilities"])
    ints = infer(client, {"inputs": [tensor([1, 0, -1, 2, 0, 0], datatype="INT32")]})
    expected = predicted(client, [[1, 0], [-1, 2], [0, 0]])
    assert np.array_equal(outputs_of(ints)["probabilities"], expected["probabilities"])


def test_outputs_choose_what_and_how(client):
    doc = {
        "inputs": [tensor(FLAT)],
        "outputs": [
            {"name": "labels", "parameters": {"binary_data": True}},
            {"name": "probabilities"},
        ],
    }
    response = infer(client, doc)
    header = orjson.loads(response.data[: int(response.headers[HEADER_LENGTH])])
    assert [o["name"] for o in header["outputs"]] == ["labels", "probabilities"]
    assert "data" in header["outputs"][1] and "data" not in header["outputs"][0]
    outputs = outputs_of(response)
    assert outputs["labels"].tolist() == predicted(client, X)["labels"]
    # binary_data_output is the default of the outputs that do not say
    doc["parameters"] = {"binary_data_output": True}
    doc["outputs"][0]["parameters"]["binary_data"] = False
    header = orjson.loads(infer(client, doc).data.split(b"}]}", 1)[0] + b"}]}")
    assert "data" in header["outputs"][0] and "data" not in header["outputs"][1]
    only = infer(client, {"inputs": [tensor(FLAT)], "outputs": [{"name": "labels"}]})
    assert [o["name"] for o in only.get_json()["outputs"]] == ["labels"]


@pytest.mark.parametrize("binary_out", [False, True])
def test_string_labels_as_bytes(client, binary_out):
    points = np.array([[0.0, 0.5, 1.0], [2.0, -1.0, 0.0]])
    doc = {
        "inputs": [tensor(points.ravel().tolist(), shape=(2, 3))],
        "parameters": {"binary_data_output": binary_out},
    }
    response = infer(client, doc, "/v2/models/blobs/versions/1/infer")
    assert response.status_code == 200, response.data
    expected = predicted(client, points, "?model=blobs")
    outputs = outputs_of(response)
    assert outputs["labels"].tolist() == expected["labels"]
    assert np.array_equal(outputs["probabilities"], expected["probabilities"])


def test_kserve_style_model_name_in_the_body(client):
    doc = {"model_name": "moons", "inputs": [tensor(FLAT)]}
    assert infer(client, doc).status_code == 200
    refused(infer(client, {**doc, "model_name": "blobs"}), 400, "name it in the URL")
    pinned = {**doc, "model_version": "1"}
    assert infer(client, pinned, "/v2/models/moons/versions/1/infer").status_code == 200
    refused(infer(client, pinned), 400, "model_version")


def test_metrics_name_the_v2_route_and_count_points(client):
    def samples() -> dict:
        text = client.get("/metrics").data.decode()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    before = samples()
    infer(client, {"inputs": [tensor(FLAT)]}, "/v2/models/moons/versions/1/infer")
    after = samples()
    route = "/v2/models/<name>/versions/<version>/infer"
    labels = {"method": "POST", "model": "moons", "route": route, "status": "200"}
    key = (
        "scratchnet_http_requests_total",
        tuple(sorted({**labels, "version": "1"}.items())),
    )
    assert after[key] - before.get(key, 0) == 1
    points = (
        "scratchnet_points_predicted_total",
        (("model", "moons"), ("version", "1")),
    )
    assert after[points] - before.get(points, 0) == 3


# --- infer: refusals ----------------------------------------------------------------


@pytest.mark.parametrize(
    "doc, words",
    [
        ([], "must be a JSON object"),
        ({"inputs": [tensor(FLAT)], "extra": 1}, "unknown field(s) 'extra'"),
        ({"inputs": []}, "exactly one tensor"),
        ({"inputs": [tensor(FLAT), tensor(FLAT)]}, "exactly one tensor"),
        ({"inputs": [{**tensor(FLAT), "name": "x"}]}, "must be named 'points'"),
        ({"inputs": [tensor(FLAT, datatype="BYTES")]}, "FP64, FP32, INT64, INT32"),
        ({"inputs": [tensor(FLAT, shape=(6,))]}, "needs shape [n_points, 2]"),
        ({"inputs": [tensor(FLAT, shape=(2, 3))]}, "needs 2 features"),
        ({"inputs": [tensor([], shape=(0, 2))]}, "at least one point"),
        ({"inputs": [tensor(FLAT, shape=(3, True))]}, "needs shape"),
        ({"inputs": [tensor(FLAT[:5])]}, "data has 5 values"),
        ({"inputs": [tensor(X.tolist()[:2])]}, "3 lists of 2"),
        ({"inputs": [tensor([[1, 2], [3], [4, 5]])]}, "3 lists of 2"),
        ({"inputs": [tensor([1, 2, 3, "4", 5, 6])]}, "numbers only"),
        ({"inputs": [tensor([1, 2, 3, True, 5, 6])]}, "numbers only"),
        ({"inputs": [tensor([1, 2, 3, None, 5, 6])]}, "numbers only"),
        ({"inputs": [tensor([1, 2, 3, 4.5, 5, 6], datatype="INT64")]}, "integers"),
        ({"inputs": [tensor([1, 2, 3, 2**31, 5, 6], datatype="INT32")]}, "range"),
        ({"inputs": [tensor([1, 2, 3, 1e39, 5, 6], datatype="FP32")]}, "inf"),
        ({"inputs": [tensor([1, 2, 3, 1e16, 5, 6])]}, "point 1 feature 1"),
        ({"inputs": [tensor()]}, "needs data"),
        ({"inputs": [tensor(FLAT)], "id": 5}, "id must be a string"),
        ({"inputs": [tensor(FLAT)], "parameters": []}, "must be an object"),
        (
            {"inputs": [tensor(FLAT)], "parameters": {"binary_data_output": 1}},
            "true or false",
        ),
        ({"inputs": [tensor(FLAT)], "outputs": []}, "non-empty list"),
        ({"inputs": [tensor(FLAT)], "outputs": [{"name": "P"}]}, "names 'P'"),
        (
            {"inputs": [tensor(FLAT)], "outputs": [{"name": "labels"}] * 2},
            "asked twice",
        ),
        (
            {
                "inputs": [tensor(FLAT)],
                "outputs": [{"name": "labels", "parameters": {"classification": 2}}],
            },
            "classification extension",
        ),
        (
            {"inputs": [tensor(FLAT, shared_memory_region="r")]},
            "shared-memory extension",
        ),
        ({"inputs": [tensor(binary_data_size=48)]}, "Inference-Header"),
    ],
)
def test_bad_requests_say_what_is_wrong(client, doc, words):
    refused(infer(client, doc), 400, words)


def test_a_key_given_twice_is_refused(client):
    body = orjson.dumps({"inputs": [tensor(FLAT)]})
    twice = body.replace(b'"name":"points"', b'"name":"x","name":"points"')
    refused(
        client.post("/v2/models/moons/infer", data=twice), 400, "'name' is given twice"
    )
    escaped = {"id": 'say "hi"', "inputs": [tensor(FLAT)]}
    assert infer(client, escaped).get_json()["id"] == 'say "hi"'
    # quotes spelt \u0022 could balance a repeat's quotes in a count: parsed again
    balanced = body.replace(b'{"inputs"', b'{"id":"\\u0022\\u0022","inputs"').replace(
        b'"shape"', b'"shape":[9,9],"shape"'
    )
    refused(client.post("/v2/models/moons/infer", data=balanced), 400, "'shape' is")
    in_data = body.replace(b"0.25,", b'"0.25",')
    refused(client.post("/v2/models/moons/infer", data=in_data), 400, "numbers only")


def test_limits_are_413_and_415(registry):
    client = make_client(registry, max_points=2, max_body_bytes=400)
    refused(infer(client, {"inputs": [tensor(FLAT)]}), 413, "limit is 2")
    big = {"inputs": [tensor([0.123456789] * 60, shape=(30, 2))]}
    refused(infer(client, big), 413, "limit is 400")
    gzip = infer(client, {"inputs": [tensor(FLAT)]}, **{"Content-Encoding": "gzip"})
    refused(gzip, 415, "gzip")


@pytest.mark.parametrize(
    "size, raw, length, words",
    [
        (48, X.tobytes()[:40], None, "declares 48"),
        (48, X.tobytes() + b"\0", None, "declares 48"),
        (40, X.tobytes(), None, "takes 48 bytes"),
        (-1, X.tobytes(), None, "byte count"),
        ("48", X.tobytes(), None, "byte count"),
        (48, X.tobytes(), 10**6, "has only"),
        (48, X.tobytes(), "12x", "digits only"),
        (48, X.tobytes(), 0, "inference header is empty"),
    ],
)
def test_binary_lies_are_400s(client, size, raw, length, words):
    doc = {"inputs": [tensor(binary_data_size=size)]}
    refused(binary(client, doc, raw, length=length), 400, words)


def test_binary_and_data_together_or_bytes_nobody_declared(client):
    doc = {"inputs": [tensor(FLAT, binary_data_size=48)]}
    refused(binary(client, doc, X.tobytes()), 400, "one way")
    refused(binary(client, {"inputs": [tensor(FLAT)]}, b"\0" * 8), 400, "declares")


def test_every_cut_and_every_header_length_is_answered_never_a_500(client):
    values = X.astype("<f4").tobytes()
    header = orjson.dumps(
        {"inputs": [tensor(datatype="FP32", binary_data_size=len(values))]}
    )
    body = header + values
    statuses = set()
    for cut in range(len(body) + 1):  # the body truncated anywhere
        response = client.post(
            "/v2/models/moons/infer",
            data=body[:cut],
            headers={HEADER_LENGTH: str(len(header))},
        )
        statuses.add(response.status_code)
        assert response.status_code == (200 if cut == len(body) else 400), cut
    for length in range(len(body) + 2):  # the header's length, every wrong value
        response = client.post(
            "/v2/models/moons/infer", data=body, headers={HEADER_LENGTH: str(length)}
        )
        assert response.status_code == (200 if length == len(header) else 400), length
    rng = np.random.default_rng(3)
    for _ in range(300):  # the header's bytes flipped at random
        garbled = bytearray(header)
        garbled[rng.integers(len(garbled))] = rng.integers(256)
        response = client.post(
            "/v2/models/moons/infer",
            data=bytes(garbled) + values,
            headers={HEADER_LENGTH: str(len(header))},
        )
        assert response.status_code in (200, 400, 404, 413), response.data
    assert statuses == {200, 400}
