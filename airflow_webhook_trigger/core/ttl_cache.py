"""A small per-process cache whose entries expire after a fixed time (no I/O, no Airflow)."""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Missing(enum.Enum):
    """What :meth:`TtlCache.get` returns when it holds nothing fresh for a key."""

    MISSING = "missing"


MISSING = Missing.MISSING


class TtlCache(Generic[K, V]):
    """Values kept for ``ttl`` seconds; ``ttl <= 0`` keeps none.

    Bounded: when ``max_entries`` are held, the next new value starts the map afresh (keys
    come from what exists, webhooks or DAGs, so this only happens under churn or probing).
    """

    def __init__(
        self, ttl: float, *, clock: Callable[[], float] = time.monotonic, max_entries: int = 4096
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._max = max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | Missing:
        if self.ttl <= 0:
            return MISSING
        with self._lock:
            hit = self._entries.get(key)
        if hit is None or self._clock() - hit[0] >= self.ttl:
            return MISSING
        return hit[1]

    def put(self, key: K, value: V) -> None:
        if self.ttl <= 0:
            return
        now = self._clock()
        with self._lock:
            if len(self._entries) >= self._max and key not in self._entries:
                self._entries.clear()
            self._entries[key] = (now, value)

    def forget(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
