"""Failed polls in the log: a line when an outage starts, changes or ends, and one
summary every SUMMARY_SECONDS in between; the metric still counts every failure."""

import logging

import pytest

from service.catalog import Catalog
from service.outages import LISTING, MODEL, OutageLog
from tests.helpers.registry_samples import publish_network
from trainer.errors import StoreConfigError, StoreUnavailableError
from trainer.registry import Registry


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FlakyRegistry(Registry):
    """A registry whose store fails on demand, the way an unreachable bucket does."""

    failure: Exception | None = None
    model_failure: Exception | None = None

    def models(self) -> list[str]:
        if self.failure is not None:
            raise self.failure
        return super().models()

    def state_token(self, name: str) -> tuple:
        if self.model_failure is not None:
            raise self.model_failure
        return super().state_token(name)


class CountedEvents:
    def __init__(self) -> None:
        self.registry_failures = 0

    def reloaded(self, name: str, version: int) -> None:
        pass

    def verification_failed(self, name: str, version: int) -> None:
        pass

    def registry_failed(self, name: str) -> None:
        self.registry_failures += 1


@pytest.fixture
def setup(tmp_path, caplog):
    registry = FlakyRegistry(tmp_path / "models")
    publish_network(registry, "moons", seed=1)
    clock, events = Clock(), CountedEvents()
    logger = logging.getLogger("scratchnet.store")
    catalog = Catalog(registry, events, OutageLog(logger, 300.0, clock))
    caplog.set_level("INFO", logger="scratchnet.store")
    catalog.refresh()
    return registry, catalog, clock, events


def _lines(caplog) -> list[tuple[str, dict]]:
    wanted = ("failures", "outage_seconds", "model")
    return [
        (r.getMessage(), {k: getattr(r, k) for k in wanted if hasattr(r, k)})
        for r in caplog.records
        if r.name == "scratchnet.store" and r.getMessage() != "serving version"
    ]


def test_an_outage_is_logged_when_it_starts_every_five_minutes_and_when_it_ends(
    setup, caplog
):
    registry, catalog, clock, events = setup
    registry.failure = StoreUnavailableError("s3://b: list_objects_v2 failed")
    # 20 minutes of 2 s polls: 600 failures
    for _ in range(600):
        catalog.refresh()
        clock.now += 2.0
    registry.failure = None
    catalog.refresh()
    assert events.registry_failures == 600  # the metric counts every one
    still = "the registry still cannot be listed"
    assert _lines(caplog) == [
        ("cannot list the registry", {}),
        (still, {"failures": 151, "outage_seconds": 300.0}),
        (still, {"failures": 301, "outage_seconds": 600.0}),
        (still, {"failures": 451, "outage_seconds": 900.0}),
        (
            "the registry can be listed again",
            {"failures": 600, "outage_seconds": 1200.0},
        ),
    ]
    first = next(r for r in caplog.records if r.getMessage().startswith("cannot"))
    assert first.error == "s3://b: list_objects_v2 failed"
    assert catalog.registry_error is None and catalog.states["moons"].served


def test_a_change_in_what_fails_is_logged_at_once(setup, caplog):
    registry, catalog, clock, _ = setup
    registry.failure = StoreUnavailableError("connection refused")
    catalog.refresh()
    catalog.refresh()
    registry.failure = StoreConfigError("the store refused the credentials")
    catalog.refresh()
    catalog.refresh()
    assert [m for m, _ in _lines(caplog)] == ["cannot list the registry"] * 2
    assert "refused the bucket or the credentials" in catalog.registry_error


def test_a_model_that_cannot_be_read_is_logged_once_until_it_can(setup, caplog):
    registry, catalog, clock, events = setup
    registry.model_failure = OSError("Input/output error")
    for _ in range(10):
        catalog.refresh()
    registry.model_failure = None
    catalog.refresh()
    catalog.refresh()
    assert events.registry_failures == 10
    assert _lines(caplog) == [
        ("cannot read model", {"model": "moons"}),
        ("model can be read again", {"failures": 10, "outage_seconds": 0.0,
                                     "model": "moons"}),
    ]  # fmt: skip
    assert catalog.states["moons"].served.version == 1  # kept serving throughout


def test_an_outage_log_keeps_outages_apart():
    records = []

    class Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append((record.getMessage(), getattr(record, "model", None)))

    logger = logging.Logger("test.outages", "INFO")  # not registered: no leftovers
    logger.addHandler(Recorder())
    outages = OutageLog(logger, 60.0, Clock())
    outages.failed(MODEL, "io", "e", model="a")
    outages.failed(MODEL, "io", "e", model="b")
    outages.failed(MODEL, "io", "e", model="a")
    assert outages.failing(MODEL, "a") and not outages.failing(LISTING)
    outages.succeeded(MODEL, model="a")
    outages.succeeded(MODEL, model="a")  # no outage: nothing to say
    outages.succeeded(LISTING)
    assert records == [
        ("cannot read model", "a"),
        ("cannot read model", "b"),
        ("model can be read again", "a"),
    ]
    assert outages.failing(MODEL, "b")
