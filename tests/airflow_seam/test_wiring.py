"""build_runtime wires one set of per-process objects from the settings."""

from __future__ import annotations

import pytest

from airflow_webhook_trigger.airflow_seam.wiring import build_runtime
from airflow_webhook_trigger.core.settings import Settings

pytestmark = pytest.mark.airflow


def test_build_runtime_wires_settings_into_every_part(airflow_db: None) -> None:
    settings = Settings(
        flask_sync_max_waiting=2, db_timeout_seconds=7, db_pool_timeout_seconds=0.5, retry_after_seconds=9
    )
    runtime = build_runtime(settings)
    assert runtime.settings is settings
    assert runtime.endpoint.settings is settings
    # the database bounds come from the settings
    limits = runtime.database.limits
    assert (limits.timeout, limits.pool_timeout, limits.retry_after) == (7, 0.5, 9)
    # the store and the trigger gateway share that one bounded database
    assert runtime.endpoint._runs._db is runtime.database
    # the endpoint reads definitions through the runtime's cache, which reads the store
    assert runtime.endpoint._source is runtime.source
    assert runtime.source._source is runtime.store
    # the waiter polls through the gateway: one query per tick
    assert runtime.waiter._fetch == runtime.endpoint._runs.fetch_settled
    slots = runtime.flask_sync_slots
    assert [slots.acquire(blocking=False) for _ in range(3)] == [True, True, False]
    assert runtime.base_url == "http://localhost:8080"  # [api] base_url of the test config


def test_build_runtime_same_limits_share_one_engine(airflow_db: None) -> None:
    first, second = build_runtime(Settings()), build_runtime(Settings())
    assert first.database is second.database
    assert build_runtime(Settings(db_timeout_seconds=9)).database is not first.database
