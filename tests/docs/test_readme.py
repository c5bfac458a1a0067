"""Every shell and Python example in README.md runs as written and returns what it says.

Each bash block runs in the state `make serve` leaves on a fresh clone: a registry with
the default model, trained by the command scripts/serve.sh runs, and the service
answering; the README's `127.0.0.1:8000` is this test's server, on a free port. A
command must exit 0, and one followed by a `# {...}` comment must print that JSON. The
Python block runs as a script in which each value the README states (`expr  # 0.975`,
or the `# array(...)` numpy prints) is asserted where it is stated.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.docs.examples import Block, checked_script, code_blocks, shell_commands
from tests.integration.conftest import Gunicorn

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PYTHON = ROOT / ".venv" / "bin" / "python"
BLOCKS = code_blocks(README.read_text())

# commands the README shows that this test does not run, and who does
NOT_RUN_HERE = {
    "make ": "a make target: `make serve` is this test's server, `make test` is this "
    "run, `make image` and `make deploy-check` run in .ci/run",
    "docker compose ": "Docker Compose v2 is not on this machine: `make deploy-check` "
    "brings the compose stack up with docker-compose against podman",
    "kubectl ": "needs a cluster: `make deploy-check` validates the manifests",
    ".venv/bin/python bench/": "a benchmark (minutes), not a test",
}
# `VAR=value ... make serve`: the README restarting the service with settings
_SERVE_WITH = re.compile(r"^((?:[A-Z_]+=\S+\s+)+)make serve\s*$")
COMMAND_TIMEOUT = 300


def _blocks(language: str) -> list[Block]:
    return [b for b in BLOCKS if b.language == language]


class _Session:
    """A fresh clone's state after `make serve`, in a directory of its own."""

    def __init__(self, home: Path) -> None:
        self.home = home
        home.mkdir()
        for shared in (".venv", "data"):
            (home / shared).symlink_to(ROOT / shared)
        self.registry = home / "models"
        self.env = {k: v for k, v in os.environ.items() if k != "SCRATCHNET_REGISTRY"}
        self.server: Gunicorn | None = None
        # what scripts/serve.sh runs on an empty registry
        self.shell(".venv/bin/python -m trainer train --registry models --name moons "
                   "--promote")  # fmt: skip
        self.serve({})

    def serve(self, settings: dict[str, str]) -> None:
        self.stop()
        work = self.home.parent / f"server-{len(list(self.home.parent.iterdir()))}"
        work.mkdir()
        self.server = Gunicorn(work, self.registry, workers=1, **settings)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def shell(
        self, command: str, script: Path | None = None
    ) -> subprocess.CompletedProcess:
        """Run a command here; the README's address is this session's server (in
        `script` too, a Python file the command runs)."""
        if self.server is not None:
            host = self.server.url.removeprefix("http://")
            command = command.replace("127.0.0.1:8000", host)
            if script is not None:
                script.write_text(script.read_text().replace("127.0.0.1:8000", host))
        return subprocess.run(
            ["bash", "-euo", "pipefail", "-c", command],
            cwd=self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )


@pytest.mark.integration
@pytest.mark.parametrize(
    "block", _blocks("bash"), ids=lambda b: f"README.md:{b.first_line}"
)
def test_shell_examples_run_as_written(block: Block, tmp_path: Path) -> None:
    session = _Session(tmp_path / "clone")
    try:
        for command in shell_commands(block):
            where = f"README.md line {command.line}: {command.text.strip()}"
            restart = _SERVE_WITH.match(command.text.strip())
            if restart:
                settings = {}
                for assignment in restart.group(1).split():
                    name, value = assignment.split("=", 1)
                    settings[name] = session.shell(f'printf %s "{value}"').stdout
                session.serve(settings)
                continue
            if any(command.text.startswith(prefix) for prefix in NOT_RUN_HERE):
                continue
            result = session.shell(command.text)
            assert result.returncode == 0, f"{where}\n{result.stdout}{result.stderr}"
            if command.expected_json is not None:
                try:
                    claimed = json.loads(command.expected_json)
                except ValueError:
                    continue  # an abridged answer (`...`): shown, not claimed
                assert json.loads(result.stdout) == claimed, (
                    f"{where}\nprints {result.stdout}\nthe README says "
                    f"{command.expected_json}"
                )
    finally:
        session.stop()


@pytest.mark.integration
@pytest.mark.parametrize(
    "block", _blocks("python"), ids=lambda b: f"README.md:{b.first_line}"
)
def test_python_examples_run_and_return_what_they_say(block: Block, tmp_path: Path):
    # in the same state as the shell examples: a client example has a server to call
    session = _Session(tmp_path / "clone")
    try:
        script = tmp_path / "example.py"
        script.write_text(checked_script(block))
        result = session.shell(f"{PYTHON} {script}", script=script)
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        session.stop()


def test_every_command_the_readme_shows_is_run_or_said_why_not() -> None:
    # a new kind of command must be run above, or given a reason in NOT_RUN_HERE
    runnable = (".venv/bin/python -m trainer", "curl ", "echo ", "printf ")
    for block in _blocks("bash"):
        for command in shell_commands(block):
            text = command.text.strip()
            assert (
                text.startswith(runnable)
                or _SERVE_WITH.match(text)
                or any(text.startswith(p) for p in NOT_RUN_HERE)
            ), f"README.md line {command.line}: {text}"
    assert {b.language for b in BLOCKS} <= {"bash", "python", ""}
