"""The core's side of exactly-once runs, filters, the delivery record and test captures."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest

from airflow_webhook_trigger.core.definition import parse_document
from airflow_webhook_trigger.core.delivery import DeliveryRow
from airflow_webhook_trigger.core.endpoint import WebhookEndpoint
from airflow_webhook_trigger.core.errors import (
    BadRequest,
    Conflict,
    TooManyRequests,
    Unauthorized,
    UnprocessableEntity,
)
from airflow_webhook_trigger.core.request import Headers, WebhookRequest
from airflow_webhook_trigger.core.response import HttpResponse
from airflow_webhook_trigger.core.runs import Deferred, PendingRun
from airflow_webhook_trigger.core.settings import Settings
from tests.fakes import FakeRuns, FakeSource

NOW = datetime(2026, 12, 1, 10, 0, 0, tzinfo=timezone.utc)
JSON = ("Content-Type", "application/json")


@dataclass
class Recorder:
    rows: list[DeliveryRow] = field(default_factory=list)
    stored: list[DeliveryRow] = field(default_factory=list)
    answers: list[DeliveryRow] = field(default_factory=list)

    def record(self, row: DeliveryRow, *, stored: bool = False) -> None:
        (self.stored if stored else self.rows).append(row)

    def answered(self, row: DeliveryRow) -> None:
        self.answers.append(row)


def _setup(**doc: object) -> tuple[WebhookEndpoint, FakeRuns, Recorder, object]:
    webhook = parse_document({"id": "hook-0123456789", "dag_id": "dag_a", **doc}).webhook
    runs, recorder = FakeRuns(), Recorder()
    ticks = iter(range(0, 10_000, 5))
    endpoint = WebhookEndpoint(
        Settings(),
        FakeSource({webhook.id: webhook}),
        runs,
        clock=lambda: NOW,
        deliveries=recorder,
        timer=lambda: next(ticks) / 1000,
    )
    return endpoint, runs, recorder, webhook


def _post(body: bytes, *headers: tuple[str, str], query: bytes = b"") -> WebhookRequest:
    return WebhookRequest("POST", Headers([JSON, *headers]), query, body)


def _run_id(response: object) -> str:
    assert isinstance(response, HttpResponse)
    return dict(response.headers)["X-Airflow-Run-Id"]


KEYED = {"dedupe": {"key": "header:X-Delivery"}}


def test_repeat_of_a_delivery_starts_no_run_and_gets_the_first_answer() -> None:
    endpoint, runs, recorder, webhook = _setup(**KEYED)
    first = endpoint.accept(webhook, _post(b'{"a": 1}', ("X-Delivery", "d-1")))
    again = endpoint.accept(webhook, _post(b'{"a": 1}', ("X-Delivery", "d-1")))
    assert len(runs.triggered) == 1
    assert isinstance(first, HttpResponse) and isinstance(again, HttpResponse)
    assert (again.status, again.body) == (first.status, first.body)
    assert _run_id(again) == _run_id(first)
    [accepted] = recorder.stored
    assert accepted.outcome == "accepted" and accepted.delivery_key == "d-1"
    [duplicate] = recorder.rows
    assert duplicate.outcome == "duplicate" and duplicate.run_id == accepted.run_id
    assert duplicate.status == 200 and duplicate.duration_ms is not None
    assert runs.triggered[0][2]["webhook"]["delivery"] == "d-1"  # type: ignore[index]


def test_other_delivery_keys_start_their_own_runs() -> None:
    endpoint, runs, _, webhook = _setup(**KEYED)
    endpoint.accept(webhook, _post(b"{}", ("X-Delivery", "d-1")))
    endpoint.accept(webhook, _post(b"{}", ("X-Delivery", "d-2")))
    assert len(runs.triggered) == 2


def test_same_key_other_body_is_409_and_no_run() -> None:
    endpoint, runs, _, webhook = _setup(**KEYED)
    endpoint.accept(webhook, _post(b'{"a": 1}', ("X-Delivery", "d-1")))
    with pytest.raises(Conflict, match="already used with another body") as info:
        endpoint.accept(webhook, _post(b'{"a": 2}', ("X-Delivery", "d-1")))
    assert info.value.extra["delivery_key"] == "d-1"
    assert len(runs.triggered) == 1


def test_missing_delivery_key_is_400() -> None:
    endpoint, runs, _, webhook = _setup(**KEYED)
    with pytest.raises(BadRequest, match="X-Delivery"):
        endpoint.accept(webhook, _post(b"{}"))
    assert runs.triggered == []


def test_a_concurrent_repeat_that_claimed_first_wins() -> None:
    """The gateway's claim lost (another replica committed the key): the first run's answer."""
    endpoint, runs, recorder, webhook = _setup(**KEYED)
    endpoint.accept(webhook, _post(b"{}", ("X-Delivery", "d-1")))
    # as if the prior lookup had missed it: the claim inside the trigger returns the holder
    runs_prior = runs.prior_delivery
    runs.prior_delivery = lambda webhook_id, key: None  # type: ignore[method-assign]
    again = endpoint.accept(webhook, _post(b"{}", ("X-Delivery", "d-1")))
    runs.prior_delivery = runs_prior  # type: ignore[method-assign]
    assert len(runs.triggered) == 1
    assert _run_id(again) == runs.triggered[0][1]
    assert [r.outcome for r in recorder.rows] == ["duplicate"]


def test_sync_repeat_waits_on_the_first_run() -> None:
    endpoint, runs, recorder, webhook = _setup(mode="sync", **KEYED)
    first = endpoint.accept(webhook, _post(b"{}", ("X-Delivery", "d-1")), request_url="http://h/t")
    again = endpoint.accept(webhook, _post(b"{}", ("X-Delivery", "d-1")), request_url="http://h/t")
    assert isinstance(first, PendingRun) and isinstance(again, PendingRun)
    assert again.run == first.run and len(runs.triggered) == 1
    assert again.timeout == first.timeout > 0
    endpoint.finish(first, None)
    endpoint.finish(again, None)
    [answer] = recorder.answers  # the accepted one: its row is completed
    assert answer.outcome == "accepted" and answer.status == 202
    [duplicate] = recorder.rows
    assert duplicate.outcome == "duplicate" and duplicate.status == 202


def test_filter_leaves_a_request_out_without_a_run() -> None:
    endpoint, runs, recorder, webhook = _setup(filter=[{"header": "X-GitHub-Event", "equals": "push"}])
    response = endpoint.accept(webhook, _post(b"{}", ("X-GitHub-Event", "ping")))
    assert isinstance(response, HttpResponse)
    assert response.status == 200
    payload = json.loads(response.body)
    assert payload["ignored"] is True and "X-GitHub-Event" in payload["reason"]
    assert runs.triggered == []
    [row] = recorder.rows
    # the caller learns which condition failed; the record keeps what was seen and expected
    assert payload["reason"] == "condition 1 (header X-GitHub-Event equals) does not hold"
    assert row.outcome == "filtered" and row.status == 200
    assert row.error == "header X-GitHub-Event is 'ping', not 'push'"
    ok = endpoint.accept(webhook, _post(b"{}", ("X-GitHub-Event", "push")))
    assert isinstance(ok, HttpResponse) and ok.status == 200 and len(runs.triggered) == 1


def test_filter_with_its_own_answer() -> None:
    endpoint, runs, _, webhook = _setup(
        filter=[{"body": "type", "in": ["payment_intent.succeeded"]}],
        ignored_response={"status": 202, "headers": {"X-Ignored": "yes"}, "body": "not for us"},
    )
    response = endpoint.accept(webhook, _post(b'{"type": "charge.refunded"}'))
    assert isinstance(response, HttpResponse)
    assert (response.status, response.body) == (202, b"not for us")
    assert ("X-Ignored", "yes") in response.headers
    assert runs.triggered == []


def test_a_repeat_is_found_before_the_filter_runs() -> None:
    """The checks' order: the delivery key, then the filter."""
    endpoint, runs, _, webhook = _setup(**KEYED, filter=[{"body": "ok", "equals": True}])
    endpoint.accept(webhook, _post(b'{"ok": true}', ("X-Delivery", "d-1")))
    with pytest.raises(Conflict):
        endpoint.accept(webhook, _post(b'{"ok": false}', ("X-Delivery", "d-1")))
    assert len(runs.triggered) == 1


def test_capture_keeps_no_credential_and_lists_paths() -> None:
    endpoint, runs, _, webhook = _setup(auth={"basic": {"username": "u", "password": "p" * 12}})
    webhook = webhook.with_changes(auth=None)  # type: ignore[attr-defined]
    request = WebhookRequest(
        "POST",
        Headers(
            [
                JSON,
                ("Authorization", "Basic c2VjcmV0"),
                ("Cookie", "session=abc"),
                ("X-Hub-Signature-256", "sha256=00"),
                ("X-GitHub-Event", "push"),
                ("X-Api-Key", "k3y"),
                ("x-api-key", "k3y-again"),
            ]
        ),
        b"ref=main&x[]=1",
        b'{"repository": {"full_name": "octo/repo"}, "ref": "refs/heads/main"}',
    )
    sample, answer = endpoint.capture(webhook, request)  # type: ignore[arg-type]
    text = json.dumps(sample)
    for secret in ("c2VjcmV0", "session=abc", "sha256=00"):
        assert secret not in text
    assert sample["headers"] == [["content-type", "application/json"], ["x-github-event", "push"]]
    # the sample names what it dropped, each once, in the order it came
    assert sample["dropped_headers"] == ["authorization", "cookie", "x-hub-signature-256", "x-api-key"]
    assert json.loads(answer.body) == {
        "headers": ["content-type", "x-github-event"],
        "query": ["ref", "x", "x[0]"],
        "body": ["repository", "repository.full_name", "ref"],
    }
    assert runs.triggered == []


def test_capture_past_the_count_cap_is_429_with_retry_after() -> None:
    endpoint, _, _, webhook = _setup()
    for _ in range(Settings().test_capture_max_per_minute):
        endpoint.capture(webhook, _post(b"{}"))  # type: ignore[arg-type]
    with pytest.raises(TooManyRequests) as info:
        endpoint.capture(webhook, _post(b"{}"))  # type: ignore[arg-type]
    assert info.value.status_code == 429
    assert 1 <= int(info.value.headers["Retry-After"]) <= 60


def test_capture_failing_auth_uses_none_of_the_cap() -> None:
    from airflow_webhook_trigger.core.auth import hash_password
    from airflow_webhook_trigger.core.definition import BasicAuth

    endpoint, _, _, webhook = _setup()
    webhook = webhook.with_changes(auth=BasicAuth("u", hash_password("right-password")))  # type: ignore[attr-defined]
    for _ in range(3 * Settings().test_capture_max_per_minute):
        with pytest.raises(Unauthorized):
            endpoint.capture(webhook, _post(b"{}"))  # type: ignore[arg-type]
    good = _post(b"{}", ("Authorization", "Basic dTpyaWdodC1wYXNzd29yZA=="))
    sample, _ = endpoint.capture(webhook, good)  # type: ignore[arg-type]
    assert sample["dropped_headers"] == ["authorization"]


def test_capture_past_the_byte_cap_is_429() -> None:
    webhook = parse_document({"id": "hook-0123456789", "dag_id": "dag_a"}).webhook
    endpoint = WebhookEndpoint(
        Settings(test_capture_max_bytes_per_minute=100),
        FakeSource({webhook.id: webhook}),
        FakeRuns(),
        clock=lambda: NOW,
        timer=lambda: 0.0,
    )
    endpoint.capture(webhook, _post(b'{"a": "' + b"x" * 80 + b'"}'))
    with pytest.raises(TooManyRequests):
        endpoint.capture(webhook, _post(b'{"a": "' + b"x" * 20 + b'"}'))


def test_capture_needs_the_webhooks_own_auth() -> None:
    endpoint, _, _, _ = _setup()
    from airflow_webhook_trigger.core.auth import hash_password
    from airflow_webhook_trigger.core.definition import BasicAuth

    webhook = parse_document({"id": "hook-0123456789", "dag_id": "dag_a"}).webhook.with_changes(
        auth=BasicAuth("u", hash_password("right-password"))
    )
    with pytest.raises(Unauthorized):
        endpoint.capture(webhook, _post(b"{}"))


def _deferred(endpoint: WebhookEndpoint, webhook: object, request: WebhookRequest) -> Deferred:
    result = endpoint.accept(webhook, request, request_url="http://h/t", defer=True)  # type: ignore[arg-type]
    assert isinstance(result, Deferred)
    return result


def test_a_deferred_run_is_written_only_once_queued_and_answered_on_resume() -> None:
    endpoint, runs, recorder, webhook = _setup(**KEYED)
    runs.defer_writes = True
    deferred = _deferred(endpoint, webhook, _post(b'{"a": 1}', ("X-Delivery", "d-1")))
    assert runs.triggered == [] and recorder.stored == []  # nothing stored, nothing counted
    done: list[bool] = []
    deferred.write.enqueue(lambda: done.append(True))
    assert done == [True] and not deferred.write.failed
    answer = deferred.resume()
    assert isinstance(answer, HttpResponse) and answer.status == 200
    [(_, run_id, conf)] = runs.triggered
    assert _run_id(answer) == run_id and conf["webhook"]["delivery"] == "d-1"  # type: ignore[index]
    [accepted] = recorder.stored
    assert (accepted.outcome, accepted.run_id) == ("accepted", run_id)


def test_a_deferred_write_that_lost_its_key_to_a_concurrent_repeat_gets_the_first_answer() -> None:
    endpoint, runs, recorder, webhook = _setup(**KEYED)
    first = endpoint.accept(webhook, _post(b"{}", ("X-Delivery", "d-1")))
    runs.defer_writes = True
    runs_prior = runs.prior_delivery
    runs.prior_delivery = lambda webhook_id, key: None  # type: ignore[method-assign]
    deferred = _deferred(endpoint, webhook, _post(b"{}", ("X-Delivery", "d-1")))
    runs.prior_delivery = runs_prior  # type: ignore[method-assign]
    deferred.write.enqueue(lambda: None)
    again = deferred.resume()
    assert _run_id(again) == _run_id(first) and len(runs.triggered) == 1
    assert [r.outcome for r in recorder.rows] == ["duplicate"]


def test_a_deferred_write_that_failed_raises_on_resume_and_counts_nothing() -> None:
    endpoint, runs, recorder, webhook = _setup()
    runs.defer_writes = True
    deferred = _deferred(endpoint, webhook, _post(b"{}"))
    runs.fail_with = UnprocessableEntity("the DB refused it")
    deferred.write.enqueue(lambda: None)
    assert deferred.write.failed
    with pytest.raises(UnprocessableEntity):
        deferred.resume()
    assert runs.triggered == [] and recorder.stored == []


def test_a_sync_webhook_deferred_resumes_to_the_run_to_wait_for() -> None:
    endpoint, runs, _, webhook = _setup(mode="sync")
    runs.defer_writes = True
    deferred = _deferred(endpoint, webhook, _post(b"{}"))
    deferred.write.enqueue(lambda: None)
    pending = deferred.resume()
    assert isinstance(pending, PendingRun)
    run_id = runs.triggered[0][1]
    assert (
        pending.status_url == f"http://h/t/runs/{run_id}?{endpoint.tokens.status_query(webhook.id, run_id)}"
    )


def test_without_defer_a_deferring_gateway_is_not_asked_to_defer() -> None:
    endpoint, runs, recorder, webhook = _setup()
    runs.defer_writes = True
    answer = endpoint.accept(webhook, _post(b"{}"))
    assert isinstance(answer, HttpResponse) and len(runs.triggered) == 1 and len(recorder.stored) == 1
