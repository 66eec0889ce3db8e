"""Where webhook definitions come from, and the per-process cache in front of it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from airflow_webhook_trigger.model import Webhook


class WebhookSource(Protocol):
    """Where webhook definitions come from (the registry)."""

    def get(self, webhook_id: str) -> Webhook | None: ...


class CachedSource:
    """A short-lived per-process cache in front of a :class:`WebhookSource`.

    Definitions change rarely and every replica reads the same DB, so a TTL of about
    a second bounds staleness while sparing a query per request (and per probe of
    unknown ids: misses are cached too, in a bounded map).
    """

    def __init__(
        self,
        source: WebhookSource,
        ttl_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 4096,
    ) -> None:
        self._source = source
        self._ttl = ttl_seconds
        self._clock = clock
        self._max = max_entries
        self._entries: dict[str, tuple[float, Webhook | None]] = {}
        self._lock = threading.Lock()

    def get(self, webhook_id: str) -> Webhook | None:
        if self._ttl <= 0:
            return self._source.get(webhook_id)
        now = self._clock()
        with self._lock:
            hit = self._entries.get(webhook_id)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        value = self._source.get(webhook_id)
        with self._lock:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[webhook_id] = (now, value)
        return value

    def invalidate(self) -> None:
        with self._lock:
            self._entries.clear()
