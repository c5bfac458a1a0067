"""The two yardsticks the serving benchmark measures scratchnet's service against.

`create_ceiling_app` is a bare WSGI app that returns a fixed small JSON body: the
most any handler can reach on this gunicorn stack. `create_plain_app` is a Flask app
doing the service's work the obvious way (`request.get_json`, a numpy forward pass
with softmax, `jsonify`), so the benchmark can say how much the service's care is
worth.

Both run under the service's own gunicorn configuration, started by `bench/serve.py`:
    gunicorn -c deploy/gunicorn.conf.py --pythonpath bench \
        'reference_apps:create_plain_app()'
The plain app reads the model version directory named by `SCRATCHNET_BENCH_MODEL_DIR`
(`manifest.json` and `weights.npz`, as published in the registry). It gets one BLAS
thread from `OPENBLAS_NUM_THREADS=1` in its environment (set by the benchmark), because
OpenBLAS reads it once, when numpy is first imported.
"""

import io
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from flask import Flask, Response, jsonify, request

# Shaped like a one-point /predict answer, so the ceiling sends as many bytes as the
# service does for the smallest request.
CEILING_BODY = (
    b'{"model":"moons","version":1,"classes":[0,1],"labels":[1],'
    b'"probabilities":[[0.12345678901234567,0.8765432109876543]]}'
)

StartResponse = Callable[[str, list[tuple[str, str]]], object]


def create_ceiling_app() -> Callable[[dict, StartResponse], Iterable[bytes]]:
    """A WSGI app that drains the body and answers `CEILING_BODY` to anything."""

    def app(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        # read the body as any real handler must, so a large POST costs the ceiling
        # what it costs the service before the first line of application code
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:
            environ["wsgi.input"].read(length)
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(CEILING_BODY))),
        ]
        start_response("200 OK", headers)
        return [CEILING_BODY]

    return app


def create_plain_app() -> Flask:
    """Flask doing /predict and /boundary the obvious way, with published weights."""
    model = _PlainModel(Path(os.environ["SCRATCHNET_BENCH_MODEL_DIR"]))
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @app.post("/predict")
    def predict() -> Response:
        X = np.asarray(request.get_json()["points"], dtype=float)
        P = model.predict_proba(X)
        labels = model.classes[P.argmax(axis=1)]
        return jsonify(
            model=model.name,
            version=model.version,
            classes=model.classes.tolist(),
            labels=labels.tolist(),
            probabilities=P.tolist(),
        )

    @app.get("/boundary")
    def boundary() -> Response:
        args = request.args
        x = np.linspace(
            float(args.get("x_min", model.extent[0])),
            float(args.get("x_max", model.extent[1])),
            int(args.get("nx", 200)),
        )
        y = np.linspace(
            float(args.get("y_min", model.extent[2])),
            float(args.get("y_max", model.extent[3])),
            int(args.get("ny", 200)),
        )
        xx, yy = np.meshgrid(x, y)
        P = model.predict_proba(np.c_[xx.ravel(), yy.ravel()])
        indices = P.argmax(axis=1).reshape(len(y), len(x))
        if args.get("format", "json") == "npy":
            buffer = io.BytesIO()
            np.save(buffer, indices.astype(np.uint8))
            return Response(buffer.getvalue(), mimetype="application/octet-stream")
        return jsonify(
            model=model.name,
            version=model.version,
            classes=model.classes.tolist(),
            x=x.tolist(),
            y=y.tolist(),
            labels=model.classes[indices].tolist(),
        )

    return app


class _PlainModel:
    """One published version, read straight from its directory (no registry logic)."""

    def __init__(self, version_dir: Path) -> None:
        manifest = json.loads((version_dir / "manifest.json").read_text())
        self.name: str = manifest["name"]
        self.version: int = manifest["version"]
        self.classes = np.asarray(manifest["architecture"]["classes"])
        self.activation: str | None = manifest["architecture"]["activation"]
        low, high = manifest["data"]["feature_min"], manifest["data"]["feature_max"]
        # the service's default bounds: the training data's extent plus 0.5
        self.extent = (low[0] - 0.5, high[0] + 0.5, low[1] - 0.5, high[1] + 0.5)
        with np.load(version_dir / "weights.npz", allow_pickle=False) as npz:
            n_layers = sum(key.startswith("coef_") for key in npz.files)
            self.coefs = [npz[f"coef_{i}"] for i in range(n_layers)]
            self.intercepts = [npz[f"intercept_{i}"] for i in range(n_layers)]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P (n_samples, n_classes) for X (n_samples, n_features)."""
        H = X
        for W, b in zip(self.coefs[:-1], self.intercepts[:-1], strict=True):
            H = _HIDDEN[self.activation](H @ W + b)
        Z = H @ self.coefs[-1] + self.intercepts[-1]
        # max-shift before exp: softmax is shift-invariant and exp cannot overflow
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)


_HIDDEN: dict[str | None, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "sigmoid": lambda Z: 1.0 / (1.0 + np.exp(-Z)),
    "relu": lambda Z: np.maximum(Z, 0.0),
}
