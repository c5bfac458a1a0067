"""The model store on a real registry directory: resolution, polling, verification."""

import shutil
import time

import numpy as np
import pytest

from service.store import ModelStore, Unavailable, UnknownModel, UnknownVersion
from tests.helpers.registry_samples import corrupt_copy, publish_network, write_aliases
from trainer.registry import Registry


class RecordedEvents:
    def __init__(self) -> None:
        self.reloads: list[tuple[str, int]] = []
        self.failures: list[tuple[str, int]] = []
        self.mismatches: list[tuple[str, int]] = []

    def reloaded(self, name: str, version: int) -> None:
        self.reloads.append((name, version))

    def verification_failed(self, name: str, version: int) -> None:
        self.failures.append((name, version))

    def registry_failed(self, name: str) -> None:
        pass

    def reference_mismatch(self, name: str, version: int) -> None:
        self.mismatches.append((name, version))


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry(tmp_path / "models")


def make_store(registry: Registry, **options) -> tuple[ModelStore, RecordedEvents]:
    events = RecordedEvents()
    store = ModelStore(registry, "moons", events=events, **options)
    store.refresh()
    return store, events


def test_an_empty_registry_is_not_ready(registry):
    store, _ = make_store(registry)
    assert not store.ready()
    with pytest.raises(Unavailable, match="no verified version yet"):
        store.get()


def test_serves_the_highest_version_and_every_model(registry):
    publish_network(registry, "moons", seed=1)
    publish_network(registry, "moons", seed=2)
    publish_network(registry, "circles", seed=3, hidden=(4, 4))
    store, events = make_store(registry)
    assert store.ready()
    assert store.get().version == 2 and store.get().name == "moons"
    assert store.get("circles").version == 1
    assert sorted(events.reloads) == [("circles", 1), ("moons", 2)]


def test_versions_by_number_and_alias(registry):
    for seed in range(3):
        publish_network(registry, seed=seed)
    registry.set_alias("moons", "production", 2)
    registry.set_alias("moons", "canary", 3)
    store, _ = make_store(registry)
    assert store.get().version == 2  # production wins over the highest
    assert store.get(version=1).version == 1
    assert store.get(version="canary").version == 3
    with pytest.raises(UnknownVersion, match="no version 9; versions: 1, 2, 3"):
        store.get(version=9)
    with pytest.raises(UnknownVersion, match="no alias 'staging'"):
        store.get(version="staging")
    with pytest.raises(UnknownModel, match="known models: moons"):
        store.get("nope")


def test_a_loaded_model_predicts_like_its_weights(registry):
    publish_network(registry, seed=5)
    store, _ = make_store(registry)
    model = store.get()
    X = np.random.default_rng(0).normal(size=(50, 2))
    indices, P = model.predict(X)
    expected = registry.load("moons", 1).predict_proba(X)
    np.testing.assert_allclose(P, expected, rtol=1e-12)
    np.testing.assert_array_equal(indices, expected.argmax(axis=1))
    np.testing.assert_array_equal(model.labels(indices), np.array([0, 1])[indices])


def test_refresh_picks_up_new_versions_and_alias_moves(registry):
    publish_network(registry, seed=1)
    store, events = make_store(registry)
    publish_network(registry, seed=2)
    store.refresh()
    assert store.get().version == 2
    registry.set_alias("moons", "production", 1)  # a rollback
    store.refresh()
    assert store.get().version == 1
    assert events.reloads == [("moons", 1), ("moons", 2), ("moons", 1)]


def test_a_corrupt_version_is_refused_while_the_old_keeps_serving(registry, tmp_path):
    publish_network(registry, seed=1)
    store, events = make_store(registry)
    corrupt_copy(registry.root, "moons", source=1, target=2)
    store.refresh()
    assert store.get().version == 1
    assert events.failures == [("moons", 2)]
    state = store.states()["moons"]
    assert 2 in state.failures and "sha256" in state.failures[2].reason
    with pytest.raises(Unavailable, match="version 2 failed verification"):
        store.get(version=2)
    # a later good version is served again
    publish_network(registry, seed=3)
    store.refresh()
    assert store.get().version == 3


def test_a_fresh_store_falls_back_below_a_corrupt_served_version(registry):
    publish_network(registry, seed=1)
    corrupt_copy(registry.root, "moons", source=1, target=2)
    store, events = make_store(registry)
    assert store.get().version == 1
    assert events.failures == [("moons", 2)]


def test_only_corrupt_versions_means_not_ready(registry):
    publish_network(registry, seed=1)
    corrupt_copy(registry.root, "moons", source=1, target=2)
    (registry.root / "moons" / "1" / "weights.npz").write_bytes(b"not a zip")
    store, _ = make_store(registry)
    assert not store.ready()
    with pytest.raises(Unavailable, match="failed verification: 1, 2"):
        store.get()


def test_non_served_versions_are_cached_within_a_bound(registry):
    for seed in range(4):
        publish_network(registry, seed=seed)
    loads = []

    class CountingRegistry(Registry):
        def load(self, name, version=None):
            loads.append(version)
            return super().load(name, version)

    store, _ = make_store(CountingRegistry(registry.root), version_cache_size=2)
    loads.clear()
    for version in (1, 2, 2, 1, 3, 1):
        assert store.get(version=version).version == version
    # 1 and 2 stay cached until 3 pushes out the least recently used (2); 1 survives
    assert loads == [1, 2, 3]
    store.get(version=2)
    assert loads == [1, 2, 3, 2]


def test_the_poll_thread_swaps_in_a_new_version(registry):
    publish_network(registry, seed=1)
    store, _ = make_store(registry)
    store.start(poll_seconds=0.05)
    try:
        publish_network(registry, seed=2)
        deadline = time.monotonic() + 30  # generous: the machine may be busy
        while store.get().version != 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert store.get().version == 2
    finally:
        store.stop()


def test_a_worker_that_has_not_polled_yet_looks_before_answering_503(registry):
    # a sibling worker may already be ready; this one must not answer 503 meanwhile
    store, _ = make_store(registry)
    assert not store.ready()
    publish_network(registry, "moons", seed=1)
    time.sleep(0.3)  # past the catch-up rate limit set by ready() above
    assert store.get().version == 1
    assert store.ready()


def test_on_demand_polls_are_rate_limited(registry, monkeypatch):
    store, _ = make_store(registry)
    polls = []
    monkeypatch.setattr(store, "refresh", lambda: polls.append(1))
    for _ in range(50):
        with pytest.raises(UnknownModel):
            store.get("no-such-model")
    assert len(polls) == 1


def _point_production_at(registry: Registry, version: int) -> None:
    # by hand, as an operator editing aliases.json would: set_alias refuses a version
    # that is not published
    write_aliases(registry.root / "moons", {"production": version})


def test_a_fresh_store_falls_back_below_a_production_alias_naming_a_deleted_version(
    registry,
):
    for seed in range(3):
        publish_network(registry, seed=seed)
    registry.set_alias("moons", "production", 2)
    old_store, _ = make_store(registry)
    shutil.rmtree(registry.root / "moons" / "2")
    old_store.refresh()
    # a worker (re)started now: like one whose production version fails verification
    fresh_store, _ = make_store(registry)
    assert fresh_store.ready()
    assert fresh_store.get().version == 1
    # and the worker that was running sees the change instead of the old listing
    assert old_store.states()["moons"].versions == (1, 3)


def test_a_production_alias_naming_a_missing_version_with_nothing_older_says_so(
    registry,
):
    publish_network(registry, seed=1)
    publish_network(registry, seed=2)
    shutil.rmtree(registry.root / "moons" / "1")
    _point_production_at(registry, 1)
    store, _ = make_store(registry)
    # version 2 is not promoted: serving it would bypass the alias
    assert not store.ready()
    with pytest.raises(Unavailable, match="production alias names the unpublished 1"):
        store.get()


def test_a_version_that_was_still_arriving_is_served_once_complete(registry):
    # a sync or copy into the registry (not the trainer's atomic publish) can show a
    # version directory before its last file: it fails once, and its version list
    # (the model's token) does not change when the file lands
    publish_network(registry, seed=1)
    publish_network(registry, seed=2)
    complete = registry.root / "moons" / "2"
    arriving = registry.root / "moons" / ".arriving"
    complete.rename(arriving)
    (registry.root / "moons" / "2").mkdir()
    shutil.copy(arriving / "weights.npz", registry.root / "moons" / "2")
    store, events = make_store(registry)
    assert store.get().version == 1 and events.failures == [("moons", 2)]
    store.refresh()  # nothing changed: not loaded (nor counted) again
    assert events.failures == [("moons", 2)]
    shutil.copy(arriving / "manifest.json", registry.root / "moons" / "2")
    store.refresh()
    assert store.get().version == 2
    assert 2 not in store.states()["moons"].failures


def test_an_io_error_loading_a_version_names_no_server_path(registry):
    publish_network(registry, seed=1)
    publish_network(registry, seed=2)

    class FailingDisk(Registry):
        def load(self, name, version=None):
            if version != 1:  # the served version 2 loads
                return super().load(name, version)
            path = self.root / name / str(version) / "weights.npz"
            raise PermissionError(13, "Permission denied", str(path))

    store, _ = make_store(FailingDisk(registry.root))
    with pytest.raises(Unavailable) as info:
        store.get(version=1)
    assert str(registry.root) not in str(info.value)
    assert "try again" in str(info.value)


def test_a_requested_version_that_was_still_arriving_is_served_once_complete(
    registry,
):
    # the same for a version asked for by number, not served: its failure is not
    # remembered past the moment its files change
    publish_network(registry, seed=1)
    publish_network(registry, seed=2)
    registry.set_alias("moons", "production", 2)
    arriving = registry.root / "moons" / ".arriving"
    (registry.root / "moons" / "1").rename(arriving)
    (registry.root / "moons" / "1").mkdir()
    shutil.copy(arriving / "weights.npz", registry.root / "moons" / "1")
    store, events = make_store(registry)
    with pytest.raises(Unavailable, match="failed verification"):
        store.get(version=1)
    with pytest.raises(Unavailable, match="failed verification"):
        store.get(version=1)
    assert events.failures == [("moons", 1)]  # remembered while nothing changes
    shutil.copy(arriving / "manifest.json", registry.root / "moons" / "1")
    assert store.get(version=1).version == 1


def test_a_version_published_since_the_last_poll_is_answered_not_404(
    registry, monkeypatch
):
    publish_network(registry, seed=1)
    store, _ = make_store(registry)
    publish_network(registry, seed=2)
    assert store.get(version=2).version == 2
    assert store.states()["moons"].versions == (1, 2)  # the look was a whole poll
    # and a number that is not there looks at most once per rate-limit window
    polls = []
    monkeypatch.setattr(store, "refresh", lambda: polls.append(1))
    time.sleep(0.3)  # past the rate limit set by the look above
    for _ in range(50):
        with pytest.raises(UnknownVersion, match="no version 9; versions: 1, 2"):
            store.get(version=9)
    assert len(polls) == 1


def test_a_requested_version_that_fails_is_remembered_without_a_version_cache(
    registry,
):
    # failures are kept by the book of failed versions, not by the cache of loaded
    # versions: with no cache, a bad version is still not re-read on every request
    publish_network(registry, seed=1)
    publish_network(registry, seed=2)
    corrupt_copy(registry.root, "moons", source=1, target=3)
    registry.set_alias("moons", "production", 2)
    loads = []

    class CountingRegistry(Registry):
        def load(self, name, version=None):
            loads.append(version)
            return super().load(name, version)

    store, events = make_store(CountingRegistry(registry.root), version_cache_size=0)
    loads.clear()
    for _ in range(3):
        with pytest.raises(Unavailable, match="version 3 failed verification"):
            store.get(version=3)
    assert loads == [3] and events.failures == [("moons", 3)]


def test_a_failure_found_by_a_request_is_not_verified_again_by_the_poll(registry):
    # one record per failed version: the poll that is then asked to serve it knows
    publish_network(registry, seed=1)
    publish_network(registry, seed=2)
    corrupt_copy(registry.root, "moons", source=1, target=3)
    registry.set_alias("moons", "production", 2)
    store, events = make_store(registry)
    with pytest.raises(Unavailable, match="version 3 failed verification"):
        store.get(version=3)
    assert events.failures == [("moons", 3)]
    _point_production_at(registry, 3)  # set_alias would refuse a bad version
    store.refresh()
    assert store.get().version == 2  # keeps answering with what it had
    assert events.failures == [("moons", 3)]  # not read, logged or counted again
    assert "sha256" in store.states()["moons"].failures[3].reason


def _records(caplog, message: str) -> list:
    return [r for r in caplog.records if r.getMessage() == message]


def test_ignored_entries_are_logged_once_per_change_and_listed(registry, caplog):
    publish_network(registry, seed=1)
    model_dir = registry.root / "moons"
    (model_dir / "2").symlink_to(model_dir / "1")
    (model_dir / "notes.txt").write_text("hello")
    caplog.set_level("WARNING", logger="scratchnet.store")
    store, _ = make_store(registry)
    assert store.states()["moons"].ignored == (
        ("2", "symlink"),
        ("notes.txt", "not a version directory"),
    )
    for _ in range(3):
        store.refresh()
    logged = _records(caplog, "entry in the model directory ignored")
    assert [(r.model, r.entry, r.reason) for r in logged] == [
        ("moons", "2", "symlink"),
        ("moons", "notes.txt", "not a version directory"),
    ]
    (model_dir / "3").write_text("not a directory")
    store.refresh()
    store.refresh()
    logged = _records(caplog, "entry in the model directory ignored")
    assert [(r.entry, r.reason) for r in logged[2:]] == [("3", "not a directory")]
    for entry in ("2", "3", "notes.txt"):
        (model_dir / entry).unlink()
    store.refresh()
    assert store.states()["moons"].ignored == ()
    assert store.get().version == 1


def test_a_broken_aliases_file_is_logged_once_and_what_was_served_kept(
    registry, caplog
):
    for seed in range(3):
        publish_network(registry, seed=seed)
    registry.set_alias("moons", "production", 2)
    caplog.set_level("ERROR", logger="scratchnet.store")
    store, _ = make_store(registry)
    (registry.root / "moons" / "aliases.json").write_text('{"production": ')
    for _ in range(5):
        store.refresh()
    assert len(_records(caplog, "cannot read the aliases")) == 1
    state = store.states()["moons"]
    assert "aliases.json: not valid JSON" in state.aliases_error
    assert state.aliases == {"production": 2}  # the map being served from
    assert store.get().version == 2
    # a new version is listed (and answers by number), production stays
    publish_network(registry, seed=3)
    store.refresh()
    store.refresh()
    assert store.states()["moons"].versions == (1, 2, 3, 4)
    assert store.get().version == 2 and store.get(version=4).version == 4
    assert len(_records(caplog, "cannot read the aliases")) == 2
    write_aliases(registry.root / "moons", {"production": 3})
    store.refresh()
    assert store.get().version == 3 and store.states()["moons"].aliases_error is None


def test_a_fresh_worker_with_a_broken_aliases_file_lists_the_model_and_says_why(
    registry,
):
    publish_network(registry, seed=1)
    (registry.root / "moons" / "aliases.json").write_text("[]")
    store, _ = make_store(registry)
    state = store.states()["moons"]
    assert state.versions == (1,) and state.served is None
    assert "aliases.json" in state.aliases_error
    # no production known: serving the highest version could bypass the alias
    with pytest.raises(Unavailable, match="aliases.json"):
        store.get()
