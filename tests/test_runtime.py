from __future__ import annotations

from airflow_webhook_trigger.config import Settings
from airflow_webhook_trigger.runtime import build_runtime


def test_build_runtime_flask_sync_slots_sized_by_setting() -> None:
    slots = build_runtime(Settings(flask_sync_max_waiting=2)).flask_sync_slots
    assert [slots.acquire(blocking=False) for _ in range(3)] == [True, True, False]
