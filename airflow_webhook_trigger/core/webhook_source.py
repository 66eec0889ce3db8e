"""Where webhook definitions come from, and the per-process cache in front of it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from airflow_webhook_trigger.core.definition import Webhook
from airflow_webhook_trigger.core.ttl_cache import MISSING, Missing, TtlCache


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
        self._cache: TtlCache[str, Webhook | None] = TtlCache(
            ttl_seconds, clock=clock, max_entries=max_entries
        )

    def get(self, webhook_id: str) -> Webhook | None:
        hit = self._cache.get(webhook_id)
        if hit is not MISSING:
            return hit
        value = self._source.get(webhook_id)
        self._cache.put(webhook_id, value)
        return value

    def peek(self, webhook_id: str) -> Webhook | Missing | None:
        """What :meth:`get` would return without reading the source, or ``MISSING``."""
        return self._cache.get(webhook_id)

    def invalidate(self) -> None:
        self._cache.clear()
