"""The service with its per-request duties taken away, one more at a time.

For `bench/serve_floor.py` only: each variant is `service.create_app()` with some of
its work replaced by a constant, chosen by `SCRATCHNET_FLOOR_VARIANT` (read at import,
in each gunicorn worker). The answers stay byte-for-byte what the service sends for
the benchmark's one-point body, so wrk, the network and gunicorn do the same work for
every variant and only the removed duty's cost goes away. Never used by the service.

    gunicorn -c deploy/gunicorn.conf.py --pythonpath bench 'floor_apps:create_app()'
"""

import os

import numpy as np

from service import create_app as create_service
from service import fastpath, handlers, instrument, metrics, runtime

# cumulative: each variant drops what the one before it dropped, and one more duty
VARIANTS = (
    "service",
    "no forward pass",
    "no access line",
    "no metrics",
    "no handler",
)


def create_app() -> object:
    variant = os.environ.get("SCRATCHNET_FLOOR_VARIANT", "service")
    if variant not in VARIANTS:
        raise SystemExit(f"SCRATCHNET_FLOOR_VARIANT must be one of {VARIANTS}")
    removed = VARIANTS[1 : VARIANTS.index(variant) + 1]
    if "no forward pass" in removed:
        _without_forward_pass()
    if "no access line" in removed:
        instrument.access_line = lambda fields: None
    if "no metrics" in removed:
        # one module object: instrument and handlers look these up at each call
        metrics.observe_request = lambda *args: None
        metrics.count_points = lambda *args: None
    if "no handler" in removed:
        _without_handler()
    return create_service()


def _without_forward_pass() -> None:
    # the first answer of each model version, then that answer for every request:
    # validation and serialisation still run on the real arrays
    answers: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
    forward = runtime.ServedModel.predict

    def predict(self: runtime.ServedModel, X: np.ndarray) -> tuple:
        key = (self.name, self.version)
        if key not in answers:
            answers[key] = forward(self, X)
        return answers[key]

    runtime.ServedModel.predict = predict


def _without_handler() -> None:
    # the hot route's handler replaced by its first reply: what is left is the WSGI
    # layers (request id, timing, gzip check, routing), Flask's __call__ and gunicorn
    first: list[handlers.Reply] = []
    predict = handlers.predict

    def constant(environ: dict, context: handlers.Context) -> handlers.Reply:
        if not first:
            first.append(predict(environ, context))
        environ["wsgi.input"].read()
        return first[0]

    fastpath_routes = fastpath.FastPath.__init__

    def init(self: fastpath.FastPath, *args: object) -> None:
        fastpath_routes(self, *args)
        self._routes[("POST", "/predict")] = ("/predict", constant, True)

    fastpath.FastPath.__init__ = init
