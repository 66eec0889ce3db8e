"""Group commit: concurrent writers share one transaction and one commit.

Accepting a webhook ends in a few small inserts and a commit, and on one api-server
worker the commit and the per-transaction work (checkout, ``BEGIN``, ping, ``COMMIT``,
on PostgreSQL a round trip each) cost about as much as the inserts. So the requests
that reach the write at the same time write together: the first one to arrive leads,
takes every write waiting (up to ``max_group``), runs them in one transaction with one
statement per table, commits, and only then hands each writer its result. Writes that
arrive meanwhile wait for the next group, led by the first of them. Nobody waits for a
group to fill: a lone request is written at once, as before.

Each writer is answered only after the commit that holds its rows, so a 2xx still means
committed. When a group fails:

- the DB cannot serve (:class:`ServiceUnavailable`: down, locked, out of time): every
  writer of the group gets that 503 (nothing of theirs was committed; retrying each alone
  against a DB that is away would only hold the others longer);
- anything else (a unique key taken, a bad row): each write is retried alone, in a
  transaction of its own, so one bad request fails alone and the others are written.

A writer waits without a deadline of its own: the group's transaction has the session's
(``db_timeout_seconds``, its connection cut by the watchdog past it), so a writer waits at
most that for the group before its own, then that for its own.

Nothing here imports Airflow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy.engine import Connection

from airflow_webhook_trigger.errors import ServiceUnavailable

T = TypeVar("T")
R = TypeVar("R")


@dataclass(eq=False)
class _Ticket(Generic[T, R]):
    item: T
    done: threading.Event = field(default_factory=threading.Event)
    #: set with ``done`` when this writer is to lead the next group instead
    lead: bool = False
    finished: bool = False
    result: R | None = None
    error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    """Writes items in groups, one transaction and one commit per group.

    :param sessions: a committing transaction (:meth:`Database.transaction`)
    :param write: writes a group's items in the session, returning one result per item in
        their order; called with a single item to retry it alone
    :param max_group: the most items one transaction takes
    """

    def __init__(
        self,
        sessions: Callable[[], AbstractContextManager[Connection]],
        write: Callable[[Sequence[T], Connection], Sequence[R]],
        *,
        max_group: int = 64,
    ) -> None:
        if max_group < 1:
            raise ValueError("max_group must be at least 1")
        self._sessions = sessions
        self._write = write
        self._max = max_group
        self._lock = threading.Lock()
        self._queue: list[_Ticket[T, R]] = []
        self._leading = False
        #: groups committed, and the items they held (for the benchmark and the tests)
        self.groups = 0
        self.items = 0

    def submit(self, item: T) -> R:
        """Write ``item`` with whatever else is being written now; return its result once
        committed, or raise what its group (or its write alone) raised."""
        ticket: _Ticket[T, R] = _Ticket(item)
        with self._lock:
            self._queue.append(ticket)
            if not self._leading:
                self._leading = ticket.lead = True
        while not ticket.lead:
            ticket.done.wait()
            ticket.done.clear()
            if ticket.finished:
                break
        if not ticket.finished:
            self._lead()
        if ticket.error is not None:
            raise ticket.error
        return ticket.result  # type: ignore[return-value]  # set with finished

    def _lead(self) -> None:
        """Write the next group, then hand the lead on (or put it down)."""
        with self._lock:
            group, self._queue = self._queue[: self._max], self._queue[self._max :]
        try:
            self._run(group)
        finally:
            with self._lock:
                following = self._queue[0] if self._queue else None
                if following is None:
                    self._leading = False
                else:
                    following.lead = True
            for ticket in group:
                ticket.finished = True
                ticket.done.set()
            if following is not None:
                following.done.set()

    def _committed(self, items: list[T]) -> Sequence[R]:
        """Write ``items`` in one transaction and commit; one result per item."""
        with self._sessions() as session:
            results = self._write(items, session)
            if len(results) != len(items):
                raise RuntimeError(f"{len(items)} writes returned {len(results)} results")
        self.groups += 1
        self.items += len(items)
        return results

    def _run(self, group: list[_Ticket[T, R]]) -> None:
        try:
            results = self._committed([t.item for t in group])
        except ServiceUnavailable as exc:
            for ticket in group:
                ticket.error = exc
            return
        except BaseException as exc:
            if len(group) == 1 or not isinstance(exc, Exception):
                for ticket in group:
                    ticket.error = exc
                return
            for ticket in group:
                self._run_alone(ticket)
            return
        for ticket, result in zip(group, results, strict=True):
            ticket.result = result

    def _run_alone(self, ticket: _Ticket[T, R]) -> None:
        try:
            (ticket.result,) = self._committed([ticket.item])
        except Exception as exc:
            ticket.error = exc
