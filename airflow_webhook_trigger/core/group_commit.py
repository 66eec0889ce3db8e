"""Group commit: concurrent writers share one transaction and one commit.

Accepting a webhook ends in a few small inserts and a commit, and on one api-server
worker the commit and the per-transaction work (checkout, ``BEGIN``, ping, ``COMMIT``,
on PostgreSQL a round trip each) cost about as much as the inserts. So the writes that
arrive at the same time are written together: the group takes every write waiting (up to
``max_group``), runs them in one transaction with one statement per table, commits, and
only then tells each writer its outcome. Nobody waits for a group to fill: a write that
finds nothing being written is written at once, by its own thread (no thread switch for
a lone request). Writes that arrive meanwhile form the next group, written by the
process's writer thread.

A writer either waits for its outcome (:meth:`GroupCommit.submit`, holding its thread)
or is called back once it is known (:meth:`GroupCommit.enqueue`, holding nothing unless
it writes: the FastAPI adapter awaits it in the event loop, so a group is not bounded by
threads).

Each writer hears of its outcome only after the commit that holds its rows, so a 2xx
still means committed. When a group fails:

- the DB cannot serve (:class:`ServiceUnavailable`: down, locked, out of time): every
  writer of the group gets that 503 (nothing of theirs was committed; retrying each alone
  against a DB that is away would only hold the others longer);
- anything else (a unique key taken, a bad row): each write is retried alone, in a
  transaction of its own, so one bad request fails alone and the others are written.

A writer waits without a deadline of its own: the group's transaction has the session's
(``db_timeout_seconds``, its connection cut by the watchdog past it), so a writer waits at
most that for the groups before its own, then that for its own.

Nothing here imports Airflow.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Generic, TypeVar

from airflow_webhook_trigger.core.errors import ServiceUnavailable

log = logging.getLogger(__name__)

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")


class Ticket(Generic[T, R]):
    """One write and, once its group is done, its outcome."""

    __slots__ = ("_done", "_error", "_result", "finished", "item")

    def __init__(self, item: T, done: Callable[[Ticket[T, R]], None]) -> None:
        self.item = item
        self._done = done
        self._result: R | None = None
        self._error: BaseException | None = None
        #: the outcome is known (set just before ``done`` is called)
        self.finished = False

    @property
    def failed(self) -> bool:
        return self._error is not None

    def outcome(self) -> R:
        """The write's result once committed, or raise what its group (or it alone) raised."""
        if not self.finished:
            raise RuntimeError("the write's group is not done yet")
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]  # set when it did not fail

    def _finish(self) -> None:
        self.finished = True
        try:
            self._done(self)
        except Exception:  # a caller gone (its event loop closed): the others still hear
            log.exception("a group-commit writer could not be told its outcome")


class GroupCommit(Generic[S, T, R]):
    """Writes items in groups, one transaction and one commit per group, one group at a time.

    :param sessions: a committing transaction (:meth:`Database.write_transaction`: a
        :class:`WriteBatch`; or :meth:`Database.transaction`: a ``Connection``)
    :param write: writes a group's items in the session, returning one result per item in
        their order; called with a single item to retry it alone
    :param max_group: the most items one transaction takes
    """

    def __init__(
        self,
        sessions: Callable[[], AbstractContextManager[S]],
        write: Callable[[Sequence[T], S], Sequence[R]],
        *,
        max_group: int = 64,
    ) -> None:
        if max_group < 1:
            raise ValueError("max_group must be at least 1")
        self._sessions = sessions
        self._write = write
        self._max = max_group
        self._lock = threading.Condition()
        self._queue: list[Ticket[T, R]] = []
        self._thread: threading.Thread | None = None
        #: a thread is writing (the writer thread, or one that found nothing being written)
        self._writing = False
        #: groups committed, and the items they held (for the benchmark and the tests)
        self.groups = 0
        self.items = 0

    def enqueue(self, item: T, done: Callable[[Ticket[T, R]], None]) -> Ticket[T, R]:
        """Queue ``item`` for the next group; ``done(ticket)`` is called once its outcome is
        known (:meth:`Ticket.outcome`), from the thread that wrote its group.

        If nothing is being written, this thread writes the group now (a lone request pays
        no thread switch) and returns once it is committed, calling ``done`` first; writes
        queued meanwhile are left to the writer thread. Otherwise it returns at once.
        """
        ticket: Ticket[T, R] = Ticket(item, done)
        with self._lock:
            self._queue.append(ticket)
            lead = not self._writing
            if lead:
                self._writing = True
            elif self._thread is None or not self._thread.is_alive():
                # started on first use (and again in a forked worker, where it is not alive)
                self._thread = threading.Thread(target=self._writer, name="webhook-group-commit", daemon=True)
                self._thread.start()
        if lead:
            try:
                self._write_next()
            finally:
                self._put_down()  # the writer thread takes the rest
        return ticket

    def submit(self, item: T) -> R:
        """Write ``item`` with whatever else is being written now, waiting for the outcome."""
        written = threading.Event()
        ticket = self.enqueue(item, lambda _: written.set())
        written.wait()
        return ticket.outcome()

    def _writer(self) -> None:
        while True:
            with self._lock:
                while not self._queue or self._writing:
                    self._lock.wait()
                self._writing = True
            try:
                while self._queue:
                    self._write_next()
            finally:
                self._put_down()

    def _put_down(self) -> None:
        """Stop writing; wake the writer thread for what was queued meanwhile."""
        with self._lock:
            self._writing = False
            if self._queue:
                self._lock.notify()

    def _write_next(self) -> None:
        """Write the next group (called by whoever is writing), then tell its writers."""
        with self._lock:
            group, self._queue = self._queue[: self._max], self._queue[self._max :]
        try:
            self._run(group)
        finally:
            for ticket in group:
                ticket._finish()

    def _committed(self, items: list[T]) -> Sequence[R]:
        """Write ``items`` in one transaction and commit; one result per item."""
        with self._sessions() as session:
            results = self._write(items, session)
            if len(results) != len(items):
                raise RuntimeError(f"{len(items)} writes returned {len(results)} results")
        with self._lock:
            self.groups += 1
            self.items += len(items)
        return results

    def _run(self, group: list[Ticket[T, R]]) -> None:
        try:
            results = self._committed([t.item for t in group])
        except ServiceUnavailable as exc:
            for ticket in group:
                ticket._error = exc
            return
        except BaseException as exc:
            if len(group) == 1 or not isinstance(exc, Exception):
                for ticket in group:
                    ticket._error = exc
                return
            for ticket in group:
                self._run_alone(ticket)
            return
        for ticket, result in zip(group, results, strict=True):
            ticket._result = result

    def _run_alone(self, ticket: Ticket[T, R]) -> None:
        try:
            (ticket._result,) = self._committed([ticket.item])
        except Exception as exc:
            ticket._error = exc
