"""JSON log lines: the access line and the formatter write the same timestamp."""

import logging
import re
import time
from datetime import UTC, datetime

import orjson

from service.logs import JsonFormatter, access_line

# ISO 8601 in UTC with milliseconds, as every line's "ts" is written
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00")


def test_an_access_line_is_one_json_object_with_a_utc_millisecond_timestamp(capsys):
    before = time.time()
    access_line({"msg": "request", "status": 200})
    after = time.time()
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
