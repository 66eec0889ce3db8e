"""What the delivery record keeps of each outcome of a request: pure builders of its row.

An accepted delivery's row is stored with its run (:class:`AcceptedDelivery`); the others
are answered first, then reported to the recorder with their status and duration.
"""

from __future__ import annotations

from datetime import datetime

from airflow_webhook_trigger.core.arrival import Arrival
from airflow_webhook_trigger.core.dedupe import DeliveryKey
from airflow_webhook_trigger.core.definition import Webhook
from airflow_webhook_trigger.core.delivery import (
    AcceptedDelivery,
    DeliveryRow,
    PriorDelivery,
    error_text,
    new_delivery_id,
)


def accepted(
    arrival: Arrival, run_id: str, duration_ms: float, replay_of: str | None = None
) -> AcceptedDelivery:
    """The delivery stored with its run, claiming its delivery key (if any).

    Its status is known now only for an async delivery: a sync one's comes once answered,
    and a replay has no caller.
    """
    webhook, key = arrival.webhook, arrival.delivery_key
    row = DeliveryRow(
        id=new_delivery_id(),
        webhook_id=webhook.id,
        received_at=arrival.received_at,
        outcome="accepted",
        status=None if webhook.mode == "sync" or replay_of else webhook.response.status,
        dag_id=webhook.dag_id,
        run_id=run_id,
        delivery_key=None if key is None else key.value,
        duration_ms=round(duration_ms, 3),
        replay_of=replay_of,
    )
    return AcceptedDelivery(row, key)


def duplicate(arrival: Arrival, delivery_key: DeliveryKey, prior: PriorDelivery) -> DeliveryRow:
    """A repeat of a delivery, naming the first one's run (it starts none)."""
    return DeliveryRow(
        id=new_delivery_id(),
        webhook_id=arrival.webhook.id,
        received_at=arrival.received_at,
        outcome="duplicate",
        dag_id=prior.dag_id,
        run_id=prior.run_id,
        delivery_key=delivery_key.value,
    )


def filtered(arrival: Arrival, detail: str) -> DeliveryRow:
    """A delivery its webhook's filter left out; ``detail``: what was seen and expected."""
    webhook, key = arrival.webhook, arrival.delivery_key
    return DeliveryRow(
        id=new_delivery_id(),
        webhook_id=webhook.id,
        received_at=arrival.received_at,
        outcome="filtered",
        error=error_text(detail),
        dag_id=webhook.dag_id,
        delivery_key=None if key is None else key.value,
    )


def rejected(webhook: Webhook, received_at: datetime, detail: str) -> DeliveryRow:
    """A request refused once its webhook was found; ``detail``: the error's text."""
    return DeliveryRow(
        id=new_delivery_id(),
        webhook_id=webhook.id,
        received_at=received_at,
        outcome="rejected",
        error=error_text(detail),
        dag_id=webhook.dag_id,
    )


def handshake(webhook: Webhook, received_at: datetime) -> DeliveryRow:
    """A sender's check of the URL (a ``url_verification``, say), answered by the plugin: no run."""
    return DeliveryRow(
        id=new_delivery_id(),
        webhook_id=webhook.id,
        received_at=received_at,
        outcome="handshake",
        dag_id=webhook.dag_id,
    )
