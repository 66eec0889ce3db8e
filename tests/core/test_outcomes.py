"""What the delivery record keeps of each outcome, built from one arrival."""

from __future__ import annotations

from datetime import datetime, timezone

from airflow_webhook_trigger.core import outcomes
from airflow_webhook_trigger.core.arrival import Arrival
from airflow_webhook_trigger.core.dedupe import DeliveryKey
from airflow_webhook_trigger.core.definition import parse_document
from airflow_webhook_trigger.core.delivery import MAX_ERROR_LENGTH, PriorDelivery

NOW = datetime(2026, 12, 8, tzinfo=timezone.utc)
KEY = DeliveryKey("evt_1", "digest")


def _arrival(key: DeliveryKey | None = KEY, **doc: object) -> Arrival:
    webhook = parse_document({"id": "hook-outcome-01", "dag_id": "dag_a", **doc}).webhook
    return Arrival(webhook, NOW, 0.0, "https://edge/webhook/trigger/hook-outcome-01", key)


def test_an_accepted_delivery_claims_its_key_and_knows_its_status_only_when_async() -> None:
    delivery = outcomes.accepted(_arrival(), "run-1", 1.23456)
    assert delivery.claim == KEY
    assert (delivery.row.outcome, delivery.row.run_id, delivery.row.delivery_key) == (
        "accepted",
        "run-1",
        "evt_1",
    )
    assert (delivery.row.status, delivery.row.duration_ms) == (200, 1.235)
    assert outcomes.accepted(_arrival(mode="sync"), "run-2", 0.0).row.status is None  # once answered
    replay = outcomes.accepted(_arrival(None), "run-3", 0.0, replay_of="d-1")
    assert (replay.row.status, replay.row.replay_of, replay.claim) == (None, "d-1", None)  # no caller


def test_a_duplicate_names_the_first_run_and_a_filtered_one_what_was_seen() -> None:
    prior = PriorDelivery("d-0", "digest", "dag_a", "run-0", 7)
    repeat = outcomes.duplicate(_arrival(), KEY, prior)
    assert (repeat.outcome, repeat.run_id, repeat.delivery_key) == ("duplicate", "run-0", "evt_1")
    left_out = outcomes.filtered(_arrival(), "x" * 2000)
    assert (left_out.outcome, left_out.run_id, left_out.delivery_key) == ("filtered", None, "evt_1")
    assert left_out.error is not None and len(left_out.error) == MAX_ERROR_LENGTH


def test_a_rejection_keeps_the_errors_text_and_no_run() -> None:
    row = outcomes.rejected(_arrival().webhook, NOW, "bad signature")
    assert (row.outcome, row.error, row.dag_id, row.run_id) == ("rejected", "bad signature", "dag_a", None)


def test_a_handshake_names_no_run_and_no_key() -> None:
    row = outcomes.handshake(_arrival().webhook, NOW)
    assert (row.outcome, row.dag_id, row.run_id, row.delivery_key, row.error) == (
        "handshake",
        "dag_a",
        None,
        None,
        None,
    )
