"""Fixtures every service unit test gets."""

from collections.abc import Iterator

import pytest

from service import logs


@pytest.fixture(autouse=True)
def _access_lines_written_before_the_next_test() -> Iterator[None]:
    # access lines wait in a queue for the log thread; a test's lines belong in its
    # own captured output, not in whichever test runs when the thread next writes
    yield
    logs.flush()
