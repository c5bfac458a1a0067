"""A small Python client for the service: numpy in, numpy out, the API's errors typed.

`Client(url, token=None)` calls /predict, /boundary and /models over one keep-alive
session, retries what is worth retrying (503: no model ready yet, or draining; a
refused or dropped connection) with a bounded exponential backoff, and raises an
`ApiError` subclass carrying the service's own `status`, `code` and `message`.
Not imported by the service itself: only a caller pays for `requests`.
"""

import io
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import requests

Array = np.ndarray

RETRY_STATUSES = frozenset({502, 503, 504})


class ApiError(Exception):
    """An error answer of the service: `status`, its `code` and `message`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class BadRequest(ApiError):
    """400: the points or grid fields were refused (the message says why)."""


class Unauthorized(ApiError):
    """401: a bearer token is needed, or the one given is not valid."""


class NotFound(ApiError):
    """404: an unknown model, version or route."""


class TooLarge(ApiError):
    """413: too many points, grid cells or body bytes for the service's limits."""


class Unavailable(ApiError):
    """503 (or a gateway's 502/504) still, after every retry: no model ready."""


class ConnectionFailed(ApiError):
    """No answer at all after every retry: refused, reset, or timed out."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    404: NotFound,
    413: TooLarge,
    502: Unavailable,
    503: Unavailable,
    504: Unavailable,
}


@dataclass(frozen=True)
class Boundary:
    """A decision-boundary grid: `labels[j, i]` is the class at (`x[i]`, `y[j]`)."""

    model: str
    version: int
    classes: list
    x: Array  # (nx,)
    y: Array  # (ny,)
    labels: Array  # (ny, nx)


class Client:
    """The service at `url` (e.g. http://127.0.0.1:8000), optionally with a token.

    `retries` extra attempts (so 1 + retries in all) on 502/503/504 and on connection
    errors, waiting `backoff * 2**attempt` seconds (with jitter, at most
    `max_backoff`, or the server's Retry-After) in between; `timeout` is per attempt.
    Every call is safe to repeat: /predict and /boundary compute, nothing is written.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.25,
        max_backoff: float = 4.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if retries < 0 or backoff < 0:
            raise ValueError("retries and backoff must be >= 0")
        self.url = url.rstrip("/")
        self.timeout, self.retries = timeout, retries
        self.backoff, self.max_backoff = backoff, max_backoff
        self.session = session if session is not None else requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self._sleep = sleep

    def predict(
        self,
        X: Array | Sequence[Sequence[float]],
        model: str | None = None,
        version: int | str | None = None,
    ) -> tuple[Array, Array]:
        """Labels (n_samples,) and probabilities P (n_samples, n_classes) for the
        points X (n_samples, n_features); columns of P follow the model's classes."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must be (n_samples, n_features), got shape {X.shape}")
        body = orjson.dumps({"points": X}, option=orjson.OPT_SERIALIZE_NUMPY)
        answer = self._json(
            "POST",
            "/predict",
            params=_model_choice(model, version),
            data=body,
            headers={"Content-Type": "application/json"},
        )
        probabilities = np.array(answer["probabilities"], dtype=np.float64)
        return np.array(answer["labels"]), probabilities.reshape(len(X), -1)

    def boundary(
        self,
        model: str | None = None,
        version: int | str | None = None,
        *,
        x_min: float | None = None,
        x_max: float | None = None,
        y_min: float | None = None,
        y_max: float | None = None,
        nx: int | None = None,
        ny: int | None = None,
        format: str = "json",
    ) -> Boundary | Array | bytes:
        """The decision-boundary grid: a `Boundary` (json), the class indices as an
        (ny, nx) array (npy), or the image's bytes (png). Unset bounds: the service's
        default (the training data's extent plus 0.5)."""
        grid = {"x_min": x_min, "x_max": x_max, "y_min": y_min, "y_max": y_max,
                "nx": nx, "ny": ny, "format": format}  # fmt: skip
        params = {**_model_choice(model, version),
                  **{k: v for k, v in grid.items() if v is not None}}  # fmt: skip
        response = self._request("GET", "/boundary", params=params)
        if format == "png":
            return response.content
        if format == "npy":
            return np.load(io.BytesIO(response.content), allow_pickle=False)
        answer = orjson.loads(response.content)
        return Boundary(
            model=answer["model"],
            version=answer["version"],
            classes=answer["classes"],
            x=np.array(answer["x"], dtype=np.float64),
            y=np.array(answer["y"], dtype=np.float64),
            labels=np.array(answer["labels"]),
        )

    def models(self) -> dict[str, Any]:
        """GET /models: every model with its versions, aliases and served version."""
        return self._json("GET", "/models")

    def manifest(self, model: str, version: int | str | None = None) -> dict:
        """A version's manifest (the served one by default)."""
        path = f"/models/{model}" + ("" if version is None else f"/versions/{version}")
        return self._json("GET", path)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- one request, retried ----------------------------------------------------

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return orjson.loads(self._request(method, path, **kwargs).content)

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self.session.request(
                    method, self.url + path, timeout=self.timeout, **kwargs
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if last:
                    raise ConnectionFailed(
                        0,
                        "connection_failed",
                        f"{method} {self.url}{path}: no answer after "
                        f"{attempt + 1} attempts: {exc}",
                    ) from exc
                self._sleep(self._delay(attempt, None))
                continue
            if response.status_code in RETRY_STATUSES and not last:
                self._sleep(self._delay(attempt, response.headers.get("Retry-After")))
                continue
            if response.status_code >= 400:
                raise _error(response)
            return response
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None and retry_after.strip().isdigit():
            return min(float(retry_after), self.max_backoff)
        # full jitter: clients refused together do not all come back together
        return random.uniform(0, min(self.backoff * 2**attempt, self.max_backoff))


def _model_choice(model: str | None, version: int | str | None) -> dict[str, str]:
    choice = {}
    if model is not None:
        choice["model"] = model
    if version is not None:
        choice["version"] = str(version)
    return choice


def _error(response: requests.Response) -> ApiError:
    """The service's error shape, or a gateway's page, as the matching ApiError."""
    status = response.status_code
    kind = _BY_STATUS.get(status, ApiError)
    try:
        error = orjson.loads(response.content)["error"]
        if isinstance(error, dict):
            return kind(status, str(error["code"]), str(error["message"]))
        return kind(status, "error", str(error))  # the V2 routes' {"error": "..."}
    except (orjson.JSONDecodeError, KeyError, TypeError):
        text = response.text.strip()[:200] or response.reason or "no body"
        return kind(status, "http_error", text)
