"""The import rules of docs/architecture.md, checked in a fresh interpreter.

A stray import is invisible in review and only costs later (a scikit-learn import on the
serving path is ~0.5 s and 100 MB per worker), so the rules are enforced here: each case
imports one entry point in a new process and lists the top-level packages it pulled in.
"""

import json
import subprocess
import sys

import pytest

# What must never be imported by the serving path: the heavy training libraries, the
# progress bar and the trainer's command-line application.
SERVING_FORBIDDEN = (
    "sklearn",
    "scipy",
    "matplotlib",
    "tqdm",
    "joblib",
    "trainer.cli",
    "trainer.data",
    "trainer.nn.classifier",
    "trainer.nn.epochs",
)
NUMPY_ONLY_FORBIDDEN = (*SERVING_FORBIDDEN, "flask", "werkzeug", "service")


def _imported_after(statement: str) -> set[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout))


def _offenders(modules: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        name
        for name in modules
        if any(name == bad or name.startswith(bad + ".") for bad in forbidden)
    )


@pytest.mark.parametrize(
    "statement",
    [
        "import service; service.create_app",
        "from service import create_app; create_app",
    ],
)
def test_serving_path_imports_no_training_code(statement: str) -> None:
    assert _offenders(_imported_after(statement), SERVING_FORBIDDEN) == []


@pytest.mark.parametrize(
    "module",
    [
        "trainer.nn.network",
        "trainer.nn.activations",
        "trainer.nn.parameters",
        "trainer.nn.backprop",
        "trainer.nn.optimizers",
        "trainer.nn.hyperparameters",
        "trainer.registry",
        "trainer.registry.promotion",
        "trainer.errors",
    ],
)
def test_numpy_only_modules_stay_numpy_only(module: str) -> None:
    assert _offenders(_imported_after(f"import {module}"), NUMPY_ONLY_FORBIDDEN) == []


@pytest.mark.parametrize(
    "module", ["trainer.cli.main", "trainer.cli.training", "trainer.nn.classifier"]
)
def test_trainer_never_imports_the_service(module: str) -> None:
    modules = _imported_after(f"import {module}")
    assert _offenders(modules, ("service", "flask", "werkzeug")) == []


@pytest.mark.parametrize(
    "statement",
    [
        "import service; service.create_app",
        "import trainer.cli.main",
        "from trainer.registry import Registry; Registry('models').models()",
        "from trainer.registry.registry import open_registry; open_registry('m')",
    ],
)
def test_boto3_is_imported_only_for_s3_registries(statement: str) -> None:
    assert _offenders(_imported_after(statement), ("boto3", "botocore")) == []


def test_the_serving_path_never_imports_the_client() -> None:
    # service.client is for callers: a worker must not pay for requests (~40 ms)
    modules = _imported_after("import service; service.create_app")
    assert _offenders(modules, ("requests", "service.client")) == []
