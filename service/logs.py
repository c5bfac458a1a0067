"""Structured logs: one JSON object per line on stdout, request ids.

Container platforms collect stdout and index JSON fields, so every log line, the
per-request access line included, is a JSON object carrying whatever `extra` fields the
caller gave (model, version, request_id, ...).
"""

import atexit
import itertools
import logging
import math
import os
import re
import sys
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import TextIO

import orjson

# attributes every LogRecord has; anything else on a record came from `extra=`
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is at the time (test runners swap it), after
    the access lines still waiting, so stdout keeps the order lines were made in."""

    @property
    def stream(self):  # noqa: ANN201 - logging assigns and reads this attribute
        return sys.stdout

    @stream.setter
    def stream(self, value: object) -> None:
        pass

    def emit(self, record: logging.LogRecord) -> None:
        with _writing:
            _write_waiting()
            super().emit(record)


def configure(level: str) -> None:
    """Send the `scratchnet` loggers to stdout as JSON lines at `level` (idempotent)."""
    logger = logging.getLogger("scratchnet")
    logger.setLevel(level)
    logger.propagate = False
    if not any(isinstance(h, _StdoutHandler) for h in logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)


# How long an access line may wait before it is written. Access lines queue here and
# a thread writes them FLUSH_SECONDS apart, one write for many lines, whatever stdout's
# own buffering: under PYTHONUNBUFFERED=1 (the image sets it, so other log lines are
# never held back) each stdout write is a system call, which cost a request about
# 30 us of CPU. Other log lines write the queue first; exit and flush() write it too.
FLUSH_SECONDS = 0.1
# (stdout when the line was made, the line): append and popleft are atomic, so no
# lock per request; each line goes to the stream it would have gone to at once (a
# test runner swaps sys.stdout between tests, and between a test's phases)
_waiting: deque[tuple[TextIO, str]] = deque()
_writing = threading.Lock()  # one writer at a time, so queued lines keep their order
_flushing = {"started": False}


def _forget_parent_state() -> None:
    # a forked child has no thread (it starts its own with its first line), and the
    # lines its parent queued are the parent's to write
    _flushing.update(started=False)
    _waiting.clear()


os.register_at_fork(after_in_child=_forget_parent_state)


def access_line(fields: dict) -> None:
    """Queue one pre-built access line, bypassing LogRecord machinery (hot path)."""
    line = orjson.dumps(
        {"ts": _timestamp(time.time()), **fields},
        default=str,
        option=orjson.OPT_APPEND_NEWLINE,
    )
    _waiting.append((sys.stdout, line.decode()))
    if not _flushing["started"]:
        _start_flushing()


def flush() -> None:
    """Write the queued access lines now, each to the stdout it was made under."""
    with _writing:
        _write_waiting()


def _write_waiting() -> None:
    # the caller holds _writing, so only appends race with this; lines queued
    # meanwhile wait for the next call
    lines = [_waiting.popleft() for _ in range(len(_waiting))]
    # one write a stream, in order (in production, one stream)
    for stream, group in itertools.groupby(lines, key=lambda entry: entry[0]):
        try:
            stream.write("".join(line for _, line in group))
            stream.flush()
        except (OSError, ValueError):  # closed (a finished test's capture) or broken
            pass


# (second, its "YYYY-MM-DDTHH:MM:SS" in UTC): formatting a datetime was a third of
# an access line's cost, and consecutive lines nearly always share their second. One
# tuple, read once and replaced whole, so a thread never pairs a second with another's
# text.
_second: tuple[int | None, str] = (None, "")


def _timestamp(now: float) -> str:
    """JsonFormatter's ISO 8601 timestamp (UTC, milliseconds) of a time.time()."""
    global _second
    # split, rounded to microseconds and then cut to milliseconds, as datetime does
    fraction, whole = math.modf(now)
    micros = round(fraction * 1e6)
    second = int(whole) + micros // 1_000_000  # a fraction may round up, or be < 0
    micros %= 1_000_000
    cached = _second
    if cached[0] != second:
        text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        cached = _second = (second, text)
    return f"{cached[1]}.{micros // 1000:03d}+00:00"


def _start_flushing() -> None:
    _flushing["started"] = True
    threading.Thread(target=_flush_stdout, name="scratchnet-logs", daemon=True).start()


def _flush_stdout() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        _flush_quietly()


def _flush_quietly() -> None:
    try:
        flush()
    except (OSError, ValueError):  # closed at exit, or a full pipe: next time
        pass


# at exit the thread (a daemon) is gone: what it had not written yet goes now
atexit.register(_flush_quietly)


def request_id(header: str | None) -> str:
    """The caller's X-Request-ID if it is a sane token, else a fresh random one."""
    if header and _REQUEST_ID.fullmatch(header):
        return header
    return os.urandom(16).hex()
