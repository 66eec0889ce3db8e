"""One contract table, run against the FastAPI app and the Flask blueprint, both mounted
by the real api-server app (``airflow.api_fastapi.app.create_app``) on a migrated DB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.integration import basic, dags_can_refuse_manual_runs, runs_of
from tests.senders import SIGNED_ROWS, SIGNED_WEBHOOKS, SigningEnv

pytestmark = pytest.mark.airflow

PREFIXES = {"fastapi": "/webhook", "flask": "/pluginsv2/webhook"}
AUTH = basic("stripe", "s3cret-pass")
JSON = {"Content-Type": "application/json"}
MIB = 1024 * 1024

WEBHOOKS: list[dict[str, Any]] = [
    {
        "id": "hook-auth-0000001",
        "dag_id": "wt_params",
        "auth": {"basic": {"username": "stripe", "password": "s3cret-pass"}},
        "request": {
            "headers": [{"name": "X-Request-Id", "alias": "request_id"}],
            "body": [
                {"path": "data.amount", "alias": "amount"},
                {"path": "data.currency", "alias": "currency"},
            ],
        },
        "response": {"status": 202, "headers": {"X-Handled-By": "airflow"}, "body": {"accepted": True}},
    },
    {"id": "hook-open-0000001", "dag_id": "wt_plain"},
    {"id": "hook-off-00000001", "dag_id": "wt_plain", "enabled": False},
    {"id": "hook-nodag-000001", "dag_id": "no_such_dag"},
    {"id": "hook-nomanual-0001", "dag_id": "wt_scheduled_only"},
    # no scheduler runs here: a sync caller always gets the timeout answer
    {"id": "hook-sync-00000001", "dag_id": "wt_plain", "mode": "sync", "sync": {"timeout_seconds": 0.5}},
    {"id": "hook-dedupe-000001", "dag_id": "wt_plain", "dedupe": {"key": "header:X-Delivery"}},
    {
        "id": "hook-filter-contr1",
        "dag_id": "wt_plain",
        "filter": [{"body": "action", "in": ["opened"]}],
        "request": {"body": [{"path": "action"}]},
    },
]


@dataclass(frozen=True)
class Row:
    name: str
    webhook: str
    status: int
    method: str = "POST"
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    query: str = ""
    error: str | None = None  # a substring of the JSON "error"
    response_headers: dict[str, str] = field(default_factory=dict)
    #: (body, the public URL the request goes to) -> headers to add: a sender's signature
    signer: Any = None
    #: the runs it starts (default: one for a 2xx, none otherwise; a handshake: none)
    runs: int | None = None


GOOD = b'{"data": {"amount": 1250, "currency": "USD"}, "other": true}'

ROWS = [
    Row(
        "get is 405",
        "hook-auth-0000001",
        405,
        method="GET",
        error="not allowed",
        response_headers={"allow": "POST"},
    ),
    Row("put is 405", "hook-auth-0000001", 405, method="PUT", body=GOOD, headers={**JSON, **AUTH}),
    Row("delete is 405", "hook-auth-0000001", 405, method="DELETE"),
    Row(
        "method override ignored",
        "hook-auth-0000001",
        405,
        method="GET",
        headers={"X-HTTP-Method-Override": "POST", **AUTH},
    ),
    Row("unknown id", "hook-unknown-00001", 404, error="no such webhook"),
    Row("malformed id", "bad.id!", 404, error="no such webhook"),
    Row("disabled", "hook-off-00000001", 404, error="no such webhook"),
    Row(
        "declared too large",
        "hook-auth-0000001",
        413,
        body=b" " * (MIB + 1),
        headers={**JSON, **AUTH},
        error="max_body_bytes",
    ),
    Row("too large before auth", "hook-auth-0000001", 413, body=b" " * (MIB + 1), headers=JSON),
    Row(
        "no auth",
        "hook-auth-0000001",
        401,
        body=GOOD,
        headers=JSON,
        error="authentication required",
        response_headers={"www-authenticate": 'Basic realm="airflow-webhook-trigger", charset="UTF-8"'},
    ),
    Row(
        "wrong password",
        "hook-auth-0000001",
        401,
        body=GOOD,
        headers={**JSON, **basic("stripe", "nope")},
        error="invalid credentials",
    ),
    Row("wrong user", "hook-auth-0000001", 401, body=GOOD, headers={**JSON, **basic("x", "s3cret-pass")}),
    Row(
        "bearer scheme", "hook-auth-0000001", 401, body=GOOD, headers={**JSON, "Authorization": "Bearer abc"}
    ),
    Row("bad base64", "hook-auth-0000001", 401, body=GOOD, headers={**JSON, "Authorization": "Basic %%%"}),
    Row("text/plain", "hook-auth-0000001", 415, body=GOOD, headers={"Content-Type": "text/plain", **AUTH}),
    Row("no content type", "hook-open-0000001", 415, body=b"{}", error="application/json"),
    Row(
        "latin-1 charset",
        "hook-open-0000001",
        415,
        body=b"{}",
        headers={"Content-Type": "application/json; charset=latin-1"},
    ),
    Row("malformed json", "hook-open-0000001", 400, body=b'{"a": ', headers=JSON),
    Row("duplicate keys", "hook-open-0000001", 400, body=b'{"a": 1, "a": 2}', headers=JSON),
    Row("nan", "hook-open-0000001", 400, body=b'{"a": NaN}', headers=JSON),
    # PostgreSQL's jsonb cannot store a NUL: refused before any write, not at commit
    Row("nul in json", "hook-open-0000001", 400, body=b'{"a": "x\\u0000"}', headers=JSON, error="NUL"),
    Row(
        "nul in form",
        "hook-open-0000001",
        400,
        body=b"a=x%00",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        error="NUL",
    ),
    Row(
        "too deep", "hook-open-0000001", 400, body=b"[" * 65 + b"]" * 65, headers=JSON, error="json_max_depth"
    ),
    Row("invalid utf-8", "hook-open-0000001", 400, body=b'{"a": "\xff"}', headers=JSON),
    Row("lone surrogate", "hook-open-0000001", 400, body=b'{"a": "\\ud800"}', headers=JSON),
    Row("huge integer", "hook-open-0000001", 400, body=b'{"a": 1' + b"0" * 30 + b"}", headers=JSON),
    Row(
        "too many query params",
        "hook-open-0000001",
        400,
        query="&".join(f"k{i}=v" for i in range(1001)),
        error="query_max_params",
    ),
    Row(
        "query index over limit",
        "hook-open-0000001",
        400,
        query="a[999999999]=1",
        error="query_max_array_index",
    ),
    Row("query too deep", "hook-open-0000001", 400, query="a[b][c][d][e][f][g]=1", error="query_max_depth"),
    Row(
        "param invalid",
        "hook-auth-0000001",
        422,
        body=b'{"data": {"amount": "12.50"}}',
        headers={**JSON, **AUTH},
        error="'amount'",
    ),
    Row(
        "param enum",
        "hook-auth-0000001",
        422,
        body=b'{"data": {"amount": 5, "currency": "JPY"}}',
        headers={**JSON, **AUTH},
        error="'currency'",
    ),
    Row(
        "param missing",
        "hook-auth-0000001",
        422,
        body=b'{"data": {}}',
        headers={**JSON, **AUTH},
        error="'amount' is required",
    ),
    Row("unknown dag", "hook-nodag-000001", 404, error="not found"),
    *(
        [Row("dag refuses manual runs", "hook-nomanual-0001", 409, error="does not allow manual runs")]
        if dags_can_refuse_manual_runs()
        else []
    ),
    Row(
        "accepted",
        "hook-auth-0000001",
        202,
        body=GOOD,
        headers={**JSON, **AUTH, "X-Request-Id": "r-17"},
        response_headers={"x-handled-by": "airflow", "content-type": "application/json"},
    ),
    Row(
        "scheme lowercase",
        "hook-auth-0000001",
        202,
        body=GOOD,
        headers={**JSON, "Authorization": AUTH["Authorization"].replace("Basic", "basic")},
    ),
    Row(
        "+json type",
        "hook-open-0000001",
        200,
        body=b'{"a": 1}',
        headers={"Content-Type": "application/vnd.api+json; charset=UTF-8"},
    ),
    Row(
        "empty body no type",
        "hook-open-0000001",
        200,
        response_headers={"content-type": "text/plain; charset=utf-8"},
    ),
    Row("paused dag still gets its run", "hook-open-0000001", 200, query="x[]=1&x[]=2"),
    *[Row(**row) for row in SIGNED_ROWS],
]


@pytest.fixture(scope="module")
def registered(airflow_db: None) -> Iterator[None]:
    from sqlalchemy import delete

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.webhook_changes import upsert
    from airflow_webhook_trigger.storage.webhook_store import WebhookStore, webhooks_table

    with db_session() as session:
        session.execute(delete(webhooks_table))
    from airflow_webhook_trigger.airflow_seam.secrets import AirflowVault

    store = WebhookStore(db_session)
    with SigningEnv() as env:
        for doc in [*WEBHOOKS, *SIGNED_WEBHOOKS]:
            upsert(store, doc, env=env.values, vault=AirflowVault())
        env.after_apply()
        yield


class Adapters:
    """Both adapters behind the one api-server app: each test asks them the same thing."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __iter__(self) -> Iterator[str]:
        return iter(PREFIXES)

    def post(self, adapter: str, path: str, body: bytes = b"", **headers: str) -> Any:
        return self.client.post(f"{PREFIXES[adapter]}{path}", content=body, headers={**JSON, **headers})


@pytest.fixture
def adapters(client: Any, registered: None) -> Adapters:
    return Adapters(client)


def _send(client: Any, adapter: str, row: Row) -> Any:
    url = f"{PREFIXES[adapter]}/trigger/{row.webhook}"
    if row.query:
        url += "?" + row.query
    headers = dict(row.headers)
    if row.signer is not None:
        headers.update(row.signer(row.body, f"http://localhost:8080{url}"))
    return client.request(row.method, url, content=row.body, headers=headers)


def _run_count() -> int:
    return sum(len(runs_of(d)) for d in ("wt_params", "wt_plain"))


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_contract_row_same_answer_from_both_adapters(row: Row, client: Any, registered: None) -> None:
    answers = {}
    for adapter in PREFIXES:
        before = _run_count()
        response = _send(client, adapter, row)
        started = _run_count() - before
        assert response.status_code == row.status, (adapter, response.content)
        expected = row.runs if row.runs is not None else (1 if 200 <= row.status < 300 else 0)
        assert started == expected, adapter
        for name, value in row.response_headers.items():
            assert response.headers.get(name) == value, (adapter, name)
        # every answer is served on Airflow's origin: never sniffed, run or framed as a page
        assert response.headers.get("x-content-type-options") == "nosniff", adapter
        assert response.headers.get("content-security-policy", "").startswith("sandbox;"), adapter
        if row.status >= 400:
            payload = response.json()
            assert response.headers["content-type"] == "application/json"
            assert isinstance(payload["error"], str)
            if row.error:
                assert row.error in payload["error"], (adapter, payload)
        relevant = {
            k: v
            for k, v in response.headers.items()
            if k
            in {
                "content-type",
                "allow",
                "www-authenticate",
                "retry-after",
                "x-handled-by",
                "x-content-type-options",
                "content-security-policy",
            }
        }
        answers[adapter] = (response.status_code, relevant, response.content)
    assert answers["fastapi"] == answers["flask"]


def _tokens() -> Any:
    """The run handles and status tokens of the api-server's runtime."""
    from airflow_webhook_trigger.airflow_seam.wiring import shared_runtime

    return shared_runtime().endpoint.tokens


def test_contract_status_url_opened_by_its_token_alone_from_both(client: Any, registered: None) -> None:
    from tests.senders import github

    signed = next(r for r in ROWS if r.name == "github signed")
    answers = []
    for adapter in PREFIXES:
        run_id = _send(client, adapter, signed).headers["x-airflow-run-id"]
        status = f"{PREFIXES[adapter]}/trigger/{signed.webhook}/runs/{run_id}"
        # what a poll of a signed webhook sent before: a signature over the empty body
        poll = github()(b"", f"http://localhost:8080{status}")
        assert client.get(status, headers=poll).status_code == 404, adapter
        other = _tokens().status_query("hook-open-0000001", run_id)  # another webhook's token
        assert client.get(f"{status}?{other}").status_code == 404, adapter
        opened = client.get(f"{status}?{_tokens().status_query(signed.webhook, run_id)}")
        assert opened.status_code == 202, (adapter, opened.text)
        assert opened.json() == {"dag_id": "wt_plain", "run_id": run_id, "state": "queued"}
        answers.append(client.get(status).content)
        # and the poll's headers start no run when posted as a delivery
        before = _run_count()
        posted = client.post(f"{PREFIXES[adapter]}/trigger/{signed.webhook}", headers={**JSON, **poll})
        assert posted.status_code == 400 and "empty body" in posted.json()["error"], adapter
        assert _run_count() == before, adapter
    # no token: the same answer as an unknown webhook's
    unknown = client.get(f"{PREFIXES['fastapi']}/trigger/hook-unknown-00001/runs/{run_id}").content
    assert answers == [unknown, unknown]


@pytest.mark.parametrize(
    ("webhook", "signer", "body", "content_type", "changes", "signed"),
    [
        (
            "hook-ghdedupe-0001",
            "github",
            b'{"ref": "refs/heads/main", "n": %d}',
            "application/json",
            [
                ({"X-GitHub-Delivery": "d-1", "X-GitHub-Event": "push"}, ""),
                ({"X-GitHub-Delivery": "d-2", "X-GitHub-Event": "push"}, ""),
                ({"X-GitHub-Delivery": "d-3", "X-GitHub-Event": "release"}, "?deploy=1"),
            ],
            ["body"],
        ),
        (
            "hook-twdedupe-0001",
            "twilio",
            b"From=%%2B1555&Body=n%d",
            "application/x-www-form-urlencoded",
            [({"I-Twilio-Idempotency-Token": "t-1"}, ""), ({"I-Twilio-Idempotency-Token": "t-2"}, "")],
            ["url", "body"],
        ),
    ],
)
def test_contract_signed_delivery_resent_with_new_unsigned_parts_is_one_run_on_both(
    client: Any,
    registered: None,
    webhook: str,
    signer: str,
    body: bytes,
    content_type: str,
    changes: list[tuple[dict[str, str], str]],
    signed: list[str],
) -> None:
    from tests import senders

    for n, adapter in enumerate(PREFIXES):
        raw = body % n
        url = f"{PREFIXES[adapter]}/trigger/{webhook}"
        signature = getattr(senders, signer)()(raw, f"http://localhost:8080{url}")
        before = _run_count()
        run_ids = set()
        for headers, query in changes:
            response = client.post(
                url + query, content=raw, headers={"Content-Type": content_type, **signature, **headers}
            )
            assert response.status_code == 200, (adapter, response.text)
            run_ids.add(response.headers["x-airflow-run-id"])
        assert len(run_ids) == 1 and _run_count() == before + 1, adapter
        [run] = [r for r in runs_of("wt_plain") if r.run_id in run_ids]
        assert run.conf["webhook"]["signed"] == signed, adapter
        assert run.conf["webhook"]["delivery"].startswith("signed-sha256:"), adapter


def test_contract_accepted_run_holds_trigger_variables(client: Any, registered: None) -> None:
    for adapter in PREFIXES:
        response = _send(client, adapter, next(r for r in ROWS if r.name == "accepted"))
        assert response.status_code == 202
        run_id = response.headers["x-airflow-run-id"]
        [run] = [r for r in runs_of("wt_params") if r.run_id == run_id]
        assert run.conf == {
            "headers": {"X-Request-Id": "r-17"},
            "query": {},
            "body": {"data": {"amount": 1250, "currency": "USD"}},
            "request_id": "r-17",
            "amount": 1250,
            "currency": "USD",
            "webhook": {
                "handle": _tokens().handle("hook-auth-0000001"),
                "mode": "async",
                "received_at": run.conf["webhook"]["received_at"],
            },
        }
        assert run.logical_date is None
        assert run.run_type == "manual"
        assert run.state == "queued"
        # the id of an open webhook is its secret: neither the run id nor conf tell it
        assert run_id.startswith(_tokens().run_prefix("hook-auth-0000001"))
        assert "hook-auth-0000001" not in run_id + json.dumps(run.conf)
        assert "s3cret" not in json.dumps(run.conf)


def test_contract_no_secret_in_error_bodies(client: Any, registered: None) -> None:
    for adapter in PREFIXES:
        for creds in (basic("stripe", "guess-1"), {"Authorization": "Basic " + "QUJD" * 10}):
            response = client.post(
                f"{PREFIXES[adapter]}/trigger/hook-auth-0000001", content=GOOD, headers={**JSON, **creds}
            )
            assert response.status_code == 401
            assert "guess" not in response.text and "QUJD" not in response.text
            assert "s3cret" not in response.text


@pytest.mark.parametrize(
    ("raw", "text"),
    [("café-☃".encode(), "café-☃"), (b"caf\xe9", "café"), (b"plain-17", "plain-17")],
    ids=["utf-8", "latin-1", "ascii"],
)
def test_contract_header_values_utf8_when_valid_else_latin1(
    client: Any, registered: None, raw: bytes, text: str
) -> None:
    for adapter in PREFIXES:
        response = client.post(
            f"{PREFIXES[adapter]}/trigger/hook-auth-0000001",
            content=GOOD,
            headers={**JSON, **AUTH, "X-Request-Id": raw},
        )
        assert response.status_code == 202, (adapter, response.text)
        [run] = [r for r in runs_of("wt_params") if r.run_id == response.headers["x-airflow-run-id"]]
        assert run.conf["headers"] == {"X-Request-Id": text}, adapter
        assert run.conf["request_id"] == text


@pytest.mark.parametrize(
    "run_id",
    [
        "webhook__hook-open-0000001__%00",
        "%00",
        "webhook__hook-open-0000001__a%00b",
        "webhook__hook-open-0000001__%E2%98%83",
    ],
)
def test_contract_status_url_odd_run_id_404_from_both(client: Any, registered: None, run_id: str) -> None:
    answers = set()
    for adapter in PREFIXES:
        response = client.get(f"{PREFIXES[adapter]}/trigger/hook-open-0000001/runs/{run_id}")
        assert response.status_code == 404, (adapter, response.text)
        answers.add(response.content)
    # a control character never reaches the route (the mount guard's 404); the rest do
    expected = b'{"error":"Not Found"}' if "%00" in run_id else b'{"error":"no such run for this webhook"}'
    assert answers == {expected}


def test_contract_signed_slack_form_reaches_conf_and_no_secret_anywhere(
    client: Any, registered: None
) -> None:
    from sqlalchemy import select

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.webhook_store import webhooks_table
    from tests import senders

    row = next(r for r in ROWS if r.name == "slack slash command")
    for adapter in PREFIXES:
        response = _send(client, adapter, row)
        assert response.status_code == 200, response.text
        [run] = [r for r in runs_of("wt_plain") if r.run_id == response.headers["x-airflow-run-id"]]
        assert run.conf["body"] == {"command": "/deploy", "text": "shop v2"}
        assert run.conf["command"] == "/deploy"
        assert "x-slack-signature" not in json.dumps(run.conf).lower()
    with db_session() as session:
        stored = json.dumps([list(r) for r in session.execute(select(webhooks_table)).all()], default=str)
    for secret in (senders.STRIPE_SECRET, senders.SW_SECRET, senders.HMAC_SECRET, senders.GITHUB_SECRET,
                   senders.SLACK_SECRET, senders.TWILIO_TOKEN, senders.ZOOM_SECRET, senders.ZOOM_OLD_SECRET,
                   senders.GITLAB_TOKEN, senders.TELEGRAM_TOKEN, senders.META_SECRET,
                   senders.PAGERDUTY_SECRET, senders.ATLASSIAN_SECRET):  # fmt: skip
        assert secret not in stored
    assert "gAAAAA" in stored  # Fernet tokens, for the literal ones


def test_contract_slack_url_verification_echoes_its_challenge_records_a_handshake_and_no_run(
    client: Any, registered: None
) -> None:
    """What saving an Events API URL in a Slack app's settings sends: answered at once."""
    from airflow_webhook_trigger.airflow_seam.wiring import shared_runtime

    row = next(r for r in ROWS if r.name == "slack url_verification")
    log = shared_runtime().deliveries
    for adapter in PREFIXES:
        before = _run_count()
        response = _send(client, adapter, row)
        assert response.status_code == 200, (adapter, response.text)
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
        assert "x-airflow-run-id" not in response.headers and _run_count() == before
        log.flush()
        newest = log.list("hook-slack-000001", limit=1)[0]
        assert (newest.outcome, newest.status, newest.run_id) == ("handshake", 200, None), adapter
    wrong = next(r for r in ROWS if r.name == "slack url_verification wrong secret")
    refused = _send(client, "fastapi", wrong)
    assert refused.status_code == 401 and "3eZbrw1a" not in refused.text  # no echo unverified


def test_contract_zoom_url_validation_answers_the_token_hashed_with_the_secret_that_signed_it(
    client: Any, registered: None
) -> None:
    """Zoom checks the URL when it is saved, then every 72 hours: during a rotation it signs,
    and expects the token hashed, with its own secret."""
    from airflow_webhook_trigger.airflow_seam.wiring import shared_runtime
    from tests.senders import ZOOM_OLD_SECRET, ZOOM_PLAIN_TOKEN, ZOOM_SECRET, zoom_encrypted_token

    log = shared_runtime().deliveries
    for name, secret in (
        ("zoom url_validation", ZOOM_SECRET),
        ("zoom url_validation previous secret", ZOOM_OLD_SECRET),
    ):
        row = next(r for r in ROWS if r.name == name)
        for adapter in PREFIXES:
            before = _run_count()
            response = _send(client, adapter, row)
            assert response.status_code == 200, (adapter, response.text)
            assert response.json() == {
                "plainToken": ZOOM_PLAIN_TOKEN,
                "encryptedToken": zoom_encrypted_token(secret, ZOOM_PLAIN_TOKEN),
            }, (adapter, name)
            assert _run_count() == before
            log.flush()
            assert log.list("hook-zoom-0000001", limit=1)[0].outcome == "handshake"


# -- rows beyond the plain delivery: sync, dedupe, filters, test captures -------------------


def test_contract_sync_caller_gets_202_and_a_status_url_its_token_opens(adapters: Adapters) -> None:
    answers = {}
    for adapter in adapters:
        before = _run_count()
        response = adapters.post(adapter, "/trigger/hook-sync-00000001", b"{}")
        assert response.status_code == 202, (adapter, response.text)
        assert _run_count() == before + 1, adapter
        body = response.json()
        run_id = body["run_id"]
        base = f"http://localhost:8080{PREFIXES[adapter]}/trigger/hook-sync-00000001/runs/{run_id}?"
        assert body["status_url"].startswith(base), (adapter, body)
        assert response.headers["location"] == body["status_url"]
        assert response.headers["x-airflow-run-id"] == run_id
        polled = adapters.client.get(body["status_url"].removeprefix("http://localhost:8080"))
        assert polled.status_code == 202, (adapter, polled.text)
        assert polled.json() == {"dag_id": "wt_plain", "run_id": run_id, "state": "queued"}
        answers[adapter] = sorted(body)
    assert answers["fastapi"] == answers["flask"] == ["dag_id", "run_id", "status_url"]


def test_contract_repeated_delivery_is_one_run_answered_alike(adapters: Adapters) -> None:
    for n, adapter in enumerate(adapters):
        before = _run_count()
        first = adapters.post(adapter, "/trigger/hook-dedupe-000001", b'{"n": 1}', **{"X-Delivery": f"d-{n}"})
        again = adapters.post(adapter, "/trigger/hook-dedupe-000001", b'{"n": 1}', **{"X-Delivery": f"d-{n}"})
        assert (first.status_code, again.status_code) == (200, 200), (adapter, again.text)
        assert first.headers["x-airflow-run-id"] == again.headers["x-airflow-run-id"], adapter
        assert first.content == again.content
        assert _run_count() == before + 1, adapter
        other = adapters.post(adapter, "/trigger/hook-dedupe-000001", b'{"n": 2}', **{"X-Delivery": f"d-{n}"})
        assert other.status_code == 409, (adapter, other.text)  # the same key, another body
        assert other.json()["run_id"] == first.headers["x-airflow-run-id"]
        assert _run_count() == before + 1, adapter


def test_contract_filtered_delivery_is_answered_without_a_run(adapters: Adapters) -> None:
    answers = set()
    for adapter in adapters:
        before = _run_count()
        ignored = adapters.post(adapter, "/trigger/hook-filter-contr1", b'{"action": "closed"}')
        assert ignored.status_code == 200, (adapter, ignored.text)
        assert ignored.json()["ignored"] is True and "action" in ignored.json()["reason"]
        assert "x-airflow-run-id" not in ignored.headers
        assert _run_count() == before, adapter
        answers.add(ignored.content)
        passed = adapters.post(adapter, "/trigger/hook-filter-contr1", b'{"action": "opened"}')
        assert passed.status_code == 200 and _run_count() == before + 1, adapter
        [run] = [r for r in runs_of("wt_plain") if r.run_id == passed.headers["x-airflow-run-id"]]
        assert run.conf["body"] == {"action": "opened"}, run.conf
    assert len(answers) == 1


def test_contract_test_capture_stores_the_sample_and_starts_no_run(adapters: Adapters) -> None:
    from airflow_webhook_trigger.airflow_seam.wiring import shared_runtime

    answers = {}
    for n, adapter in enumerate(adapters):
        before = _run_count()
        body = b'{"order": {"id": %d}}' % n
        response = adapters.post(adapter, "/test/hook-auth-0000001?source=ci", body, **AUTH)
        assert response.status_code == 200, (adapter, response.text)
        assert _run_count() == before, adapter
        found = shared_runtime().deliveries.sample("hook-auth-0000001")
        assert found is not None, adapter
        sample = found[1]
        assert sample["body"] == {"order": {"id": n}} and sample["query"] == {"source": "ci"}, adapter
        assert "authorization" in sample["dropped_headers"]
        answers[adapter] = response.json()
        refused = adapters.post(adapter, "/test/hook-auth-0000001", body)  # no credentials
        assert refused.status_code == 401, adapter
    assert answers["fastapi"] == answers["flask"]
