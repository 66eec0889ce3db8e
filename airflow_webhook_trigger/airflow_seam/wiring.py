"""Wiring: the per-process objects both HTTP adapters share, built once from the Airflow config."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from airflow_webhook_trigger.core.definition import Webhook
from airflow_webhook_trigger.core.driver import WebhookEndpoint
from airflow_webhook_trigger.core.errors import busy
from airflow_webhook_trigger.core.settings import Settings
from airflow_webhook_trigger.core.waiter import RunWaiter, SyncCallers, SyncSlot
from airflow_webhook_trigger.core.webhook_source import CachedSource
from airflow_webhook_trigger.storage.delivery_record import DeliveryLog
from airflow_webhook_trigger.storage.engine import Database
from airflow_webhook_trigger.storage.webhook_store import WebhookStore

if TYPE_CHECKING:
    from airflow_webhook_trigger.airflow_seam.run_gateway import AirflowRunGateway


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    database: Database
    store: WebhookStore
    source: CachedSource
    endpoint: WebhookEndpoint
    waiter: RunWaiter
    deliveries: DeliveryLog
    gateway: AirflowRunGateway
    #: ``flask_sync_max_waiting`` slots: Flask sync calls waiting at once in this process
    flask_sync_slots: threading.BoundedSemaphore
    #: ``[api] base_url``: the public origin senders call (signed URLs are built on it)
    base_url: str = "http://localhost:8080"
    #: ``sync_max_waiting``: sync callers waiting at once in this process, both URLs (by run)
    sync_waiting: SyncCallers = field(default_factory=lambda: SyncCallers(Settings().sync_max_waiting))

    @contextmanager
    def sync_slot(self, webhook: Webhook) -> Iterator[SyncSlot | None]:
        """Hold a place among the process's sync callers while a sync delivery is handled and
        waited for (None for an async webhook). Taken before its run is written: past the
        cap the sender gets 503 + ``Retry-After`` and no run (a run committed then answered
        503 would be started again by the sender's retry). Repeats of one delivery share
        one place once they know their run (:meth:`SyncSlot.waits_on`)."""
        if webhook.mode != "sync":
            yield None
            return
        slot = self.sync_waiting.take()
        if slot is None:
            raise busy("too many sync callers are waiting in this process", self.settings.retry_after_seconds)
        try:
            yield slot
        finally:
            slot.release()


def build_runtime(settings: Settings | None = None) -> Runtime:
    """Read ``[webhook_trigger]`` (unless given) and wire the registry and the run gateway."""
    from airflow_webhook_trigger.airflow_seam.airflow_config import base_url, read_settings, server_secret
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_limits, metadata_database
    from airflow_webhook_trigger.airflow_seam.run_gateway import AirflowRunGateway, AirflowStats
    from airflow_webhook_trigger.airflow_seam.secrets import AirflowSecrets
    from airflow_webhook_trigger.core.run_tokens import RunTokens

    settings = settings or read_settings()
    database = metadata_database(db_limits(settings))
    store = WebhookStore(database.session)
    source = CachedSource(store, settings.registry_cache_seconds)
    gateway = AirflowRunGateway(settings, database)
    deliveries = DeliveryLog(
        database.session,
        capacity=settings.delivery_buffer_size,
        retention_days=settings.delivery_retention_days,
        dedupe_window_days=settings.dedupe_window_days,
        metrics=AirflowStats(),
    )
    endpoint = WebhookEndpoint(
        settings,
        source,
        gateway,
        secrets=AirflowSecrets(settings),
        deliveries=deliveries,
        tokens=RunTokens(server_secret() or None),  # unset: this process only, fail closed
    )
    waiter = RunWaiter(gateway.fetch_settled, settings.waiter_tick_seconds)
    return Runtime(
        settings=settings,
        database=database,
        store=store,
        source=source,
        endpoint=endpoint,
        waiter=waiter,
        deliveries=deliveries,
        gateway=gateway,
        flask_sync_slots=threading.BoundedSemaphore(settings.flask_sync_max_waiting),
        base_url=base_url(),
        sync_waiting=SyncCallers(settings.sync_max_waiting),
    )


@functools.cache
def shared_runtime() -> Runtime:
    """The process-wide runtime, so the FastAPI app and the Flask blueprint share caches."""
    return build_runtime()
