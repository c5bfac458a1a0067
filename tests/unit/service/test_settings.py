"""Settings from the environment, and what the serving path may import."""

import subprocess
import sys
from pathlib import Path

import pytest

from service import create_app
from service.settings import Settings
from tests.helpers.registry_samples import publish_network
from trainer.registry import Registry


def test_defaults_are_the_documented_ones():
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.registry == Path("models") and settings.default_model == "moons"
    assert settings.poll_seconds == 2.0
    assert (settings.max_points, settings.max_grid_cells) == (100_000, 4_000_000)
    assert settings.max_body_bytes == 16 * 1024 * 1024


def test_every_variable_is_read():
    settings = Settings.from_env(
        {
            "SCRATCHNET_REGISTRY": "/srv/models",
            "SCRATCHNET_DEFAULT_MODEL": "circles",
            "SCRATCHNET_POLL_SECONDS": "0.5",
            "SCRATCHNET_MAX_POINTS": "10",
            "SCRATCHNET_MAX_GRID_CELLS": "400",
            "SCRATCHNET_MAX_BODY_BYTES": "1000",
            "SCRATCHNET_MAX_ABS_FEATURE": "1e6",
            "SCRATCHNET_VERSION_CACHE": "3",
            "SCRATCHNET_BOUNDARY_CACHE_MB": "1.5",
            "SCRATCHNET_LOG_LEVEL": "debug",
        }
    )
    assert settings == Settings(
        registry=Path("/srv/models"),
        default_model="circles",
        poll_seconds=0.5,
        max_points=10,
        max_grid_cells=400,
        max_body_bytes=1000,
        max_abs_feature=1e6,
        version_cache_size=3,
        boundary_cache_bytes=1572864,
        log_level="DEBUG",
    )


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("SCRATCHNET_MAX_POINTS", "many", "SCRATCHNET_MAX_POINTS='many' is not valid"),
        ("SCRATCHNET_MAX_POINTS", "0", "SCRATCHNET_MAX_POINTS must be >= 1"),
        ("SCRATCHNET_POLL_SECONDS", "-1", "SCRATCHNET_POLL_SECONDS must be >= 0"),
        ("SCRATCHNET_POLL_SECONDS", "nan", "SCRATCHNET_POLL_SECONDS must be >= 0"),
        ("SCRATCHNET_LOG_LEVEL", "loud", "use DEBUG, INFO"),
    ],
)
def test_bad_values_fail_at_start_with_the_variable_named(variable, value, words):
    with pytest.raises(ValueError, match=words):
        Settings.from_env({variable: value})


def test_the_serving_path_never_imports_sklearn_or_matplotlib(tmp_path):
    publish_network(Registry(tmp_path), "moons")
    code = (
        "import sys\n"
        "from service import create_app\n"
        "from service.settings import Settings\n"
        f"app = create_app(Settings(registry={str(tmp_path)!r}, poll_seconds=0))\n"
        "client = app.test_client()\n"
        "assert client.get('/boundary?format=png').status_code == 200\n"
        "assert client.post('/predict', json={'points': [[0, 1]]}).status_code == 200\n"
        "client.get('/metrics')\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sklearn', 'matplotlib', 'scipy', 'joblib', 'PIL'))\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "HEAVY=\n" in result.stdout


def test_readiness_fails_while_the_draining_file_exists(tmp_path):

    registry = Registry(tmp_path / "models")
    publish_network(registry, "moons", seed=1)
    draining = tmp_path / "draining"
    client = create_app(
        Settings(registry=registry.root, poll_seconds=0, draining_file=draining)
    ).test_client()
    assert client.get("/readyz").status_code == 200
    draining.touch()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "draining"
    # everything else is still served through the drain period
    assert client.post("/predict", json={"points": [[0, 0]]}).status_code == 200
    assert client.get("/healthz").status_code == 200
