"""Structured logs: one JSON object per line on stdout, request ids.

Container platforms collect stdout and index JSON fields, so every log line, the
per-request access line included, is a JSON object carrying whatever `extra` fields the
caller gave (model, version, request_id, ...).
"""

import logging
import os
import re
import sys
import time
from datetime import UTC, datetime

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
    """Writes to whatever sys.stdout is at the time (test runners swap it)."""

    @property
    def stream(self):  # noqa: ANN201 - logging assigns and reads this attribute
        return sys.stdout

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def configure(level: str) -> None:
    """Send the `scratchnet` loggers to stdout as JSON lines at `level` (idempotent)."""
    logger = logging.getLogger("scratchnet")
    logger.setLevel(level)
    logger.propagate = False
    if not any(isinstance(h, _StdoutHandler) for h in logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)


def access_line(fields: dict) -> None:
    """Write one pre-built access line, bypassing LogRecord machinery (hot path)."""
    # the same ISO 8601 timestamp as JsonFormatter's
    now = datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds")
    line = orjson.dumps({"ts": now, **fields}, default=str)
    stream = sys.stdout
    stream.write(line.decode() + "\n")
    stream.flush()


def request_id(header: str | None) -> str:
    """The caller's X-Request-ID if it is a sane token, else a fresh random one."""
    if header and _REQUEST_ID.fullmatch(header):
        return header
    return os.urandom(16).hex()
