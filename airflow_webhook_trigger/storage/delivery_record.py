"""The delivery record in the metadata DB, and the delivery keys' table.

Accepted deliveries are written by the run gateway in the run's own transaction
(:mod:`delivery_writes`). Every other delivery goes through :class:`DeliveryLog`: a
bounded in-memory buffer that a background thread writes in batches, so a flood of bad
requests costs one insert per batch, not one per request, and at most
``REJECTED_PER_MINUTE`` rows per webhook; what does not fit is counted as dropped, never
waited for. The same thread prunes rows older than the retention and
keys older than the dedupe window, so no one has to run a command.
Plain SQLAlchemy Core over a session factory: no Airflow import here.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from sqlalchemy import delete, func, insert, select, update

from airflow_webhook_trigger.core.delivery import DeliveryRow, Outcome, as_utc
from airflow_webhook_trigger.core.errors import ServiceUnavailable
from airflow_webhook_trigger.storage.db_errors import error_class, is_unavailable
from airflow_webhook_trigger.storage.delivery_writes import INSERT_DELIVERY, delivery_values
from airflow_webhook_trigger.storage.webhook_store import (
    SessionFactory,
    deliveries_table,
    delivery_keys_table,
    samples_table,
)

log = logging.getLogger(__name__)

#: how often the background thread writes what is buffered
FLUSH_INTERVAL_SECONDS = 1.0
#: how often it prunes old rows
PRUNE_INTERVAL_SECONDS = 3600.0
#: the most rows one batch writes
BATCH_SIZE = 500
#: rejected deliveries recorded per webhook per minute; past that they are only counted
#: (a flood of bad requests must not become a flood of writes)
REJECTED_PER_MINUTE = 60

#: every metric's name starts with this (docs/deliveries.md lists them)
METRICS_PREFIX = "webhook_trigger"


class Metrics(Protocol):
    """Counters and timers (Airflow's ``Stats``, behind the seam: StatsD or OpenTelemetry)."""

    def incr(self, name: str) -> None: ...

    def timing(self, name: str, milliseconds: float) -> None: ...


def _row(m: Any) -> DeliveryRow:
    return DeliveryRow(
        id=m["id"],
        webhook_id=m["webhook_id"],
        received_at=as_utc(m["received_at"]),
        outcome=m["outcome"],
        status=m["status"],
        error=m["error"],
        dag_id=m["dag_id"],
        run_id=m["run_id"],
        delivery_key=m["delivery_key"],
        duration_ms=m["duration_ms"],
        replay_of=m["replay_of"],
    )


def _is_outage(exc: BaseException) -> bool:
    """The database is away (not: it refused what a batch holds)."""
    return isinstance(exc, ServiceUnavailable) or is_unavailable(exc)


class DeliveryLog:
    """The process's buffered writer of deliveries, and the record's queries.

    :param sessions: bounded sessions on the metadata DB (committing on exit)
    :param metrics: counts every delivery reported, stored or not
    :param background: write and prune from a thread of its own (else: :meth:`flush`, :meth:`prune`)
    """

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        capacity: int = 1000,
        retention_days: int = 7,
        dedupe_window_days: int = 7,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        rejected_per_minute: int = REJECTED_PER_MINUTE,
        timer: Callable[[], float] = time.monotonic,
        background: bool = True,
    ) -> None:
        self._sessions = sessions
        self._capacity = capacity
        self._retention = timedelta(days=retention_days)
        self._window = timedelta(days=dedupe_window_days)
        self._metrics = metrics
        self._clock = clock
        self._rows: deque[DeliveryRow] = deque()
        self._answers: deque[DeliveryRow] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pruned_at = float("-inf")
        self._failing = False
        self._rejected_per_minute = rejected_per_minute
        self._background = background
        self._timer = timer
        #: webhook id -> (start of its minute, rejections recorded in it)
        self._rejections: dict[str, tuple[float, int]] = {}
        #: deliveries not recorded because the buffer was full (or the DB refused a batch)
        self.dropped = 0

    # ---------------------------------------------------------------- the recorder

    def record(self, row: DeliveryRow, *, stored: bool = False) -> None:
        if self._metrics is not None:
            self._metrics.incr(f"{METRICS_PREFIX}.deliveries.{row.outcome}")
            if row.status is not None:
                self._metrics.incr(f"{METRICS_PREFIX}.responses.{row.status}")
            if row.outcome == "accepted" and row.duration_ms is not None:
                self._metrics.timing(f"{METRICS_PREFIX}.accept_ms", row.duration_ms)
        if stored:
            self._ensure_thread()  # pruning too needs the thread
        elif row.outcome != "rejected" or self._within_budget(row.webhook_id):
            self._push(self._rows, row)
        else:
            self._drop()

    def _within_budget(self, webhook_id: str) -> bool:
        now = self._timer()
        with self._lock:
            start, count = self._rejections.get(webhook_id, (now, 0))
            if now - start >= 60.0:
                start, count = now, 0
            if len(self._rejections) > 10_000:  # ids are bounded by the webhooks that exist
                self._rejections.clear()
            self._rejections[webhook_id] = (start, count + 1)
        return count < self._rejected_per_minute

    def _drop(self) -> None:
        with self._lock:
            self.dropped += 1
        if self._metrics is not None:
            self._metrics.incr(f"{METRICS_PREFIX}.deliveries.dropped")

    def answered(self, row: DeliveryRow) -> None:
        if self._metrics is not None:
            self._metrics.incr(f"{METRICS_PREFIX}.responses.{row.status}")
            if row.duration_ms is not None:
                self._metrics.timing(f"{METRICS_PREFIX}.sync_ms", row.duration_ms)
        self._push(self._answers, row)

    def _push(self, queue: deque[DeliveryRow], row: DeliveryRow) -> None:
        with self._lock:
            full = len(self._rows) + len(self._answers) >= self._capacity
            if not full:
                queue.append(row)
        if full:
            self._drop()
            return
        self._ensure_thread()

    def pending(self) -> int:
        with self._lock:
            return len(self._rows) + len(self._answers)

    # ---------------------------------------------------------------- writing

    def flush(self) -> int:
        """Write what is buffered, in one transaction per batch; the rows written.

        When the DB cannot take a batch, its rows are dropped and counted (the buffer
        must not grow during an outage, and the webhooks' own answers never wait on it).
        A batch refused for what it holds (a value the database does not take) is written
        again one row at a time, so the one bad row is dropped alone; the log names its
        delivery id and the error's class, never its values.
        """
        written = 0
        while True:
            with self._lock:
                rows = [self._rows.popleft() for _ in range(min(BATCH_SIZE, len(self._rows)))]
                answers = [self._answers.popleft() for _ in range(min(BATCH_SIZE, len(self._answers)))]
            if not rows and not answers:
                return written
            try:
                self._write(rows, answers)
            except Exception as exc:
                if _is_outage(exc):
                    self._failed(len(rows) + len(answers), exc)
                    return written
                alone = self._write_one_by_one(rows, answers)
                if alone is None:
                    return written
                written += alone
                continue
            if self._failing:
                self._failing = False
                log.info("delivery record: written again; %d rows dropped in all so far", self.dropped)
            written += len(rows) + len(answers)

    def _write(self, rows: Sequence[DeliveryRow], answers: Sequence[DeliveryRow]) -> None:
        with self._sessions() as session:
            if rows:
                session.execute(INSERT_DELIVERY, [delivery_values(r) for r in rows])
            for answer in answers:
                session.execute(
                    update(deliveries_table)
                    .where(deliveries_table.c.id == answer.id)
                    .values(status=answer.status, duration_ms=answer.duration_ms)
                )

    def _write_one_by_one(self, rows: Sequence[DeliveryRow], answers: Sequence[DeliveryRow]) -> int | None:
        """A refused batch again, a transaction per row; the rows written (None: an outage
        began, the rest is dropped)."""
        written = 0
        todo = [(row, True) for row in rows] + [(answer, False) for answer in answers]
        for done, (row, inserted) in enumerate(todo):
            try:
                self._write([row] if inserted else [], [] if inserted else [row])
            except Exception as exc:
                if _is_outage(exc):
                    self._failed(len(todo) - done, exc)
                    return None
                with self._lock:
                    self.dropped += 1
                log.warning(
                    "delivery record: delivery %s not written (%s); the rest of its batch is",
                    row.id,
                    error_class(exc),
                )
                continue
            written += 1
        return written

    def _failed(self, count: int, exc: BaseException) -> None:
        with self._lock:
            self.dropped += count
        if not self._failing:  # once per outage (the database logs the outage itself)
            self._failing = True
            log.warning(
                "delivery record: %d rows not written (%s); dropping until the DB takes them",
                count,
                error_class(exc),
            )

    def prune(self) -> tuple[int, int]:
        """Delete deliveries past the retention and keys past the dedupe window."""
        now = self._clock()
        with self._sessions() as session:
            gone = session.execute(
                delete(deliveries_table).where(deliveries_table.c.received_at < now - self._retention)
            ).rowcount  # type: ignore[attr-defined]
            keys = session.execute(
                delete(delivery_keys_table).where(delivery_keys_table.c.created_at < now - self._window)
            ).rowcount  # type: ignore[attr-defined]
        return int(gone or 0), int(keys or 0)

    def _ensure_thread(self) -> None:
        if not self._background or (self._thread is not None and self._thread.is_alive()):
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            first = self._thread is None
            self._thread = threading.Thread(target=self._loop, name="webhook-delivery-log", daemon=True)
            self._thread.start()
            if first:
                # registered after Airflow's own exit handlers, so run before them (atexit is
                # LIFO): the thread is done with its session before Airflow disposes of the ORM
                atexit.register(self.stop)

    def stop(self, timeout: float = 10.0) -> None:
        """End the background thread, after a last write of what is buffered (at exit)."""
        self._stopping.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _loop(self) -> None:
        while True:
            stopping = self._stopping.wait(FLUSH_INTERVAL_SECONDS)
            try:
                self.flush()
                if not stopping and time.monotonic() - self._pruned_at >= PRUNE_INTERVAL_SECONDS:
                    self._pruned_at = time.monotonic()
                    self.prune()
            except ServiceUnavailable:
                pass  # the database logs its outages, once each; pruning waits for the next hour
            except Exception:  # a bug: say so, and keep the thread alive
                log.exception("delivery record: background work failed")
            if stopping:
                return

    # ---------------------------------------------------------------- reading

    def list(
        self, webhook_id: str | None = None, outcome: Outcome | None = None, limit: int = 50
    ) -> list[DeliveryRow]:
        """The newest deliveries first."""
        query = select(deliveries_table).order_by(deliveries_table.c.received_at.desc()).limit(limit)
        if webhook_id is not None:
            query = query.where(deliveries_table.c.webhook_id == webhook_id)
        if outcome is not None:
            query = query.where(deliveries_table.c.outcome == outcome)
        with self._sessions() as session:
            return [_row(r._mapping) for r in session.execute(query).all()]

    def latest(self, webhook_ids: Collection[str]) -> dict[str, DeliveryRow]:
        """Each webhook's newest delivery (webhooks with none are absent), in one query."""
        if not webhook_ids:
            return {}
        table = deliveries_table
        newest = (
            select(table.c.webhook_id, func.max(table.c.received_at).label("received_at"))
            .where(table.c.webhook_id.in_(list(webhook_ids)))
            .group_by(table.c.webhook_id)
            .subquery()
        )
        query = select(table).join(
            newest,
            (table.c.webhook_id == newest.c.webhook_id) & (table.c.received_at == newest.c.received_at),
        )
        with self._sessions() as session:
            rows = [_row(r._mapping) for r in session.execute(query).all()]
        return {row.webhook_id: row for row in rows}

    def get(self, delivery_id: str) -> DeliveryRow | None:
        with self._sessions() as session:
            found = session.execute(
                select(deliveries_table).where(deliveries_table.c.id == delivery_id)
            ).first()
        return None if found is None else _row(found._mapping)

    # ---------------------------------------------------------------- test captures

    def save_sample(self, webhook_id: str, sample: dict[str, object]) -> None:
        """The webhook's latest test capture (replacing the one before)."""
        text = json.dumps(sample, separators=(",", ":"), ensure_ascii=False)
        with self._sessions() as session:
            session.execute(delete(samples_table).where(samples_table.c.webhook_id == webhook_id))
            session.execute(
                insert(samples_table).values(webhook_id=webhook_id, captured_at=self._clock(), sample=text)
            )

    def sample(self, webhook_id: str) -> tuple[datetime, dict[str, Any]] | None:
        with self._sessions() as session:
            found = session.execute(
                select(samples_table.c.captured_at, samples_table.c.sample).where(
                    samples_table.c.webhook_id == webhook_id
                )
            ).first()
        if found is None:
            return None
        return as_utc(found.captured_at), json.loads(found.sample)
