"""scikit-learn's own conformance checks, run on ScratchNetClassifier.

All of them run, none skipped: `check_array_api_input` (with numpy as the namespace)
needs scipy's array-API mode, which scipy reads once at import from SCIPY_ARRAY_API,
so it runs in a fresh interpreter that sets it; the rest run here, in the mode the
trainer runs in.
"""

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.utils.estimator_checks import estimator_checks_generator

from trainer.nn.classifier import ScratchNetClassifier

ROOT = Path(__file__).resolve().parents[3]
# few epochs keep ~60 checks quick; lr 0.1 still learns the checks' easy blobs
SETTINGS = "hidden_layer_sizes=(8,), learning_rate=0.1, max_iter=50"
CHECKED = ScratchNetClassifier(hidden_layer_sizes=(8,), learning_rate=0.1, max_iter=50)
IN_A_FRESH_INTERPRETER = "check_array_api_input"


def _name(check: object) -> str:
    function = check.func if isinstance(check, functools.partial) else check
    return function.__name__


CHECKS = [
    check
    for _, check in estimator_checks_generator(CHECKED)
    if _name(check) != IN_A_FRESH_INTERPRETER
]


@pytest.mark.parametrize("check", CHECKS, ids=_name)
def test_scikit_learn_estimator_checks(check):
    check(CHECKED)


def test_the_array_api_check_with_scipy_in_array_api_mode():
    script = f"""
from sklearn.utils.estimator_checks import estimator_checks_generator
from trainer.nn.classifier import ScratchNetClassifier
estimator = ScratchNetClassifier({SETTINGS})
checks = [c for _, c in estimator_checks_generator(estimator)
          if getattr(c, "func", c).__name__ == {IN_A_FRESH_INTERPRETER!r}]
assert len(checks) == 1, checks
checks[0](estimator)
print("checked")
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, "SCIPY_ARRAY_API": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "checked"
