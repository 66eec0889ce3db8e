"""The request driver over an IO that logs each step: the sequence, written once, as both
adapters run it (on a thread with :func:`run_blocking`, and awaited in an event loop)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timezone
from typing import Any, TypeVar

import pytest

from airflow_webhook_trigger.core.auth import hash_password
from airflow_webhook_trigger.core.definition import BasicAuth, Webhook, parse_document
from airflow_webhook_trigger.core.driver import RequestDriver, RequestHead, WriteWaiter, run_blocking
from airflow_webhook_trigger.core.endpoint import WebhookEndpoint
from airflow_webhook_trigger.core.errors import PayloadTooLarge, UnprocessableEntity
from airflow_webhook_trigger.core.request import Headers
from airflow_webhook_trigger.core.run_tokens import RunTokens
from airflow_webhook_trigger.core.runs import Deferred
from airflow_webhook_trigger.core.settings import Settings
from airflow_webhook_trigger.core.waiter import RunSnapshot, SyncCallers
from tests.fakes import FakeRecorder, FakeRuns, FakeSource

T = TypeVar("T")
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
HOOK = "hook-0123456789"
JSON = ("Content-Type", "application/json")


class LoggingIO:
    """A threaded IO: each step runs at once and is logged."""

    defers_writes = False

    def __init__(
        self,
        body: bytes = b"{}",
        *,
        headers: tuple[tuple[str, str], ...] = (JSON,),
        method: str = "POST",
        snapshot: RunSnapshot | None = None,
    ) -> None:
        self.steps: list[str] = []
        self._body = body
        self._snapshot = snapshot
        self.head = RequestHead(
            method, Headers(headers), b"", called_url=f"http://edge/webhook/trigger/{HOOK}"
        )

    async def read_body(self, limit: int) -> bytes:
        self.steps.append("read_body")
        if len(self._body) > limit:
            raise PayloadTooLarge("over max_body_bytes")
        return self._body

    async def lookup(self, work: Callable[[], T]) -> T:
        self.steps.append("lookup")
        return work()

    async def slow_check(self, queue: str, work: Callable[[], T]) -> T:
        self.steps.append("slow_check")
        return work()

    def trigger_slot(self) -> AbstractAsyncContextManager[None]:
        @contextlib.asynccontextmanager
        async def slot() -> AsyncIterator[None]:
            self.steps.append("slot")
            try:
                yield
            finally:
                self.steps.append("slot_released")

        return slot()

    async def in_slot(self, work: Callable[[], T]) -> T:
        self.steps.append("in_slot")
        return work()

    def write_waiter(self) -> WriteWaiter:
        raise AssertionError("never asked when defers_writes is false")

    async def wait_run(self, run_row_id: int, timeout: float) -> RunSnapshot | None:
        self.steps.append(f"wait_run {run_row_id}")
        return self._snapshot


class EventLoopIO(LoggingIO):
    """An asyncio IO: it suspends on every step, and waits for group writes."""

    defers_writes = True

    async def lookup(self, work: Callable[[], T]) -> T:
        await asyncio.sleep(0)
        return await super().lookup(work)

    async def in_slot(self, work: Callable[[], T]) -> T:
        await asyncio.sleep(0)
        return await super().in_slot(work)

    def write_waiter(self) -> WriteWaiter:
        io = self

        class Waiter:
            def queue(self, result: T) -> T:
                if isinstance(result, Deferred):
                    io.steps.append("queued")
                    result.write.enqueue(lambda: None)
                return result

            async def wait(self) -> None:
                await asyncio.sleep(0)
                io.steps.append("committed")

        return Waiter()


def _webhook(**doc: object) -> Webhook:
    return parse_document({"id": HOOK, "dag_id": "dag_a", **doc}).webhook


def _driver(
    webhook: Webhook, *, runs: FakeRuns | None = None, sync_cap: int = 4
) -> tuple[RequestDriver, FakeRuns, FakeRecorder]:
    runs = runs or FakeRuns()
    recorder = FakeRecorder()
    endpoint = WebhookEndpoint(
        Settings(max_body_bytes=64),
        FakeSource({webhook.id: webhook}),
        runs,
        clock=lambda: NOW,
        deliveries=recorder,
        tokens=RunTokens(b"secret"),
    )
    driver = RequestDriver(endpoint, recorder, sync_callers=SyncCallers(sync_cap), base_url="https://public")
    return driver, runs, recorder


def test_async_delivery_on_a_thread_reads_then_writes_in_a_slot() -> None:
    driver, runs, recorder = _driver(_webhook())
    io = LoggingIO()
    answer = run_blocking(driver.trigger(io, HOOK))
    assert answer.status == 200
    assert io.steps == ["lookup", "read_body", "slot", "in_slot", "slot_released"]
    assert len(runs.triggered) == 1
    assert [r.outcome for r in recorder.rows] == ["accepted"]


def test_in_an_event_loop_the_run_is_queued_with_others_and_its_commit_awaited() -> None:
    driver, runs, _ = _driver(_webhook(), runs=FakeRuns(defer_writes=True))
    io = EventLoopIO()
    answer = asyncio.run(driver.trigger(io, HOOK))
    assert answer.status == 200
    assert io.steps == ["lookup", "read_body", "slot", "in_slot", "queued", "committed", "slot_released"]
    assert len(runs.triggered) == 1


def test_run_blocking_refuses_an_io_that_suspends() -> None:
    driver, runs, _ = _driver(_webhook())
    with pytest.raises(RuntimeError, match="suspended"):
        run_blocking(driver.trigger(EventLoopIO(), HOOK))
    assert runs.triggered == []


def test_credentials_are_checked_before_any_slot_and_a_refusal_is_recorded() -> None:
    webhook = _webhook().with_changes(auth=BasicAuth("u", hash_password("right")))
    driver, runs, recorder = _driver(webhook)
    wrong = ("Authorization", "Basic " + base64.b64encode(b"u:wrong").decode())
    io = LoggingIO(headers=(JSON, wrong))
    answer = run_blocking(driver.trigger(io, HOOK))
    assert answer.status == 401
    assert io.steps == ["lookup", "read_body", "slow_check"]  # a first scrypt: its own queue
    assert runs.triggered == []
    assert [(r.outcome, r.status) for r in recorder.rows] == [("rejected", 401)]


def test_sync_delivery_waits_for_its_run_and_answers_its_response() -> None:
    driver, _, recorder = _driver(_webhook(mode="sync"))
    io = LoggingIO(snapshot=RunSnapshot("success"))
    answer = run_blocking(driver.trigger(io, HOOK))
    assert answer.status == 200
    assert json.loads(answer.body)["state"] == "success"
    assert io.steps == ["lookup", "read_body", "slot", "in_slot", "slot_released", "wait_run 1"]
    # stored with its run (no status yet), then completed with the answer it got
    assert [(r.outcome, r.status) for r in recorder.rows] == [("accepted", None), ("accepted", 200)]


def test_sync_timeout_answer_carries_a_status_url_below_the_url_as_called() -> None:
    driver, _, _ = _driver(_webhook(mode="sync"))
    answer = run_blocking(driver.trigger(LoggingIO(snapshot=None), HOOK))
    assert answer.status == 202
    status_url = json.loads(answer.body)["status_url"]
    assert status_url.startswith(f"http://edge/webhook/trigger/{HOOK}/runs/webhook__")
    assert dict(answer.headers)["Location"] == status_url


def test_no_place_for_another_sync_caller_is_503_before_the_body_is_read() -> None:
    driver, runs, _ = _driver(_webhook(mode="sync"), sync_cap=0)
    io = LoggingIO()
    answer = run_blocking(driver.trigger(io, HOOK))
    assert answer.status == 503 and dict(answer.headers)["Retry-After"]
    assert io.steps == ["lookup"]
    assert runs.triggered == []


def test_body_over_the_limit_is_413_recorded_and_starts_nothing() -> None:
    driver, runs, recorder = _driver(_webhook())
    answer = run_blocking(driver.trigger(LoggingIO(b"x" * 65), HOOK))
    assert answer.status == 413
    assert runs.triggered == [] and [r.outcome for r in recorder.rows] == ["rejected"]


def test_a_refusal_after_the_webhook_is_found_is_recorded_with_its_text_and_time() -> None:
    runs = FakeRuns(fail_with=UnprocessableEntity("DAG param 'amount' is required"))
    driver, _, recorder = _driver(_webhook(), runs=runs)
    answer = run_blocking(driver.trigger(LoggingIO(), HOOK))
    assert answer.status == 422
    [row] = recorder.rows
    assert (row.outcome, row.status, row.error) == ("rejected", 422, "DAG param 'amount' is required")
    assert row.run_id is None and row.duration_ms is not None and row.received_at == NOW


def test_unknown_webhook_is_404_without_reading_the_body() -> None:
    driver, _, recorder = _driver(_webhook())
    io = LoggingIO()
    answer = run_blocking(driver.trigger(io, "hook-unknown-000"))
    assert answer.status == 404 and io.steps == ["lookup"]
    assert recorder.rows == []  # nothing to record it under


def test_an_unexpected_error_is_a_logged_500(caplog: pytest.LogCaptureFixture) -> None:
    driver, _, _ = _driver(_webhook())
    io = LoggingIO()

    async def broken(limit: int) -> bytes:
        raise RuntimeError("boom")

    io.read_body = broken  # type: ignore[method-assign]
    answer = run_blocking(driver.trigger(io, HOOK))
    assert answer.status == 500 and b"boom" not in answer.body
    assert "unexpected error while handling a webhook" in caplog.text


def test_capture_stores_the_sample_and_starts_no_run() -> None:
    driver, runs, recorder = _driver(_webhook())
    io = LoggingIO(b'{"a": 1}')
    answer = run_blocking(driver.capture(io, HOOK))
    assert answer.status == 200
    assert io.steps == ["lookup", "read_body", "slot", "in_slot", "slot_released"]
    assert runs.triggered == []
    [(webhook_id, sample)] = recorder.samples
    assert webhook_id == HOOK and sample["body"] == {"a": 1}


def test_the_sender_signed_url_is_the_public_one_below_the_script_root() -> None:
    seen: list[str] = []
    driver, _, _ = _driver(_webhook())
    accept = driver.endpoint.accept

    def spy(webhook: Webhook, request: Any, **kw: Any) -> Any:
        seen.append(request.url)
        return accept(webhook, request, **kw)

    driver.endpoint.accept = spy  # type: ignore[method-assign]
    io = LoggingIO()
    io.head = RequestHead("POST", Headers([JSON]), b"a=1", called_url="x", script_root="/pluginsv2")
    assert run_blocking(driver.trigger(io, HOOK)).status == 200
    assert seen == [f"https://public/pluginsv2/webhook/trigger/{HOOK}?a=1"]


def test_status_is_a_lookup() -> None:
    driver, _, _ = _driver(_webhook())
    io = LoggingIO(method="GET")
    answer = run_blocking(driver.status(io, HOOK, "webhook__x__y"))
    assert answer.status == 404 and io.steps == ["lookup"]
