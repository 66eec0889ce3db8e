"""Exactly-once runs, filters, test captures, the delivery record and replay, through the
real api-server app, on both adapters."""

from __future__ import annotations

import concurrent.futures
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration import jwt_for, runs_of

pytestmark = [
    pytest.mark.airflow,
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

PREFIXES = {"fastapi": "/webhook", "flask": "/pluginsv2/webhook"}
JSON = {"Content-Type": "application/json"}
HMAC_SECRET = "flood-test-secret-0123456789"
WEBHOOKS: list[dict[str, Any]] = [
    {"id": "hook-dedupe-00001", "dag_id": "wt_plain", "dedupe": {"key": "header:X-Delivery"}},
    {
        "id": "hook-dedupe-sync1",
        "dag_id": "wt_plain",
        "mode": "sync",
        "sync": {"timeout_seconds": 0.3},
        "dedupe": {"key": "body:event.id"},
    },
    {
        "id": "hook-filter-00001",
        "dag_id": "wt_plain",
        "filter": [
            {"header": "X-GitHub-Event", "equals": "push"},
            {"body": "ref", "matches": "refs/heads/main"},
        ],
    },
    {"id": "hook-capcap-00001", "dag_id": "wt_plain"},
    {"id": "hook-oldregex-001", "dag_id": "wt_plain"},
    {
        "id": "hook-flood-00001",
        "dag_id": "wt_plain",
        "auth": {"signature": {"scheme": "hmac", "secret": HMAC_SECRET, "header": "X-Sig"}},
    },
]


@pytest.fixture(scope="module")
def registered(airflow_db: None) -> Iterator[None]:
    from sqlalchemy import delete

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.airflow_seam.secrets import AirflowVault
    from airflow_webhook_trigger.storage.webhook_changes import upsert
    from airflow_webhook_trigger.storage.webhook_store import WebhookStore, webhooks_table

    with db_session() as session:
        session.execute(delete(webhooks_table).where(webhooks_table.c.id.in_([w["id"] for w in WEBHOOKS])))
    store = WebhookStore(db_session)
    for doc in WEBHOOKS:
        upsert(store, doc, env={}, vault=AirflowVault())
    yield


@pytest.fixture(scope="module")
def admin(api_app: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt_for('admin')}"}


def _deliveries(client: Any, admin: dict[str, str], webhook_id: str, **params: Any) -> list[dict[str, Any]]:
    from airflow_webhook_trigger.airflow_seam.wiring import shared_runtime

    shared_runtime().deliveries.flush()
    response = client.get(f"/webhook/api/webhooks/{webhook_id}/deliveries", params=params, headers=admin)
    assert response.status_code == 200, response.text
    return list(response.json()["deliveries"])


@pytest.mark.parametrize("adapter", PREFIXES)
def test_twenty_concurrent_repeats_make_one_run(adapter: str, client: Any, registered: None) -> None:
    before = len(runs_of("wt_plain"))
    url = f"{PREFIXES[adapter]}/trigger/hook-dedupe-00001"
    headers = {**JSON, "X-Delivery": f"concurrent-{adapter}"}
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: client.post(url, content=b'{"n": 1}', headers=headers), range(20)))
    assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers if a.status_code != 200]
    run_ids = {a.headers["x-airflow-run-id"] for a in answers}
    assert len(run_ids) == 1
    runs = runs_of("wt_plain")
    assert len(runs) == before + 1
    [run] = [r for r in runs if r.run_id in run_ids]
    assert run.conf["webhook"]["delivery"] == f"concurrent-{adapter}"


def test_a_repeat_after_a_restart_gets_the_same_run(client: Any, registered: None) -> None:
    from airflow_webhook_trigger.airflow_seam.wiring import shared_runtime

    url = "/webhook/trigger/hook-dedupe-00001"
    headers = {**JSON, "X-Delivery": "across-restart"}
    first = client.post(url, content=b"{}", headers=headers)
    shared_runtime.cache_clear()  # the process's state gone: caches, buffers, the engine's pool
    again = client.post(url, content=b"{}", headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["x-airflow-run-id"] == first.headers["x-airflow-run-id"]


@pytest.mark.parametrize("adapter", PREFIXES)
def test_same_key_other_body_is_409(adapter: str, client: Any, registered: None) -> None:
    url = f"{PREFIXES[adapter]}/trigger/hook-dedupe-00001"
    headers = {**JSON, "X-Delivery": f"other-body-{adapter}"}
    assert client.post(url, content=b'{"v": 1}', headers=headers).status_code == 200
    before = len(runs_of("wt_plain"))
    conflict = client.post(url, content=b'{"v": 2}', headers=headers)
    assert conflict.status_code == 409
    assert "already used with another body" in conflict.json()["error"]
    missing = client.post(url, content=b"{}", headers=JSON)
    assert missing.status_code == 400 and "X-Delivery" in missing.json()["error"]
    assert len(runs_of("wt_plain")) == before


def test_sync_repeat_names_the_first_run(client: Any, registered: None) -> None:
    url = "/webhook/trigger/hook-dedupe-sync1"
    body = b'{"event": {"id": "evt-sync-1"}}'
    first = client.post(url, content=body, headers=JSON)
    again = client.post(url, content=body, headers=JSON)
    # no scheduler here: both wait 0.3 s, then get the status URL of the one run
    assert first.status_code == again.status_code == 202
    assert again.json()["run_id"] == first.json()["run_id"]
    assert again.headers["location"] == first.headers["location"]


@pytest.mark.parametrize("adapter", PREFIXES)
def test_filtered_requests_start_no_run(adapter: str, client: Any, registered: None) -> None:
    url = f"{PREFIXES[adapter]}/trigger/hook-filter-00001"
    before = len(runs_of("wt_plain"))
    ping = client.post(url, content=b'{"zen": "hi"}', headers={**JSON, "X-GitHub-Event": "ping"})
    assert ping.status_code == 200
    assert ping.json() == {
        "ignored": True,
        "reason": "condition 1 (header X-GitHub-Event equals) does not hold",
    }
    dev = client.post(url, content=b'{"ref": "refs/heads/dev"}', headers={**JSON, "X-GitHub-Event": "push"})
    assert dev.status_code == 200 and dev.json()["ignored"] is True
    # neither the expected value (a filter may be a shared-secret check) nor the one sent
    assert "refs/heads" not in dev.json()["reason"]
    assert len(runs_of("wt_plain")) == before
    main = client.post(url, content=b'{"ref": "refs/heads/main"}', headers={**JSON, "X-GitHub-Event": "push"})
    assert main.status_code == 200 and "x-airflow-run-id" in main.headers
    assert len(runs_of("wt_plain")) == before + 1


@pytest.mark.parametrize("adapter", PREFIXES)
def test_a_test_capture_becomes_the_sample_and_starts_no_run(
    adapter: str, client: Any, admin: dict[str, str], registered: None
) -> None:
    before = len(runs_of("wt_plain"))
    response = client.post(
        f"{PREFIXES[adapter]}/test/hook-filter-00001?source=ci",
        content=b'{"ref": "refs/heads/main", "repository": {"name": "r"}}',
        headers={
            **JSON,
            "X-GitHub-Event": "push",
            "Cookie": "session=s3cr3t",
            "Authorization": "Bearer t0k3n",
            # credentials senders put in headers of their own: one rule drops them all
            "X-Gitlab-Token": "gl-t0k3n",
            "X-Api-Key": "k3y-value",
            "X-Auth-Token": "auth-t0k3n",
            "X-Shopify-Access-Token": "shpat-t0k3n",
            "X-Webhook-Secret": "s3cr3t-2",
        },
    )
    assert response.status_code == 200, response.text
    paths = response.json()
    for dropped in (
        "x-gitlab-token",
        "x-api-key",
        "x-auth-token",
        "x-shopify-access-token",
        "x-webhook-secret",
    ):
        assert dropped not in paths["headers"], dropped
    assert paths["body"] == ["ref", "repository", "repository.name"]
    assert paths["query"] == ["source"]
    assert "x-github-event" in paths["headers"]
    assert "cookie" not in paths["headers"] and "authorization" not in paths["headers"]
    assert len(runs_of("wt_plain")) == before
    sample = client.get("/webhook/api/webhooks/hook-filter-00001/sample", headers=admin)
    assert sample.status_code == 200
    assert sample.json()["paths"] == paths
    assert "s3cr3t" not in sample.text and "t0k3n" not in sample.text and "k3y-value" not in sample.text
    # the sample names what it dropped, by name only
    assert sample.json()["dropped_headers"] == [
        "cookie",
        "authorization",
        "x-gitlab-token",
        "x-api-key",
        "x-auth-token",
        "x-shopify-access-token",
        "x-webhook-secret",
    ]
    assert "dropped_headers" not in sample.json()["sample"]
    # a page listening for the next capture asks with ?since: 204 until a newer one comes
    captured_at = sample.json()["captured_at"]
    url = "/webhook/api/webhooks/hook-filter-00001/sample"
    newer = client.get(url, params={"since": captured_at}, headers=admin)
    assert newer.status_code == 204 and newer.content == b""
    older = client.get(url, params={"since": "2000-01-01T00:00:00"}, headers=admin)
    assert older.status_code == 200 and older.json()["captured_at"] == captured_at
    assert client.get(url, params={"since": "yesterday"}, headers=admin).status_code == 400


@pytest.fixture(scope="module")
def stored_lookahead(registered: None) -> None:
    """hook-oldregex-001 as stored before patterns ran on RE2: a lookahead in its filter."""
    from sqlalchemy import select, update

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.webhook_store import webhooks_table

    where = webhooks_table.c.id == "hook-oldregex-001"
    with db_session() as session:
        stored = session.execute(select(webhooks_table.c.definition).where(where)).scalar_one()
        definition = json.loads(stored)
        definition["filter"] = [{"body": "ref", "matches": "(?=refs/).*"}]
        session.execute(update(webhooks_table).where(where).values(definition=json.dumps(definition)))


@pytest.mark.parametrize("adapter", PREFIXES)
def test_a_stored_pattern_re2_refuses_filters_every_delivery(
    adapter: str, client: Any, admin: dict[str, str], stored_lookahead: None
) -> None:
    before = len(runs_of("wt_plain"))
    response = client.post(
        f"{PREFIXES[adapter]}/trigger/hook-oldregex-001", content=b'{"ref": "refs/heads/main"}', headers=JSON
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"ignored": True, "reason": "condition 1 (body ref matches) does not hold"}
    assert len(runs_of("wt_plain")) == before
    shown = client.get("/webhook/api/webhooks/hook-oldregex-001", headers=admin)
    assert shown.status_code == 200 and shown.json()["filter"] == [{"body": "ref", "matches": "(?=refs/).*"}]


@pytest.mark.parametrize("adapter", PREFIXES)
def test_test_captures_past_the_caps_are_429_and_store_nothing(
    adapter: str, client: Any, admin: dict[str, str], registered: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_webhook_trigger.airflow_seam.wiring import shared_runtime
    from airflow_webhook_trigger.core.capture_budget import CaptureBudget

    endpoint = shared_runtime().endpoint
    url = f"{PREFIXES[adapter]}/test/hook-capcap-00001"
    sample_url = "/webhook/api/webhooks/hook-capcap-00001/sample"

    def captured() -> object:
        return client.get(sample_url, headers=admin).json()["sample"]["body"]

    # the count: 2 a minute
    monkeypatch.setattr(endpoint, "captures", CaptureBudget(2, 10_000, time.monotonic))
    for n in range(2):
        assert client.post(url, content=json.dumps({"n": n}).encode(), headers=JSON).status_code == 200
    refused = client.post(url, content=b'{"n": 2}', headers=JSON)
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json() == {
        "error": "too many test captures of webhook hook-capcap-00001 this minute; retry later"
    }
    assert captured() == {"n": 1}
    # the bytes: 40 a minute
    monkeypatch.setattr(endpoint, "captures", CaptureBudget(10, 40, time.monotonic))
    assert client.post(url, content=b'{"n": "' + b"x" * 20 + b'"}', headers=JSON).status_code == 200
    refused = client.post(url, content=b'{"n": "' + b"y" * 20 + b'"}', headers=JSON)
    assert refused.status_code == 429 and "retry-after" in refused.headers
    assert captured() == {"n": "x" * 20}


def test_a_flood_of_bad_signatures_writes_a_bounded_record(
    client: Any, admin: dict[str, str], registered: None
) -> None:
    from airflow_webhook_trigger.airflow_seam.wiring import shared_runtime
    from airflow_webhook_trigger.storage.delivery_record import REJECTED_PER_MINUTE

    url = "/webhook/trigger/hook-flood-00001"
    dropped = shared_runtime().deliveries.dropped
    for i in range(1000):
        response = client.post(url, content=b"{}", headers={**JSON, "X-Sig": f"{i:064x}"})
        assert response.status_code == 401
    rejected = _deliveries(client, admin, "hook-flood-00001", outcome="rejected", limit=500)
    assert 0 < len(rejected) <= REJECTED_PER_MINUTE
    assert shared_runtime().deliveries.dropped - dropped >= 1000 - REJECTED_PER_MINUTE
    assert all(HMAC_SECRET not in json.dumps(r) and r["status"] == 401 for r in rejected)
    body = b'{"after": "flood"}'
    good = hmac.new(HMAC_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert client.post(url, content=body, headers={**JSON, "X-Sig": good}).status_code == 200


def test_the_record_lists_every_outcome_and_replays(
    client: Any, admin: dict[str, str], registered: None
) -> None:
    url = "/webhook/trigger/hook-dedupe-00001"
    headers = {**JSON, "X-Delivery": "record-1"}
    first = client.post(url, content=b'{"x": 1}', headers=headers)
    client.post(url, content=b'{"x": 1}', headers=headers)
    client.post(url, content=b"{}", headers=JSON)  # no key: rejected
    rows = _deliveries(client, admin, "hook-dedupe-00001", limit=10)
    by_outcome = {r["outcome"]: r for r in reversed(rows)}  # the newest of each
    assert by_outcome["accepted"]["run_id"] == first.headers["x-airflow-run-id"]
    assert by_outcome["accepted"]["delivery_key"] == "record-1"
    assert by_outcome["duplicate"]["run_id"] == first.headers["x-airflow-run-id"]
    assert by_outcome["rejected"]["status"] == 400
    accepted = next(r for r in rows if r["outcome"] == "accepted" and r["delivery_key"] == "record-1")

    replayed = client.post(f"/webhook/api/deliveries/{accepted['id']}/replay", headers=admin)
    assert replayed.status_code == 201, replayed.text
    replay = replayed.json()
    assert replay["replay_of"] == accepted["id"] and replay["run_id"] != accepted["run_id"]
    [run] = [r for r in runs_of("wt_plain") if r.run_id == replay["run_id"]]
    [original] = [r for r in runs_of("wt_plain") if r.run_id == accepted["run_id"]]
    assert run.conf["webhook"]["replay_of"] == accepted["id"]
    assert "delivery" not in run.conf["webhook"]
    assert run.conf["body"] == original.conf["body"] == {"x": 1}

    not_accepted = next(r for r in rows if r["outcome"] == "duplicate")
    assert (
        client.post(f"/webhook/api/deliveries/{not_accepted['id']}/replay", headers=admin).status_code == 409
    )
    assert client.post(f"/webhook/api/deliveries/{'0' * 32}/replay", headers=admin).status_code == 404
    assert client.post("/webhook/api/deliveries/not-an-id/replay", headers=admin).status_code == 404
    shown = client.get(f"/webhook/api/deliveries/{accepted['id']}", headers=admin)
    assert shown.status_code == 200 and shown.json()["id"] == accepted["id"]


def test_the_list_shows_each_webhooks_last_delivery(
    client: Any, admin: dict[str, str], registered: None
) -> None:
    client.post("/webhook/trigger/hook-filter-00001", content=b"{}", headers=JSON)  # filtered
    newest = _deliveries(client, admin, "hook-filter-00001", limit=1)[0]
    listed = client.get("/webhook/api/webhooks", headers=admin).json()["webhooks"]
    by_id = {w["id"]: w for w in listed}
    assert by_id["hook-filter-00001"]["last_delivery"] == {
        "received_at": newest["received_at"],
        "outcome": "filtered",
        "status": newest["status"],
    }
    shown = client.get("/webhook/api/webhooks/hook-filter-00001", headers=admin).json()
    assert shown["last_delivery"] == by_id["hook-filter-00001"]["last_delivery"]
    assert shown["test_url"] == "http://localhost:8080/webhook/test/hook-filter-00001"


def test_management_api_round_trips_dedupe_and_filter(
    client: Any, admin: dict[str, str], registered: None
) -> None:
    doc = {
        "id": "hook-api-dedupe01",
        "dag_id": "wt_plain",
        "dedupe": {"key": "body:event.id"},
        "filter": [{"body": "event.type", "not_in": ["test"]}],
        "ignored_response": {"status": 202, "body": {"skipped": True}},
    }
    created = client.post("/webhook/api/webhooks", json=doc, headers=admin)
    assert created.status_code == 201, created.text
    shown = client.get("/webhook/api/webhooks/hook-api-dedupe01", headers=admin).json()
    assert {k: shown[k] for k in ("dedupe", "filter", "ignored_response")} == {
        "dedupe": doc["dedupe"],
        "filter": doc["filter"],
        "ignored_response": doc["ignored_response"],
    }
    bad = client.post(
        "/webhook/api/webhooks",
        json={"dag_id": "wt_plain", "filter": [{"body": "a", "matches": "(?=a).*"}]},
        headers=admin,
    )
    assert bad.status_code == 422 and "filter[0]" in bad.json()["error"]
    assert client.delete("/webhook/api/webhooks/hook-api-dedupe01", headers=admin).status_code == 204


def test_replay_refused_when_webhook_disabled_or_repointed(
    client: Any, admin: dict[str, str], registered: None
) -> None:
    hook = "hook-replay-stale-01"
    write = {**admin, **JSON}
    created = client.post("/webhook/api/webhooks", json={"id": hook, "dag_id": "wt_plain"}, headers=write)
    assert created.status_code == 201, created.text
    try:
        assert client.post(f"/webhook/trigger/{hook}", content=b'{"x": 1}', headers=JSON).status_code == 200
        [accepted] = _deliveries(client, admin, hook, limit=10)
        replay = f"/webhook/api/deliveries/{accepted['id']}/replay"

        assert client.patch(
            f"/webhook/api/webhooks/{hook}", json={"enabled": False}, headers=write
        ).is_success
        refused = client.post(replay, headers=admin)
        assert refused.status_code == 409 and "disabled" in refused.json()["error"]

        repointed = client.patch(
            f"/webhook/api/webhooks/{hook}", json={"enabled": True, "dag_id": "wt_params"}, headers=write
        )
        assert repointed.is_success, repointed.text
        refused = client.post(replay, headers=admin)
        assert refused.status_code == 409 and "now triggers DAG wt_params" in refused.json()["error"]

        back = client.patch(f"/webhook/api/webhooks/{hook}", json={"dag_id": "wt_plain"}, headers=write)
        assert back.is_success, back.text
        assert client.post(replay, headers=admin).status_code == 201
    finally:
        client.delete(f"/webhook/api/webhooks/{hook}", headers=admin)


@pytest.mark.parametrize("adapter", PREFIXES)
def test_sync_callers_past_the_cap_get_503_and_no_run(adapter: str, client: Any, registered: None) -> None:
    # the cap is taken before the run is written: a 503 leaves nothing for the retry to repeat
    from airflow_webhook_trigger.airflow_seam.wiring import shared_runtime

    held = _fill_sync_places(shared_runtime().sync_waiting, leave=0)
    try:
        before = len(runs_of("wt_plain"))
        body = f'{{"event": {{"id": "evt-cap-{adapter}"}}}}'.encode()
        url = f"{PREFIXES[adapter]}/trigger/hook-dedupe-sync1"
        refused = client.post(url, content=body, headers=JSON)
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"].isdigit()
        assert "sync callers" in refused.json()["error"]
        assert len(runs_of("wt_plain")) == before
        # an async webhook is not held back by the sync callers' cap
        other = f"{PREFIXES[adapter]}/trigger/hook-dedupe-00001"
        headers = {**JSON, "X-Delivery": f"cap-async-{adapter}"}
        assert client.post(other, content=b"{}", headers=headers).status_code == 200
    finally:
        for slot in held:
            slot.release()
    assert client.post(url, content=body, headers=JSON).status_code == 202  # 0.3 s, no scheduler


def _fill_sync_places(callers: Any, leave: int) -> list[Any]:
    """Take every place among the process's sync callers but ``leave``."""
    held = []
    while callers.cap - callers.taken > leave:
        held.append(callers.take())
    return held


@pytest.mark.parametrize("adapter", PREFIXES)
def test_repeats_of_one_sync_delivery_share_one_place(adapter: str, client: Any, registered: None) -> None:
    # two places left: the first caller's run holds one while it waits; each repeat takes the
    # other while it is written, then shares the run's. Without sharing the second repeat is a 503.
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.airflow_seam.wiring import shared_runtime
    from airflow_webhook_trigger.storage.webhook_changes import upsert
    from airflow_webhook_trigger.storage.webhook_store import WebhookStore

    hook = f"hook-sync-share-{adapter}"
    doc = {
        "id": hook,
        "dag_id": "wt_plain",
        "mode": "sync",
        "sync": {"timeout_seconds": 3},
        "dedupe": {"key": "header:X-Request-Id"},
    }
    upsert(WebhookStore(db_session), doc, env={})
    callers = shared_runtime().sync_waiting
    held = _fill_sync_places(callers, leave=2)
    url, headers = f"{PREFIXES[adapter]}/trigger/{hook}", {**JSON, "X-Request-Id": f"one-{time.time()}"}
    try:
        with concurrent.futures.ThreadPoolExecutor(5) as pool:
            first = pool.submit(client.post, url, content=b'{"n": 1}', headers=headers)
            answers = []
            for _ in range(4):
                time.sleep(0.25)  # no two repeats are being written at once
                answers.append(pool.submit(client.post, url, content=b'{"n": 1}', headers=headers))
            results = [first.result(), *(a.result() for a in answers)]
    finally:
        for slot in held:
            slot.release()
        WebhookStore(db_session).delete(hook)
    assert [r.status_code for r in results] == [202] * 5, [r.text for r in results]
    assert len({r.headers["x-airflow-run-id"] for r in results}) == 1
    assert callers.taken == 0


def test_deliveries_answer_to_the_dags_permissions(
    client: Any, admin: dict[str, str], registered: None
) -> None:
    # tests/auth_manager.py: the limited user may not see wt_plain and may only read wt_shapes
    limited = {"Authorization": f"Bearer {jwt_for('op', 'limited')}"}
    hook = "hook-perm-deliver1"
    write = {**admin, **JSON}
    created = client.post("/webhook/api/webhooks", json={"id": hook, "dag_id": "wt_plain"}, headers=write)
    assert created.status_code == 201, created.text
    try:
        assert client.post(f"/webhook/trigger/{hook}", content=b'{"x": 1}', headers=JSON).status_code == 200
        client.post(f"/webhook/test/{hook}", content=b'{"x": 2}', headers=JSON)
        [on_hidden] = _deliveries(client, admin, hook, limit=10)
        for path in (
            f"webhooks/{hook}/deliveries",
            f"webhooks/{hook}/sample",
            f"deliveries/{on_hidden['id']}",
        ):
            hidden = client.get(f"/webhook/api/{path}", headers=limited)
            assert hidden.status_code == 404, (path, hidden.text)
            assert "wt_plain" not in hidden.text and on_hidden["run_id"] not in hidden.text
        replay = f"/webhook/api/deliveries/{on_hidden['id']}/replay"
        assert client.post(replay, headers=limited).status_code == 404

        # re-pointed at a DAG the user may read: the new DAG's record shows, the old one's stays hidden
        repointed = client.patch(f"/webhook/api/webhooks/{hook}", json={"dag_id": "wt_shapes"}, headers=write)
        assert repointed.is_success, repointed.text
        accepted = client.post(f"/webhook/trigger/{hook}", content=b'{"x": 3}', headers=JSON)
        assert accepted.status_code == 200, accepted.text
        _deliveries(client, admin, hook)  # flushes the record
        shown = client.get(f"/webhook/api/webhooks/{hook}/deliveries", headers=limited)
        assert shown.status_code == 200, shown.text
        assert [d["dag_id"] for d in shown.json()["deliveries"]] == ["wt_shapes"]
        assert client.get(f"/webhook/api/deliveries/{on_hidden['id']}", headers=limited).status_code == 404
        on_read_only = shown.json()["deliveries"][0]
        # reading is not triggering: its replay is refused, naming the DAG
        refused = client.post(f"/webhook/api/deliveries/{on_read_only['id']}/replay", headers=limited)
        assert refused.status_code == 403 and "wt_shapes" in refused.json()["error"]
        assert (
            client.post(f"/webhook/api/deliveries/{on_read_only['id']}/replay", headers=admin).status_code
            == 201
        )
    finally:
        client.delete(f"/webhook/api/webhooks/{hook}", headers=admin)
