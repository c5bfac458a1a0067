"""HTTP checks shared by the deployment smoke runs (image and compose).

Standard library only: the smoke scripts run with any python3 beside podman, before
and apart from the project's virtualenv.
"""

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

POINTS = [[0.0, 0.0], [1.0, -0.5], [-1.0, 1.0]]


class Http:
    """A JSON client for one running scratchnet service."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def status(self, path: str) -> int | None:
        """The HTTP status of GET `path`, None while nothing listens."""
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return None

    def header(self, path: str, name: str) -> str | None:
        """Header `name` of the answer to GET `path` (which must be 2xx)."""
        with urllib.request.urlopen(self.base_url + path, timeout=5) as response:
            return response.headers.get(name)

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base_url + path, timeout=10) as response:
            return response.read()

    def get_json(self, path: str) -> dict[str, Any]:
        return json.loads(self.get(path))

    def post_json(self, path: str, payload: object) -> dict[str, Any]:
        request = urllib.request.Request(
            self.base_url + path,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def first_predict(self, timeout: float) -> dict[str, Any]:
        """/predict right after /readyz turned 200, retrying only "no model yet" (503).

        Each gunicorn worker polls the registry on its own. A worker that does not
        serve the model yet looks once before answering 503, but those on-demand looks
        are rate-limited (service.store.CATCH_UP_SECONDS), so for a fraction of a
        second after another worker said ready a 503 is still possible; a client
        retries it, as any client of a 503 should.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.predict()
            except urllib.error.HTTPError as exc:
                if exc.code != 503 or time.monotonic() > deadline:
                    raise
            time.sleep(0.5)

    def predict(self) -> dict[str, Any]:
        """POST /predict with a few points and check the answer's shape."""
        body = self.post_json("/predict", {"points": POINTS})
        assert len(body["labels"]) == len(POINTS), body
        assert all(abs(sum(p) - 1.0) < 1e-6 for p in body["probabilities"]), body
        return body


def wait_for(
    what: str,
    condition: Callable[[], bool],
    timeout: float,
    alive: Callable[[], bool] = lambda: True,
) -> None:
    """Poll `condition` until true; fail at once if `alive` says the server died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (OSError, ValueError, KeyError):
            pass  # a request in flight while the server starts or reloads; ask again
        if not alive():
            raise AssertionError(f"the server died while waiting until {what}")
        time.sleep(0.5)
    raise TimeoutError(f"not within {timeout:.0f}s: {what}")


def say(message: str) -> None:
    print(f"smoke: {message}", flush=True)
