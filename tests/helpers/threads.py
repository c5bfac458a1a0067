"""Race helper: several threads doing the same work while another repeats a flush."""

import threading
from collections.abc import Callable


def race_against(
    flush: Callable[[], None], work: Callable[[int], None], n: int
) -> None:
    """Run `work(0)` .. `work(n - 1)` in n threads while one more calls `flush` in a
    loop; return once all have finished (the flusher after the last worker)."""
    done = threading.Event()

    def flushing() -> None:
        while not done.is_set():
            flush()

    flusher = threading.Thread(target=flushing)
    flusher.start()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    done.set()
    flusher.join()
