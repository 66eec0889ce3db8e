"""The plugin's bounded sessions: outages as 503, logged once; the watchdog; pool and connect bounds.

Plain SQLAlchemy engines, no Airflow: SQLite files here, and the PostgreSQL of the
PostgreSQL pass (``WEBHOOK_TEST_DATABASE``) for what only a server can show.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import NullPool

from airflow_webhook_trigger.core.errors import ServiceUnavailable
from airflow_webhook_trigger.storage.db_errors import DB_UNAVAILABLE, OutageLog, describe, is_unavailable
from airflow_webhook_trigger.storage.engine import Database, DbLimits, DeadlineExceeded, DriverProbe
from airflow_webhook_trigger.storage.watchdog import Watchdog
from tests.processes import free_port


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _operational(message: str = "connection refused") -> sa_exc.OperationalError:
    return sa_exc.OperationalError("SELECT 1", None, Exception(message))


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (_operational(), True),
        (sa_exc.TimeoutError("QueuePool limit reached"), True),
        (sa_exc.InterfaceError("SELECT 1", None, Exception("connection already closed")), True),
        (sa_exc.DisconnectionError("gone"), True),
        (DeadlineExceeded(), True),
        (sa_exc.IntegrityError("INSERT", None, Exception("duplicate key")), False),
        (sa_exc.ProgrammingError("SELECT", None, Exception("syntax error")), False),
        (ValueError("A string literal cannot contain NUL"), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_is_unavailable_table(error: BaseException, unavailable: bool) -> None:
    assert is_unavailable(error) is unavailable


def test_describe_names_driver_error_first_line_only() -> None:
    error = _operational('connection to server at "127.0.0.1", port 1 failed\nIs the server running?')
    assert describe(error) == 'Exception: connection to server at "127.0.0.1", port 1 failed'
    assert describe(ValueError("x" * 500)).endswith("x...")


def test_outage_log_once_at_start_reminder_and_recovery(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    outage = OutageLog(logging.getLogger("test.outage"), clock=clock, reminder_seconds=60)
    outage.succeeded()
    with caplog.at_level(logging.WARNING, logger="test.outage"):
        for _ in range(500):
            outage.failed(_operational())
            clock.now += 0.1  # 50 s of failures
        assert [r.getMessage() for r in caplog.records] == [
            "metadata database unavailable (Exception: connection refused); "
            "answering 503 + Retry-After until it is back"
        ]
        clock.now += 15
        outage.failed(_operational("timeout expired"))
        assert "still unavailable after 65 s (501 failed requests; last: Exception: timeout expired)" in (
            caplog.records[-1].getMessage()
        )
        assert outage.ongoing
        outage.succeeded()
        outage.succeeded()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3
    assert messages[-1] == "metadata database available again after 65.0 s (501 requests were answered 503)"
    assert not outage.ongoing


class Conn:
    def __init__(self) -> None:
        self.cut = False

    def fileno(self) -> int:
        return -1


def test_watchdog_cuts_only_overdue_connections() -> None:
    clock = Clock()
    watchdog = Watchdog(clock=clock, cut=lambda c: setattr(c, "cut", True))
    early, late, released = Conn(), Conn(), Conn()
    watchdog.hold(early, 101.0)
    watchdog.hold(late, 105.0)
    watchdog.hold(released, 101.0)
    watchdog.release(released)
    assert watchdog.cut_overdue() == 101.0
    clock.now = 102.0
    assert watchdog.cut_overdue() == 105.0
    assert (early.cut, late.cut, released.cut) == (True, False, False)
    assert watchdog.cuts == 1
    watchdog.release(late)
    clock.now = 200.0
    assert watchdog.cut_overdue() is None
    assert not late.cut


def test_watchdog_thread_wakes_for_an_earlier_deadline_only_and_still_cuts_in_time() -> None:
    cut = threading.Event()
    watchdog = Watchdog(cut=lambda c: cut.set())
    wakes = [0]
    cut_overdue = watchdog.cut_overdue

    def counted() -> float | None:
        wakes[0] += 1
        return cut_overdue()

    watchdog.cut_overdue = counted  # type: ignore[method-assign]
    now = time.monotonic()
    first = Conn()
    watchdog.hold(first, now + 60)  # starts the thread, which sleeps toward it
    for _ in range(200):
        if watchdog._wakes_at == now + 60:
            break
        time.sleep(0.005)
    woken = wakes[0]
    for _ in range(50):  # later deadlines: the thread sleeps on
        other = Conn()
        watchdog.hold(other, now + 61)
        watchdog.release(other)
    time.sleep(0.05)
    assert wakes[0] == woken
    watchdog.hold(Conn(), time.monotonic() + 0.05)  # an earlier one: woken, and cut in time
    assert cut.wait(2)
    assert wakes[0] > woken


def test_watchdog_ignores_connections_without_a_socket() -> None:
    watchdog = Watchdog()
    watchdog.hold(object(), 0.0)
    assert watchdog.held == 0


def _sqlite(path: Path, **kwargs: Any) -> Any:
    return create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False}, **kwargs)


def test_session_commits_on_success_and_rolls_back_on_error(tmp_path: Path) -> None:
    db = Database(_sqlite(tmp_path / "a.db"), DbLimits())
    with db.session() as session:
        session.execute(text("CREATE TABLE t (x INTEGER PRIMARY KEY)"))
        session.execute(text("INSERT INTO t VALUES (1)"))
    with pytest.raises(sa_exc.IntegrityError), db.session() as session:
        session.execute(text("INSERT INTO t VALUES (2)"))
        session.execute(text("INSERT INTO t VALUES (1)"))
    with db.session() as session:
        assert session.execute(text("SELECT x FROM t")).scalars().all() == [1]
    assert not db.outage.ongoing


def test_session_unavailable_db_is_503_with_retry_after_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # a directory where the database file should be: every connect fails
    (tmp_path / "dir.db").mkdir()
    db = Database(_sqlite(tmp_path / "dir.db"), DbLimits(retry_after=7))
    with caplog.at_level(logging.WARNING, logger="airflow_webhook_trigger.storage.engine"):
        for _ in range(20):
            with pytest.raises(ServiceUnavailable) as info, db.session() as session:
                session.execute(text("SELECT 1"))
            assert info.value.detail == DB_UNAVAILABLE
            assert info.value.headers == {"Retry-After": "7"}
    assert len([r for r in caplog.records if "unavailable" in r.getMessage()]) == 1
    assert db.outage.ongoing


def test_session_pool_exhausted_is_503_within_pool_timeout(tmp_path: Path) -> None:
    engine = _sqlite(tmp_path / "p.db", pool_size=1, max_overflow=0, pool_timeout=0.2)
    db = Database(engine, DbLimits(pool_timeout=0.2))
    held = threading.Event()
    done = threading.Event()

    def hold_the_only_connection() -> None:
        with db.session() as session:
            session.execute(text("SELECT 1"))
            held.set()
            done.wait(10)

    worker = threading.Thread(target=hold_the_only_connection)
    worker.start()
    try:
        assert held.wait(10)
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable), db.session() as session:
            session.execute(text("SELECT 1"))
        assert time.monotonic() - started < 2
    finally:
        done.set()
        worker.join()
    with db.session() as session:  # the pool serves again
        assert session.execute(text("SELECT 1")).scalar() == 1


def test_session_deadline_already_spent_is_503_without_using_a_connection(tmp_path: Path) -> None:
    clock = Clock()
    db = Database(_sqlite(tmp_path / "d.db"), DbLimits(timeout=1.0), clock=clock)
    with pytest.raises(ServiceUnavailable), db.session() as session:
        clock.now += 5  # e.g. a slow step before the first statement
        session.execute(text("SELECT 1"))


# -- PostgreSQL: what only a server shows --------------------------------------------------

PG_URL = os.environ.get("WEBHOOK_TEST_DATABASE", "")
needs_postgres = pytest.mark.skipif(
    not PG_URL.startswith("postgresql"), reason="needs the PostgreSQL pass (WEBHOOK_TEST_DATABASE)"
)


@pytest.fixture
def pg_db() -> Iterator[Database]:
    with _pg_database() as database:
        yield database


@contextmanager
def _pg_database(probe: DriverProbe | None = None) -> Iterator[Database]:
    """A bounded database on the test PostgreSQL, asking its connections through ``probe``."""
    engine = create_engine(PG_URL, pool_size=2, max_overflow=0, pool_timeout=1)
    try:
        yield Database(engine, DbLimits(timeout=1.5, pool_timeout=1, lock_timeout=1), probe=probe)
    finally:
        engine.dispose()


@needs_postgres
@pytest.mark.airflow
def test_postgres_statement_past_deadline_is_cut_and_pool_recovers(pg_db: Database) -> None:
    # pg_sleep stands for a server that stops answering: no statement_timeout is set on
    # reads, so only the client-side watchdog can end the wait
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable), pg_db.session() as session:
        session.execute(text("SELECT pg_sleep(30)"))
    assert time.monotonic() - started < 5
    assert pg_db.watchdog.cuts == 1
    for _ in range(3):
        with pg_db.session() as session:
            assert session.execute(text("SELECT 1")).scalar() == 1
    assert not pg_db.outage.ongoing


@needs_postgres
@pytest.mark.airflow
def test_postgres_bound_writes_sets_server_side_timeouts(pg_db: Database) -> None:
    with pg_db.session() as session:
        pg_db.bound_writes(session)
        assert session.execute(text("SHOW lock_timeout")).scalar() == "1s"
        assert session.execute(text("SHOW statement_timeout")).scalar() == "1500ms"
    with pg_db.session() as session:  # SET LOCAL ended with its transaction
        assert session.execute(text("SHOW statement_timeout")).scalar() == "0"


@pytest.mark.airflow
def test_postgres_nothing_listening_is_503_at_once() -> None:
    engine = create_engine(f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/postgres")
    db = Database(engine, DbLimits(timeout=2))
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable), db.session() as session:
        session.execute(text("SELECT 1"))
    assert time.monotonic() - started < 2


def _store_on(url: str) -> Any:
    from airflow_webhook_trigger.storage.webhook_store import WebhookStore

    return WebhookStore(Database(create_engine(url), DbLimits()).session)


def test_missing_tables_say_to_migrate(tmp_path: Path) -> None:
    with pytest.raises(ServiceUnavailable) as info:
        _store_on(f"sqlite:///{tmp_path / 'empty.db'}").get("hook-0123456789")
    assert info.value.detail == (
        'the webhook tables are missing: run "airflow db migrate" (or "airflow-webhooks db migrate")'
    )
    assert "Retry-After" in info.value.headers


@needs_postgres
@pytest.mark.airflow
def test_postgres_missing_tables_say_to_migrate() -> None:
    from sqlalchemy.engine import make_url

    other = make_url(PG_URL).set(database="postgres")  # the server's own: no webhook tables
    with pytest.raises(ServiceUnavailable, match="airflow db migrate"):
        _store_on(other.render_as_string(hide_password=False)).list()


def test_cli_without_tables_says_to_migrate(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"}
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{tmp_path / 'never-migrated.db'}"
    cli = Path(sys.executable).parent / "airflow-webhooks"
    done = subprocess.run([str(cli), "list"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'run "airflow db migrate" (or "airflow-webhooks db migrate")' in done.stderr
    assert "Traceback" not in done.stderr


@needs_postgres
@pytest.mark.airflow
def test_postgres_write_transaction_is_bounded_and_its_first_statement_is_the_ping(pg_db: Database) -> None:
    pings = [0]
    ping = pg_db.engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings[0] += 1
        return ping(dbapi_connection)

    pg_db.engine.dialect.do_ping = counted  # type: ignore[method-assign]
    with pg_db.session() as session:  # a pooled connection now
        session.execute(text("SELECT 1"))
    pings[0] = 0
    with pg_db.write_transaction() as batch:
        assert batch.execute(text("SHOW lock_timeout")).scalar() == "1s"
        assert batch.execute(text("SHOW statement_timeout")).scalar() == "1500ms"
    assert pings[0] == 0
    with pg_db.session() as session:
        session.execute(text("SELECT 1"))
    assert pings[0] == 1  # sessions still ping


def _terminate_pooled(pg_db: Database) -> set[int]:
    """Terminate the pooled connection's server process, as a restart would; its pid."""
    with pg_db.session() as session:
        pids = {int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())}
    killer = create_engine(PG_URL, poolclass=NullPool)
    with killer.connect() as other:
        for pid in pids:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()
    time.sleep(0.2)  # the server's goodbye reaches the pooled socket
    return pids


@needs_postgres
@pytest.mark.airflow
def test_postgres_write_transaction_sees_a_connection_closed_by_the_server_without_a_round_trip(
    pg_db: Database,
) -> None:
    """psycopg2 holds the opening back (the first message may hold the COMMIT, so it could
    not be retried): a pooled connection the server closed is seen at checkout, its socket
    readable, and replaced."""
    with pg_db.session() as session:
        session.execute(text("CREATE TABLE IF NOT EXISTS wt_closed (n int)"))
    pids = _terminate_pooled(pg_db)
    with pg_db.write_transaction() as batch:
        batch.send("INSERT INTO wt_closed VALUES (%(n)s)", {"n": 7})
        assert batch.fetch("SELECT pg_backend_pid()", {})[0][0] not in pids
    with pg_db.session() as session:
        assert session.execute(text("SELECT count(*) FROM wt_closed WHERE n = 7")).scalar() == 1
        session.execute(text("DROP TABLE wt_closed"))
    assert not pg_db.outage.ongoing


@needs_postgres
@pytest.mark.airflow
def test_postgres_write_transaction_on_a_lost_connection_is_retried_on_a_new_one() -> None:
    """A driver that sends the opening at once: it stands in for the ping, retried once."""
    # the server's close is not seen at checkout, and each statement goes when given
    unseen = DriverProbe(readable=lambda _connection: False, defers_statements=False)
    with _pg_database(unseen) as pg_db:
        with pg_db.session() as session:
            session.execute(text("CREATE TABLE IF NOT EXISTS wt_retry (n int)"))
        pids = _terminate_pooled(pg_db)
        with pg_db.write_transaction() as batch:
            assert batch.round_trips == 1  # the opening, sent at once
            batch.execute(text("INSERT INTO wt_retry VALUES (7)"))
            assert batch.execute(text("SELECT pg_backend_pid()")).scalar() not in pids
        with pg_db.session() as session:
            assert session.execute(text("SELECT count(*) FROM wt_retry WHERE n = 7")).scalar() == 1
            session.execute(text("DROP TABLE wt_retry"))
        assert not pg_db.outage.ongoing


@needs_postgres
@pytest.mark.airflow
def test_postgres_write_transaction_is_one_round_trip_when_no_result_is_read(pg_db: Database) -> None:
    from sqlalchemy import event

    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    with pg_db.session() as session:
        session.execute(text("CREATE TABLE IF NOT EXISTS wt_trips (n int, t text)"))
    hostile = "it's %s %(n)s; ROLLBACK; --"
    event.listen(pg_db.engine, "before_cursor_execute", record)
    try:
        with pg_db.write_transaction() as batch:
            # the driver sends no BEGIN of its own: the opening goes with the first message
            assert batch.connection.connection.dbapi_connection.autocommit is True  # type: ignore[union-attr]
            batch.send("INSERT INTO wt_trips VALUES (%(n)s, %(t)s)", {"n": 1, "t": hostile})
            batch.send("INSERT INTO wt_trips VALUES (%(n)s, %(t)s)", {"n": 2, "t": None})
            assert sent == [] and batch.pending == 3
    finally:
        event.remove(pg_db.engine, "before_cursor_execute", record)
    assert len(sent) == 1  # BEGIN, the bounds, both inserts and the COMMIT: one message
    statements = sent[0].split(";\n")
    assert statements[0].startswith("BEGIN; SET LOCAL lock_timeout = '1000ms'")
    assert statements[-1] == "COMMIT" and len(statements) == 4
    with pg_db.session() as session:  # committed; the pooled connection is back to transactions
        rows = session.execute(text("SELECT n, t FROM wt_trips ORDER BY n")).all()
        assert [tuple(r) for r in rows] == [(1, hostile), (2, None)]
        assert session.connection().connection.dbapi_connection.autocommit is False  # type: ignore[union-attr]
        session.execute(text("DROP TABLE wt_trips"))


@needs_postgres
@pytest.mark.airflow
def test_postgres_write_transaction_a_statement_failing_in_a_message_commits_nothing(pg_db: Database) -> None:
    """PostgreSQL stops a message at its first failing statement: the COMMIT after it is not run."""
    from sqlalchemy.exc import IntegrityError

    with pg_db.session() as session:
        session.execute(text("CREATE TABLE IF NOT EXISTS wt_message (n int PRIMARY KEY)"))
    with pytest.raises(IntegrityError), pg_db.write_transaction() as batch:
        batch.send("INSERT INTO wt_message VALUES (%(n)s)", {"n": 1})
        batch.send("INSERT INTO wt_message VALUES (%(n)s)", {"n": 1})  # taken: fails
        batch.send("INSERT INTO wt_message VALUES (%(n)s)", {"n": 2})
    with pg_db.write_transaction() as batch:  # the connection given back holds nothing of it
        batch.send("INSERT INTO wt_message VALUES (%(n)s)", {"n": 3})
    with pg_db.session() as session:
        assert session.execute(text("SELECT n FROM wt_message ORDER BY n")).scalars().all() == [3]
        session.execute(text("DROP TABLE wt_message"))


@needs_postgres
@pytest.mark.airflow
def test_postgres_write_transaction_failed_or_swallowed_commits_nothing(pg_db: Database) -> None:
    from sqlalchemy.exc import DBAPIError, InvalidRequestError

    with pg_db.session() as session:
        session.execute(text("CREATE TABLE IF NOT EXISTS wt_atomic (n int PRIMARY KEY)"))
    with pytest.raises(RuntimeError), pg_db.write_transaction() as batch:
        batch.execute(text("INSERT INTO wt_atomic VALUES (1)"))
        raise RuntimeError("a write of the group failed")
    # an error caught inside the block leaves the transaction aborted: COMMIT would only roll
    # it back, so the block fails instead of reporting a commit
    with pytest.raises(InvalidRequestError), pg_db.write_transaction() as batch:
        batch.execute(text("INSERT INTO wt_atomic VALUES (2)"))
        with contextlib.suppress(DBAPIError):
            batch.execute(text("INSERT INTO wt_atomic VALUES (2)"))
    for _ in range(3):  # the connections given back hold no transaction of the failed ones
        with pg_db.write_transaction() as batch:
            batch.execute(text("INSERT INTO wt_atomic VALUES (3) ON CONFLICT DO NOTHING"))
    with pg_db.session() as session:
        assert session.execute(text("SELECT n FROM wt_atomic ORDER BY n")).scalars().all() == [3]
        session.execute(text("DROP TABLE wt_atomic"))


@needs_postgres
@pytest.mark.airflow
def test_postgres_write_transaction_with_a_driver_that_reports_no_state() -> None:
    """SQLAlchemy's own transaction then, the bounds its first statement, committed on exit."""
    with _pg_database(DriverProbe(transaction_status=lambda _connection: None)) as pg_db:
        with pg_db.session() as session:
            session.execute(text("CREATE TABLE IF NOT EXISTS wt_other (n int)"))
        with pg_db.write_transaction() as batch:
            assert batch.execute(text("SHOW lock_timeout")).scalar() == "1s"
            batch.execute(text("INSERT INTO wt_other VALUES (1)"))
        with pg_db.session() as session:
            assert session.execute(text("SELECT count(*) FROM wt_other")).scalar() == 1
            session.execute(text("DROP TABLE wt_other"))
