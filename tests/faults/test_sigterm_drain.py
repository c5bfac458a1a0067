"""SIGTERM under load: readiness fails first, so a load balancer stops sending new
requests, the service keeps answering for the drain period, requests in flight finish,
and gunicorn exits 0.
"""

import signal
import threading
import time

import requests

from tests.faults.conftest import record
from tests.faults.load import Load
from tests.helpers.registry_samples import publish_network
from tests.integration.conftest import Gunicorn
from trainer.registry import Registry

DRAIN_SECONDS = 2.0


def test_sigterm_fails_readiness_first_then_drains(tmp_path):
    root = tmp_path / "registry"
    publish_network(Registry(root), "moons", seed=1)
    server = Gunicorn(
        tmp_path, root, workers=2, SCRATCHNET_DRAIN_SECONDS=str(DRAIN_SECONDS)
    )
    readiness = Readiness(server.url)
    try:
        with Load(server.url, connections=4) as load, readiness:
            time.sleep(1.0)
            sigterm_at = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            exit_code = server.process.wait(timeout=60)
            exited_at = time.monotonic()
        outcomes = load.snapshot()
    finally:
        server.stop()
    not_ready_at = readiness.first_refusal_after(sigterm_at)
    answered = [o for o in outcomes if o.status is not None]
    refused = [o for o in outcomes if o.status is None]
    first_refused = min((o.started for o in refused), default=None)
    record(
        "sigterm_drain",
        drain_seconds=DRAIN_SECONDS,
        readiness_failed_after_s=_round(not_ready_at, sigterm_at),
        first_refused_connection_after_s=_round(first_refused, sigterm_at),
        exited_after_s=round(exited_at - sigterm_at, 3),
        answered=len(answered),
        answered_after_sigterm=sum(o.started >= sigterm_at for o in answered),
        refused_after_close=len(refused),
    )
    assert exit_code == 0
    # every request the service accepted was answered, and answered well
    assert {o.status for o in answered} == {200}
    assert not_ready_at is not None, "readiness never failed after SIGTERM"
    assert not_ready_at - sigterm_at < DRAIN_SECONDS / 2
    # it kept serving through the drain period before it closed its socket
    served_late = [o for o in answered if o.started >= sigterm_at + DRAIN_SECONDS / 2]
    assert served_late, "no request answered during the drain period"
    if first_refused is not None:
        assert first_refused >= not_ready_at


class Readiness:
    """Polls /readyz from its own thread; remembers when it first stopped being 200."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.refusals: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> "Readiness":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _poll(self) -> None:
        while not self._stop.is_set():
            asked = time.monotonic()
            try:
                ok = requests.get(f"{self.url}/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                ok = False
            if not ok:
                self.refusals.append(asked)
            time.sleep(0.05)

    def first_refusal_after(self, moment: float) -> float | None:
        return min((t for t in self.refusals if t >= moment), default=None)


def _round(moment: float | None, origin: float) -> float | None:
    return None if moment is None else round(moment - origin, 3)
