"""The run order and the accepted delivery: the values the run path carries, which cannot
be built inconsistent."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from airflow_webhook_trigger.core.dedupe import DeliveryKey
from airflow_webhook_trigger.core.delivery import AcceptedDelivery, DeliveryRow
from airflow_webhook_trigger.core.runs import RunOrder

NOW = datetime(2026, 12, 8, tzinfo=timezone.utc)
ROW = DeliveryRow("d1", "hook-runs-00001", NOW, "accepted", dag_id="dag_a", run_id="r1", delivery_key="evt_1")
KEY = DeliveryKey("evt_1", "body-digest")


def test_an_order_carries_its_delivery_and_the_key_it_claims() -> None:
    order = RunOrder("dag_a", "r1", {"a": 1}, AcceptedDelivery(ROW, KEY))
    assert order.claim == KEY and order.wants_row_id
    assert RunOrder("dag_a", "r1", {}).claim is None
    assert RunOrder("dag_a", "r1", {}, AcceptedDelivery(ROW)).claim is None  # stored, no claim


@pytest.mark.parametrize(
    "row",
    [
        replace(ROW, outcome="duplicate"),  # only an accepted delivery starts a run
        replace(ROW, run_id=None),
        replace(ROW, dag_id=None),
    ],
)
def test_only_an_accepted_delivery_of_one_run_is_stored_with_it(row: DeliveryRow) -> None:
    with pytest.raises(ValueError, match="names the run it started"):
        AcceptedDelivery(row)


def test_a_delivery_claims_only_the_key_its_row_names() -> None:
    with pytest.raises(ValueError, match="claims the delivery key its row names"):
        AcceptedDelivery(replace(ROW, delivery_key="evt_2"), KEY)
    with pytest.raises(ValueError, match="claims the delivery key its row names"):
        AcceptedDelivery(replace(ROW, delivery_key=None), KEY)


@pytest.mark.parametrize("dag_id, run_id", [("dag_b", "r1"), ("dag_a", "r2")])
def test_a_run_stores_only_its_own_delivery(dag_id: str, run_id: str) -> None:
    with pytest.raises(ValueError, match="its own delivery"):
        RunOrder(dag_id, run_id, {}, AcceptedDelivery(ROW, KEY))
