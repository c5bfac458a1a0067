"""service.client without sockets: a fake session answers, the client is checked.

What it sends (body, query, token), what it returns (numpy arrays), how it retries
(bounded, with backoff, only on 502/503/504 and connection errors) and how an error
answer becomes a typed exception carrying the service's code and message.
"""

import io

import numpy as np
import orjson
import pytest
import requests
from requests.structures import CaseInsensitiveDict

from service import client as client_module
from service.client import (
    ApiError,
    BadRequest,
    Boundary,
    Client,
    ConnectionFailed,
    NotFound,
    TooLarge,
    Unauthorized,
    Unavailable,
)


def response(status: int, body: object = None, content: bytes | None = None,
             headers: dict | None = None) -> requests.Response:  # fmt: skip
    answer = requests.Response()
    answer.status_code = status
    answer._content = content if content is not None else orjson.dumps(body)
    answer.headers = CaseInsensitiveDict(headers or {})
    answer.reason = "reason"
    return answer


def error(status: int, code: str, message: str) -> requests.Response:
    return response(status, {"error": {"status": status, "code": code,
                                       "message": message}})  # fmt: skip


class FakeSession:
    """Answers from a script: each item a Response or an exception to raise."""

    def __init__(self, *script: object) -> None:
        self.script = list(script)
        self.calls: list[dict] = []
        self.headers: dict[str, str] = {}

    def request(self, method: str, url: str, **kwargs: object) -> requests.Response:
        self.calls.append({"method": method, "url": url, **kwargs})
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        pass


def make(*script: object, **options: object) -> tuple[Client, FakeSession, list]:
    session = FakeSession(*script)
    sleeps: list[float] = []
    api = Client("http://svc:8000/", session=session, sleep=sleeps.append, **options)
    return api, session, sleeps


PREDICTED = {"model": "moons", "version": 3, "classes": [0, 1], "labels": [1, 0],
             "probabilities": [[0.25, 0.75], [0.875, 0.125]]}  # fmt: skip


def test_predict_sends_the_points_and_returns_arrays():
    api, session, _ = make(response(200, PREDICTED), token="t0ken")
    labels, P = api.predict(np.array([[0.5, 0.25], [1.0, -1.0]]), model="moons",
                            version="production")  # fmt: skip
    assert labels.tolist() == [1, 0] and labels.dtype.kind == "i"
    np.testing.assert_array_equal(P, [[0.25, 0.75], [0.875, 0.125]])
    call = session.calls[0]
    assert (call["method"], call["url"]) == ("POST", "http://svc:8000/predict")
    assert orjson.loads(call["data"]) == {"points": [[0.5, 0.25], [1.0, -1.0]]}
    assert call["params"] == {"model": "moons", "version": "production"}
    assert call["headers"]["Content-Type"] == "application/json"
    assert session.headers["Authorization"] == "Bearer t0ken"


def test_predict_takes_lists_and_string_labels_and_refuses_a_flat_point():
    answer = {**PREDICTED, "labels": ["red", "blue"]}
    api, _, _ = make(response(200, answer))
    labels, _ = api.predict([[1, 2], [3, 4]])
    assert labels.tolist() == ["red", "blue"]
    with pytest.raises(ValueError, match=r"X must be \(n_samples, n_features\)"):
        api.predict([1.0, 2.0])


def test_boundary_in_each_format():
    grid = {"model": "moons", "version": 3, "classes": [0, 1], "x": [0.0, 1.0, 2.0],
            "y": [0.0, 1.0], "labels": [[0, 1, 1], [0, 0, 1]]}  # fmt: skip
    buffer = io.BytesIO()
    np.save(buffer, np.array([[0, 1, 1], [0, 0, 1]], dtype=np.uint8))
    npy = response(200, content=buffer.getvalue())
    api, session, _ = make(response(200, grid), npy, response(200, content=b"\x89PNG"))
    boundary = api.boundary(x_min=0, x_max=2, nx=3, ny=2)
    assert isinstance(boundary, Boundary)
    assert boundary.labels.shape == (2, 3) and boundary.x.tolist() == [0.0, 1.0, 2.0]
    assert session.calls[0]["params"] == {"x_min": 0, "x_max": 2, "nx": 3, "ny": 2,
                                          "format": "json"}  # fmt: skip
    assert api.boundary(format="npy", model="m").tolist() == [[0, 1, 1], [0, 0, 1]]
    assert session.calls[1]["params"] == {"model": "m", "format": "npy"}
    assert api.boundary(format="png") == b"\x89PNG"


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [(400, "invalid_points", BadRequest), (401, "unauthorized", Unauthorized),
     (404, "not_found", NotFound), (413, "too_many_points", TooLarge),
     (415, "unsupported_media_type", ApiError), (500, "internal_error", ApiError)],
)  # fmt: skip
def test_an_error_answer_raises_its_type_with_the_service_code(status, code, kind):
    api, session, sleeps = make(error(status, code, "what was wrong, and what to do"))
    with pytest.raises(kind) as caught:
        api.models()
    assert (caught.value.status, caught.value.code) == (status, code)
    assert caught.value.message == "what was wrong, and what to do"
    assert str(caught.value) == f"{status} {code}: what was wrong, and what to do"
    assert len(session.calls) == 1 and sleeps == []  # never retried


def test_a_gateway_page_and_the_v2_shape_are_errors_too():
    api, _, _ = make(response(404, content=b"<html>nginx</html>"),
                     response(400, {"error": "bad tensor"}))  # fmt: skip
    with pytest.raises(NotFound) as caught:
        api.models()
    assert (caught.value.code, caught.value.message) == (
        "http_error",
        "<html>nginx</html>",
    )
    with pytest.raises(BadRequest, match="bad tensor"):
        api.models()


def test_503_is_retried_with_growing_backoff_then_succeeds(monkeypatch):
    monkeypatch.setattr(client_module.random, "uniform", lambda low, high: high)
    api, session, sleeps = make(
        error(503, "model_unavailable", "no verified version yet"),
        requests.ConnectionError("refused"),
        response(502, content=b"bad gateway"),
        response(200, {"models": []}),
    )
    assert api.models() == {"models": []}
    assert len(session.calls) == 4
    assert sleeps == [0.25, 0.5, 1.0]


def test_retries_are_bounded_and_the_last_answer_is_raised(monkeypatch):
    monkeypatch.setattr(client_module.random, "uniform", lambda low, high: high)
    api, session, sleeps = make(
        *[error(503, "draining", "shutting down")] * 3, retries=2, max_backoff=0.3
    )
    with pytest.raises(Unavailable) as caught:
        api.predict([[0, 0]])
    assert caught.value.code == "draining"
    assert len(session.calls) == 3 and sleeps == [0.25, 0.3]  # capped


def test_retry_after_is_honoured_within_the_cap():
    api, _, sleeps = make(
        response(503, content=b"{}", headers={"Retry-After": "2"}),
        response(503, content=b"{}", headers={"Retry-After": "60"}),
        response(200, {"models": []}),
    )
    api.models()
    assert sleeps == [2.0, 4.0]


def test_connection_errors_end_in_connection_failed():
    api, session, sleeps = make(*[requests.ConnectionError("refused")] * 2, retries=1)
    with pytest.raises(ConnectionFailed, match="no answer after 2 attempts") as caught:
        api.models()
    assert (caught.value.status, caught.value.code) == (0, "connection_failed")
    assert len(session.calls) == 2 and len(sleeps) == 1
    api, _, _ = make(requests.Timeout("slow"), retries=0)
    with pytest.raises(ConnectionFailed):
        api.models()


def test_manifest_paths():
    api, session, _ = make(response(200, {"version": 2}), response(200, {"version": 1}))
    assert api.manifest("moons") == {"version": 2}
    assert api.manifest("moons", 1) == {"version": 1}
    assert [c["url"] for c in session.calls] == [
        "http://svc:8000/models/moons",
        "http://svc:8000/models/moons/versions/1",
    ]
