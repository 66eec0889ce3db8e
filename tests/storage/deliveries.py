"""Deliveries to write in the storage tests."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from airflow_webhook_trigger.core.dedupe import DeliveryKey
from airflow_webhook_trigger.core.delivery import AcceptedDelivery, DeliveryRow, new_delivery_id

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def delivery_row(
    outcome: str = "rejected", *, at: datetime = NOW, webhook: str = "hook-log-000001", **more: Any
) -> DeliveryRow:
    more.setdefault("status", 401)
    return DeliveryRow(id=new_delivery_id(), webhook_id=webhook, received_at=at, outcome=outcome, **more)  # type: ignore[arg-type]


def accepted(run_id: str, key: DeliveryKey | None = None, *, at: datetime = NOW) -> AcceptedDelivery:
    """An accepted delivery of a ``wt_plain`` run, claiming ``key``."""
    delivery = delivery_row(
        "accepted", at=at, run_id=run_id, dag_id="wt_plain", delivery_key=key and key.value
    )
    return AcceptedDelivery(delivery, key)
