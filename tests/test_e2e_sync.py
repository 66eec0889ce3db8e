"""Sync webhooks end to end: the caller waits for the answer a WebhookResponseOperator
decides, through both adapters, with a real api-server, scheduler and dag-processor."""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any

import httpx
import pytest

from tests.integration import apply_example_webhooks, basic, run_tokens, wait_for_run

pytestmark = pytest.mark.e2e

PASSWORDS = {
    "PAYMENT_HOOK_PASSWORD": "pay-secret-123",
    "GITHUB_WEBHOOK_SECRET": "gh-secret-456",
    "ORDER_HOOK_PASSWORD": "order-secret-789",
}
ORDER = "order-sync-5d2a9c81f04b7e63"
AUTH = basic("shop", PASSWORDS["ORDER_HOOK_PASSWORD"])
PREFIXES = ["/webhook", "/pluginsv2/webhook"]
TEST_HOOKS = {
    "sync-fail-0000001": ("wt_sync_fail", None),
    "sync-none-0000001": ("wt_sync_noresponse", None),
    "sync-two-00000001": ("wt_sync_two", None),
    "sync-slow-0000001": ("wt_sync_slow", 2),
}


@pytest.fixture(scope="module")
def server(airflow_server: str) -> str:
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.webhook_changes import upsert
    from airflow_webhook_trigger.storage.webhook_store import WebhookStore

    apply_example_webhooks(PASSWORDS)
    store = WebhookStore(db_session)
    # A loaded CI machine can take longer than the example's 25 s for a cold first run.
    store.save(store.require(ORDER).with_changes(sync_timeout_seconds=110.0))
    for webhook_id, (dag_id, timeout) in TEST_HOOKS.items():
        doc: dict[str, Any] = {"id": webhook_id, "dag_id": dag_id, "mode": "sync"}
        if timeout:
            doc["sync"] = {"timeout_seconds": timeout}
        upsert(store, doc, env={})
    return airflow_server


def _order(server: str, prefix: str, order: dict[str, Any], timeout: float = 150) -> httpx.Response:
    return httpx.post(
        f"{server}{prefix}/trigger/{ORDER}", json={"order": order}, headers=AUTH, timeout=timeout
    )


@pytest.mark.parametrize("prefix", PREFIXES)
def test_sync_order_accepted_branch_answers_200_with_body_from_params(server: str, prefix: str) -> None:
    response = _order(server, prefix, {"id": "o-1", "sku": "SKU-2", "quantity": 3})
    assert response.status_code == 200, response.text
    assert response.json() == {"order_id": "o-1", "status": "accepted", "quantity": 3, "total": 2970}
    assert response.headers["x-order-id"] == "o-1"
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize("prefix", PREFIXES)
def test_sync_order_rejected_branch_answers_422_with_reason(server: str, prefix: str) -> None:
    response = _order(server, prefix, {"id": "o-2", "sku": "SKU-9", "quantity": 1})
    assert response.status_code == 422, response.text
    assert response.json() == {"order_id": "o-2", "status": "rejected", "reason": "unknown sku SKU-9"}


def test_sync_answer_arrives_before_slow_downstream_task_ends(server: str) -> None:
    from airflow.models import DagRun

    response = _order(server, "/webhook", {"id": "o-3", "sku": "SKU-1", "quantity": 1})
    assert response.status_code == 200
    run_id = response.headers["x-airflow-run-id"]
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        state = session.scalar(select(DagRun.state).where(DagRun.run_id == run_id))
    assert state == "running"  # fulfil_order (5 s) still going when the caller got its answer
    assert wait_for_run("order_validation", run_id).state == "success"


def test_sync_params_still_validated_before_the_run(server: str) -> None:
    response = _order(server, "/webhook", {"sku": "SKU-1", "quantity": 1})
    assert response.status_code == 422
    assert response.json()["param"] == "order_id"


@pytest.mark.parametrize("prefix", PREFIXES)
def test_sync_run_failing_before_any_response_answers_500(server: str, prefix: str) -> None:
    response = httpx.post(f"{server}{prefix}/trigger/sync-fail-0000001", timeout=90)
    assert response.status_code == 500, response.text
    body = response.json()
    assert body == {"error": "run failed", "dag_id": "wt_sync_fail", "run_id": body["run_id"]}
    assert body["run_id"] == response.headers["x-airflow-run-id"]


def test_sync_run_without_response_operator_answers_200_with_state(server: str) -> None:
    response = httpx.post(f"{server}/webhook/trigger/sync-none-0000001", timeout=90)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {"dag_id": "wt_sync_noresponse", "run_id": body["run_id"], "state": "success"}


def test_sync_two_response_tasks_first_wins(server: str) -> None:
    response = httpx.post(f"{server}/webhook/trigger/sync-two-00000001", timeout=90)
    assert response.status_code == 201, response.text
    assert response.json() == {"which": "first"}
    run_id = response.headers["x-airflow-run-id"]
    assert wait_for_run("wt_sync_two", run_id).state == "success"
    token = run_tokens().status_query("sync-two-00000001", run_id)
    status = httpx.get(f"{server}/webhook/trigger/sync-two-00000001/runs/{run_id}?{token}", timeout=30)
    assert (status.status_code, status.json()) == (201, {"which": "first"})


@pytest.mark.parametrize("prefix", PREFIXES)
def test_sync_timeout_answers_202_then_status_url_gives_late_response(server: str, prefix: str) -> None:
    response = httpx.post(f"{server}{prefix}/trigger/sync-slow-0000001", timeout=90)
    assert response.status_code == 202, response.text
    body = response.json()
    run_id = body["run_id"]
    token = run_tokens().status_query("sync-slow-0000001", run_id)
    status_url = f"{server}{prefix}/trigger/sync-slow-0000001/runs/{run_id}?{token}"
    assert body == {"dag_id": "wt_sync_slow", "run_id": run_id, "status_url": status_url}
    assert response.headers["location"] == status_url
    early = httpx.get(status_url, timeout=30)
    assert early.status_code == 202
    assert early.json()["state"] in ("queued", "running")
    late = _status_once_settled(status_url, {}, 90)
    assert (late.status_code, late.text) == (200, "late answer")


def test_sync_status_url_unknown_run_and_no_token(server: str) -> None:
    tokens = run_tokens()
    unknown = f"{tokens.run_prefix(ORDER)}x"
    for run_id in (unknown, "manual__2026"):
        response = httpx.get(
            f"{server}/webhook/trigger/{ORDER}/runs/{run_id}?{tokens.status_query(ORDER, run_id)}",
            headers=AUTH,
            timeout=30,
        )
        assert response.status_code == 404
    # the webhook's credentials do not open a status URL: only its token does
    anonymous = httpx.get(f"{server}/webhook/trigger/{ORDER}/runs/{unknown}", headers=AUTH, timeout=30)
    assert anonymous.status_code == 404


def _status_once_settled(status_url: str, headers: dict[str, str], timeout: float) -> httpx.Response:
    """Poll a status URL until it stops answering 202 (the run's response or end)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        late = httpx.get(status_url, headers=headers, timeout=30)
        if late.status_code != 202:
            return late
        time.sleep(0.5)
    raise AssertionError(f"no answer at {status_url} in {timeout}s")


def _final(response: httpx.Response) -> httpx.Response:
    """The caller's answer: the response itself, or, after a 202, what its status URL gives."""
    if response.status_code != 202:
        return response
    return _status_once_settled(response.json()["status_url"], AUTH, 150)


def test_sync_twenty_concurrent_callers_each_get_their_own_answer(server: str) -> None:
    """10 through each adapter: the FastAPI callers all wait; Flask holds at most
    ``flask_sync_max_waiting`` (8) waiting calls, the others get 202 + status URL at once."""
    orders = [
        {"id": f"c-{i}", "sku": "SKU-3" if (i // 2) % 2 else "SKU-404", "quantity": 1 + i % 3}
        for i in range(20)
    ]

    def call(i: int) -> httpx.Response:
        return _order(server, PREFIXES[i % 2], orders[i], timeout=180)

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(call, range(20)))
    fastapi, flask = responses[0::2], responses[1::2]
    assert [r.status_code for r in fastapi if r.status_code == 202] == []
    assert sum(r.status_code != 202 for r in flask) <= 8
    for order, response in zip(orders, responses, strict=True):
        answer = _final(response)
        if order["sku"] == "SKU-3":
            assert answer.status_code == 200, answer.text
            assert answer.json()["order_id"] == order["id"]
            assert answer.json()["total"] == 4500 * order["quantity"]
        else:
            assert answer.status_code == 422, answer.text
            assert answer.json()["order_id"] == order["id"]
