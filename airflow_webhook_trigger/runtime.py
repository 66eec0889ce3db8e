"""Wiring: the per-process objects both HTTP adapters share, built once from the Airflow config."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_webhook_trigger.config import Settings
from airflow_webhook_trigger.database import Database
from airflow_webhook_trigger.delivery_log import DeliveryLog
from airflow_webhook_trigger.endpoint import WebhookEndpoint
from airflow_webhook_trigger.source import CachedSource
from airflow_webhook_trigger.store import WebhookStore
from airflow_webhook_trigger.waiter import RunWaiter

if TYPE_CHECKING:
    from airflow_webhook_trigger.airflow_compat import AirflowRunGateway


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


def build_runtime(settings: Settings | None = None) -> Runtime:
    """Read ``[webhook_trigger]`` (unless given) and wire the registry and the run gateway."""
    from airflow_webhook_trigger.airflow_compat import (
        AirflowRunGateway,
        AirflowStats,
        base_url,
        db_limits,
        metadata_database,
        read_settings,
    )
    from airflow_webhook_trigger.airflow_secrets import AirflowSecrets

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
        settings, source, gateway, secrets=AirflowSecrets(settings), deliveries=deliveries
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
    )


@functools.cache
def shared_runtime() -> Runtime:
    """The process-wide runtime, so the FastAPI app and the Flask blueprint share caches."""
    return build_runtime()
