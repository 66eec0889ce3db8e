"""End to end: a real api-server, scheduler and dag-processor run the example DAGs
started by webhooks, through both adapters."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.airflow_env import EXAMPLES
from tests.integration import basic
from tests.processes import airflow_processes

pytestmark = pytest.mark.e2e

PASSWORDS = {"PAYMENT_HOOK_PASSWORD": "pay-secret-123", "GITHUB_HOOK_PASSWORD": "gh-secret-456"}
PREFIXES = ["/webhook", "/pluginsv2/webhook"]


@pytest.fixture(scope="module")
def server(airflow_db: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from sqlalchemy import delete

    from airflow_webhook_trigger.airflow_compat import db_session
    from airflow_webhook_trigger.registry import apply_documents, load_file_documents
    from airflow_webhook_trigger.store import WebhookStore, webhooks_table

    with db_session() as session:
        session.execute(delete(webhooks_table))
    docs = load_file_documents(yaml.safe_load((EXAMPLES / "webhooks.yaml").read_text()))
    apply_documents(WebhookStore(db_session), docs, env=PASSWORDS)
    log_dir = tmp_path_factory.mktemp("airflow-logs")
    try:
        with airflow_processes(log_dir) as base:
            yield base
    except Exception:
        for log in Path(log_dir).glob("*.log"):
            print(f"==== {log.name}\n{log.read_text()[-4000:]}")
        raise


def _wait_for_run(dag_id: str, run_id: str, timeout: float = 120) -> Any:
    from sqlalchemy import select

    from airflow.models import DagRun
    from airflow.utils.session import create_session

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with create_session() as session:
            run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
            if run is not None and run.state in ("success", "failed"):
                session.expunge(run)
                return run
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} of {dag_id} did not finish in {timeout}s")


def _return_value(dag_id: str, run_id: str, task_id: str) -> Any:
    from sqlalchemy import text

    from airflow.utils.session import create_session

    with create_session() as session:
        value = session.execute(
            text(
                "SELECT value FROM xcom WHERE dag_id = :d AND run_id = :r AND task_id = :t"
                " AND key = 'return_value'"
            ),
            {"d": dag_id, "r": run_id, "t": task_id},
        ).scalar()
    return json.loads(value) if isinstance(value, str | bytes) else value


@pytest.mark.parametrize("prefix", PREFIXES)
def test_e2e_payment_webhook_run_succeeds_and_task_sees_trigger_variables(server: str, prefix: str) -> None:
    body = {"type": "payment_intent.succeeded", "data": {"object": {"amount": 1250, "currency": "USD"}}}
    response = httpx.post(
        f"{server}{prefix}/trigger/pay-3f9c2a7d81e4b6a0",
        json=body,
        headers={"X-Request-Id": f"r-{prefix}", **basic("stripe", PASSWORDS["PAYMENT_HOOK_PASSWORD"])},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert (response.text, response.headers["x-handled-by"]) == ("ok", "airflow")
    run_id = response.headers["x-airflow-run-id"]
    run = _wait_for_run("payment_callback", run_id)
    assert run.state == "success"
    seen = _return_value("payment_callback", run_id, "record_payment")
    assert seen["amount"] == 1250
    assert seen["currency"] == "USD"
    assert seen["request_id"] == f"r-{prefix}"
    assert seen["webhook_id"] == "pay-3f9c2a7d81e4b6a0"
    assert seen["headers"] == {"X-Request-Id": f"r-{prefix}"}
    assert seen["body"]["type"] == "payment_intent.succeeded"
    assert PASSWORDS["PAYMENT_HOOK_PASSWORD"] not in json.dumps(seen)


def test_e2e_github_push_webhook_runs_both_tasks(server: str) -> None:
    body = {
        "ref": "refs/heads/feature-x",
        "repository": {"full_name": "acme/shop"},
        "head_commit": {"id": "9fceb02d0ae598e95dc970b74767f19372d61af8"},
    }
    response = httpx.post(
        f"{server}/webhook/trigger/gh-push-9b1e4c7a2d5f8e30?dry_run=1",
        json=body,
        headers={
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": "d-1",
            **basic("github", PASSWORDS["GITHUB_HOOK_PASSWORD"]),
        },
        timeout=30,
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": True}
    run_id = response.headers["x-airflow-run-id"]
    assert _wait_for_run("github_push", run_id).state == "success"
    plan = _return_value("github_push", run_id, "plan_build")
    assert plan == {
        "event": "push",
        "repository": "acme/shop",
        "branch": "feature-x",
        "commit": "9fceb02d0ae598e95dc970b74767f19372d61af8",
        "dry_run": True,
    }
    assert _return_value("github_push", run_id, "build") == "skipped (dry run)"


def test_e2e_bad_requests_start_no_run(server: str) -> None:
    from tests.integration import runs_of

    before = len(runs_of("payment_callback"))
    auth = basic("stripe", PASSWORDS["PAYMENT_HOOK_PASSWORD"])
    url = f"{server}/webhook/trigger/pay-3f9c2a7d81e4b6a0"
    cases = [
        (httpx.post(url, json={"data": {"object": {"amount": 5}}}, timeout=30), 401),
        (httpx.post(url, content=b"{", headers={**auth, "Content-Type": "application/json"}, timeout=30), 400),
        (httpx.post(url, json={"data": {"object": {"amount": "5"}}}, headers=auth, timeout=30), 422),
        (httpx.get(url, timeout=30), 405),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert "error" in response.json()
    assert len(runs_of("payment_callback")) == before
    assert os.environ.get("PAYMENT_HOOK_PASSWORD") is None
