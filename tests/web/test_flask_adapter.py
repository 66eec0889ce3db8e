"""The Flask adapter on a plain Flask app over the core's fakes (no Airflow): the cap on
concurrent sync waits. Its answers to every other request are in tests/web/test_http_contract.py."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pytest
from flask import Flask

from airflow_webhook_trigger.airflow_seam.wiring import Runtime
from airflow_webhook_trigger.core.definition import parse_document
from airflow_webhook_trigger.core.endpoint import WebhookEndpoint
from airflow_webhook_trigger.core.settings import Settings
from airflow_webhook_trigger.core.waiter import RunSnapshot, RunWaiter
from airflow_webhook_trigger.core.webhook_source import CachedSource
from airflow_webhook_trigger.storage.webhook_store import WebhookStore
from airflow_webhook_trigger.web.flask_adapter import create_blueprint
from tests.fakes import FakeRuns, FakeSource

HOOK = "hook-sync-0000001"
URL = f"/webhook/trigger/{HOOK}"
SYNC_TIMEOUT = 60.0  # a caller that waited on a run that never settles would take this long


class FakeDagRuns:
    """The waiter's fetch over runs the test settles; records the keys of every fetch."""

    def __init__(self) -> None:
        self.settled: dict[int, RunSnapshot] = {}
        self.fetched: set[int] = set()
        self.lock = threading.Lock()

    def fetch(self, keys: Sequence[int]) -> Mapping[int, RunSnapshot]:
        with self.lock:
            self.fetched.update(keys)
            return {k: self.settled[k] for k in keys if k in self.settled}

    def settle(self, key: int) -> None:
        with self.lock:
            self.settled[key] = RunSnapshot("success")


def _runtime(cap: int, fetch: Callable[[Sequence[int]], Mapping[int, RunSnapshot]]) -> Runtime:
    settings = Settings(flask_sync_max_waiting=cap)
    doc = {"id": HOOK, "dag_id": "dag_a", "mode": "sync", "sync": {"timeout_seconds": SYNC_TIMEOUT}}
    source = CachedSource(FakeSource({HOOK: parse_document(doc).webhook}), 0)
    return Runtime(
        settings=settings,
        database=None,  # type: ignore[arg-type]  # never used here
        store=WebhookStore(lambda: None),  # type: ignore[arg-type,return-value]  # never used here
        source=source,
        endpoint=WebhookEndpoint(settings, source, FakeRuns()),  # run keys 1, 2, 3, ... in order
        waiter=RunWaiter(fetch, tick=0.01),
        deliveries=None,  # type: ignore[arg-type]  # never used here
        gateway=None,  # type: ignore[arg-type]  # never used here
        flask_sync_slots=threading.BoundedSemaphore(settings.flask_sync_max_waiting),
    )


def _app(runtime: Runtime) -> Flask:
    app = Flask(__name__)
    app.register_blueprint(create_blueprint(lambda: runtime, "/webhook"))
    return app


@pytest.fixture
def pool() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as executor:
        yield executor


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_trigger_sync_cap_reached_answers_timeout_202_at_once_then_waits_again(
    pool: concurrent.futures.ThreadPoolExecutor,
) -> None:
    runs = FakeDagRuns()
    runtime = _runtime(1, runs.fetch)
    app = _app(runtime)

    def call() -> Any:
        return app.test_client().post(URL)

    first = pool.submit(call)  # run 1: holds the one slot while it waits
    _until(lambda: runtime.waiter.waiting == 1, "the first caller never started waiting")

    started = time.monotonic()
    second = call()  # run 2: finds the cap reached
    elapsed = time.monotonic() - started
    body = second.get_json()
    run_id = body["run_id"]
    status_url = f"http://localhost{URL}/runs/{run_id}?{runtime.endpoint.tokens.status_query(HOOK, run_id)}"
    assert second.status_code == 202, second.data
    assert body == {"dag_id": "dag_a", "run_id": body["run_id"], "status_url": status_url}
    assert second.headers["Location"] == status_url
    assert second.headers["X-Airflow-Run-Id"] == body["run_id"]
    assert elapsed < SYNC_TIMEOUT / 2  # answered, not timed out
    assert 2 not in runs.fetched  # it never waited
    assert runtime.waiter.waiting == 1

    runs.settle(1)
    answer = first.result(timeout=30)
    assert answer.status_code == 200, answer.data
    assert answer.get_json()["state"] == "success"

    third = pool.submit(call)  # run 3: the slot is free again, so it waits
    _until(lambda: runtime.waiter.waiting == 1, "a caller after the first one ended did not wait")
    runs.settle(3)
    answer = third.result(timeout=30)
    assert answer.status_code == 200, answer.data
    assert answer.headers["X-Airflow-Run-Id"] == answer.get_json()["run_id"]


def test_trigger_sync_wait_error_answers_500_and_frees_the_slot(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetched: list[list[int]] = []

    def fetch(keys: Sequence[int]) -> Mapping[int, RunSnapshot]:
        fetched.append(list(keys))
        return {k: RunSnapshot("success") for k in keys}

    runtime = _runtime(1, fetch)

    def broken_wait(key: int, timeout: float) -> RunSnapshot | None:
        raise RuntimeError("boom")

    monkeypatch.setattr(runtime.waiter, "wait", broken_wait)
    client = _app(runtime).test_client()
    assert client.post(URL).status_code == 500
    assert "unexpected error while handling a webhook" in caplog.text
    monkeypatch.undo()  # the real wait again
    answer = client.post(URL)
    assert answer.status_code == 200, answer.data  # waited (not the cap's 202): the slot came back
    assert fetched == [[2]]


def test_body_shorter_than_content_length_is_400_not_500() -> None:
    """A client that hangs up mid-body: werkzeug's ClientDisconnected becomes our 400."""
    import io

    client = _app(_runtime(1, FakeDagRuns().fetch)).test_client()
    answer = client.post(
        URL,
        input_stream=io.BytesIO(b'{"a": 1'),
        content_type="application/json",
        environ_overrides={"CONTENT_LENGTH": "100"},  # the client said 100 bytes, sent 7
    )
    assert answer.status_code == 400
    assert answer.get_json() == {"error": "client disconnected before the body was read"}
