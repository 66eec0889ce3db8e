"""The plugin's own connections to the metadata DB, with every wait bounded.

Airflow's engine is shared with its own endpoints and waits without limit where a
webhook sender cannot: 30 s for a pooled connection, no connect timeout, and no
client-side bound on a query. libpq has none, so a PostgreSQL that stops answering
while TCP stays up (its processes stopped, a stalled proxy, a partition that keeps
the socket open) holds the caller for as long as it lasts, and its own
``statement_timeout`` cannot fire. So the plugin reaches the metadata DB through an
engine of its own (built by ``airflow_seam.metadata_db`` with Airflow's URL, engine and
connect arguments and event handlers), where:

- waiting for a pooled connection is bounded by ``db_pool_timeout_seconds``;
- each session's work, from checkout to commit, must end by a deadline
  ``db_timeout_seconds`` after the session opened. A new connection's
  ``connect_timeout`` is what is left of it (PostgreSQL); a pooled connection is
  pinged inside the deadline (not before it, as SQLAlchemy's ``pool_pre_ping``
  does); and a :class:`Watchdog` thread shuts down the socket of a connection still
  held past it, so the blocked call fails at once and the connection is discarded;
- a failure that means "try again later" (:func:`is_unavailable`) leaves the session
  as :class:`ServiceUnavailable` with ``Retry-After``, logged once per outage by
  :class:`OutageLog`, not once per request.

Nothing here imports Airflow.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import math
import select
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, Transaction
from sqlalchemy.orm import Session, sessionmaker

from airflow_webhook_trigger.core.errors import ServiceUnavailable
from airflow_webhook_trigger.storage.db_errors import (
    DB_UNAVAILABLE,
    MIGRATE_HINT,
    OutageLog,
    describe,
    is_missing_table,
    is_unavailable,
)
from airflow_webhook_trigger.storage.watchdog import Watchdog
from airflow_webhook_trigger.storage.write_batch import WriteBatch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DbLimits:
    """The ``[webhook_trigger]`` bounds on talking to the metadata DB (seconds)."""

    #: a session's work, from opening to commit
    timeout: float = 5.0
    #: waiting for a pooled connection
    pool_timeout: float = 1.0
    #: PostgreSQL ``lock_timeout`` of the write transactions (below ``timeout``)
    lock_timeout: float = 3.0
    #: the ``Retry-After`` of a 503
    retry_after: int = 5


class DeadlineExceeded(sa_exc.OperationalError):
    """A session ran out of its deadline before it could use a connection."""

    def __init__(self) -> None:
        super().__init__("the session's deadline passed before a connection was used", None, Exception())


#: the deadline (monotonic seconds) of the session open in this context, if any
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("webhook_db_deadline", default=None)
#: a checkout in this context skips the ping: its first statement stands in for it
_first_statement_pings: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "webhook_db_first_statement_pings", default=False
)


def _readable(dbapi_connection: Any) -> bool:
    """An idle connection with something to read: the server closed it (or told it something
    unasked), so its next statement could not stand in for a ping. No round trip."""
    fileno = getattr(dbapi_connection, "fileno", None)
    if not callable(fileno):
        return False
    try:
        poller = select.poll()
        poller.register(fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except (OSError, ValueError):  # no descriptor left: certainly not usable
        return True


#: libpq's transaction states (psycopg2 and psycopg report them alike)
_IDLE, _IN_TRANSACTION = 0, 2


def _transaction_status(connection: Connection) -> int | None:
    """The server-side transaction state of the connection's DBAPI connection, if its
    driver reports one (psycopg2, psycopg: ``info.transaction_status``)."""
    info = getattr(connection.connection.dbapi_connection, "info", None)
    status = getattr(info, "transaction_status", None)
    return None if status is None else int(status)


@dataclass(frozen=True)
class DriverProbe:
    """What the engine learns of a connection without a round trip. The defaults ask the
    DBAPI connection; a test injects a driver that tells less."""

    #: an idle pooled connection with something to read: the server closed it
    readable: Callable[[Any], bool] = _readable
    #: the server-side transaction state, or None where the driver reports none
    transaction_status: Callable[[Connection], int | None] = _transaction_status
    #: whether a write transaction's statements may wait to go together (:mod:`write_batch`;
    #: only a driver that renders them on the client can send them so)
    defers_statements: bool = True


class Database:
    """Sessions on the plugin's engine: bounded, and 503 when the DB cannot serve.

    :param engine: the plugin's own engine (``pool_pre_ping`` off: sessions ping
        pooled connections themselves, inside their deadline)
    :param session_factory: makes a :class:`Session` bound to ``engine``
    """

    def __init__(
        self,
        engine: Engine,
        limits: DbLimits,
        *,
        session_factory: Callable[[], Session] | None = None,
        clock: Callable[[], float] = time.monotonic,
        watchdog: Watchdog | None = None,
        outage: OutageLog | None = None,
        probe: DriverProbe | None = None,
    ) -> None:
        self.engine = engine
        self._probe = probe or DriverProbe()
        self.limits = limits
        self._clock = clock
        self._sessions = session_factory or sessionmaker(bind=engine, autoflush=False, expire_on_commit=False)
        self.watchdog = watchdog or Watchdog(clock=clock)
        self.outage = outage or OutageLog(clock=clock)
        self._instrument(engine)

    def _now_deadline(self) -> float:
        return _deadline.get() or self._clock() + self.limits.timeout

    def _instrument(self, engine: Engine) -> None:
        dialect = engine.dialect

        @event.listens_for(engine, "do_connect")
        def bound_connect(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
            left = self._now_deadline() - self._clock()
            if left <= 0:
                raise DeadlineExceeded()
            if dialect.name == "postgresql":
                # libpq: whole seconds, at least 2 (a smaller value is raised to 2)
                cparams["connect_timeout"] = max(2, math.ceil(left))

        @event.listens_for(engine, "connect")
        def fresh(_dbapi_connection: Any, record: Any) -> None:
            record.info["webhook_fresh"] = True

        @event.listens_for(engine, "checkout")
        def watch(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
            deadline = self._now_deadline()
            if deadline <= self._clock():
                raise DeadlineExceeded()
            self.watchdog.hold(dbapi_connection, deadline)
            if record.info.pop("webhook_fresh", False):
                return
            if _first_statement_pings.get() and not self._probe.readable(dbapi_connection):
                return
            try:
                dialect.do_ping(dbapi_connection)
            except Exception as exc:
                self.watchdog.release(dbapi_connection)
                # a failed ping means a restarted or lost server: SQLAlchemy discards this
                # connection and every older one, and checks out a new one
                raise sa_exc.InvalidatePoolError(describe(exc)) from exc

        @event.listens_for(engine, "checkin")
        def unwatch(dbapi_connection: Any, _record: Any) -> None:
            if dbapi_connection is not None:
                self.watchdog.release(dbapi_connection)

        @event.listens_for(engine, "invalidate")
        def forget(dbapi_connection: Any, _record: Any, _exc: Any) -> None:
            if dbapi_connection is not None:
                self.watchdog.release(dbapi_connection)

    def unavailable(self) -> ServiceUnavailable:
        return ServiceUnavailable(DB_UNAVAILABLE, headers={"Retry-After": str(self.limits.retry_after)})

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error, within the deadline.

        :raises ServiceUnavailable: the DB is down, hung, locked or out of connections
            (anything :func:`is_unavailable`); other errors pass through unchanged
        """
        with self._bounded(), self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """:meth:`session` without the ORM: a connection in a transaction, committed on
        success (Core statements only; a fraction of a session's cost per transaction)."""
        with self._bounded(), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def write_transaction(self) -> Iterator[WriteBatch]:
        """:meth:`transaction` for writes, bounded server-side too (:meth:`bound_writes`), its
        statements given to a :class:`WriteBatch` (committed when the block ends well).

        On PostgreSQL (psycopg2 or psycopg) the transaction is opened by ``BEGIN`` and the
        bounds together, on a connection the driver leaves in autocommit mode, and ends with
        an explicit ``COMMIT``. On psycopg2 the opening goes with the batch's first message
        (:mod:`write_batch`: a group that reads no result is one round trip, ``BEGIN`` to
        ``COMMIT``); on another driver it is sent at once.

        A pooled connection is not pinged first. One the server has closed (a restart, a
        terminated backend) has its socket readable, which the checkout sees without a round
        trip, and pings. On a driver that sends the opening at once, that first statement also
        stands in for the ping: if it finds the connection lost, it is retried once on a new
        connection, as a failed ping would have been; nothing was written yet. A connection
        that is not idle when given back (an error at any point, a ``ROLLBACK`` that failed)
        is discarded, never reused.
        """
        with self._bounded():
            if self.engine.dialect.name != "postgresql":
                with self.engine.begin() as connection:
                    yield WriteBatch(connection)
                return
            for attempt in (1, 2):
                token = _first_statement_pings.set(True)
                try:
                    connection = self.engine.connect()
                finally:
                    _first_statement_pings.reset(token)
                try:
                    batch, transaction = self._begin_bounded(connection)
                except BaseException as exc:
                    connection.invalidate()  # whatever the server made of it: not reused
                    connection.close()
                    lost = isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated
                    if attempt == 1 and lost:
                        continue
                    raise
                break
            if transaction is not None:  # another driver: SQLAlchemy's own transaction
                with connection, transaction:
                    yield batch
                return
            with connection:
                try:
                    yield batch
                    if batch.round_trips and self._probe.transaction_status(connection) != _IN_TRANSACTION:
                        # a statement failed and its error was swallowed: COMMIT would roll back
                        raise sa_exc.InvalidRequestError("the write transaction is not open at commit")
                    batch.commit()
                except BaseException:
                    if not connection.invalidated and self._probe.transaction_status(connection) != _IDLE:
                        with contextlib.suppress(Exception):  # if it fails: discarded below
                            connection.exec_driver_sql("ROLLBACK")
                    raise
                finally:
                    if not connection.invalidated and self._probe.transaction_status(connection) != _IDLE:
                        connection.invalidate()

    def _begin_bounded(self, connection: Connection) -> tuple[WriteBatch, Transaction | None]:
        """The write transaction's batch, opened by ``BEGIN`` and :meth:`bound_writes`' bounds
        together on a connection in autocommit mode (no transaction: the caller ends it). A
        driver that cannot tell a transaction's state gets SQLAlchemy's own transaction, then
        the bounds."""
        if self._probe.transaction_status(connection) is None:
            transaction = connection.begin()
            self.bound_writes(connection)
            return WriteBatch(connection), transaction
        connection.execution_options(isolation_level="AUTOCOMMIT")
        return WriteBatch(
            connection, opening=f"BEGIN; {self._bounds_sql()}", defer=self._probe.defers_statements
        ), None

    def _bounds_sql(self) -> str:
        lock_ms = int(self.limits.lock_timeout * 1000)
        statement_ms = int(self.limits.timeout * 1000)
        return f"SET LOCAL lock_timeout = '{lock_ms}ms'; SET LOCAL statement_timeout = '{statement_ms}ms'"

    @contextmanager
    def _bounded(self) -> Iterator[None]:
        """The deadline of the DB work in the block, and its failures as 503s."""
        token = _deadline.set(self._clock() + self.limits.timeout) if _deadline.get() is None else None
        try:
            yield
        except Exception as exc:
            if is_missing_table(exc):
                self.outage.failed(exc)
                raise ServiceUnavailable(
                    f"the webhook tables are missing: {MIGRATE_HINT}",
                    headers={"Retry-After": str(self.limits.retry_after)},
                ) from None
            if not is_unavailable(exc):
                raise
            self.outage.failed(exc)
            raise self.unavailable() from None
        finally:
            if token is not None:
                _deadline.reset(token)
        self.outage.succeeded()

    def bound_writes(self, session: Session | Connection) -> None:
        """PostgreSQL: end lock waits and statements server-side too, in this transaction.

        ``SET LOCAL`` (not a session-level ``SET``) so that it holds behind PgBouncer's
        transaction pooling and ends with the transaction. One round trip for both.
        SQLite's own busy timeout already bounds its lock waits.
        """
        bind = session if isinstance(session, Connection) else session.get_bind()
        if bind.dialect.name == "postgresql":
            session.execute(text(self._bounds_sql()))
