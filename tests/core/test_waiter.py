from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping, Sequence

import pytest

from airflow_webhook_trigger.core.waiter import (
    RecordedResponse,
    RunSnapshot,
    RunWaiter,
    SyncCallers,
    next_poll,
)

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


class FakeClock:
    """A monotonic clock that moves only when told to; its ``sleep`` moves it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Stop(BaseException):
    """Raised by a fake fetch to end ``RunWaiter._run`` (which retries any ``Exception``)."""


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


def test_poll_once_callback_raising_is_logged_and_later_callers_still_woken(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs = FakeRuns()
    runs.states = {1: RunSnapshot("success"), 2: RunSnapshot("running", RESPONSE)}
    waiter = RunWaiter(runs.fetch, tick=3600)
    got: list[RunSnapshot] = []

    def broken(snapshot: RunSnapshot) -> None:
        raise RuntimeError("Event loop is closed")

    waiter._pending[1] = [broken]  # woken first: fetch answers in the order of the keys
    waiter._pending[2] = [got.append]
    assert waiter.poll_once() == 2
    assert got == [RunSnapshot("running", RESPONSE)]
    assert waiter.waiting == 0
    assert "waking a caller of dag_run id 1 failed" in caplog.text
    assert "Event loop is closed" in caplog.text


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
    calls = []

    def flaky(keys: Sequence[int]) -> Mapping[int, RunSnapshot]:
        calls.append(keys)
        if len(calls) == 1:
            raise ConnectionError("db down")
        return {k: RunSnapshot("success") for k in keys}

    waiter = RunWaiter(flaky, tick=0.01)
    assert waiter.wait(1, timeout=5) == RunSnapshot("success")
    assert "polling pending runs failed" in caplog.text
    assert calls == [[1], [1]]  # the failed poll, then the next tick's
    assert waiter.fetches == 2


def test_fetch_db_unavailable_is_not_logged_per_tick_and_polling_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from airflow_webhook_trigger.core.errors import ServiceUnavailable

    calls = []

    def away_then_back(keys: Sequence[int]) -> Mapping[int, RunSnapshot]:
        calls.append(keys)
        if len(calls) <= 20:  # the outage's own log line is the database's job
            raise ServiceUnavailable("the metadata database is busy or unavailable; retry later")
        return {k: RunSnapshot("success") for k in keys}

    waiter = RunWaiter(away_then_back, tick=0.001)
    assert waiter.wait(1, timeout=5) == RunSnapshot("success")
    assert len(calls) == 21
    assert "polling pending runs failed" not in caplog.text


def test_fetch_bug_traceback_logged_once_a_minute_not_per_tick(caplog: pytest.LogCaptureFixture) -> None:
    calls = []

    def buggy(keys: Sequence[int]) -> Mapping[int, RunSnapshot]:
        calls.append(keys)
        if len(calls) <= 20:
            raise KeyError("a bug")
        return {k: RunSnapshot("success") for k in keys}

    waiter = RunWaiter(buggy, tick=0.001)
    assert waiter.wait(1, timeout=5) == RunSnapshot("success")
    assert caplog.text.count("polling pending runs failed") == 1


@pytest.mark.parametrize(
    ("previous", "now", "expected"),
    [
        (None, 7.0, 7.0),  # idle until now: poll at once
        (1.0, 1.125, 1.25),  # the fetch ended before the next deadline: wait for it
        (1.0, 1.25, 1.25),  # ended exactly on it
        (1.0, 1.5, 1.5),  # overran the next deadline: poll at once
        (1.0, 9.0, 9.0),  # overran many ticks: one poll at once, no backlog of missed ones
    ],
)
def test_next_poll_table(previous: float | None, now: float, expected: float) -> None:
    assert next_poll(previous, now, tick=0.25) == expected


@pytest.mark.parametrize(
    ("durations", "starts", "sleeps"),
    [
        # fetches shorter than a tick: one start per tick, not per tick + fetch
        ([0.125, 0.125, 0.125], [0, 0.25, 0.5], [0.125, 0.125, 0.125]),
        # every fetch overruns: the next starts as soon as it ends, no sleep
        ([0.5, 0.5, 0.5], [0, 0.5, 1.0], []),
        # one overrun: one poll at once, then ticks from there (no catch-up burst at 0.5, 0.75)
        ([0.125, 0.75, 0.125, 0.125], [0, 0.25, 1.0, 1.25], [0.125, 0.125, 0.125]),
    ],
)
def test_run_fetch_starts_on_fixed_deadlines_fake_clock(
    durations: list[float], starts: list[float], sleeps: list[float]
) -> None:
    clock = FakeClock()
    started: list[float] = []

    def slow_fetch(keys: Sequence[int]) -> Mapping[int, RunSnapshot]:
        if len(started) == len(durations):
            raise Stop
        started.append(clock.now)
        clock.now += durations[len(started) - 1]
        return {}  # never settles: the caller keeps waiting

    waiter = RunWaiter(slow_fetch, tick=0.25, clock=clock, sleep=clock.sleep)
    waiter._pending[1] = [lambda snapshot: None]
    with pytest.raises(Stop):
        waiter._run()
    assert started == pytest.approx(starts)
    assert clock.sleeps == pytest.approx(sleeps)  # the last one precedes the fetch that stops


def test_wait_on_idle_waiter_polls_at_once_whatever_the_tick() -> None:
    runs = FakeRuns()
    runs.states[5] = RunSnapshot("success")
    waiter = RunWaiter(runs.fetch, tick=3600)
    assert waiter.wait(5, timeout=30) == RunSnapshot("success")
    assert runs.fetches == [(5,)]


# -- the sync callers' cap ---------------------------------------------------------------


def test_sync_callers_cap_refuses_past_it_and_frees_on_release() -> None:
    callers = SyncCallers(2)
    first, second = callers.take(), callers.take()
    assert first is not None and second is not None
    assert callers.take() is None
    first.release()
    first.release()  # once only
    assert callers.taken == 1
    assert callers.take() is not None


def test_sync_callers_repeats_of_one_run_hold_one_place() -> None:
    callers = SyncCallers(2)
    first = callers.take()
    assert first is not None
    first.waits_on(7)
    repeats = []
    for _ in range(20):  # each takes a place while it is written, then shares the run's
        repeat = callers.take()
        assert repeat is not None
        repeat.waits_on(7)
        repeats.append(repeat)
    assert callers.taken == 1
    other = callers.take()
    assert other is not None
    other.waits_on(8)  # another run: its own place
    assert callers.take() is None
    first.release()  # the run's first caller leaves: its repeats still hold the run's place
    assert callers.taken == 2
    for repeat in repeats:
        repeat.release()
    assert callers.taken == 1
    other.release()
    assert callers.taken == 0


def test_sync_callers_threads_leave_the_count_exact() -> None:
    callers = SyncCallers(64)

    def caller(n: int) -> None:
        for _ in range(200):
            slot = callers.take()
            if slot is not None:
                slot.waits_on(n % 3)
                slot.release()

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert callers.taken == 0
