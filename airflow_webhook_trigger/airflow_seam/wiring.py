"""Wiring: the per-process objects both HTTP adapters share, built once from the Airflow config."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from airflow_webhook_trigger.core.driver import RequestDriver
from airflow_webhook_trigger.core.endpoint import WebhookEndpoint
from airflow_webhook_trigger.core.settings import Settings
from airflow_webhook_trigger.core.waiter import RunWaiter, SyncCallers
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

    @functools.cached_property
    def driver(self) -> RequestDriver:
        """The request driver both adapters run (built on first use, once)."""
        return RequestDriver(
            self.endpoint, self.deliveries, sync_callers=self.sync_waiting, base_url=self.base_url
        )


def build_runtime(settings: Settings | None = None) -> Runtime:
    """Read ``[webhook_trigger]`` (unless given) and wire the registry and the run gateway."""
    from airflow_webhook_trigger.airflow_seam.airflow_config import base_url, read_settings, server_secret
    from airflow_webhook_trigger.airflow_seam.airflow_stats import AirflowStats
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_limits, metadata_database
    from airflow_webhook_trigger.airflow_seam.run_gateway import AirflowRunGateway
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
