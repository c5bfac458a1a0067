"""The registry's read-only commands answer without importing scikit-learn.

Its import takes about a second (scipy, and pandas when installed); `list`, `show` and
`verify` read manifests and weights only, so a user or a script polling them should
not wait for it.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import registry_samples as samples
from trainer.registry import Registry

ROOT = Path(__file__).resolve().parents[3]
PROBE = """
import sys
from trainer.cli.main import main
code = main(sys.argv[1:])
print("sklearn" in sys.modules, code)
"""


@pytest.mark.parametrize("command", [["list"], ["show", "--name", "m"], ["verify"]])
def test_read_only_commands_do_not_import_scikit_learn(tmp_path, command):
    Registry(tmp_path).publish("m", *samples.layers(seed=0), samples.fields())
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *command, "--registry", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False 0", done.stdout
