"""A write transaction's statements, sent in as few round trips as the driver allows.

Under load, a round trip to PostgreSQL costs more than the statement it carries: each
waits for the server's process, then for the writer's thread, to be scheduled again (the
figures, and why: docs/decisions/0007-fewer-round-trips.md).

psycopg2 interpolates parameters on the client and sends each statement as text, and
PostgreSQL takes several statements in one message (the simple query protocol): it runs
them in order and stops at the first that fails. So on psycopg2 a :class:`WriteBatch`
holds back every statement whose result nobody reads (:meth:`WriteBatch.send`) and sends
it with the next one whose result is read (:meth:`WriteBatch.fetch`), or with the
``COMMIT``; the transaction's opening (``BEGIN`` and its bounds) goes with the first of
them. A group of runs that nobody waits for by key is one round trip from ``BEGIN`` to
``COMMIT``; one whose keys are wanted, two.

What reaches the database is what the statements would have sent one at a time: psycopg2's
own interpolation (``cursor.mogrify``, the code its ``execute`` runs) renders each statement,
and the message goes through ``Connection.exec_driver_sql`` without parameters, so a
failure comes back as SQLAlchemy's error (an ``IntegrityError``; a lost connection
invalidated), and nothing in a value is read as a placeholder. A statement that fails
aborts the transaction: the ones after it in the message are not run, the ``COMMIT`` among
them, and the caller rolls back.

A rendered message holds request data, and so does PostgreSQL's error for it (its ``LINE``
excerpt quotes the message). An error of a rendered message is given back with its text
replaced by what it was (the statements' kinds, ``INSERT INTO webhook_trigger_deliveries;
COMMIT``) and the driver error's class and SQLSTATE: its type, ``orig`` and ``pgcode`` stay,
so callers tell a conflict from an outage as before, and no log or traceback shows a value.

psycopg2 quotes with what it read at connect (``standard_conforming_strings``: whether it
writes ``E''`` literals) and libpq escapes with the session's current settings: a session
``SET`` since connect makes the two disagree, and a value like ``x\'; --`` then ends its
literal early (connected with ``off``, ``SET ... on``, ``E'x\''; --'`` reads back
``x'``). A multi-byte client encoding other than the one psycopg2 encodes with has the same
effect. So before a batch renders its first statement the connection is checked, without a
round trip (libpq's parameter status, a probe rendered by ``mogrify``): a connection whose
quoting would not read back exactly is refused (:class:`UnsafeQuoting`, an outage to the
write path: 503, the connection discarded) rather than written through.

Other drivers (SQLite, psycopg 3, which binds parameters on the server) send each
statement when given.

Nothing here imports Airflow.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, CursorResult, Row
from sqlalchemy.sql import Executable

#: the drivers whose statements can be rendered on the client and sent together
DEFERRING_DRIVERS = frozenset({"psycopg2"})
#: ``cursor.execute(text)``, no parameter collection (else psycopg2 reads ``%`` as placeholders)
_AS_IS = {"no_parameters": True}


class WriteBatch:
    """Statements of one transaction on ``connection``.

    :param connection: the transaction's connection
    :param opening: statements that open the transaction (``BEGIN`` and its bounds), sent
        with the first message; None when the transaction is already open
    :param defer: hold back what :meth:`send` is given until the next message (only on a
        driver of :data:`DEFERRING_DRIVERS`; others send each statement at once)
    """

    def __init__(self, connection: Connection, *, opening: str | None = None, defer: bool = False) -> None:
        self.connection = connection
        self._defer = defer and connection.dialect.driver in DEFERRING_DRIVERS
        self._cursor: Any = None  # psycopg2's, made on the first statement rendered
        self._encoding = ""
        self._pending: list[str] = []
        #: what each held-back statement is, without its values (:func:`statement_kind`)
        self._kinds: list[str] = []
        #: messages sent to the database so far
        self.round_trips = 0
        if opening is not None:
            if self._defer:
                self._hold(opening, opening)
            else:
                self._message(opening)

    @property
    def pending(self) -> int:
        """Statements held back, waiting for the next message."""
        return len(self._pending)

    def send(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any]) -> None:
        """A driver-level statement whose result nobody reads: held back when deferring."""
        if self._defer:
            self._hold(sql, self._render(sql, parameters))
        else:
            self.connection.exec_driver_sql(sql, parameters)
            self.round_trips += 1

    def fetch(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any]) -> list[Row[Any]]:
        """A driver-level statement's rows, sent with whatever is held back."""
        if self._defer:
            rendered = self._render(sql, parameters)
            self._hold(sql, rendered)
            return list(self._message().all())
        self.round_trips += 1
        return list(self.connection.exec_driver_sql(sql, parameters).all())

    def execute(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> CursorResult[Any]:
        """Any SQLAlchemy statement, executed now, after what is held back."""
        self.flush()
        self.round_trips += 1
        return self.connection.execute(statement, parameters)

    def flush(self) -> None:
        """Send what is held back, if anything."""
        if self._pending:
            self._message()

    def commit(self) -> None:
        """``COMMIT``, with whatever is held back."""
        if self._defer:
            self._hold("COMMIT", "COMMIT")
            self._message()
        else:
            self._message("COMMIT")

    def _hold(self, sql: str, rendered: str) -> None:
        self._pending.append(rendered)
        self._kinds.append(statement_kind(sql))

    def _message(self, last: str | None = None) -> CursorResult[Any]:
        statements = self._pending + ([] if last is None else [last])
        kinds = self._kinds
        self._pending, self._kinds = [], []  # sent or failed: never sent again
        self.round_trips += 1
        try:
            # no parameters at all: the driver sends the text as it is (a % in a value is no placeholder)
            return self.connection.exec_driver_sql(";\n".join(statements), execution_options=_AS_IS)
        except sa_exc.StatementError as exc:
            if kinds:  # rendered statements: their text holds values
                _without_values(exc, kinds)
            raise

    def _render(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any]) -> str:
        """The statement as psycopg2's ``execute`` would send it."""
        try:
            if self._cursor is None:
                from psycopg2.extensions import encodings

                dbapi_connection: Any = self.connection.connection.dbapi_connection
                cursor = dbapi_connection.cursor()
                check_quoting(dbapi_connection, cursor)
                self._cursor = cursor
                self._encoding = encodings[dbapi_connection.encoding]
            rendered: bytes = self._cursor.mogrify(sql, parameters)
        except UnsafeQuoting:
            raise
        except Exception as exc:  # a closed connection, a value it cannot adapt: SQLAlchemy's error
            raise sa_exc.DBAPIError.instance(
                sql, parameters, exc, _driver_error(), hide_parameters=True
            ) from exc
        return rendered.decode(self._encoding)


#: the encodings whose rendering is checked to read back exactly (the server's and psycopg2's
#: must both be one of these, and the same)
SAFE_ENCODINGS = frozenset({"UTF8"})
#: a probe value, and how psycopg2 may render it for each ``standard_conforming_strings``
#: so that the server reads it back as it was (with ``off`` every literal reads escapes)
_PROBE = "\\'"
_READS_BACK = {
    "on": frozenset({b"'\\'''"}),
    "off": frozenset({b"E'\\\\'''", b"'\\\\'''"}),
}


class UnsafeQuoting(sa_exc.InterfaceError):
    """The connection's quoting settings changed since connect: rendered values would not
    read back exactly (an outage to the write path: 503, the connection discarded)."""

    def __init__(self, why: str) -> None:
        super().__init__(f"write_batch refuses this connection: {why}", None, Exception(why))


def check_quoting(dbapi_connection: Any, cursor: Any) -> None:
    """psycopg2 renders on this connection what the server will read back exactly.

    :raises UnsafeQuoting: ``standard_conforming_strings`` or the client encoding changed
        since psycopg2 read them at connect, or the encoding is not one of :data:`SAFE_ENCODINGS`
    """
    server_encoding = dbapi_connection.get_parameter_status("client_encoding")
    if dbapi_connection.encoding not in SAFE_ENCODINGS or server_encoding != dbapi_connection.encoding:
        raise UnsafeQuoting(
            f"client_encoding is {server_encoding}, psycopg2 encodes {dbapi_connection.encoding} (needs UTF8)"
        )
    standard = dbapi_connection.get_parameter_status("standard_conforming_strings")
    if cursor.mogrify("%s", (_PROBE,)) not in _READS_BACK.get(standard, frozenset()):
        raise UnsafeQuoting(f"standard_conforming_strings is {standard}, not what psycopg2 read at connect")


def _driver_error() -> type[Exception]:
    from psycopg2 import Error

    error: type[Exception] = Error
    return error


def statement_kind(sql: str) -> str:
    """What a statement is, without its values: ``INSERT INTO t``, ``UPDATE t``, ``SELECT``."""
    words = sql.split(None, 3)
    verb = words[0].upper() if words else ""
    if verb in ("INSERT", "DELETE") and len(words) > 2:
        return f"{verb} {words[1].upper()} {words[2].split('(')[0]}"
    if verb == "UPDATE" and len(words) > 1:
        return f"UPDATE {words[1]}"
    return verb


def _without_values(exc: sa_exc.StatementError, kinds: Sequence[str]) -> None:
    """``exc`` (and the driver's error it wraps) saying what failed, not the rendered text."""
    orig = exc.orig
    code = getattr(orig, "pgcode", None)
    what = f"{type(orig).__name__}" + (f" (SQLSTATE {code})" if code else "")
    batch = "; ".join(kinds)
    if orig is not None:
        with contextlib.suppress(AttributeError, TypeError):  # a driver error whose args are fixed
            orig.args = (f"{what} in a batch of: {batch}",)
    exc.args = (f"({type(orig).__module__}.{type(orig).__name__}) {what}",)
    exc.statement = batch
    exc.params = None
    exc.hide_parameters = True
