"""Every shell and Python example of README.md and of docs/api.md, registry.md,
operations.md and network.md runs as written and returns what it says.

Each bash block runs in the state `make serve` leaves on a fresh clone: a registry with
the default model, trained by the command scripts/serve.sh runs, and the service
answering (plus what a page says its examples were recorded against); the docs'
`127.0.0.1:8000` is this test's server, on a free port. A command must exit 0; one
followed by a `# {...}` comment must print that JSON, and a transcript's `$ command`
must print the lines under it (JSON compared as JSON). A Python block runs as a script
in which each value it states (`expr  # 0.975`, or the `# array(...)` numpy prints) is
asserted where it is stated. registry.md's TOML config is read by `train --config`.
The other pages, and where they are checked (each named in OTHER_PAGES):
docs/deploy.md by `make deploy-check` (tests/docs/deploy_page.py, on the images it
builds: tests/docs/test_deploy_page.py here only checks that every command is run
there or listed with a reason); reliability.md by the fault suite; benchmarks.md by
bench/ (minutes each); architecture.md and datasets.md show signatures, a layout and a
file format, no commands.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.docs.examples import (
    Block,
    checked_script,
    code_blocks,
    shell_commands,
    transcript_output,
)
from tests.integration.conftest import Gunicorn

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
# each page, and the commands that make the state its examples were recorded in
DOCS = {
    "README.md": (),
    "docs/api.md": (".venv/bin/python -m trainer train",),  # a second version
    "docs/registry.md": (),
    "docs/operations.md": (),
    "docs/network.md": (),
}
# every other page of docs/, and what checks it instead
OTHER_PAGES = {
    "docs/deploy.md": "make deploy-check runs it (tests/docs/deploy_page.py): its "
    "commands need the images and podman",
    "docs/reliability.md": "the fault suite, tests/faults, runs its attacks",
    "docs/benchmarks.md": "its commands are the benchmarks in bench/, minutes each",
    "docs/architecture.md": "the module map and signatures; no commands or examples",
    "docs/datasets.md": "a CSV layout and the baseline's pinned settings (a fragment); "
    "no commands",
}
BLOCKS = [
    (doc, block) for doc in DOCS for block in code_blocks((ROOT / doc).read_text())
]

# commands the README shows that this test does not run, and who does
NOT_RUN_HERE = {
    "make ": "a make target: `make serve` is this test's server, `make test` is this "
    "run, `make image` and `make deploy-check` run in .ci/run",
    "docker compose ": "Docker Compose v2 is not on this machine: `make deploy-check` "
    "brings the compose stack up with docker-compose against podman",
    "kubectl ": "needs a cluster: `make deploy-check` validates the manifests",
    ".venv/bin/python bench/": "a benchmark (minutes), not a test",
}
# a server started in the foreground: this test starts its own, as make serve does,
# and tests/integration run gunicorn with the same config
FOREGROUND = re.compile(r"(^|\s)(scripts/serve\.sh|\.venv/bin/gunicorn)(\s|$)")
# `VAR=value ... make serve`: the README restarting the service with settings
_SERVE_WITH = re.compile(r"^((?:[A-Z_]+=\S+\s+)+)make serve\s*$")
COMMAND_TIMEOUT = 300


def _blocks(language: str) -> list[tuple[str, Block]]:
    return [(doc, b) for doc, b in BLOCKS if b.language == language]


def _id(case: tuple[str, Block]) -> str:
    return f"{case[0]}:{case[1].first_line}"


def _not_run_here(text: str) -> bool:
    return any(text.startswith(p) for p in NOT_RUN_HERE) or bool(
        FOREGROUND.search(text)
    )


class _Session:
    """A fresh clone's state after `make serve`, in a directory of its own."""

    def __init__(self, home: Path, setup: tuple[str, ...] = ()) -> None:
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
        for command in setup:
            assert self.shell(command).returncode == 0, command
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
@pytest.mark.parametrize("case", _blocks("bash"), ids=_id)
def test_shell_examples_run_as_written(case: tuple[str, Block], tmp_path: Path):
    doc, block = case
    session = _Session(tmp_path / "clone", DOCS[doc])
    try:
        for command in shell_commands(block):
            where = f"{doc} line {command.line}: {command.text.strip()}"
            restart = _SERVE_WITH.match(command.text.strip())
            if restart:
                settings = {}
                for assignment in restart.group(1).split():
                    name, value = assignment.split("=", 1)
                    settings[name] = session.shell(f'printf %s "{value}"').stdout
                session.serve(settings)
                continue
            if _not_run_here(command.text.strip()):
                continue
            result = session.shell(command.text)
            assert result.returncode == 0, f"{where}\n{result.stdout}{result.stderr}"
            if command.expected_json is None:
                continue
            try:
                claimed = json.loads(command.expected_json)
            except ValueError:
                # a transcript's text output, line for line (`...` abridges: shown)
                printed = transcript_output(command)
                if printed is not None:
                    assert result.stdout.rstrip("\n").splitlines() == printed, (
                        f"{where}\nprints\n{result.stdout}the page says\n"
                        + "\n".join(printed)
                    )
                continue
            assert json.loads(result.stdout) == claimed, (
                f"{where}\nprints {result.stdout}\nthe page says "
                f"{command.expected_json}"
            )
    finally:
        session.stop()


@pytest.mark.integration
@pytest.mark.parametrize("case", _blocks("python"), ids=_id)
def test_python_examples_run_and_return_what_they_say(
    case: tuple[str, Block], tmp_path: Path
):
    # in the same state as the shell examples: a client example has a server to call
    doc, block = case
    session = _Session(tmp_path / "clone", DOCS[doc])
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
    for doc, block in _blocks("bash"):
        for command in shell_commands(block):
            text = command.text.strip()
            assert (
                text.startswith(runnable)
                or _SERVE_WITH.match(text)
                or _not_run_here(text)
            ), f"{doc} line {command.line}: {text}"
    # shown, not run: JSON answers, outputs and layouts (no language), the TOML
    # config (read by train --config below), and registry.md's crontab: its lines
    # need /srv, /etc and /var/log of a server and mail(1); the commands they run are
    # these pages' (train --config --json, verify --fix), tests/unit/trainer/test_cli.py
    # checks what cron sees of them (exit codes, one JSON line, one stderr line)
    languages = {b.language for _, b in BLOCKS}
    shown = {"json", "cron", "toml", "text", ""}
    assert languages <= {"bash", "python"} | shown, languages


def test_every_page_in_docs_is_checked_here_or_says_where() -> None:
    pages = {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")}
    assert pages == {d for d in DOCS if d.startswith("docs/")} | set(OTHER_PAGES)


@pytest.mark.integration
def test_the_toml_config_is_what_train_config_accepts(tmp_path: Path) -> None:
    # the page's paths are a server's (/var/lib/scratchnet): the command line wins
    # over the file, so the registry and the data are given here; every other key
    # and value is the page's
    (toml,) = [b for doc, b in BLOCKS if doc == "docs/registry.md" and
               b.language == "toml"]  # fmt: skip
    config = tmp_path / "retrain.toml"
    config.write_text("\n".join(toml.lines) + "\n")
    result = subprocess.run(
        [
            str(PYTHON),
            "-m",
            "trainer",
            "train",
            "--config",
            str(config),
            "--registry",
            str(tmp_path / "models"),
            "--dataset",
            "moons",
            "--json",
            "--print-every",
            "0",
        ],  # fmt: skip
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    published = json.loads(result.stdout)
    assert (published["name"], published["version"]) == ("moons", 1), published
