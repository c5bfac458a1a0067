"""S3 registry figures: publish and first-load latency against disk, what a poll costs.

Starts its own SeaweedFS (tests/helpers/seaweedfs.py) on free ports; medians of
rounds. `python bench/s3.py` (docs/benchmarks.md quotes its output).
"""

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers.registry_samples import publish_network  # noqa: E402
from tests.helpers.seaweedfs import BUCKET, SeaweedFS  # noqa: E402
from trainer.registry import Registry  # noqa: E402
from trainer.registry.registry import open_registry  # noqa: E402

ROUNDS = 15


def _median_ms(action) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        store = SeaweedFS(Path(work) / "s3")
        try:
            os.environ.update(store.env)
            local = Registry(Path(work) / "local")
            s3 = Registry(f"s3://{BUCKET}/{uuid.uuid4().hex}")
            for name, registry in (("disk", local), ("s3", s3)):
                publish = _median_ms(lambda r=registry: publish_network(r, "m"))
                # Registry.load keeps nothing: each is a first load (list, read, verify)
                load = _median_ms(lambda r=registry: r.load("m", 1))
                print(f"{name}: publish {publish:.1f} ms, first load {load:.1f} ms")
            cache = Path(work) / "cache"
            cached = open_registry(s3.root, cache)
            cached.load("m", 1)
            load = _median_ms(lambda: cached.load("m", 1))
            print(f"s3 with a warm cache dir: first load {load:.1f} ms")
            opened = _median_ms(lambda: Registry(s3.root))
            print(f"opening an s3:// registry (a boto3 client): {opened:.1f} ms")
            poller = Registry(s3.root)
            poller.models()
            poller.state_token("m")
            counts = poller.storage.s3.requests
            counts.clear()
            poller.models()
            poller.state_token("m")
            print(f"one quiet poll of 1 model: {dict(counts)}")
            counts.clear()
            publish_network(s3, "m")
            poller.models()
            poller.state_token("m")
            print(f"one poll right after a publish: {dict(counts)}")
        finally:
            store.stop()


if __name__ == "__main__":
    main()
