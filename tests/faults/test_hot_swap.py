"""Hot swaps under load: 20 publish / promote / rollback actions and 3 corrupt versions
while 8 keep-alive clients call /predict for 60 s. No client may see an error and no
corrupt version may ever answer, even with production pointed at one by hand.
"""

import statistics
import time

from tests.faults.conftest import record
from tests.faults.load import Load, first_answer
from tests.helpers.registry_samples import (
    corrupt_copy,
    publish_network,
    write_aliases,
)
from tests.integration.conftest import Gunicorn
from trainer.registry import Registry

DURATION_SECONDS = 60.0
ACTIONS = 20


def test_hot_swaps_under_load_never_fail_a_request(tmp_path):
    root = tmp_path / "registry"
    registry = Registry(root)
    first = publish_network(registry, "moons", seed=1)
    registry.set_alias("moons", "production", first)
    server = Gunicorn(tmp_path, root, workers=2)
    good, corrupt, swaps = {first}, set(), []
    plan = _plan()
    try:
        with Load(server.url, connections=8) as load:
            started = time.monotonic()
            for i, action in enumerate(plan):
                # spread the actions over the run, a little traffic before the first
                _sleep_until(started + (i + 1) * DURATION_SECONDS / (len(plan) + 1))
                if action == "publish":
                    good.add(publish_network(registry, "moons", seed=100 + i))
                elif action == "promote":
                    target = max(good)
                    registry.set_alias("moons", "production", target)
                    swaps.append((target, time.monotonic()))
                elif action == "rollback":
                    _, target = registry.rollback("moons")
                    swaps.append((target, time.monotonic()))
                elif action == "corrupt":
                    bad = registry.versions("moons")[-1] + 1
                    corrupt_copy(root, "moons", source=max(good), target=bad)
                    corrupt.add(bad)
                elif action == "point-at-corrupt":
                    # an operator's hand edit, past the CLI's checks
                    write_aliases(root / "moons", {"production": max(corrupt)})
            _sleep_until(started + DURATION_SECONDS)
        outcomes = load.snapshot()
    finally:
        server.stop()

    failures = [o for o in outcomes if o.status != 200]
    served = {o.version for o in outcomes}
    delays = [
        at - when
        for version, when in swaps
        if (at := first_answer(outcomes, version, when)) is not None
    ]
    record(
        "hot_swap",
        requests=len(outcomes),
        seconds=DURATION_SECONDS,
        actions=len(plan),
        corrupt_versions=sorted(corrupt),
        non_2xx=len(failures),
        versions_served=sorted(served),
        swap_delay_median_s=round(statistics.median(delays), 3) if delays else None,
        swap_delay_max_s=round(max(delays), 3) if delays else None,
    )
    assert len(plan) == ACTIONS and plan.count("corrupt") == 3
    assert failures == [], failures[:5]
    assert served <= good, f"served {served - good}, which never verified"
    assert not served & corrupt
    assert len(outcomes) > 100


def _plan() -> list[str]:
    """20 actions: publish then promote, two rollbacks, three corrupt versions (the
    last with production pointed at it by hand), and a promotion that recovers."""
    plan = ["publish", "promote"] * 4
    plan += ["rollback", "corrupt", "publish", "promote", "rollback", "corrupt"]
    plan += ["corrupt", "point-at-corrupt", "publish", "promote", "publish", "promote"]
    return plan


def _sleep_until(deadline: float) -> None:
    time.sleep(max(0.0, deadline - time.monotonic()))
