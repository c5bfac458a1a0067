"""A real browser on the explorer: Debian's Chromium driven by Playwright for Python.

Session fixtures train real models into a temporary registry (moons twice, 3-class
blobs, a 3-feature CSV), start gunicorn on a free port and launch Chromium from
/usr/bin/chromium (scripts/install-test-tools.sh installs it; never `playwright
install`, which downloads a browser). Every page a test opens records its console
errors, page errors, CSP violations and any request that leaves 127.0.0.1 (blocked),
and the test fails on any of them unless it says it expects one.
"""

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.integration.conftest import ROOT, Gunicorn
from trainer.cli.main import main as trainer

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "out" / "browser"
TIMEOUT_MS = 30_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


def _missing(what: str) -> None:
    message = f"needs {what}: scripts/install-test-tools.sh installs it"
    if os.environ.get("CI"):
        pytest.fail(message + " (.ci/run runs it with --require)")
    pytest.skip(message)


# package scope, not session: Playwright's sync API keeps an asyncio loop running in
# the main thread while it is open, and tests after these (tests/integration's KServe
# client) need asyncio.run, which refuses to start inside a running loop
@pytest.fixture(scope="package")
def playwright_api():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package (the dev extra: make venv)")
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        _missing("Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
    with sync_playwright() as api:
        yield api


@pytest.fixture(scope="package")
def browser(playwright_api):
    browser = playwright_api.chromium.launch(
        executable_path=str(CHROMIUM), args=LAUNCH_ARGS, timeout=TIMEOUT_MS
    )
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="session")
def trained_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real runs of the trainer: what `make serve` would show."""
    root = tmp_path_factory.mktemp("browser-registry")
    csv = root.parent / "three.csv"
    rows = ["a,b,c,label"] + [
        f"{i % 7 / 3:.3f},{i % 5 / 2:.3f},{i % 3:.3f},{i % 2}" for i in range(90)
    ]
    csv.write_text("\n".join(rows) + "\n")
    runs = [
        ["--name", "moons", "--hidden", "3", "--promote"],
        ["--name", "moons", "--hidden", "5", "--seed", "2"],
        ["--name", "blobs", "--dataset", "blobs", "--hidden", "5"],
        ["--name", "three", "--dataset", f"csv:{csv}", "--epochs", "50"],
    ]
    for run in runs:
        assert trainer(["train", "--registry", str(root), "--json", *run]) == 0
    return root


@pytest.fixture(scope="session")
def server(
    trained_registry: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gunicorn]:
    server = Gunicorn(tmp_path_factory.mktemp("browser-service"), trained_registry, 2)
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Watched:
    """A page and what it did that a test fails on."""

    page: object
    base: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def open(self, fragment: str = "") -> None:
        """Load the explorer (a fresh load, even for a new #fragment) until drawn;
        `requests` then holds the fresh load's alone."""
        self.page.goto(f"{self.base}/{fragment}")
        # a goto that changes only the #fragment keeps the document, so reload; but
        # let the first load finish drawing, or its requests, issued at any moment
        # until the reload, land among the ones a test counts (a CI run saw 4 grids)
        self.wait_ready()
        self.requests.clear()
        self.page.reload()
        self.wait_ready()

    def wait_ready(self) -> None:
        self.page.wait_for_selector("body[data-state=ready]", timeout=TIMEOUT_MS)

    def violations(self) -> list[str]:
        return self.page.evaluate("window.__cspViolations || []")


# before any of the page's own script: collect every CSP violation the page meets
_CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


@pytest.fixture
def watched(browser, server) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.add_init_script(_CSP_LISTENER)
    host = urlsplit(server.url).netloc
    watch = Watched(page, server.url)

    def route(route):
        url = route.request.url
        watch.requests.append(url)
        if url.startswith("data:") or urlsplit(url).netloc == host:
            route.continue_()
        else:
            watch.outside.append(url)
            route.abort()

    page.route("**/*", route)
    page.on(
        "console",
        lambda m: watch.console_errors.append(m.text) if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: watch.page_errors.append(str(e)))
    yield watch
    violations = watch.violations() if not page.is_closed() else []
    context.close()
    assert watch.outside == [], "requests that left 127.0.0.1"
    assert watch.page_errors == []
    assert watch.console_errors == []
    assert violations == [], "Content-Security-Policy violations"


def save_screenshot(watch: Watched, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    watch.page.screenshot(path=str(path), full_page=True)
    return path


def record(name: str, **figures: object) -> None:
    """Append figures (paint times) to out/browser/report.jsonl, and print them."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"test": name, **figures})
    with (ARTIFACTS / "report.jsonl").open("a") as report:
        report.write(line + "\n")
    print(line)
