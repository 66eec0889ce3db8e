"""The FastAPI adapter's admission: bounded before a thread is taken, never 503 after a start."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator

import anyio
import pytest
from anyio import to_thread

from airflow_webhook_trigger.config import Settings
from airflow_webhook_trigger.errors import ServiceUnavailable
from airflow_webhook_trigger.fastapi_app import Admission


def _admission(slots: int = 1, wait: float = 0.05) -> Admission:
    return Admission(
        Settings(max_concurrent_triggers=slots, trigger_slot_wait_seconds=wait, retry_after_seconds=7)
    )


def test_request_beyond_the_slots_gets_503_with_retry_after_then_slots_free_again() -> None:
    admission = _admission(slots=1)
    release = threading.Event()

    async def scenario() -> tuple[object, object, object]:
        first = asyncio.create_task(admission.run(lambda: release.wait(10) and "first"))
        await asyncio.sleep(0.05)  # the first request holds the only slot
        with pytest.raises(ServiceUnavailable) as info:
            await admission.run(lambda: "second")
        release.set()
        return await first, info.value, await admission.run(lambda: "third")

    first, error, third = asyncio.run(scenario())
    assert (first, third) == ("first", "third")
    assert isinstance(error, ServiceUnavailable)
    assert error.headers == {"Retry-After": "7"}
    assert error.detail == "too many webhooks are being accepted at once; retry later"


def test_admitted_work_slower_than_the_wait_is_still_answered() -> None:
    """A run once started (maybe committed) must get its answer, never a 503."""
    admission = _admission(slots=1, wait=0.01)

    def slow() -> str:
        time.sleep(0.2)
        return "committed"

    assert asyncio.run(admission.run(slow)) == "committed"


def test_waiting_requests_hold_no_thread() -> None:
    admission = _admission(slots=1, wait=5)
    release = threading.Event()

    async def scenario() -> tuple[int, int, list[str]]:
        before = threading.active_count()
        tasks = [asyncio.create_task(admission.run(lambda: release.wait(10) and "done")) for _ in range(50)]
        await asyncio.sleep(0.2)
        during = threading.active_count()
        release.set()
        return before, during, list(await asyncio.gather(*tasks))

    before, during, results = asyncio.run(scenario())
    assert results == ["done"] * 50
    assert during - before <= 2  # the one admitted request's worker thread (+ slack), not 50


@contextlib.asynccontextmanager
async def _shared_pool_taken() -> AsyncIterator[None]:
    """anyio's default thread limiter down to one token, held by a blocked call; at most 5 s."""
    to_thread.current_default_thread_limiter().total_tokens = 1
    busy = threading.Event()
    hog = asyncio.create_task(to_thread.run_sync(lambda: busy.wait(10)))  # takes the only token
    await asyncio.sleep(0.05)
    try:
        with anyio.fail_after(5):
            yield
    finally:
        busy.set()
        await hog


def test_admitted_work_does_not_need_the_shared_thread_pool() -> None:
    """A burst of webhooks cannot starve Airflow's own endpoints of anyio's default threads."""
    admission = _admission(slots=2, wait=1)

    async def scenario() -> str:
        async with _shared_pool_taken():
            return await admission.run(lambda: "admitted")

    assert asyncio.run(scenario()) == "admitted"


def test_lookups_run_on_threads_of_their_own_without_a_time_limit() -> None:
    admission = _admission(slots=2, wait=0.01)

    async def scenario() -> list[str]:
        async with _shared_pool_taken():
            # 20 lookups on 2 threads, each slower than the admission wait: all answered
            lookups = (admission.lookup(lambda: time.sleep(0.02) or "ok") for _ in range(20))
            return list(await asyncio.gather(*lookups))

    assert asyncio.run(scenario()) == ["ok"] * 20


def test_each_event_loop_gets_its_own_gate() -> None:
    admission = _admission(slots=1)
    assert asyncio.run(admission.run(lambda: 1)) == 1
    assert asyncio.run(admission.run(lambda: 2)) == 2  # a new loop (TestClient makes one per use)
