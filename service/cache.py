"""A byte-bounded LRU of rendered responses.

A version never changes, so the bytes of a /boundary grid for (model, version, grid,
format) never change either: keeping recent ones turns a repeated 1000x1000 request
from tens of milliseconds of arithmetic into a dictionary lookup. Bounded by total bytes
so a worker's memory stays predictable.
"""

import threading
from collections import OrderedDict
from collections.abc import Hashable


class BytesCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: bytes) -> None:
        # an entry bigger than half the budget would evict everything else for itself
        if len(value) > self.max_bytes // 2:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._entries[key] = value
            self._size += len(value)
            while self._size > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._size -= len(evicted)

    def __len__(self) -> int:
        return len(self._entries)
