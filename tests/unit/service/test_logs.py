"""JSON log lines: the access line and the formatter write the same timestamp; access
lines are queued and written many to a write, in order, and none is lost."""

import io
import logging
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

from service import logs
from service.logs import JsonFormatter, access_line
from tests.helpers.threads import race_against

ROOT = Path(__file__).resolve().parents[3]
# ISO 8601 in UTC with milliseconds, as every line's "ts" is written
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00")


def test_an_access_line_is_one_json_object_with_a_utc_millisecond_timestamp(capsys):
    before = time.time()
    access_line({"msg": "request", "status": 200})
    after = time.time()
    logs.flush()
    (text,) = capsys.readouterr().out.splitlines()
    line = orjson.loads(text)
    assert list(line) == ["ts", "msg", "status"]
    assert TIMESTAMP.fullmatch(line["ts"])
    stamp = datetime.fromisoformat(line["ts"]).timestamp()
    assert before - 0.001 <= stamp <= after


def test_the_formatter_writes_the_same_timestamp_shape():
    record = logging.makeLogRecord({"name": "scratchnet.store", "msg": "serving"})
    line = orjson.loads(JsonFormatter().format(record))
    assert TIMESTAMP.fullmatch(line["ts"])
    assert abs(datetime.fromisoformat(line["ts"]).timestamp() - record.created) < 0.001


def test_the_cached_timestamp_is_what_datetime_writes():
    from service.logs import _timestamp

    edges = (0.0, 1.0005, 1122711669.5499995, 1764610523.9999996, 1764610524.0001)
    for now in edges:
        expected = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
        assert _timestamp(now) == expected, now


class _CountingStdout(io.StringIO):
    """An unbuffered stdout (PYTHONUNBUFFERED=1): every write would be a system call."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def test_access_lines_wait_and_go_out_many_to_a_write(monkeypatch):
    logs.flush()
    stdout = _CountingStdout()
    monkeypatch.setattr(sys, "stdout", stdout)
    for status in range(200, 300):
        access_line({"msg": "request", "status": status})
    assert stdout.writes == 0  # not one write per request, whatever stdout buffers
    logs.flush()
    assert stdout.writes == 1
    statuses = [orjson.loads(line)["status"] for line in stdout.getvalue().splitlines()]
    assert statuses == list(range(200, 300))


def test_a_log_line_goes_out_after_the_access_lines_queued_before_it(capsys):
    logs.configure("INFO")
    capsys.readouterr()
    access_line({"msg": "request", "status": 200})
    logging.getLogger("scratchnet.store").warning("then this")
    access_line({"msg": "request", "status": 201})
    logs.flush()
    messages = [
        orjson.loads(line)["msg"] for line in capsys.readouterr().out.splitlines()
    ]
    assert messages == ["request", "then this", "request"]


def test_lines_queued_while_another_thread_writes_are_all_written_once(monkeypatch):
    logs.flush()
    stdout = _CountingStdout()
    monkeypatch.setattr(sys, "stdout", stdout)

    def queue(thread: int) -> None:
        for i in range(2000):
            access_line({"msg": "request", "thread": thread, "i": i})

    race_against(logs.flush, queue, 4)
    logs.flush()
    lines = [orjson.loads(line) for line in stdout.getvalue().splitlines()]
    assert len(lines) == 4 * 2000
    for t in range(4):
        assert [line["i"] for line in lines if line["thread"] == t] == list(range(2000))


def test_the_lines_still_queued_at_exit_are_written():
    script = (
        "from service.logs import access_line\n"
        "for i in range(3): access_line({'msg': 'request', 'i': i})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONUNBUFFERED": "1", "PATH": "/usr/bin:/bin"},
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert [orjson.loads(line)["i"] for line in done.stdout.splitlines()] == [0, 1, 2]


def test_a_line_goes_to_the_stdout_it_was_made_under(monkeypatch):
    # a test runner swaps sys.stdout between tests and their phases: a line written
    # later by the log thread must not land in whichever stream is current then
    logs.flush()
    first, second = _CountingStdout(), _CountingStdout()
    monkeypatch.setattr(sys, "stdout", first)
    access_line({"msg": "request", "i": 1})
    monkeypatch.setattr(sys, "stdout", second)
    access_line({"msg": "request", "i": 2})
    logs.flush()
    assert [orjson.loads(line)["i"] for line in first.getvalue().splitlines()] == [1]
    assert [orjson.loads(line)["i"] for line in second.getvalue().splitlines()] == [2]
