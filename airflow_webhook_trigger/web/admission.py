"""The FastAPI adapter's admission: trigger slots, lookup threads and the per-key queue of
first credential checks, all waited for in the event loop without holding a thread."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import anyio
from anyio import to_thread

from airflow_webhook_trigger.core.errors import TOO_MANY_AT_ONCE, busy
from airflow_webhook_trigger.core.runs import Deferred
from airflow_webhook_trigger.core.settings import Settings

#: the 503 detail when the first checks of one password queue up past the admission wait
TOO_MANY_CHECKS = "too many credential checks for this webhook at once"

T = TypeVar("T")


class _Gate:
    """This event loop's admission: ``max_concurrent_triggers`` slots and their own threads;
    ``max_trigger_connections`` threads for the lookups made before (the webhook, a run's
    status: a DB read unless cached) and as many for first credential checks (a scrypt and
    its 16 MiB each): both stay small however many triggers are admitted."""

    def __init__(self, slots: int, connections: int) -> None:
        self.slots = anyio.Semaphore(slots)
        self.threads = anyio.CapacityLimiter(slots)
        self.lookups = anyio.CapacityLimiter(connections)
        #: slow credential checks: threads of their own, one check per key at a time
        self.checks = anyio.CapacityLimiter(connections)
        self.check_locks: dict[str, anyio.Lock] = {}


class Admission:
    """Bounds the webhooks being accepted at once *before* they take a worker thread.

    Without it, a burst of requests queues on anyio's shared pool of 40 threads (which
    Airflow's execution API and UI also use) and waits there without limit; the
    trigger slots of the run gateway only apply once a request holds a thread.
    Here a request waits for a slot in the event loop, holding no thread, for at most
    ``trigger_slot_wait_seconds``, then gets 503 + Retry-After; admitted requests run
    on a dedicated limiter of the same size, so a burst never drains the shared pool.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        # one gate per event loop: anyio primitives belong to the loop they wait in
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gate] = weakref.WeakKeyDictionary()

    def _gate(self) -> _Gate:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            settings = self._settings
            gate = _Gate(settings.max_concurrent_triggers, settings.max_trigger_connections)
            self._gates[loop] = gate
        return gate

    async def lookup(self, work: Callable[[], T]) -> T:
        """A quick blocking lookup (a cached registry read, a run's status): on threads of
        its own, so that a burst queues here and not on the pool Airflow's endpoints use."""
        return await to_thread.run_sync(work, limiter=self._gate().lookups)

    async def _acquire_in_time(self, waitable: anyio.Lock | anyio.Semaphore, why: str) -> None:
        """Acquire within ``trigger_slot_wait_seconds``, waiting in the event loop, else 503."""
        try:
            waitable.acquire_nowait()  # free: no timer, no cancel scope
            return
        except anyio.WouldBlock:
            pass
        acquired = False
        with anyio.move_on_after(self._settings.trigger_slot_wait_seconds):
            await waitable.acquire()
            acquired = True
        if not acquired:
            raise busy(why, self._settings.retry_after_seconds)

    async def slow_check(self, queue: str, work: Callable[[], T]) -> T:
        """A first credential check (a scrypt), before any trigger slot is taken.

        One at a time per queue (a stored password hash), waiting in the event loop: a
        flood of wrong passwords for one webhook holds one thread, delays no other
        webhook, and past ``trigger_slot_wait_seconds`` of waiting is answered 503.
        """
        gate = self._gate()
        lock = gate.check_locks.get(queue)
        if lock is None:
            if len(gate.check_locks) > 10_000:
                gate.check_locks.clear()
            lock = gate.check_locks[queue] = anyio.Lock()
        await self._acquire_in_time(lock, TOO_MANY_CHECKS)
        try:
            return await to_thread.run_sync(work, limiter=gate.checks)
        finally:
            lock.release()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """A trigger slot for the block, within ``trigger_slot_wait_seconds`` or 503."""
        gate = self._gate()
        await self._acquire_in_time(gate.slots, TOO_MANY_AT_ONCE)
        try:
            # outside the timeout's scope: a run once started is answered, however long it took
            yield
        finally:
            gate.slots.release()

    async def in_slot(self, work: Callable[[], T]) -> T:
        """Blocking work of a request holding a slot, on the slots' own threads."""
        return await to_thread.run_sync(work, limiter=self._gate().threads)

    async def run(self, work: Callable[[], T]) -> T:
        """Accepting a webhook: a slot within ``trigger_slot_wait_seconds`` or 503."""
        async with self.slot():
            return await self.in_slot(work)


class Written:
    """Set, in the event loop, once a queued write's group is committed or failed.

    The write is queued by the thread that prepared it (:meth:`queue`, right away: not when
    the event loop next gets to it) and awaited in the loop (:meth:`wait`, holding no thread).
    """

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._done: asyncio.Future[None] = self._loop.create_future()

    def _settle(self) -> None:
        if not self._done.done():  # the waiting request may have been cancelled
            self._done.set_result(None)

    def _wake(self) -> None:  # from the writer thread
        self._loop.call_soon_threadsafe(self._settle)

    def queue(self, result: T) -> T:
        if isinstance(result, Deferred):
            result.write.enqueue(self._wake)
        return result

    async def wait(self) -> None:
        await self._done
