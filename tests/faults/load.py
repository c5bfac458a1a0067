"""Steady /predict traffic from a few keep-alive connections, with every outcome kept.

A fault test runs it while it breaks something, then asks what the clients saw: the
statuses, the connection errors, the versions answered and the latencies.
"""

import threading
import time
from dataclasses import dataclass, field

import requests

BODY = {"points": [[0.5, 0.25], [-0.5, 1.0]]}


@dataclass
class Outcome:
    """One request as its client saw it."""

    started: float
    seconds: float
    status: int | None  # None: the connection failed (reset, refused, timed out)
    version: int | None
    error: str = ""


@dataclass
class Load:
    """`connections` threads, each with its own session, posting until stopped."""

    url: str
    connections: int = 8
    timeout: float = 10.0
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._client, daemon=True)
            for _ in range(self.connections)
        ]

    def __enter__(self) -> "Load":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)

    def _client(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                response = session.post(
                    f"{self.url}/predict", json=BODY, timeout=self.timeout
                )
                version = response.json().get("version") if response.ok else None
                outcome = Outcome(
                    started, time.monotonic() - started, response.status_code, version
                )
            except requests.RequestException as exc:
                outcome = Outcome(
                    started, time.monotonic() - started, None, None, type(exc).__name__
                )
                session.close()
                session = requests.Session()
            with self._lock:
                self.outcomes.append(outcome)
        session.close()

    def snapshot(self) -> list[Outcome]:
        with self._lock:
            return list(self.outcomes)


def first_answer(outcomes: list[Outcome], version: int, after: float) -> float | None:
    """When a request started after `after` first got `version`, if one did."""
    starts = [
        o.started for o in outcomes if o.version == version and o.started >= after
    ]
    return min(starts) if starts else None


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
