"""A write transaction's statements in as few round trips as the driver allows.

Plain SQLAlchemy engines, no Airflow: a SQLite file, and the PostgreSQL of the PostgreSQL
pass (``WEBHOOK_TEST_DATABASE``, psycopg2). The write transaction around a batch (opening,
commit, a connection closed by the server) is tests/storage/test_engine.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy import exc as sa_exc

from airflow_webhook_trigger.storage.db_errors import is_unavailable
from airflow_webhook_trigger.storage.write_batch import WriteBatch

HOSTILE = ["it's; DROP TABLE x; --", "%s %(n)s %% ?", 'quote " back\\slash', "ünïcødé ✓ 🎉", "", None]


@pytest.fixture
def table(engine: Engine) -> Iterator[str]:
    name = f"wb_{uuid.uuid4().hex[:8]}"
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {name} (n integer PRIMARY KEY, t text)"))
    yield name
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE {name}"))


def _insert(engine: Engine, table: str) -> str:
    """The driver-level insert of (n, t), in the driver's paramstyle."""
    if engine.dialect.paramstyle == "qmark":
        return f"INSERT INTO {table} VALUES (?, ?)"
    return f"INSERT INTO {table} VALUES (%(n)s, %(t)s)"


def _params(engine: Engine, n: int, t: str | None) -> Any:
    return (n, t) if engine.dialect.paramstyle == "qmark" else {"n": n, "t": t}


def _count_statements(engine: Engine) -> list[str]:
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return sent


def test_held_back_statements_go_with_the_next_one_whose_rows_are_read(engine: Engine, table: str) -> None:
    deferring = engine.dialect.driver == "psycopg2"
    with engine.begin() as connection:
        batch = WriteBatch(connection, defer=True)
        sent = _count_statements(engine)
        for n, t in enumerate(HOSTILE):
            batch.send(_insert(engine, table), _params(engine, n, t))
        assert batch.pending == (len(HOSTILE) if deferring else 0)
        assert len(sent) == (0 if deferring else len(HOSTILE))
        rows = batch.fetch(f"SELECT n, t FROM {table} ORDER BY n", {} if deferring else ())
        assert batch.pending == 0
        assert len(sent) == (1 if deferring else len(HOSTILE) + 1)
        assert batch.round_trips == len(sent)
    # every value came back exactly as given: rendered by the driver, never read as SQL
    assert [tuple(r) for r in rows] == list(enumerate(HOSTILE))


def test_without_defer_every_statement_is_sent_when_given(engine: Engine, table: str) -> None:
    with engine.begin() as connection:
        batch = WriteBatch(connection)
        sent = _count_statements(engine)
        batch.send(_insert(engine, table), _params(engine, 1, "a"))
        batch.send(_insert(engine, table), _params(engine, 2, "b"))
        assert batch.pending == 0 and len(sent) == 2 == batch.round_trips
        assert batch.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 2


@pytest.mark.parametrize("engine", [pytest.param("postgresql", marks=pytest.mark.airflow)], indirect=True)
def test_a_failure_stops_the_message_there(engine: Engine, table: str) -> None:
    """PostgreSQL runs a message's statements in order and stops at the first that fails;
    the driver's error comes back as SQLAlchemy's."""
    with pytest.raises(sa_exc.IntegrityError), engine.begin() as connection:
        batch = WriteBatch(connection, defer=True)
        batch.send(_insert(engine, table), _params(engine, 1, "first"))
        batch.send(_insert(engine, table), _params(engine, 1, "taken"))
        batch.send(_insert(engine, table), _params(engine, 2, "never run"))
        batch.flush()
    with engine.connect() as connection:
        assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0


@pytest.mark.parametrize("engine", [pytest.param("postgresql", marks=pytest.mark.airflow)], indirect=True)
def test_a_statement_that_cannot_be_rendered_is_sqlalchemys_error(engine: Engine, table: str) -> None:
    """The driver's connection closed under the batch (a watchdog's cut, a lost server): the
    rendering fails as SQLAlchemy's error, which the write path answers 503."""
    with engine.connect() as connection:
        batch = WriteBatch(connection, defer=True)
        connection.connection.dbapi_connection.close()  # type: ignore[union-attr]
        with pytest.raises(sa_exc.DBAPIError) as failed:
            batch.send(_insert(engine, table), _params(engine, 1, "a"))
        assert is_unavailable(failed.value)
        connection.invalidate()


SECRET = "sk_live_51Hsecret-looking-value"


@pytest.mark.parametrize("engine", [pytest.param("postgresql", marks=pytest.mark.airflow)], indirect=True)
def test_a_failed_rendered_message_names_its_statements_and_error_not_its_values(
    engine: Engine, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL's error quotes the message it failed on (its LINE excerpt): what is raised,
    logged or printed in a traceback names the statements' kinds and the error class only."""
    import logging
    import traceback

    with pytest.raises(sa_exc.DataError) as failed, engine.begin() as connection:
        batch = WriteBatch(connection, defer=True)
        batch.send(_insert(engine, table), _params(engine, 1, SECRET))
        batch.fetch(f"SELECT CAST(%(v)s AS integer) FROM {table}", {"v": SECRET})
    error = failed.value
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").exception("write failed", exc_info=error)
    shown = "".join(traceback.format_exception(error)) + caplog.text + str(error) + repr(error.orig)
    assert SECRET not in shown
    assert f"INSERT INTO {table}; SELECT" in str(error)
    assert "InvalidTextRepresentation (SQLSTATE 22P02)" in str(error)
    assert getattr(error.orig, "pgcode", None) == "22P02"  # the driver's error is still there


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("INSERT INTO t (a) VALUES ('x')", "INSERT INTO t"),
        ("insert into t(a) values (1)", "INSERT INTO t"),
        ("UPDATE t SET a = 'secret'", "UPDATE t"),
        ("DELETE FROM t WHERE a = 'x'", "DELETE FROM t"),
        ("SELECT 'secret'", "SELECT"),
        ("COMMIT", "COMMIT"),
        ("", ""),
    ],
)
def test_statement_kind_holds_no_values(sql: str, kind: str) -> None:
    from airflow_webhook_trigger.storage.write_batch import statement_kind

    assert statement_kind(sql) == kind


# -- psycopg2's quoting settings (read once at connect) --------------------------------------

QUOTING_HOSTILE = [*HOSTILE[:-1], "x\\'; --", "\\\\'' back\\'slashes\\", "E'\\x41'"]


def _write_and_read_back(engine: Engine, table: str, values: list[str | None]) -> list[Any]:
    with engine.begin() as connection:
        batch = WriteBatch(connection, defer=True)
        for n, t in enumerate(values):
            batch.send(_insert(engine, table), _params(engine, n, t))
        batch.flush()
    with engine.connect() as connection:
        return [r[0] for r in connection.execute(text(f"SELECT t FROM {table} ORDER BY n"))]


def _with_session(engine: Engine, *statements: str, **connect_args: Any) -> Engine:
    """An engine on the same server whose every connection runs ``statements`` first (a session ``SET``)."""
    from sqlalchemy import create_engine

    made = create_engine(engine.url, connect_args=connect_args)

    @event.listens_for(made, "connect")
    def _set(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        dbapi_connection.commit()

    return made


@pytest.mark.parametrize("engine", [pytest.param("postgresql", marks=pytest.mark.airflow)], indirect=True)
@pytest.mark.parametrize(
    ("options", "statements"),
    [
        pytest.param("", (), id="defaults"),
        pytest.param("", ("SET standard_conforming_strings = off",), id="set-off-after-connect"),
        pytest.param("-c standard_conforming_strings=off", (), id="off-at-connect"),
    ],
)
def test_hostile_values_read_back_exactly_whatever_the_quoting_settings_agree_on(
    engine: Engine, table: str, options: str, statements: tuple[str, ...]
) -> None:
    other = _with_session(engine, *statements, options=options)
    try:
        assert _write_and_read_back(other, table, QUOTING_HOSTILE) == QUOTING_HOSTILE
    finally:
        other.dispose()


@pytest.mark.parametrize("engine", [pytest.param("postgresql", marks=pytest.mark.airflow)], indirect=True)
@pytest.mark.parametrize(
    ("options", "statements", "why"),
    [
        pytest.param(
            "-c standard_conforming_strings=off",
            ("SET standard_conforming_strings = on",),
            "standard_conforming_strings is on",
            id="set-on-after-connect-off",
        ),
        pytest.param("", ("SET client_encoding = 'LATIN1'",), "client_encoding is LATIN1", id="latin1"),
        pytest.param("", ("SET client_encoding = 'SJIS'",), "client_encoding is SJIS", id="sjis"),
    ],
)
def test_a_connection_whose_quoting_changed_since_connect_is_refused(
    engine: Engine, table: str, options: str, statements: tuple[str, ...], why: str
) -> None:
    """psycopg2 would write ``E'x\\''; --'`` on the first (read back: ``x'``): nothing is sent."""
    from airflow_webhook_trigger.storage.write_batch import UnsafeQuoting

    other = _with_session(engine, *statements, options=options)
    try:
        with pytest.raises(UnsafeQuoting) as refused:
            _write_and_read_back(other, table, QUOTING_HOSTILE)
        assert why in str(refused.value)
        assert is_unavailable(refused.value)  # the write path's 503, the connection discarded
    finally:
        other.dispose()
    with engine.connect() as connection:
        assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
