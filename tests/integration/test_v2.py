"""The V2 protocol against the real gunicorn, spoken by clients nobody here wrote.

tritonclient[http] (Triton's) and KServe's InferenceRESTClient call the service as
they would call Triton or KServe; every answer is compared with the JSON /predict of
the same points and version, bit for bit. Raw HTTP covers what a well-behaved client
never sends: binary sections that lie about their sizes.
"""

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests
import tritonclient.http as triton
from kserve import (
    InferenceRESTClient,
    InferInput,
    InferRequest,
    RESTConfig,
)
from kserve.protocol.infer_type import RequestedOutput
from tritonclient.utils import InferenceServerException

from tests.helpers.registry_samples import publish_network, write_aliases
from tests.integration.conftest import wait_until
from trainer.registry import Registry

RNG = np.random.default_rng(11)
POINTS = RNG.uniform(-1.5, 2.5, size=(257, 2))


@pytest.fixture(scope="module")
def client(service_url: str) -> triton.InferenceServerClient:
    with triton.InferenceServerClient(urlsplit(service_url).netloc) as client:
        yield client


@pytest.fixture(scope="module")
def labelled(service_url: str, registry_path) -> str:
    """A model of string classes with two versions and an alias `stable` -> 1."""
    registry = Registry(registry_path)
    name = "v2labels"
    for seed in (5, 6):
        publish_network(registry, name, seed=seed, classes=("left", "right", "up"))
    write_aliases(registry_path / name, {"stable": 1})
    wait_until(
        lambda: all(
            requests.get(
                f"{service_url}/v2/models/{name}/versions/stable/ready", timeout=10
            ).ok  # fmt: skip
            for _ in range(6)
        ),
        f"every worker serves {name} with its alias",
    )
    return name


def predict(url: str, X: np.ndarray, model: str, version: str) -> dict:
    response = requests.post(
        f"{url}/predict",
        params={"model": model, "version": version},
        json={"points": X.tolist()},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def infer(
    client: triton.InferenceServerClient,
    X: np.ndarray,
    datatype: str,
    binary_in: bool,
    binary_out: bool,
    model: str = "moons",
    version: str = "",
) -> triton.InferResult:
    tensor = triton.InferInput("points", list(X.shape), datatype)
    tensor.set_data_from_numpy(X, binary_data=binary_in)
    outputs = [
        triton.InferRequestedOutput(name, binary_data=binary_out)
        for name in ("probabilities", "labels")
    ]
    return client.infer(
        model, [tensor], model_version=version, outputs=outputs, request_id="r-1"
    )


def test_server_metadata_and_health(client):
    assert client.is_server_live() and client.is_server_ready()
    metadata = client.get_server_metadata()
    assert metadata["name"] == "scratchnet"
    assert "binary_tensor_data" in metadata["extensions"]


def test_model_metadata_names_the_tensors(client, service_url):
    served = requests.get(f"{service_url}/readyz", timeout=10).json()["version"]
    metadata = client.get_model_metadata("moons")
    assert metadata["name"] == "moons" and str(served) in metadata["versions"]
    assert metadata["inputs"] == [
        {"name": "points", "datatype": "FP64", "shape": [-1, 2]}
    ]
    assert metadata["outputs"] == [
        {"name": "probabilities", "datatype": "FP64", "shape": [-1, 2]},
        {"name": "labels", "datatype": "INT64", "shape": [-1]},
    ]
    assert client.get_model_metadata("moons", "1")["inputs"][0]["shape"] == [-1, 2]
    assert client.is_model_ready("moons") and client.is_model_ready("moons", "1")
    assert not client.is_model_ready("no-such-model")


@pytest.mark.parametrize("datatype", ["FP64", "FP32"])
@pytest.mark.parametrize("binary_in", [False, True], ids=["json-in", "binary-in"])
@pytest.mark.parametrize("binary_out", [False, True], ids=["json-out", "binary-out"])
def test_infer_equals_predict_bit_for_bit(
    client, service_url, datatype, binary_in, binary_out
):
    X = POINTS.astype(np.float32 if datatype == "FP32" else np.float64)
    result = infer(client, X, datatype, binary_in, binary_out, version="1")
    # FP32 points are the float32 values the client sent, widened exactly
    expected = predict(service_url, X.astype(np.float64), "moons", "1")
    P = result.as_numpy("probabilities")
    assert P.dtype == np.float64 and P.shape == (len(X), 2)
    assert np.array_equal(P, np.array(expected["probabilities"]))
    labels = result.as_numpy("labels")
    assert labels.dtype == np.int64 and labels.tolist() == expected["labels"]
    response = result.get_response()
    assert response["model_name"] == "moons" and response["model_version"] == "1"
    assert response["id"] == "r-1"


def test_the_served_version_answers_unpinned(client, service_url):
    served = requests.get(f"{service_url}/readyz", timeout=10).json()["version"]
    result = infer(client, POINTS, "FP64", True, True)
    assert result.get_response()["model_version"] == str(served)
    expected = predict(service_url, POINTS, "moons", str(served))
    assert np.array_equal(result.as_numpy("probabilities"), expected["probabilities"])


def test_a_large_binary_batch_equals_predict(client, service_url):
    X = RNG.uniform(-1.5, 2.5, size=(10_000, 2))
    result = infer(client, X, "FP64", True, True, version="1")
    expected = predict(service_url, X, "moons", "1")
    assert np.array_equal(result.as_numpy("probabilities"), expected["probabilities"])
    assert result.as_numpy("labels").tolist() == expected["labels"]


@pytest.mark.parametrize("binary_out", [False, True], ids=["json-out", "binary-out"])
def test_string_labels_and_a_version_pinned_by_alias(
    client, service_url, labelled, binary_out
):
    X = POINTS[:, :2]
    by_alias = infer(client, X, "FP64", True, binary_out, labelled, "stable")
    by_number = infer(client, X, "FP64", False, binary_out, labelled, "1")
    expected = predict(service_url, X, labelled, "1")
    for result in (by_alias, by_number):
        assert result.get_response()["model_version"] == "1"
        # tritonclient gives BYTES as bytes from binary data, as str from JSON
        labels = [
            label.decode() if isinstance(label, bytes) else label
            for label in result.as_numpy("labels").tolist()
        ]
        assert labels == expected["labels"]
        assert np.array_equal(
            result.as_numpy("probabilities"), expected["probabilities"]
        )
    assert client.get_model_metadata(labelled)["outputs"][1]["datatype"] == "BYTES"
    newest = infer(client, X, "FP64", True, binary_out, labelled, "2")
    assert newest.get_response()["model_version"] == "2"


def test_outputs_select_what_comes_back(client, service_url):
    tensor = triton.InferInput("points", [3, 2], "FP64")
    tensor.set_data_from_numpy(POINTS[:3], binary_data=True)
    only = [triton.InferRequestedOutput("labels", binary_data=True)]
    result = client.infer("moons", [tensor], model_version="1", outputs=only)
    assert [o["name"] for o in result.get_response()["outputs"]] == ["labels"]
    assert result.as_numpy("probabilities") is None
    # no outputs named: both, in binary (tritonclient asks binary_data_output)
    both = client.infer("moons", [tensor], model_version="1")
    expected = predict(service_url, POINTS[:3], "moons", "1")
    assert np.array_equal(both.as_numpy("probabilities"), expected["probabilities"])


@pytest.mark.parametrize(
    "model, version, shape, datatype, status",
    [
        ("no-such-model", "", [2, 2], "FP64", "404"),
        ("moons", "999999", [2, 2], "FP64", "404"),
        ("moons", "no-such-alias", [2, 2], "FP64", "404"),
        ("moons", "", [1, 4], "FP64", "400"),  # 4 features for a 2-feature model
        ("moons", "", [2, 2], "FP16", "400"),
        ("moons", "", [100_001, 2], "FP64", "413"),  # over SCRATCHNET_MAX_POINTS
    ],
)
def test_errors_reach_the_client_with_their_status(
    client, model, version, shape, datatype, status
):
    tensor = triton.InferInput("points", shape, datatype)
    dtype = np.float16 if datatype == "FP16" else np.float64
    tensor.set_data_from_numpy(np.zeros(shape, dtype=dtype), binary_data=True)
    with pytest.raises(InferenceServerException) as raised:
        client.infer(model, [tensor], model_version=version)
    assert raised.value.status() == status
    assert raised.value.message()  # the server's words, from {"error": "..."}


def _binary_request(url: str, header: bytes, tail: bytes, length: int | None = None):
    return requests.post(
        f"{url}/v2/models/moons/infer",
        data=header + tail,
        headers={
            "Inference-Header-Content-Length": str(
                len(header) if length is None else length
            )
        },
        timeout=30,
    )


HEADER = (
    b'{"inputs":[{"name":"points","datatype":"FP64","shape":[2,2],'
    b'"parameters":{"binary_data_size":32}}]}'
)


@pytest.mark.parametrize(
    "tail, length, words",
    [
        (b"\0" * 16, None, "declares 32"),  # a truncated binary section
        (b"\0" * 40, None, "declares 32"),  # bytes beyond the tensor
        (b"\0" * 32, 10**9, "has only"),  # a header length beyond the body
        (b"\0" * 32, 5, "not valid JSON"),  # a header length inside the JSON
    ],
)
def test_binary_lies_are_400s(service_url, tail, length, words):
    response = _binary_request(service_url, HEADER, tail, length)
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]


def test_a_body_cut_short_by_the_client_is_a_400(service_url):
    host, port = urlsplit(service_url).netloc.split(":")
    body = HEADER + b"\0" * 8
    head = (
        "POST /v2/models/moons/infer HTTP/1.1\r\nHost: x\r\n"
        f"Inference-Header-Content-Length: {len(HEADER)}\r\n"
        f"Content-Length: {len(HEADER) + 32}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head.encode() + body)
        sock.shutdown(socket.SHUT_WR)  # the rest never comes
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b'{"error":' in answer


def test_kserve_rest_client(service_url):
    async def calls() -> tuple:
        config = RESTConfig(protocol="v2", retries=0, timeout=30)
        client = InferenceRESTClient(config)
        try:
            live = await client.is_server_live(service_url)
            ready = await client.is_server_ready(service_url)
            model_ready = await client.is_model_ready(service_url, "moons")
            answers = []
            for binary in (False, True):
                tensor = InferInput("points", list(POINTS.shape), "FP64")
                tensor.set_data_from_numpy(POINTS, binary_data=binary)
                outputs = [
                    RequestedOutput(name, parameters={"binary_data": binary})
                    for name in ("probabilities", "labels")
                ]
                request = InferRequest(
                    "moons", [tensor], request_id="k-1", request_outputs=outputs
                )
                answers.append(
                    await client.infer(service_url, request, model_name="moons")
                )
            return live, ready, model_ready, answers
        finally:
            await client.close()

    # a thread of its own: asyncio.run refuses to start where a loop already runs
    with ThreadPoolExecutor(max_workers=1) as pool:
        live, ready, model_ready, answers = pool.submit(asyncio.run, calls()).result()
    assert live and ready and model_ready
    for answer in answers:
        expected = predict(service_url, POINTS, "moons", answer.model_version)
        by_name = {output.name: output for output in answer.outputs}
        P = by_name["probabilities"].as_numpy()
        assert np.array_equal(P, np.array(expected["probabilities"]))
        assert by_name["labels"].as_numpy().tolist() == expected["labels"]
        assert answer.id == "k-1"
