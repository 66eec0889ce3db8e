"""How many test captures a webhook may store: a count and a size per minute.

``POST {prefix}/test/{id}`` stores the request as the webhook's sample, one write to the
metadata database each. Whoever passes the webhook's auth may send them, so they are
capped per webhook in each api-server process over a sliding minute: at most ``count``
captures and ``size`` body bytes. A capture bigger than ``size`` on its own is let in
when the webhook's minute is empty (``max_body_bytes`` bounds it already), so no size
the webhook accepts is refused for ever. Pure, apart from the lock; the clock is given.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable

__all__ = ["WINDOW_SECONDS", "CaptureBudget"]

#: the window the caps count over
WINDOW_SECONDS = 60.0


class CaptureBudget:
    """The captures each webhook stored in the last minute, and whether one more fits.

    :param count: most captures per webhook per minute
    :param size: most body bytes per webhook per minute
    :param clock: a monotonic clock, in seconds
    """

    def __init__(self, count: int, size: int, clock: Callable[[], float]) -> None:
        self._count = count
        self._size = size
        self._clock = clock
        self._lock = threading.Lock()
        self._taken: dict[str, deque[tuple[float, int]]] = {}

    def take(self, webhook_id: str, size: int) -> int | None:
        """Count one capture of ``size`` bytes if it fits.

        :return: ``None`` when it was counted (store it), else the seconds until it would
            fit (the ``Retry-After``), at least 1
        """
        now = self._clock()
        with self._lock:
            self._forget(now)
            taken = self._taken.setdefault(webhook_id, deque())
            used = sum(n for _, n in taken)
            if taken and (len(taken) >= self._count or used + size > self._size):
                return self._wait(taken, size, used, now)
            taken.append((now, size))
            return None

    def _forget(self, now: float) -> None:
        for webhook_id in list(self._taken):
            taken = self._taken[webhook_id]
            while taken and taken[0][0] <= now - WINDOW_SECONDS:
                taken.popleft()
            if not taken:
                del self._taken[webhook_id]

    def _wait(self, taken: deque[tuple[float, int]], size: int, used: int, now: float) -> int:
        # the oldest captures leave the window first: wait until enough of them have
        left, freed = len(taken), 0
        for at, n in taken:
            left, freed = left - 1, freed + n
            if left < self._count and (used - freed + size <= self._size or left == 0):
                return max(1, math.ceil(at + WINDOW_SECONDS - now))
        return math.ceil(WINDOW_SECONDS)  # pragma: no cover - the loop ends with left == 0
