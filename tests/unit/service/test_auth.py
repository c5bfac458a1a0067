"""Bearer tokens: who passes, what a refusal looks like, and rotation of the file."""

import json
import logging
import os

import pytest

from service import create_app
from service.auth import Authenticated, TokenFile, TokenFileError
from service.openapi import document
from service.settings import Settings
from tests.helpers.registry_samples import publish_network
from trainer.registry import Registry


def _app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"through"]


def call(app, path: str, authorization: str | None = None):
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    if authorization is not None:
        environ["HTTP_AUTHORIZATION"] = authorization
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"] = int(status[:3])
        seen["headers"] = dict(headers)

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


@pytest.fixture
def token_path(tmp_path):
    path = tmp_path / "tokens"
    path.write_text("# clients\nalpha-token\n\n  beta-token  \n")
    return path


@pytest.fixture
def app(token_path):
    return Authenticated(_app, TokenFile(token_path, recheck_seconds=0))


@pytest.mark.parametrize(
    "path",
    [
        "/healthz",
        "/readyz",
        "/metrics",
        "/v2/health/live",
        "/v2/health/ready",
        # the explorer page and its assets: no model or data in them, and a browser
        # cannot send a token with a navigation (the page sends it with API calls)
        "/",
        "/explorer/explorer.js",
        "/explorer/explorer.css",
        "/explorer/api.js",
    ],
)
def test_probes_and_metrics_need_no_token(app, path):
    assert call(app, path)[0] == 200


@pytest.mark.parametrize(
    "path",
    [
        "/predict",
        "/boundary",
        "/models",
        "/models/moons/versions/1/data",
        "/openapi.json",
        "/explorer",
        "/nowhere",
    ],
)
def test_every_other_route_needs_a_token(app, path):
    status, headers, body = call(app, path)
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Bearer realm="scratchnet"'
    assert headers["Content-Type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["status"] == 401 and error["code"] == "unauthorized"
    assert "Authorization: Bearer" in error["message"]


@pytest.mark.parametrize("token", ["alpha-token", "beta-token"])
def test_a_listed_token_passes(app, token):
    assert call(app, "/predict", f"Bearer {token}") == (
        200,
        {"Content-Type": "text/plain"},
        b"through",
    )
    assert call(app, "/predict", f"bearer {token}")[0] == 200


@pytest.mark.parametrize(
    "header",
    [
        "Bearer alpha",
        "Bearer alpha-token-x",
        "Bearer # clients",
        "Bearer beta-token  x",
    ],
)
def test_a_wrong_token_is_refused_as_invalid(app, header):
    status, headers, _ = call(app, "/predict", header)
    assert status == 401
    assert 'error="invalid_token"' in headers["WWW-Authenticate"]


@pytest.mark.parametrize("header", ["alpha-token", "Basic YWxwaGE6eA==", "Bearer ", ""])
def test_other_schemes_and_empty_tokens_are_refused(app, header):
    assert call(app, "/predict", header)[0] == 401


def test_v2_routes_refuse_in_the_protocols_error_shape(app):
    status, _, body = call(app, "/v2/models/moons/infer")
    assert status == 401
    assert isinstance(json.loads(body)["error"], str)


def test_a_rotated_file_takes_effect_without_a_restart(app, token_path):
    assert call(app, "/predict", "Bearer alpha-token")[0] == 200
    replacement = token_path.with_name("tokens.new")
    replacement.write_text("gamma-token\n")
    os.replace(replacement, token_path)
    assert call(app, "/predict", "Bearer alpha-token")[0] == 401
    assert call(app, "/predict", "Bearer gamma-token")[0] == 200


def test_a_file_that_disappears_keeps_the_last_tokens(app, token_path, caplog):
    token_path.unlink()
    with caplog.at_level(logging.ERROR, logger="scratchnet.service"):
        assert call(app, "/predict", "Bearer alpha-token")[0] == 200
    assert "unreadable" in caplog.text


def test_the_file_is_looked_at_only_every_recheck_interval(token_path):
    app = Authenticated(_app, TokenFile(token_path, recheck_seconds=3600))
    token_path.write_text("gamma-token\n")
    assert call(app, "/predict", "Bearer alpha-token")[0] == 200


def test_a_missing_file_at_start_is_an_error(tmp_path):
    with pytest.raises(TokenFileError, match="cannot be read"):
        TokenFile(tmp_path / "absent")


def test_an_empty_file_refuses_everyone_and_says_so(tmp_path, caplog):
    path = tmp_path / "tokens"
    path.write_text("# none yet\n")
    with caplog.at_level(logging.WARNING, logger="scratchnet.service"):
        app = Authenticated(_app, TokenFile(path))
    assert "holds no token" in caplog.text
    assert call(app, "/predict", "Bearer # none yet")[0] == 401


def test_tokens_are_never_logged(app, token_path, caplog):
    with caplog.at_level(logging.DEBUG):
        call(app, "/predict", "Bearer wrong-secret")
        call(app, "/predict", "Bearer alpha-token")
        token_path.write_text("delta-secret\n")
        call(app, "/predict", "Bearer delta-secret")
        token_path.unlink()
        call(app, "/predict", "Bearer delta-secret")
    for secret in ("wrong-secret", "alpha-token", "delta-secret"):
        assert secret not in caplog.text


# --- wired into the app ------------------------------------------------------------


@pytest.fixture(scope="module")
def secured_client(tmp_path_factory):

    root = tmp_path_factory.mktemp("models")
    publish_network(Registry(root), "moons", seed=1)
    tokens = root.parent / "tokens"
    tokens.write_text("client-token\n")
    settings = Settings(registry=root, poll_seconds=0, api_tokens_file=tokens)
    return create_app(settings).test_client()


def test_the_app_refuses_a_prediction_without_a_token(secured_client):
    response = secured_client.post("/predict", json={"points": [[0.0, 0.0]]})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_the_app_answers_a_prediction_with_a_token(secured_client):
    response = secured_client.post(
        "/predict",
        json={"points": [[0.0, 0.0]]},
        headers={"Authorization": "Bearer client-token"},
    )
    assert response.status_code == 200
    assert len(response.get_json()["labels"]) == 1


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_the_app_leaves_probes_and_metrics_open(secured_client, path):
    assert secured_client.get(path).status_code == 200


def test_the_document_says_which_routes_need_a_token(secured_client):
    response = secured_client.get(
        "/openapi.json", headers={"Authorization": "Bearer client-token"}
    )
    spec = response.get_json()
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert spec["paths"]["/predict"]["post"]["security"] == [{"bearer": []}]
    assert "401" in spec["paths"]["/models"]["get"]["responses"]
    assert "security" not in spec["paths"]["/healthz"]["get"]


def test_without_a_token_file_the_document_has_no_security(tmp_path):

    spec = document(Settings(registry=tmp_path))
    assert "securitySchemes" not in spec["components"]
    assert "401" not in spec["paths"]["/predict"]["post"]["responses"]
