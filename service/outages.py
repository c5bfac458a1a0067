"""Registry read failures in the log when they start, change or end, not every poll.

During an outage every worker fails every poll (each SCRATCHNET_POLL_SECONDS): a line
per poll per worker buries the rest of the log. `OutageLog` logs the first failure
with its error, then one summary with the count every `SUMMARY_SECONDS`, a new line if
the kind of failure changes, and one line on recovery with the count and duration.
The metric (`scratchnet_registry_read_failures_total`) still counts every failure.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

# how often a worker repeats that an outage goes on: often enough to show it is still
# there in any five-minute window of the log, rare enough not to bury anything
SUMMARY_SECONDS = 300.0


@dataclass(frozen=True)
class Wording:
    """The three lines of one kind of outage."""

    first: str
    still: str
    again: str


LISTING = Wording(
    "cannot list the registry",
    "the registry still cannot be listed",
    "the registry can be listed again",
)
MODEL = Wording(
    "cannot read model", "model still cannot be read", "model can be read again"
)


@dataclass
class _Outage:
    started: float
    kind: str  # what changes the story: unreachable, refused, I/O (not the details)
    failures: int = 1
    last_logged: float = 0.0


class OutageLog:
    """Failures of one worker's polls, by what failed (the listing, one model)."""

    def __init__(
        self,
        logger: logging.Logger,
        summary_seconds: float = SUMMARY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self._summary_seconds = summary_seconds
        self._clock = clock
        self._outages: dict[tuple[Wording, str], _Outage] = {}

    def failed(self, wording: Wording, kind: str, error: str, **fields: object) -> None:
        """One failed read. `kind` is the failure's category: a change of it is
        logged at once (a store that comes back refusing the credentials)."""
        now = self._clock()
        key = (wording, str(fields.get("model", "")))
        outage = self._outages.get(key)
        if outage is None or outage.kind != kind:
            if outage is None:
                outage = self._outages[key] = _Outage(started=now, kind=kind)
            else:
                outage.kind = kind
                outage.failures += 1
            self._log.error(wording.first, extra={**fields, "error": error})
            outage.last_logged = now
            return
        outage.failures += 1
        if now - outage.last_logged >= self._summary_seconds:
            self._log.error(
                wording.still,
                extra={
                    **fields,
                    "error": error,
                    "failures": outage.failures,
                    "outage_seconds": round(now - outage.started, 1),
                },
            )
            outage.last_logged = now

    def succeeded(self, wording: Wording, **fields: object) -> None:
        """A read that worked: the end of an outage, if there was one."""
        outage = self._outages.pop((wording, str(fields.get("model", ""))), None)
        if outage is not None:
            self._log.info(
                wording.again,
                extra={
                    **fields,
                    "failures": outage.failures,
                    "outage_seconds": round(self._clock() - outage.started, 1),
                },
            )

    def failing(self, wording: Wording, model: str = "") -> bool:
        return (wording, model) in self._outages
