"""The deploy.md check without containers: every command of the page is run or given
a reason, and a command that fails stops the session naming its line (so the check
that `make deploy-check` runs, tests/docs/deploy_page.py, can fail)."""

import subprocess
from pathlib import Path

import pytest

from tests.docs.deploy_page import PAGE, ROOT, plan, report, script

PAGE_TEXT = (ROOT / PAGE).read_text()


def test_every_command_of_the_page_is_run_or_said_why_not() -> None:
    steps = plan(PAGE_TEXT)  # raises on a command no rule covers
    ran = [s.text for s in steps if s.rule.how != "skip"]
    # the routes this machine can take, verbatim
    for expected in (
        ". scripts/lib/podman-env.sh",
        "podman run -d --name scratchnet",
        "docker-compose -p scratchnet -f deploy/compose.yaml up -d",
        "docker-compose -p scratchnet -f deploy/compose.yaml exec -T retrain",
        "docker-compose -p scratchnet -f deploy/compose.yaml down",
        "docker-compose -p scratchnet-s3 -f deploy/compose.s3.yaml up -d",
        "kubectl kustomize deploy/overlays/s3",
    ):
        assert any(t.startswith(expected) for t in ran), expected
    for step in steps:
        if step.rule.how == "skip":
            assert step.rule.reason, step
    assert "NOT RUN HERE: kubectl apply -k deploy/k8s" in report(steps)


def test_a_command_no_rule_covers_is_an_error() -> None:
    with pytest.raises(ValueError, match="line 2: no rule .*: terraform apply"):
        plan("```bash\nterraform apply\n```\n")


# a page in the shapes deploy.md uses; the kubectl line is listed, not run
PAGE_THAT_BREAKS = """\
```bash
export GREETING=hello          # an export reaches the next block
cat > note <<'INI'
# a here-document's comment line
INI
```
```bash
python3 -c 'import os, sys
sys.exit(0 if os.environ["GREETING"] == "hello" else 5)'
kubectl apply -k deploy/k8s
python3 -c 'import sys; sys.exit(3)'
curl -s 127.0.0.1:8000/never-reached
```
"""


def test_the_session_keeps_state_and_stops_at_the_first_failure(tmp_path: Path):
    steps = plan(PAGE_THAT_BREAKS)
    assert [s.rule.how for s in steps] == ["run", "run", "run", "skip", "run", "run"]
    result = subprocess.run(
        ["bash", "-c", script(steps, 1)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED at docs/deploy.md line 11 (3)" in result.stderr
    assert "never-reached" not in result.stdout
    assert (tmp_path / "note").read_text() == "# a here-document's comment line\n"
