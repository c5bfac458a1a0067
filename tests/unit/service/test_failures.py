"""The book of failed versions: kept with their files' stamp, forgotten on change."""

from service.failures import Failed, FailedVersions


class Stamps:
    """A registry whose version stamps the test sets by hand."""

    def __init__(self) -> None:
        self.stamps: dict[tuple[str, int], tuple] = {}
        self.asked: list[tuple[str, int]] = []

    def version_stamp(self, name: str, version: int) -> tuple:
        self.asked.append((name, version))
        return self.stamps.get((name, version), ())


def test_a_failure_holds_while_its_files_are_unchanged():
    registry = Stamps()
    registry.stamps[("moons", 2)] = (("weights.npz", 10, 1),)
    book = FailedVersions(registry)
    failure = Failed("sha256 mismatch", book.stamp("moons", 2))
    book.remember("moons", 2, failure)
    assert book.current("moons", 2) is failure
    assert book.current("moons", 2) is failure
    assert book.hold("moons", [2])


def test_a_failure_is_forgotten_once_its_files_change():
    registry = Stamps()
    registry.stamps[("moons", 2)] = (("weights.npz", 10, 1),)
    book = FailedVersions(registry)
    book.remember("moons", 2, Failed("no manifest", book.stamp("moons", 2)))
    registry.stamps[("moons", 2)] = (("manifest.json", 5, 2), ("weights.npz", 10, 1))
    assert not book.hold("moons", [2])
    assert book.current("moons", 2) is None
    # forgotten, not merely hidden: the old files coming back do not revive it
    registry.stamps[("moons", 2)] = (("weights.npz", 10, 1),)
    assert book.current("moons", 2) is None


def test_a_version_never_remembered_costs_no_stamp():
    registry = Stamps()
    book = FailedVersions(registry)
    assert book.current("moons", 1) is None
    assert book.hold("moons", [])
    assert registry.asked == []


def test_versions_no_longer_listed_are_forgotten():
    registry = Stamps()
    book = FailedVersions(registry)
    for name, number in (("moons", 1), ("moons", 2), ("circles", 1)):
        book.remember(name, number, Failed("bad", ()))
    book.retain({"moons": (2, 3)})
    assert book.current("moons", 1) is None
    assert book.current("moons", 2) is not None
    assert book.current("circles", 1) is None
