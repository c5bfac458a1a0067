"""Before timing: the service and the plain reference must give the same answers.

A speed ratio only means something if both sides did the same work, so the benchmark
first compares their /predict and /boundary answers on the benchmark's own inputs, and
the V2 answers with /predict's, and stops if they differ or if any server refuses a
request the benchmark will send.
"""

import io
from pathlib import Path

import numpy as np
import requests
from scenarios import CEILING, PLAIN, SERVICE
from servers import Server
from v2_bodies import INFER_PATH, V2Bodies

CHECK_GRID = 60


def check_same_work(
    servers: dict[str, Server],
    bodies: dict[int, Path],
    bounds: tuple[float, float, float, float],
) -> None:
    """Raise RuntimeError if the running servers disagree or refuse a request."""
    for body in bodies.values():
        data = body.read_bytes()
        answers = {
            name: _ok(
                requests.post(
                    servers[name].url + "/predict",
                    data=data,
                    headers={"Content-Type": "application/json"},
                    timeout=60,
                )
            )
            for name in (SERVICE, PLAIN, CEILING)
            if name in servers
        }
        if SERVICE in answers and PLAIN in answers:
            _compare_predictions(answers[SERVICE].json(), answers[PLAIN].json(), body)
    _check_boundary(servers, bounds)


def _compare_predictions(service: dict, plain: dict, body: Path) -> None:
    if service["labels"] != plain["labels"]:
        raise RuntimeError(f"service and plain labels differ for {body.name}")
    if not np.allclose(service["probabilities"], plain["probabilities"], atol=1e-9):
        raise RuntimeError(f"service and plain probabilities differ for {body.name}")


def _check_boundary(
    servers: dict[str, Server], bounds: tuple[float, float, float, float]
) -> None:
    names = ("x_min", "x_max", "y_min", "y_max")
    params = dict(zip(names, bounds, strict=True)) | {
        "nx": CHECK_GRID,
        "ny": CHECK_GRID,
    }
    plain = None
    if PLAIN in servers:
        plain_url = servers[PLAIN].url + "/boundary"
        plain = _ok(requests.get(plain_url, params=params, timeout=60)).json()
    if SERVICE not in servers:
        return
    url = servers[SERVICE].url + "/boundary"
    service = _ok(requests.get(url, params=params | {"format": "json"}, timeout=60))
    labels = service.json()["labels"]
    classes = np.asarray(service.json()["classes"])
    npy = _ok(requests.get(url, params=params | {"format": "npy"}, timeout=60))
    indices = np.load(io.BytesIO(npy.content), allow_pickle=False)
    if classes[indices].tolist() != labels:
        raise RuntimeError("the service's npy grid disagrees with its json grid")
    png = _ok(requests.get(url, params=params | {"format": "png"}, timeout=60))
    if not png.content.startswith(b"\x89PNG"):
        raise RuntimeError("the service's png grid is not a PNG")
    if plain is not None and plain["labels"] != labels:
        raise RuntimeError("service and plain boundary labels differ")


def _ok(response: requests.Response) -> requests.Response:
    if response.status_code != 200:
        raise RuntimeError(
            f"{response.request.method} {response.url} answered "
            f"{response.status_code}: {response.text[:300]}"
        )
    return response


def check_same_v2_answers(
    servers: dict[str, Server],
    bodies: dict[int, Path],
    v2_bodies: dict[int, V2Bodies],
    model: str,
) -> None:
    """Raise RuntimeError unless V2 JSON and binary give /predict's numbers exactly."""
    if SERVICE not in servers:
        return
    url = servers[SERVICE].url
    for n_points, body in bodies.items():
        v2 = v2_bodies[n_points]
        expected = _ok(
            requests.post(
                f"{url}/predict",
                data=body.read_bytes(),
                headers={"Content-Type": "application/json"},
                timeout=60,
            )
        ).json()
        P = np.array(expected["probabilities"])
        path = url + INFER_PATH.format(model=model)
        as_json = _ok(requests.post(path, data=v2.json.read_bytes(), timeout=60)).json()
        outputs = {o["name"]: o for o in as_json["outputs"]}
        if outputs["labels"]["data"] != expected["labels"] or not np.array_equal(
            np.array(outputs["probabilities"]["data"]).reshape(P.shape), P
        ):
            raise RuntimeError(f"V2 JSON and /predict differ for {n_points} points")
        binary = _ok(
            requests.post(
                path,
                data=v2.binary.read_bytes(),
                headers={"Inference-Header-Content-Length": str(v2.header_length)},
                timeout=60,
            )
        )
        header_length = int(binary.headers["Inference-Header-Content-Length"])
        raw = binary.content[header_length:]
        P_binary = np.frombuffer(raw[: P.nbytes], dtype="<f8").reshape(P.shape)
        labels = np.frombuffer(raw[P.nbytes :], dtype="<i8").tolist()
        if not np.array_equal(P_binary, P) or labels != expected["labels"]:
            raise RuntimeError(f"V2 binary and /predict differ for {n_points} points")
