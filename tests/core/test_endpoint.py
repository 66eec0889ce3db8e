from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from airflow_webhook_trigger.core.auth import BasicAuthChecker, hash_password
from airflow_webhook_trigger.core.definition import BasicAuth, parse_document
from airflow_webhook_trigger.core.endpoint import WebhookEndpoint
from airflow_webhook_trigger.core.errors import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
)
from airflow_webhook_trigger.core.request import Headers, WebhookRequest
from airflow_webhook_trigger.core.response import HttpResponse
from airflow_webhook_trigger.core.run_tokens import RunTokens
from airflow_webhook_trigger.core.runs import make_run_id
from airflow_webhook_trigger.core.settings import Settings
from airflow_webhook_trigger.core.ttl_cache import MISSING, Missing
from airflow_webhook_trigger.core.waiter import RecordedResponse, RunSnapshot
from airflow_webhook_trigger.core.webhook_source import CachedSource
from tests.fakes import FakeRuns, FakeSource

NOW = datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=timezone.utc)
PASSWORD_HASH = hash_password("s3cret")
TOKENS = RunTokens(b"the replicas' shared secret")
HANDLE = TOKENS.handle("hook-0123456789")


def _webhook(**doc: object):  # type: ignore[no-untyped-def]
    base: dict[str, object] = {"id": "hook-0123456789", "dag_id": "dag_a"}
    base.update(doc)
    return parse_document(base).webhook


def _endpoint(*webhooks, settings: Settings | None = None, runs: FakeRuns | None = None):  # type: ignore[no-untyped-def]
    source = FakeSource({w.id: w for w in webhooks})
    runs = runs or FakeRuns()
    return WebhookEndpoint(settings or Settings(), source, runs, clock=lambda: NOW, tokens=TOKENS), runs


def _request(body: bytes = b"", query: bytes = b"", **headers: str) -> WebhookRequest:
    items = [(k.replace("_", "-"), v) for k, v in headers.items()]
    return WebhookRequest("POST", Headers(items), query, body)


def test_accept_stripe_like_request_builds_product_conf() -> None:
    webhook = _webhook(
        request={
            "headers": [{"name": "X-Request-Id", "alias": "request_id"}, {"name": "Date"}],
            "query": [{"path": "query[0].a", "alias": "first_a"}],
            "body": [{"path": "a"}, {"path": "b.c", "alias": "amount"}],
        }
    )
    endpoint, runs = _endpoint(webhook)
    response = endpoint.accept(
        webhook,
        _request(
            b'{"a": 1, "b": {"c": 2, "d": 3}, "e": 4}',
            b"query[0][a]=1&other=2",
            Content_Type="application/json",
            X_Request_Id="r-17",
            Date="Tue, 01 Dec 2026 10:00:00 GMT",
            Authorization="Bearer leak",
            Cookie="session=leak",
        ),
    )
    assert response.status == 200
    assert response.body == b"ok"
    (dag_id, run_id, conf) = runs.triggered[0]
    assert dag_id == "dag_a"
    assert run_id.startswith(f"webhook__{HANDLE}__20261201T100000.123456Z_")
    assert conf == {
        "headers": {"X-Request-Id": "r-17", "Date": "Tue, 01 Dec 2026 10:00:00 GMT"},
        "query": {"query": [{"a": "1"}]},
        "body": {"a": 1, "b": {"c": 2}},
        "request_id": "r-17",
        "first_a": "1",
        "amount": 2,
        "webhook": {
            "handle": HANDLE,
            "mode": "async",
            "received_at": "2026-12-01T10:00:00.123456+00:00",
        },
    }
    assert "leak" not in json.dumps(conf)
    assert dict(response.headers)["X-Airflow-Run-Id"] == run_id


def test_accept_no_fields_configured_passes_query_and_body_but_no_headers() -> None:
    webhook = _webhook()
    endpoint, runs = _endpoint(webhook)
    endpoint.accept(webhook, _request(b"[1, 2]", b"x[]=1&x[]=2", Content_Type="application/json", X_A="1"))
    conf = runs.triggered[0][2]
    assert conf["headers"] == {}
    assert conf["query"] == {"x": ["1", "2"]}
    assert conf["body"] == [1, 2]


def test_accept_empty_body_has_no_body_key() -> None:
    webhook = _webhook()
    endpoint, runs = _endpoint(webhook)
    endpoint.accept(webhook, _request())
    assert "body" not in runs.triggered[0][2]


def test_accept_absent_paths_are_absent_from_conf() -> None:
    webhook = _webhook(request={"body": [{"path": "x.y", "alias": "why"}]})
    endpoint, runs = _endpoint(webhook)
    endpoint.accept(webhook, _request(b'{"z": 1}', Content_Type="application/json"))
    conf = runs.triggered[0][2]
    assert "why" not in conf
    assert conf["body"] == {}


def test_accept_configured_json_response() -> None:
    webhook = _webhook(response={"status": 202, "headers": {"X-Handled-By": "airflow"}, "body": {"ok": True}})
    endpoint, _ = _endpoint(webhook)
    response = endpoint.accept(webhook, _request())
    headers = dict(response.headers)
    assert (response.status, response.body) == (202, b'{"ok":true}')
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Handled-By"] == "airflow"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "post"])
def test_locate_other_method_is_405_with_allow(method: str) -> None:
    endpoint, _ = _endpoint(_webhook())
    with pytest.raises(MethodNotAllowed) as info:
        endpoint.locate(method, "hook-0123456789", None)
    assert info.value.headers == {"Allow": "POST"}


@pytest.mark.parametrize(
    "webhook_id", ["unknown-0123456", "short", "x" * 65, "../../etc", "hook 0123456789", ""]
)
def test_locate_unknown_or_malformed_id_is_404(webhook_id: str) -> None:
    endpoint, _ = _endpoint(_webhook())
    with pytest.raises(NotFound):
        endpoint.locate("POST", webhook_id, None)


def test_locate_malformed_id_never_reaches_the_source() -> None:
    source = FakeSource()
    endpoint = WebhookEndpoint(Settings(), source, FakeRuns())
    with pytest.raises(NotFound):
        endpoint.locate("POST", "bad id!", None)
    assert source.calls == 0


def test_locate_disabled_webhook_is_404() -> None:
    endpoint, _ = _endpoint(_webhook(enabled=False))
    with pytest.raises(NotFound):
        endpoint.locate("POST", "hook-0123456789", None)


@pytest.mark.parametrize(
    ("content_length", "raises"),
    [
        ("1048577", True),
        ("1048576", False),
        ("99999999999999999999999", False),
        ("abc", False),
        (None, False),
    ],
)
def test_locate_declared_length_over_limit_is_413(content_length: str | None, raises: bool) -> None:
    endpoint, _ = _endpoint(_webhook())
    if raises:
        with pytest.raises(PayloadTooLarge):
            endpoint.locate("POST", "hook-0123456789", content_length)
    else:
        endpoint.locate("POST", "hook-0123456789", content_length)


def test_accept_body_over_limit_is_413_even_without_content_length() -> None:
    webhook = _webhook()
    endpoint, runs = _endpoint(webhook, settings=Settings(max_body_bytes=10))
    with pytest.raises(PayloadTooLarge):
        endpoint.accept(webhook, _request(b"[" + b"1," * 10 + b"1]", Content_Type="application/json"))
    assert runs.triggered == []


def test_accept_auth_checked_before_content_type_and_parsing() -> None:
    webhook = _webhook().with_changes(auth=BasicAuth("u", PASSWORD_HASH))
    endpoint, runs = _endpoint(webhook)
    with pytest.raises(Unauthorized):
        endpoint.accept(webhook, _request(b"not json", Content_Type="text/plain"))
    assert runs.triggered == []


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        (b"{}", "text/plain", UnsupportedMediaType),
        (b"{}", None, UnsupportedMediaType),
        (b"{", "application/json", BadRequest),
        (b'{"a":1,"a":2}', "application/json", BadRequest),
        (b"NaN", "application/json", BadRequest),
    ],
)
def test_accept_bad_body_starts_no_run(body: bytes, content_type: str | None, error: type) -> None:
    webhook = _webhook()
    endpoint, runs = _endpoint(webhook)
    headers = {"Content_Type": content_type} if content_type else {}
    with pytest.raises(error):
        endpoint.accept(webhook, _request(body, **headers))
    assert runs.triggered == []


def test_accept_conf_over_limit_is_413() -> None:
    webhook = _webhook()
    endpoint, runs = _endpoint(webhook, settings=Settings(max_conf_bytes=100))
    with pytest.raises(PayloadTooLarge, match="max_conf_bytes"):
        endpoint.accept(webhook, _request(b'"' + b"x" * 200 + b'"', Content_Type="application/json"))
    assert runs.triggered == []


def test_accept_query_over_limit_is_400() -> None:
    webhook = _webhook()
    endpoint, runs = _endpoint(webhook, settings=Settings(query_max_params=2))
    with pytest.raises(BadRequest, match="query_max_params"):
        endpoint.accept(webhook, _request(query=b"a=1&b=2&c=3"))
    assert runs.triggered == []


def test_accept_gateway_errors_pass_through() -> None:
    webhook = _webhook()
    busy = ServiceUnavailable("busy", headers={"Retry-After": "5"})
    endpoint, _ = _endpoint(webhook, runs=FakeRuns(fail_with=busy))
    with pytest.raises(ServiceUnavailable):
        endpoint.accept(webhook, _request())


def test_make_run_id_matches_airflow_allowed_pattern() -> None:
    import re

    run_id = make_run_id("A_b-0123456789", NOW)
    assert re.match(r"^[A-Za-z0-9_.~:+-]+$", run_id)
    assert make_run_id("A_b-0123456789", NOW) != run_id


def test_cached_source_caches_hits_and_misses_within_ttl() -> None:
    now = [0.0]
    inner = FakeSource({"hook-0123456789": _webhook()})
    cached = CachedSource(inner, 1.0, clock=lambda: now[0])
    for _ in range(3):
        assert cached.get("hook-0123456789") is not None
        assert cached.get("missing-000000") is None
    assert inner.calls == 2
    now[0] = 1.5
    cached.get("hook-0123456789")
    assert inner.calls == 3
    cached.invalidate()
    cached.get("hook-0123456789")
    assert inner.calls == 4


def test_cached_source_ttl_zero_always_reads() -> None:
    inner = FakeSource()
    cached = CachedSource(inner, 0)
    cached.get("a")
    cached.get("a")
    assert inner.calls == 2


# -- sync mode -------------------------------------------------------------------------

SYNC_URL = "http://h/webhook/trigger/hook-0123456789"


def test_accept_sync_webhook_returns_pending_run_with_capped_timeout() -> None:
    from airflow_webhook_trigger.core.runs import PendingRun

    webhook = _webhook(mode="sync", sync={"timeout_seconds": 500})
    endpoint, runs = _endpoint(webhook, settings=Settings(sync_max_timeout_seconds=60))
    pending = endpoint.accept(webhook, _request(), request_url=SYNC_URL)
    assert isinstance(pending, PendingRun)
    assert pending.timeout == 60
    run_id = pending.run.run_id
    assert pending.status_url == f"{SYNC_URL}/runs/{run_id}?{TOKENS.status_query(webhook.id, run_id)}"
    assert runs.triggered[0][2]["webhook"]["mode"] == "sync"  # type: ignore[index]
    default = _webhook(mode="sync")
    assert endpoint.accept(default, _request(), request_url=SYNC_URL).timeout == 25  # type: ignore[union-attr]


def test_only_a_sync_webhook_asks_for_its_runs_row_id() -> None:
    """A sync delivery waits for its run by row id; an async one (or a replay) never reads it,
    so the gateway may leave it unread (on PostgreSQL: a group write in one round trip)."""
    from airflow_webhook_trigger.core.runs import PendingRun

    sync, plain = _webhook(mode="sync"), _webhook()
    endpoint, runs = _endpoint(sync, plain)
    pending = endpoint.accept(sync, _request(), request_url=SYNC_URL)
    assert isinstance(pending, PendingRun) and pending.run.row_id == 1  # what the waiter polls by
    assert endpoint.accept(plain, _request(), request_url=SYNC_URL).status == 200  # type: ignore[union-attr]
    endpoint.replay(plain, {"a": 1}, "dlv-1")
    assert [order.wants_row_id for order in runs.orders] == [True, False, False]


@pytest.mark.parametrize(
    ("snapshot", "status", "body", "content_type"),
    [
        (
            RunSnapshot("running", RecordedResponse(201, (("X-A", "1"),), {"ok": True}, "t")),
            201,
            b'{"ok":true}',
            "application/json",
        ),
        (
            RunSnapshot("success", RecordedResponse(422, (), "bad", "t")),
            422,
            b"bad",
            "text/plain; charset=utf-8",
        ),
        (
            RunSnapshot("success"),
            200,
            b'{"dag_id":"dag_a","run_id":"R","state":"success"}',
            "application/json",
        ),
        (
            RunSnapshot("failed"),
            500,
            b'{"error":"run failed","dag_id":"dag_a","run_id":"R"}',
            "application/json",
        ),
    ],
)
def test_finish_settled_run_answers_per_product(
    snapshot: RunSnapshot, status: int, body: bytes, content_type: str
) -> None:
    from airflow_webhook_trigger.core.runs import PendingRun, TriggeredRun

    endpoint, _ = _endpoint(_webhook())
    response = endpoint.finish(PendingRun(TriggeredRun("dag_a", "R", 1), 5, "u"), snapshot)
    assert (response.status, response.body) == (status, body)
    headers = dict(response.headers)
    assert headers["Content-Type"] == content_type
    assert headers["X-Airflow-Run-Id"] == "R"


def test_finish_timeout_answers_202_with_status_url_and_location() -> None:
    from airflow_webhook_trigger.core.runs import PendingRun, TriggeredRun

    endpoint, _ = _endpoint(_webhook())
    response = endpoint.finish(PendingRun(TriggeredRun("dag_a", "R", 1), 5, "http://h/s"), None)
    assert response.status == 202
    assert json.loads(response.body) == {"dag_id": "dag_a", "run_id": "R", "status_url": "http://h/s"}
    assert dict(response.headers)["Location"] == "http://h/s"


def _token(webhook_id: str, run_id: str) -> bytes:
    return TOKENS.status_query(webhook_id, run_id).encode()


def test_status_pending_run_is_202_with_state_then_recorded_response() -> None:
    webhook = _webhook(mode="sync")
    run_id = f"webhook__{HANDLE}__x"
    runs = FakeRuns(snapshots={run_id: RunSnapshot("running")})
    endpoint, _ = _endpoint(webhook, runs=runs)
    pending = endpoint.status("GET", webhook.id, run_id, _token(webhook.id, run_id))
    assert pending.status == 202
    assert json.loads(pending.body) == {"dag_id": "dag_a", "run_id": run_id, "state": "running"}
    runs.snapshots[run_id] = RunSnapshot("success", RecordedResponse(200, (), "done", "t"))
    assert endpoint.status("GET", webhook.id, run_id, _token(webhook.id, run_id)).body == b"done"


def test_status_async_webhook_answers_run_state_not_recorded_response() -> None:
    # what a task wrote to XCom is a sync caller's answer only, never served on an async
    # webhook's link
    webhook = _webhook(mode="async")
    run_id = f"webhook__{HANDLE}__x"
    recorded = RecordedResponse(200, (("X-A", "1"),), "<script>alert(1)</script>", "t")
    runs = FakeRuns(snapshots={run_id: RunSnapshot("running", recorded)})
    endpoint, _ = _endpoint(webhook, runs=runs)
    running = endpoint.status("GET", webhook.id, run_id, _token(webhook.id, run_id))
    assert running.status == 202
    assert json.loads(running.body) == {"dag_id": "dag_a", "run_id": run_id, "state": "running"}
    runs.snapshots[run_id] = RunSnapshot("success", recorded)
    done = endpoint.status("GET", webhook.id, run_id, _token(webhook.id, run_id))
    assert (done.status, json.loads(done.body)["state"]) == (200, "success")
    assert "X-A" not in dict(done.headers)


@pytest.mark.parametrize(
    ("webhook_id", "run_id"),
    [
        ("hook-0123456789", f"webhook__{HANDLE}__missing"),
        ("hook-0123456789", "manual__2026-01-01T00:00:00+00:00"),
        ("hook-0123456789", f"webhook__{TOKENS.handle('other-hook-000')}__x"),
        ("hook-0123456789", "webhook__hook-0123456789__x"),  # the id where the handle goes
        ("unknown-00000000", f"webhook__{TOKENS.handle('unknown-00000000')}__x"),
    ],
)
def test_status_unknown_or_foreign_run_is_404_even_with_its_token(webhook_id: str, run_id: str) -> None:
    runs = FakeRuns(
        snapshots={
            "manual__2026-01-01T00:00:00+00:00": RunSnapshot("success"),
            "webhook__hook-0123456789__x": RunSnapshot("success"),
            f"webhook__{TOKENS.handle('other-hook-000')}__x": RunSnapshot("success"),
        }
    )
    endpoint, _ = _endpoint(_webhook(mode="sync"), runs=runs)
    with pytest.raises(NotFound):
        endpoint.status("GET", webhook_id, run_id, _token(webhook_id, run_id))


def test_status_run_of_a_webhook_whose_id_extends_this_one_is_404() -> None:
    # ids "abc..." and "abc...__x": a run of the longer one is never the shorter one's
    short, long = _webhook(id="abcdefgh-hook", mode="sync"), _webhook(id="abcdefgh-hook__x", mode="sync")
    theirs = make_run_id(TOKENS.handle(long.id), NOW)
    runs = FakeRuns(snapshots={theirs: RunSnapshot("success")})
    endpoint, _ = _endpoint(short, long, runs=runs)
    assert endpoint.status("GET", long.id, theirs, _token(long.id, theirs)).status == 200
    for query in (_token(short.id, theirs), _token(long.id, theirs)):
        with pytest.raises(NotFound):
            endpoint.status("GET", short.id, theirs, query)


@pytest.mark.parametrize(
    "query",
    [
        b"",
        b"token=",
        b"token=0123456789abcdef0123456789abcdef",
        b"token=%FF%FE",
        b"token=\xe2\x98\x83",
        b"other=1",
        b"token=a&token=b",
    ],
)
def test_status_without_its_token_is_404_like_an_unknown_run(query: bytes) -> None:
    webhook = _webhook(mode="sync")
    run_id = f"webhook__{HANDLE}__x"
    runs = FakeRuns(snapshots={run_id: RunSnapshot("success")})
    endpoint, _ = _endpoint(webhook, runs=runs)
    with pytest.raises(NotFound) as refused:
        endpoint.status("GET", webhook.id, run_id, query)
    with pytest.raises(NotFound) as unknown:
        endpoint.status("GET", "unknown-00000000", run_id, query)
    assert refused.value.detail == unknown.value.detail
    # a token is one run's: another run of the same webhook is not opened by it
    with pytest.raises(NotFound):
        endpoint.status("GET", webhook.id, f"webhook__{HANDLE}__y", _token(webhook.id, run_id))


def test_status_token_alone_authorizes_and_get_only() -> None:
    # a poll sends no webhook credential (nothing a sender could replay as a delivery)
    webhook = _webhook(mode="sync").with_changes(auth=BasicAuth("u", PASSWORD_HASH))
    run_id = f"webhook__{HANDLE}__x"
    endpoint, _ = _endpoint(webhook, runs=FakeRuns(snapshots={run_id: RunSnapshot("success")}))
    assert endpoint.status("GET", webhook.id, run_id, _token(webhook.id, run_id)).status == 200
    with pytest.raises(MethodNotAllowed) as info:
        endpoint.status("POST", webhook.id, run_id, _token(webhook.id, run_id))
    assert info.value.headers == {"Allow": "GET"}


def test_status_url_handed_to_a_sync_caller_opens_its_run() -> None:
    webhook = _webhook(mode="sync")
    endpoint, runs = _endpoint(webhook)
    pending = endpoint.accept(
        webhook, _request(b"{}", Content_Type="application/json"), request_url="http://h/t"
    )
    assert not isinstance(pending, HttpResponse)
    run_id = runs.triggered[0][1]
    path, _, query = pending.status_url.partition("?")
    assert path == f"http://h/t/runs/{run_id}" and query.startswith("token=")
    runs.snapshots[run_id] = RunSnapshot("success")
    assert endpoint.status("GET", webhook.id, run_id, query.encode()).status == 200


class CountingChecker(BasicAuthChecker):
    def __init__(self) -> None:
        super().__init__()
        self.checks = 0

    def check(self, auth: BasicAuth, headers: Headers) -> None:
        self.checks += 1
        super().check(auth, headers)


def test_accept_with_authenticate_proof_does_not_check_twice() -> None:
    import base64

    webhook = _webhook().with_changes(auth=BasicAuth("u", PASSWORD_HASH))
    checker = CountingChecker()
    source = FakeSource({webhook.id: webhook})
    endpoint = WebhookEndpoint(Settings(), source, FakeRuns(), clock=lambda: NOW, auth=checker)
    token = base64.b64encode(b"u:s3cret").decode()
    request = _request(b"{}", Content_Type="application/json", Authorization=f"Basic {token}")
    proof = endpoint.authenticate(webhook, request)
    endpoint.accept(webhook, request, authenticated=proof)
    assert checker.checks == 1
    # a proof for another request (or none) proves nothing: the checks are made again
    other = _request(b"{}", Content_Type="application/json", Authorization=f"Basic {token}")
    endpoint.accept(webhook, other, authenticated=proof)
    endpoint.accept(webhook, request)
    assert checker.checks == 3
    forged = _request(b"{}", Content_Type="application/json", Authorization="Basic dTp3cm9uZw==")
    with pytest.raises(Unauthorized):
        endpoint.accept(webhook, forged, authenticated=proof)


@pytest.mark.parametrize("declared", ["²", "١٢", "+5", "", "9" * 25])
def test_check_declared_size_odd_values_are_left_to_the_read(declared: str) -> None:
    from airflow_webhook_trigger.core.errors import check_declared_size

    check_declared_size(declared, 1)  # no 413 from the header alone, and never a ValueError


def test_locate_cached_answers_only_from_the_cache() -> None:
    source = FakeSource({"hook-0123456789": _webhook()})
    endpoint = WebhookEndpoint(Settings(), CachedSource(source, 60), FakeRuns())
    assert endpoint.locate_cached("POST", "hook-0123456789", None) is MISSING
    assert source.calls == 0  # a read is the caller's to make, off its event loop
    endpoint.locate("POST", "hook-0123456789", None)
    assert source.calls == 1
    found = endpoint.locate_cached("POST", "hook-0123456789", None)
    assert not isinstance(found, Missing) and found.id == "hook-0123456789"
    with pytest.raises(PayloadTooLarge):  # the same checks as locate, on a cached definition
        endpoint.locate_cached("POST", "hook-0123456789", "1048577")
    with pytest.raises(NotFound):  # an unknown id, once read, is a cached miss
        endpoint.locate("POST", "unknown-0123456", None)
    with pytest.raises(NotFound):
        endpoint.locate_cached("POST", "unknown-0123456", None)
    assert source.calls == 2


def test_locate_cached_refuses_before_any_lookup_and_needs_a_cache() -> None:
    source = FakeSource({"hook-0123456789": _webhook()})
    endpoint = WebhookEndpoint(Settings(), source, FakeRuns())  # no cache in front
    with pytest.raises(MethodNotAllowed):
        endpoint.locate_cached("GET", "hook-0123456789", None)
    with pytest.raises(NotFound):
        endpoint.locate_cached("POST", "bad id!", None)
    assert endpoint.locate_cached("POST", "hook-0123456789", None) is MISSING
    assert source.calls == 0


def test_locate_cached_disabled_webhook_is_404() -> None:
    source = FakeSource({"hook-0123456789": _webhook(enabled=False)})
    endpoint = WebhookEndpoint(Settings(), CachedSource(source, 60), FakeRuns())
    with pytest.raises(NotFound):
        endpoint.locate("POST", "hook-0123456789", None)
    with pytest.raises(NotFound):
        endpoint.locate_cached("POST", "hook-0123456789", None)
