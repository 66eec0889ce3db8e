from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping, Sequence

import pytest

from airflow_webhook_trigger.waiter import RecordedResponse, RunSnapshot, RunWaiter

RESPONSE = RecordedResponse(201, (("X-A", "1"),), {"ok": True}, "respond")


class FakeRuns:
    """dag_run id -> snapshot, changed by the test; records each fetch."""

    def __init__(self) -> None:
        self.states: dict[int, RunSnapshot] = {}
        self.fetches: list[tuple[int, ...]] = []
        self.lock = threading.Lock()

    def fetch(self, keys: Sequence[int]) -> Mapping[int, RunSnapshot]:
        with self.lock:
            self.fetches.append(tuple(sorted(keys)))
            return {k: self.states[k] for k in keys if k in self.states}


@pytest.mark.parametrize(
    ("snapshot", "settled"),
    [
        (RunSnapshot("queued"), False),
        (RunSnapshot("running"), False),
        (RunSnapshot("running", RESPONSE), True),
        (RunSnapshot("success"), True),
        (RunSnapshot("failed"), True),
    ],
)
def test_snapshot_settled_table(snapshot: RunSnapshot, settled: bool) -> None:
    assert snapshot.settled is settled


def test_poll_once_one_fetch_for_all_pending_runs_wakes_only_settled() -> None:
    runs = FakeRuns()
    waiter = RunWaiter(runs.fetch, tick=3600)
    got: dict[int, list[RunSnapshot]] = {1: [], 2: [], 3: []}
    for key in (1, 2, 3):
        for _ in range(50):
            waiter._pending.setdefault(key, []).append(got[key].append)
    runs.states = {1: RunSnapshot("running", RESPONSE), 2: RunSnapshot("running"), 3: RunSnapshot("failed")}
    assert waiter.poll_once() == 100
    assert runs.fetches == [(1, 2, 3)]
    assert len(got[1]) == 50 and got[1][0].response == RESPONSE
    assert got[2] == []
    assert got[3][0].state == "failed"
    assert waiter.waiting == 50
    assert waiter.poll_once() == 0
    assert runs.fetches[-1] == (2,)


def test_poll_once_nobody_waiting_makes_no_query() -> None:
    runs = FakeRuns()
    assert RunWaiter(runs.fetch, tick=0.01).poll_once() == 0
    assert runs.fetches == []


def test_wait_returns_snapshot_once_settled_and_none_after_timeout() -> None:
    runs = FakeRuns()
    waiter = RunWaiter(runs.fetch, tick=0.01)
    runs.states[7] = RunSnapshot("running")
    threading.Timer(0.1, lambda: runs.states.__setitem__(7, RunSnapshot("running", RESPONSE))).start()
    started = time.monotonic()
    assert waiter.wait(7, timeout=5) == RunSnapshot("running", RESPONSE)
    assert time.monotonic() - started < 4
    assert waiter.wait(8, timeout=0.05) is None
    assert waiter.waiting == 0


def test_wait_async_many_callers_share_each_tick_and_hold_no_thread() -> None:
    runs = FakeRuns()
    waiter = RunWaiter(runs.fetch, tick=0.02)
    for key in range(200):
        runs.states[key] = RunSnapshot("running")

    async def scenario() -> list[RunSnapshot | None]:
        threads_before = threading.active_count()
        tasks = [asyncio.ensure_future(waiter.wait_async(key, timeout=10)) for key in range(200)]
        await asyncio.sleep(0.2)
        assert threading.active_count() <= threads_before + 1  # just the waiter's own thread
        assert waiter.waiting == 200
        with runs.lock:
            for key in range(200):
                runs.states[key] = RunSnapshot("success")
        return await asyncio.gather(*tasks)

    fetches_before = len(runs.fetches)
    started = time.monotonic()
    results = asyncio.run(scenario())
    elapsed = time.monotonic() - started
    assert all(r == RunSnapshot("success") for r in results)
    # one fetch per tick however many callers: about elapsed / tick, never one per caller
    assert len(runs.fetches) - fetches_before <= elapsed / 0.02 + 3
    assert max(len(keys) for keys in runs.fetches[fetches_before:]) == 200


def test_wait_async_timeout_returns_none_and_unregisters() -> None:
    runs = FakeRuns()
    waiter = RunWaiter(runs.fetch, tick=0.01)
    assert asyncio.run(waiter.wait_async(1, timeout=0.05)) is None
    assert waiter.waiting == 0


def test_fetch_error_is_logged_and_polling_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    runs = FakeRuns()
    calls = []

    def flaky(keys: Sequence[int]) -> Mapping[int, RunSnapshot]:
        calls.append(keys)
        if len(calls) == 1:
            raise ConnectionError("db down")
        return {k: RunSnapshot("success") for k in keys}

    waiter = RunWaiter(flaky, tick=0.01)
    assert waiter.wait(1, timeout=5) == RunSnapshot("success")
    assert "polling pending runs failed" in caplog.text
    assert runs.fetches == []
