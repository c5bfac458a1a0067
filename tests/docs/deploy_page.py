"""docs/deploy.md's shell commands, run as written wherever this machine can run them.

A step of `make deploy-check` (scripts/deploy-check.sh), after the images it builds:
the page's bash blocks run in order in one bash session, in a copy of the repository,
as a reader pastes them (the page's own setup included: podman-env.sh, /run/podman).
What cannot run here (a Kubernetes cluster, Docker, a registry to push to) is listed
with the reason and what validates it instead; an unclassified command is an error.

usage: .venv/bin/python -m tests.docs.deploy_page [--list]
"""

import argparse
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.docs.examples import code_blocks, shell_commands

ROOT = Path(__file__).resolve().parents[2]
PAGE = "docs/deploy.md"
# the images the page names, built by deploy-check's build step (make image)
IMAGES = (
    "localhost/scratchnet:local",
    "localhost/nginx-unprivileged:local",
    "localhost/seaweedfs:local",
)
PODMAN_SOCKET = Path("/run/podman/podman.sock")
PROBE_SECONDS = 180  # a /readyz probe: the page says it turns 200 after the seed
FOLLOW_SECONDS = 8  # a `logs -f` runs this long, then is stopped as Ctrl-C would
SCRIPT_TIMEOUT = 600  # it takes about a minute

_CLUSTER = (
    "needs a Kubernetes API server (none can run here: no kind, k3s or minikube); "
    "deploy-check validates what it applies: kubectl kustomize of deploy/k8s and "
    "deploy/overlays/*, kubernetes-validate --strict (1.30 and newest), yamllint, "
    "checkov"
)


@dataclass(frozen=True)
class Rule:
    pattern: str  # a regular expression searched in the command's text
    how: str  # run | probe (retried until it succeeds) | follow (runs a while) | skip
    reason: str = ""  # skip: why not here, and what proves it instead


# first match wins
RULES = (
    Rule(
        r"^make image\b",
        "skip",
        "deploy-check's build step has just run it (make image is "
        "scripts/build-image.sh); a second build would only add time",
    ),
    Rule(
        r"^docker (build|push)\b",
        "skip",
        "needs a Docker Engine (none here: podman stands in) and, to push, a registry; "
        "make image builds the same deploy/Dockerfile with podman",
    ),
    Rule(
        r"^docker compose ",
        "skip",
        "Docker Compose v2 is not installed here; the podman route's docker-compose "
        "(v1) commands on the same file run below, and compose_smoke.py proves the "
        "stack",
    ),
    Rule(
        r"^cd deploy/k8s && kustomize edit ",
        "skip",
        "rewrites deploy/k8s/kustomization.yaml for your registry, with the standalone "
        "kustomize (not installed; kubectl's built-in one only renders); deploy-check "
        "renders and validates the kustomization",
    ),
    Rule(r"^kubectl kustomize ", "run"),
    Rule(r"^kubectl ", "skip", _CLUSTER),
    Rule(
        r"Authorization: Bearer \$\(head -n 1 tokens\)",
        "skip",
        "a request through the cluster's kubectl port-forward; bearer tokens are "
        "tested against gunicorn (tests/integration/test_client.py, "
        "tests/unit/service/test_auth.py)",
    ),
    Rule(r"\slogs -f\s", "follow"),
    Rule(r"^curl .*/readyz", "probe"),
    Rule(
        r"^(\. scripts/lib/podman-env\.sh|mkdir -p /run/podman|podman |export "
        r"|docker-compose |curl |python3 -c |cat > |until \[ -S )",
        "run",
    ),
)


@dataclass(frozen=True)
class Step:
    line: int
    text: str
    rule: Rule


def plan(markdown: str) -> list[Step]:
    """Every command of the page's bash blocks with the rule it falls under."""
    steps = []
    for block in code_blocks(markdown):
        if block.language != "bash":
            continue
        for command in shell_commands(block):
            text = command.text.strip()
            rule = next((r for r in RULES if re.search(r.pattern, text)), None)
            if rule is None:
                raise ValueError(
                    f"{PAGE} line {command.line}: no rule in tests/docs/deploy_page.py "
                    f"says whether to run this: {text}"
                )
            steps.append(Step(command.line, text, rule))
    return steps


def script(steps: list[Step], port: int) -> str:
    """One bash session running the steps in order; it exits 1 at the first failure,
    naming the page's line. The page's 127.0.0.1:8000 is `port` (a free one)."""
    parts = [_PRELUDE]
    for step in steps:
        if step.rule.how == "skip":
            continue
        text = step.text.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        where = f"{PAGE} line {step.line}"
        parts.append(f"__step {shlex.quote(where)} {shlex.quote(text)}")
        if step.rule.how == "run" and text.endswith("&"):
            parts.append(f"{{ {text}\n}}")  # in the background: its output as it comes
        elif step.rule.how == "run":
            # the output's tail only (kubectl kustomize prints hundreds of lines); no
            # subshell, so what the command exports or sources stays for the next
            parts.append(
                f'{{ {text}\n}} >"$__out" 2>&1 || __fail {shlex.quote(where)} $?\n'
                "__tail 15"
            )
        elif step.rule.how == "probe":
            parts.append(
                f"__deadline=$((SECONDS + {PROBE_SECONDS}))\n"
                f"until {{ {text}\n}}; do\n"
                f"    ((SECONDS < __deadline)) || __fail {shlex.quote(where)} "
                f"'still failing after {PROBE_SECONDS} s'\n"
                "    echo; sleep 2\ndone\necho"
            )
        elif step.rule.how == "follow":
            parts.append(
                f'{{ timeout {FOLLOW_SECONDS} {text}\n}} >"$__out" 2>&1\n'
                '__rc=$?\ntail -n 5 "$__out"\n'
                "[[ $__rc == 0 || $__rc == 124 ]] || __fail "
                f"{shlex.quote(where)} $__rc\n"
                f'[[ -s "$__out" ]] || __fail {shlex.quote(where)} "printed nothing"'
            )
    parts.append("echo; echo 'deploy-page: every runnable command ran'")
    return "\n".join(parts) + "\n"


_PRELUDE = """\
set -o pipefail
__out="$(mktemp)"
__step() { printf '\\n--> %s\\n%s\\n' "$1" "$2"; }
__tail() {
    (($(wc -l <"$__out") > $1)) && echo "[... $(($(wc -l <"$__out") - $1)) lines]"
    tail -n "$1" "$__out"
}
__fail() {
    [[ -s "$__out" ]] && tail -n 60 "$__out" >&2
    printf '\\ndeploy-page: FAILED at %s (%s)\\n' "$1" "$2" >&2
    exit 1
}
# what the page starts in the background (podman's API) ends with the session
trap 'jobs -p | xargs -r kill 2>/dev/null; wait; rm -f "$__out"' EXIT
"""


def report(steps: list[Step]) -> str:
    """A line per command: how it ran, or why not and what proves it instead."""
    lines, last_reason = [], ""
    for step in steps:
        first = step.text.splitlines()[0]
        if step.rule.how != "skip":
            lines.append(f"  line {step.line}: {step.rule.how}: {first}")
            continue
        lines.append(f"  line {step.line}: NOT RUN HERE: {first}")
        same = step.rule.reason == last_reason
        lines.append(f"      why: {'as above' if same else step.rule.reason}")
        last_reason = step.rule.reason
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print the plan only")
    args = parser.parse_args()
    steps = plan((ROOT / PAGE).read_text())
    if args.list:
        print(report(steps))
        return 0
    resources = _Resources(steps)
    problem = resources.refusal()
    if problem:
        print(f"deploy-page: {problem}", file=sys.stderr)
        return 1
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="scratchnet-deploy-page-") as tmp:
        copy = Path(tmp) / "scratchnet"
        # a copy: the page writes files (tokens, credentials) at the repository root
        shutil.copytree(ROOT, copy, ignore=_IGNORED, symlinks=True)
        curl_home = Path(tmp) / "curl"
        curl_home.mkdir()
        # curl -s says nothing about a 503 and exits 0: here an HTTP error fails it
        (curl_home / ".curlrc").write_text("fail-with-body\n")
        port = _free_port()
        print(f"deploy-page: {PAGE} in {copy}, its 127.0.0.1:8000 is :{port}")
        session = subprocess.Popen(
            ["bash", "-c", script(steps, port)],
            cwd=copy,
            env=_environment(curl_home, port),
            start_new_session=True,
        )
        try:
            status = session.wait(timeout=SCRIPT_TIMEOUT)
        except subprocess.TimeoutExpired:
            print(f"deploy-page: FAILED: over {SCRIPT_TIMEOUT} s", file=sys.stderr)
            status = 1
        finally:
            _stop_group(session)
            leftover = resources.left_by_teardown()
            resources.remove()
    if status == 0 and leftover:
        print(f"deploy-page: FAILED: the page's teardown left {leftover}")
        status = 1
    print(f"\n{PAGE}, {time.monotonic() - started:.0f} s:\n{report(steps)}")
    return 0 if status == 0 else 1


_IGNORED = shutil.ignore_patterns(
    ".git", ".venv", ".venv-deploy", "__pycache__", ".pytest_cache", ".ruff_cache",
    "*.egg-info", "models",
)  # fmt: skip


def _environment(curl_home: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    # what the page must set itself: inherited from deploy-check, a missing line in
    # the page would go unnoticed
    for name in ("CONTAINERS_CONF", "BUILDAH_ISOLATION", "DOCKER_HOST"):
        env.pop(name, None)
    for name in list(env):
        if name.startswith("SCRATCHNET_"):
            del env[name]
    env["CURL_HOME"] = str(curl_home)
    # the compose files' host port (the page's table): the same free port
    env["SCRATCHNET_PORT"] = str(port)
    # kubectl as scripts/install-deploy-tools.sh installs it (a reader has their own)
    env["PATH"] = f"{ROOT / '.venv-deploy' / 'bin'}{os.pathsep}{env['PATH']}"
    return env


class _Resources:
    """The podman objects the page names: absent before (someone else's otherwise),
    removed after whatever happened."""

    def __init__(self, steps: list[Step]) -> None:
        texts = [s.text for s in steps if s.rule.how != "skip"]
        self.containers = _found(r"podman run -d --name (\S+)", texts)
        self.volumes = _found(r"podman volume create (\S+)", texts)
        self.projects = _found(r"docker-compose -p (\S+)", texts)
        self.taken_down = _found(r"docker-compose -p (\S+) .*\sdown\b", texts)

    def refusal(self) -> str:
        missing = [i for i in IMAGES if _podman("image", "exists", i).returncode]
        if missing:
            return f"the page runs {', '.join(missing)}: build them with make image"
        present = self._present()
        if present:
            return (
                f"these exist already and the page would reuse them: {present}; "
                "remove them (podman rm -f / volume rm / network rm) if they are yours"
            )
        if _listening(PODMAN_SOCKET):
            return f"a podman API already listens at {PODMAN_SOCKET}; stop it first"
        return ""

    def left_by_teardown(self) -> list[str]:
        return [n for p in self.taken_down for n in _compose_objects("ps", p)]

    def remove(self) -> None:
        names = [n for p in self.projects for n in _compose_objects("ps", p)]
        names += [c for c in self.containers if _exists("container", c)]
        # proxies first: podman refuses to remove a container whose network
        # namespace another one still uses
        for name in sorted(names, key=lambda n: "proxy" not in n):
            _podman("rm", "-f", "-t", "2", name)
        for project in self.projects:
            for volume in _compose_objects("volume", project):
                _podman("volume", "rm", "-f", volume)
            for network in _compose_objects("network", project):
                _podman("network", "rm", "-f", network)
        for volume in self.volumes:
            _podman("volume", "rm", "-f", volume)

    def _present(self) -> list[str]:
        found = [c for c in self.containers if _exists("container", c)]
        found += [v for v in self.volumes if _exists("volume", v)]
        for project in self.projects:
            for kind in ("ps", "volume", "network"):
                found += _compose_objects(kind, project)
        return found


def _found(pattern: str, texts: list[str]) -> list[str]:
    return sorted({m.group(1) for t in texts for m in re.finditer(pattern, t)})


def _podman(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["podman", *args], capture_output=True, text=True, check=False, timeout=120
    )


def _exists(kind: str, name: str) -> bool:
    return _podman(kind, "exists", name).returncode == 0


def _compose_objects(kind: str, project: str) -> list[str]:
    """The containers (kind "ps"), volumes or networks compose made for `project`."""
    label = f"label=com.docker.compose.project={project}"
    if kind == "ps":
        args = ["ps", "-a", "--filter", label, "--format", "{{.Names}}"]
    else:
        args = [kind, "ls", "--filter", label, "--format", "{{.Name}}"]
    return _podman(*args).stdout.split()


def _listening(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop_group(session: subprocess.Popen) -> None:
    """What the session started and left running (its process group), by its id:
    SIGTERM, then SIGKILL for what is still there after 30 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(session.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _group_alive(session.pid):
            time.sleep(0.2)
    if session.poll() is None:
        session.wait()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
