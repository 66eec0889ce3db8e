"""End to end: a real api-server, scheduler and dag-processor run the example DAGs
started by webhooks, through both adapters."""

from __future__ import annotations

import json
import os

import httpx
import pytest

from tests.integration import apply_example_webhooks, basic, run_tokens, wait_for_run, xcom_value
from tests.senders import github

pytestmark = pytest.mark.e2e

PASSWORDS = {
    "PAYMENT_HOOK_PASSWORD": "pay-secret-123",
    "GITHUB_WEBHOOK_SECRET": "gh-secret-456",
    "ORDER_HOOK_PASSWORD": "order-secret-789",
}
PREFIXES = ["/webhook", "/pluginsv2/webhook"]


@pytest.fixture(scope="module")
def server(airflow_server: str) -> str:
    apply_example_webhooks(PASSWORDS)
    return airflow_server


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
    run = wait_for_run("payment_callback", run_id)
    assert run.state == "success"
    seen = xcom_value("payment_callback", run_id, "record_payment")
    assert seen["amount"] == 1250
    assert seen["currency"] == "USD"
    assert seen["request_id"] == f"r-{prefix}"
    assert seen["webhook"] == run_tokens().handle("pay-3f9c2a7d81e4b6a0")
    assert run_id.startswith(run_tokens().run_prefix("pay-3f9c2a7d81e4b6a0"))
    assert "pay-3f9c2a7d81e4b6a0" not in run_id + json.dumps(run.conf)
    assert seen["headers"] == {"X-Request-Id": f"r-{prefix}"}
    assert seen["body"]["type"] == "payment_intent.succeeded"
    assert PASSWORDS["PAYMENT_HOOK_PASSWORD"] not in json.dumps(seen)


def test_e2e_github_push_webhook_runs_both_tasks(server: str) -> None:
    body = {
        "ref": "refs/heads/feature-x",
        "repository": {"full_name": "acme/shop"},
        "head_commit": {"id": "9fceb02d0ae598e95dc970b74767f19372d61af8"},
    }
    raw = json.dumps(body).encode()
    url = f"{server}/webhook/trigger/gh-push-9b1e4c7a2d5f8e30?dry_run=1"
    signed = github(PASSWORDS["GITHUB_WEBHOOK_SECRET"])(raw, url)  # openssl's HMAC, as GitHub signs
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1"}
    unsigned = httpx.post(url, content=raw, headers=headers, timeout=30)
    assert unsigned.status_code == 401, unsigned.text
    response = httpx.post(url, content=raw, headers={**headers, **signed}, timeout=30)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": True}
    run_id = response.headers["x-airflow-run-id"]
    assert wait_for_run("github_push", run_id).state == "success"
    plan = xcom_value("github_push", run_id, "plan_build")
    assert plan == {
        "event": "push",
        "repository": "acme/shop",
        "branch": "feature-x",
        "commit": "9fceb02d0ae598e95dc970b74767f19372d61af8",
        "dry_run": True,
    }
    assert xcom_value("github_push", run_id, "build") == "skipped (dry run)"


def test_e2e_bad_requests_start_no_run(server: str) -> None:
    from tests.integration import runs_of

    before = len(runs_of("payment_callback"))
    auth = basic("stripe", PASSWORDS["PAYMENT_HOOK_PASSWORD"])
    url = f"{server}/webhook/trigger/pay-3f9c2a7d81e4b6a0"
    cases = [
        (httpx.post(url, json={"data": {"object": {"amount": 5}}}, timeout=30), 401),
        (
            httpx.post(url, content=b"{", headers={**auth, "Content-Type": "application/json"}, timeout=30),
            400,
        ),
        (httpx.post(url, json={"data": {"object": {"amount": "5"}}}, headers=auth, timeout=30), 422),
        (httpx.get(url, timeout=30), 405),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert "error" in response.json()
    assert len(runs_of("payment_callback")) == before
    assert os.environ.get("PAYMENT_HOOK_PASSWORD") is None


def test_e2e_slack_and_zoom_url_checks_are_answered_by_the_served_api_server(server: str) -> None:
    """What saving the URL in Slack's and Zoom's settings sends, to a real api-server: each
    answered as its sender expects, signed by the sender's scheme, and no run starts."""
    import time

    from slack_sdk.signature import SignatureVerifier

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.airflow_seam.secrets import AirflowVault
    from airflow_webhook_trigger.storage.webhook_changes import apply_documents
    from airflow_webhook_trigger.storage.webhook_store import WebhookStore
    from tests.integration import runs_of
    from tests.senders import ZOOM_PLAIN_TOKEN, ZOOM_VALIDATION, zoom, zoom_encrypted_token

    documents = [
        {"id": "e2e-slack-handshake1", "dag_id": "github_push",
         "auth": {"signature": {"scheme": "slack", "secret": "e2e-slack-signing"}}},
        {"id": "e2e-zoom-handshake01", "dag_id": "github_push",
         "auth": {"signature": {"scheme": "zoom", "secret": "e2e-zoom-token"}}},
    ]  # fmt: skip
    apply_documents(WebhookStore(db_session), documents, env={}, vault=AirflowVault())
    before = len(runs_of("github_push"))
    challenge = {"token": "t", "challenge": "e2e-challenge-0123456789", "type": "url_verification"}
    slack_body = json.dumps(challenge).encode()
    for prefix in PREFIXES:
        stamp = str(int(time.time()))
        signature = SignatureVerifier("e2e-slack-signing").generate_signature(
            timestamp=stamp, body=slack_body
        )
        slack_headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": str(signature)}
        answer = httpx.post(
            f"{server}{prefix}/trigger/e2e-slack-handshake1",
            content=slack_body,
            headers={"Content-Type": "application/json", **slack_headers},
            timeout=30,
        )
        assert answer.status_code == 200 and answer.json() == {"challenge": "e2e-challenge-0123456789"}
        answer = httpx.post(
            f"{server}{prefix}/trigger/e2e-zoom-handshake01",
            content=ZOOM_VALIDATION,
            headers={"Content-Type": "application/json", **zoom("e2e-zoom-token")(ZOOM_VALIDATION, "")},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "plainToken": ZOOM_PLAIN_TOKEN,
            "encryptedToken": zoom_encrypted_token("e2e-zoom-token", ZOOM_PLAIN_TOKEN),
        }
    assert len(runs_of("github_push")) == before
