"""Sync mode: one waiter per process answers every caller waiting for its run.

Callers register the run they wait for; one background thread polls all pending
runs with a single query per tick (``fetch`` is injected: the Airflow side reads
``dag_run`` and the recorded responses in the ``xcom`` table) and wakes the right
callers. Waiting costs no query per caller, and an async caller holds no thread
(:meth:`RunWaiter.wait_async`). Polls start on fixed deadlines ``tick`` apart
(:func:`next_poll`), so a slow fetch does not stretch the period. When nobody waits,
the thread sleeps without querying.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from airflow_webhook_trigger.core.errors import ServiceUnavailable

log = logging.getLogger(__name__)

#: the XCom key a ``WebhookResponseOperator`` records its response under
RESPONSE_KEY = "webhook_response"
FINISHED_STATES = frozenset({"success", "failed"})
#: seconds between two logged tracebacks of a failing poll
ERROR_LOG_INTERVAL = 60.0


@dataclass(frozen=True)
class RecordedResponse:
    """What a ``WebhookResponseOperator`` decided."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: object
    task_id: str


@dataclass(frozen=True)
class RunSnapshot:
    """A run's state and its first recorded response, if any."""

    state: str
    response: RecordedResponse | None = None

    @property
    def settled(self) -> bool:
        """A caller can be answered: a response exists, or the run ended."""
        return self.response is not None or self.state in FINISHED_STATES


Fetch = Callable[[Sequence[int]], Mapping[int, RunSnapshot]]
Callback = Callable[[RunSnapshot], None]


def next_poll(previous: float | None, now: float, tick: float) -> float:
    """When the next poll starts: fixed deadlines ``tick`` apart, whatever a fetch takes.

    :param previous: the deadline of the last poll, or None when the waiter was idle
        (nobody waiting): then a new caller is served at once
    :param now: the clock now, after the last poll ended
    :return: ``previous + tick``; or ``now`` when that is past (a fetch overran): one poll
        at once, and the deadlines go on from there, with no backlog of catch-up polls
    """
    if previous is None:
        return now
    return max(previous + tick, now)


class RunWaiter:
    """Polls pending runs, ``tick`` seconds apart, in one ``fetch`` call per tick.

    :param fetch: dag_run ids -> snapshots of those runs (missing ids: no news)
    :param tick: seconds from one poll's start to the next while someone waits
    :param clock: monotonic seconds (injected in tests)
    :param sleep: sleeps that many seconds of ``clock`` (injected in tests)
    """

    def __init__(
        self,
        fetch: Fetch,
        tick: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._fetch = fetch
        self._tick = tick
        self._clock = clock
        self._sleep = sleep
        self._pending: dict[int, list[Callback]] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        #: number of fetch calls made (one per tick with waiters), for benchmarks
        self.fetches = 0
        self._last_error_logged = -ERROR_LOG_INTERVAL

    # -- registration -------------------------------------------------------------

    def _add(self, run_row_id: int, callback: Callback) -> None:
        with self._cond:
            was_idle = not self._pending
            self._pending.setdefault(run_row_id, []).append(callback)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhook-run-waiter", daemon=True)
                self._thread.start()
            if was_idle:  # wake the idle thread; a busy one keeps its one-query-per-tick pace
                self._cond.notify()

    def _remove(self, run_row_id: int, callback: Callback) -> None:
        with self._cond:
            callbacks = self._pending.get(run_row_id)
            if callbacks and callback in callbacks:
                callbacks.remove(callback)
                if not callbacks:
                    del self._pending[run_row_id]

    @property
    def waiting(self) -> int:
        with self._cond:
            return sum(len(c) for c in self._pending.values())

    def wait(self, run_row_id: int, timeout: float) -> RunSnapshot | None:
        """Block this thread until the run settles; None after ``timeout`` seconds."""
        done = threading.Event()
        box: list[RunSnapshot] = []

        def callback(snapshot: RunSnapshot) -> None:
            box.append(snapshot)
            done.set()

        self._add(run_row_id, callback)
        try:
            done.wait(timeout)
        finally:
            self._remove(run_row_id, callback)
        return box[0] if box else None

    async def wait_async(self, run_row_id: int, timeout: float) -> RunSnapshot | None:
        """Await the run settling without holding a thread; None after ``timeout``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[RunSnapshot] = loop.create_future()

        def resolve(snapshot: RunSnapshot) -> None:
            if not future.done():
                future.set_result(snapshot)

        def callback(snapshot: RunSnapshot) -> None:
            loop.call_soon_threadsafe(resolve, snapshot)

        self._add(run_row_id, callback)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except asyncio.TimeoutError:
            return None
        finally:
            self._remove(run_row_id, callback)

    # -- polling --------------------------------------------------------------------

    def poll_once(self) -> int:
        """One tick: fetch every pending run at once, wake callers of settled runs.

        :return: the number of callers woken (taken off the list and called back, even
            if their callback raised)
        """
        with self._cond:
            keys = list(self._pending)
        if not keys:
            return 0
        self.fetches += 1
        snapshots = self._fetch(keys)
        woken: list[tuple[int, Callback, RunSnapshot]] = []
        with self._cond:
            for key, snapshot in snapshots.items():
                if snapshot.settled and key in self._pending:
                    woken.extend((key, cb, snapshot) for cb in self._pending.pop(key))
        for key, callback, snapshot in woken:
            try:
                callback(snapshot)
            except Exception:  # e.g. an async caller's event loop already closed
                # one caller's failure must not leave the callers after it waiting
                log.exception("webhook waiter: waking a caller of dag_run id %d failed", key)
        return len(woken)

    def _run(self) -> None:
        due: float | None = None  # the last poll's deadline; None while idle
        while True:
            with self._cond:
                while not self._pending:
                    due = None
                    self._cond.wait()
            now = self._clock()
            due = next_poll(due, now, self._tick)
            if due > now:
                self._sleep(due - now)
            try:
                self.poll_once()
            except ServiceUnavailable:
                pass  # the DB is away: logged once per outage where that is seen; keep waiting
            except Exception:
                # a bug, not an outage: logged with its traceback, at most once a minute
                if self._clock() - self._last_error_logged >= ERROR_LOG_INTERVAL:
                    self._last_error_logged = self._clock()
                    log.exception("webhook waiter: polling pending runs failed; retrying")


class SyncSlot:
    """One sync caller's place under :class:`SyncCallers`' cap, from before its run is written
    until it is answered. Once the caller knows its run (:meth:`waits_on`), a repeat of a
    delivery another caller already waits for gives its place back and shares that one."""

    def __init__(self, callers: SyncCallers) -> None:
        self._callers = callers
        self._run: int | None = None
        self._released = False

    def waits_on(self, run_row_id: int) -> None:
        if self._run is None and not self._released:
            self._run = run_row_id
            self._callers._join(run_row_id)

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._callers._leave(self._run)


class SyncCallers:
    """The cap on sync callers waiting in one process (``sync_max_waiting``), counted by the
    runs they wait for: twenty repeats of one sync delivery hold one place, not twenty.

    A place is taken before the run is written (:meth:`take`: None past the cap, so the
    sender gets a 503 and no run is started that its retry would start again).
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._lock = threading.Lock()
        self._taken = 0
        #: run key -> callers waiting for it (the run holds one place, whatever the count)
        self._runs: dict[int, int] = {}

    @property
    def taken(self) -> int:
        with self._lock:
            return self._taken

    def take(self) -> SyncSlot | None:
        with self._lock:
            if self._taken >= self.cap:
                return None
            self._taken += 1
        return SyncSlot(self)

    def _join(self, run_row_id: int) -> None:
        with self._lock:
            waiting = self._runs.get(run_row_id, 0)
            self._runs[run_row_id] = waiting + 1
            if waiting:  # the run holds a place already: this caller's goes back
                self._taken -= 1

    def _leave(self, run_row_id: int | None) -> None:
        with self._lock:
            if run_row_id is None:
                self._taken -= 1
                return
            waiting = self._runs[run_row_id] - 1
            if waiting:
                self._runs[run_row_id] = waiting
            else:  # the run's last caller: its place goes back
                del self._runs[run_row_id]
                self._taken -= 1
