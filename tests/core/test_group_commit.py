"""Group commit over a real SQLite database (no Airflow): grouping, isolation of a bad
write, outages, and answers only after the commit."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, event, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from airflow_webhook_trigger.core.errors import ServiceUnavailable
from airflow_webhook_trigger.core.group_commit import GroupCommit
from airflow_webhook_trigger.storage.engine import Database, DbLimits

metadata = MetaData()
rows = Table(
    "rows", metadata, Column("id", Integer, primary_key=True), Column("name", String(20), unique=True)
)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}", connect_args={"timeout": 5})
    metadata.create_all(engine)
    yield Database(engine, DbLimits())
    engine.dispose()


def _names(database: Database) -> list[str]:
    with database.session() as session:
        return sorted(session.scalars(select(rows.c.name)))


def _insert(names: Sequence[str], session: Connection) -> list[int]:
    session.execute(insert(rows), [{"name": n} for n in names])
    found = dict(session.execute(select(rows.c.name, rows.c.id).where(rows.c.name.in_(names))).all())
    return [found[n] for n in names]


def _in_threads(submit: Callable[[str], Any], names: Sequence[str]) -> dict[str, Any]:
    """Submit each name from a thread of its own; what each got (a result or an exception)."""
    got: dict[str, Any] = {}

    def one(name: str) -> None:
        try:
            got[name] = submit(name)
        except Exception as exc:
            got[name] = exc

    threads = [threading.Thread(target=one, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "a writer never got its answer"
    return got


class _HeldFirstGroup:
    """A write whose first group waits until ``waiting`` more writers have queued, so the
    next group is known to hold them all."""

    def __init__(self, commit: GroupCommit[Connection, str, int] | None, waiting: int) -> None:
        self.commit = commit
        self.waiting = waiting
        self.groups: list[list[str]] = []

    def __call__(self, names: Sequence[str], session: Connection) -> list[int]:
        self.groups.append(list(names))
        if len(self.groups) == 1:
            assert self.commit is not None
            for _ in range(500):
                with self.commit._lock:
                    if len(self.commit._queue) >= self.waiting:
                        break
                threading.Event().wait(0.01)
        return _insert(names, session)


def _held(
    database: Database, waiting: int, **kwargs: Any
) -> tuple[GroupCommit[Connection, str, int], _HeldFirstGroup]:
    write = _HeldFirstGroup(None, waiting)
    commit: GroupCommit[Connection, str, int] = GroupCommit(database.transaction, write, **kwargs)
    write.commit = commit
    return commit, write


@contextmanager
def _first_group_writing(commit: GroupCommit[Connection, str, int], write: _HeldFirstGroup) -> Iterator[None]:
    """A first writer whose group is being written (and held) while the block runs."""
    first = threading.Thread(target=commit.submit, args=("first",))
    first.start()
    while not write.groups:
        threading.Event().wait(0.005)
    yield
    first.join(10)


def test_a_lone_write_is_committed_at_once(database: Database) -> None:
    commit: GroupCommit[Connection, str, int] = GroupCommit(database.transaction, _insert)
    key = commit.submit("a")
    assert _names(database) == ["a"]
    assert isinstance(key, int)
    assert (commit.groups, commit.items) == (1, 1)


def test_writes_arriving_during_a_group_share_the_next_transaction(database: Database) -> None:
    commit, write = _held(database, waiting=8)
    with _first_group_writing(commit, write):
        names = [f"n{i}" for i in range(8)]
        got = _in_threads(commit.submit, names)
    assert write.groups[0] == ["first"]
    assert sorted(write.groups[1]) == names  # the eight waiting: one transaction
    assert len(write.groups) == 2
    assert _names(database) == sorted(["first", *names])
    with database.session() as session:
        ids = dict(session.execute(select(rows.c.name, rows.c.id)).all())
    assert got == {n: ids[n] for n in names}  # each writer gets its own row's result
    assert (commit.groups, commit.items) == (2, 9)


def test_a_group_takes_at_most_max_group_writes(database: Database) -> None:
    commit, write = _held(database, waiting=10, max_group=4)
    with _first_group_writing(commit, write):
        names = [f"n{i}" for i in range(10)]
        got = _in_threads(commit.submit, names)
    assert [len(g) for g in write.groups] == [1, 4, 4, 2]
    assert all(isinstance(v, int) for v in got.values())
    assert len(_names(database)) == 11


def test_one_bad_write_fails_alone_and_the_others_are_committed(database: Database) -> None:
    commit: GroupCommit[Connection, str, int] = GroupCommit(database.transaction, _insert)
    commit.submit("taken")
    commit2, write = _held(database, waiting=4)
    with _first_group_writing(commit2, write):
        got = _in_threads(commit2.submit, ["ok1", "taken", "ok2", "ok3"])
    assert isinstance(got["taken"], IntegrityError)
    assert all(isinstance(got[n], int) for n in ("ok1", "ok2", "ok3"))
    assert _names(database) == ["first", "ok1", "ok2", "ok3", "taken"]
    # the group of four failed as one, then each was written alone
    assert sorted(write.groups[1]) == ["ok1", "ok2", "ok3", "taken"]
    assert len(write.groups) == 2 + 4


def test_an_outage_answers_every_writer_of_the_group_503_and_commits_nothing(database: Database) -> None:
    calls: list[list[str]] = []

    def down(names: Sequence[str], session: Connection) -> list[int]:
        calls.append(list(names))
        raise ServiceUnavailable("down", headers={"Retry-After": "5"})

    commit: GroupCommit[Connection, str, int] = GroupCommit(database.transaction, down)
    got = _in_threads(commit.submit, [f"n{i}" for i in range(6)])
    assert all(isinstance(v, ServiceUnavailable) for v in got.values())
    assert sum(len(c) for c in calls) == 6  # no write retried alone against a DB that is away
    assert _names(database) == []
    assert commit.groups == 0


def test_a_failed_commit_answers_no_writer_with_a_result(database: Database) -> None:
    fail = {"on": True}

    @event.listens_for(database.engine, "commit")
    def refuse(_conn: Any) -> None:
        if fail["on"]:
            raise RuntimeError("commit refused")

    commit: GroupCommit[Connection, str, int] = GroupCommit(database.transaction, _insert)
    got = _in_threads(commit.submit, [f"n{i}" for i in range(5)])
    assert all(isinstance(v, RuntimeError) for v in got.values())
    fail["on"] = False
    assert _names(database) == []


def test_many_writers_all_answered_none_lost(database: Database) -> None:
    commit: GroupCommit[Connection, str, int] = GroupCommit(database.transaction, _insert)
    names = [f"n{i:03d}" for i in range(200)]
    got: dict[str, Any] = {}
    lock = threading.Lock()

    def worker(mine: list[str]) -> None:
        for n in mine:
            value = commit.submit(n)
            with lock:
                got[n] = value

    threads = [threading.Thread(target=worker, args=(names[i::16],)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(got) == 200
    assert _names(database) == names
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(rows)) == 200
    assert commit.items == 200
    assert commit.groups < 200  # sixteen writers at once: some shared a transaction


def test_a_write_returning_the_wrong_number_of_results_fails_its_writers(database: Database) -> None:
    commit: GroupCommit[Connection, str, int] = GroupCommit(database.transaction, lambda names, s: [])
    with pytest.raises(RuntimeError, match="returned 0 results"):
        commit.submit("a")


def test_max_group_must_be_positive(database: Database) -> None:
    with pytest.raises(ValueError):
        GroupCommit(database.transaction, _insert, max_group=0)


class _Gated:
    """A write that waits for ``go`` before writing (the writer thread held in a group)."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.groups: list[list[str]] = []

    def __call__(self, names: Sequence[str], session: Connection) -> list[int]:
        assert self.go.wait(10)
        self.groups.append(list(names))
        return _insert(names, session)


def _leading(commit: GroupCommit[Connection, str, int], write: _Gated, back: Any) -> threading.Thread:
    """A first write whose group is being written, held by ``write``, in a thread of its own."""
    first = threading.Thread(target=commit.enqueue, args=("first", back), name="lead")
    first.start()
    for _ in range(1000):
        if commit._writing:
            break
        threading.Event().wait(0.005)
    return first


def test_a_write_queued_while_another_is_written_returns_at_once_and_hears_after_the_commit(
    database: Database,
) -> None:
    write = _Gated()
    commit: GroupCommit[Connection, str, int] = GroupCommit(database.transaction, write)
    called: list[tuple[str, str, list[str]]] = []
    all_called = threading.Event()

    def back(ticket: Any) -> None:
        # the row is committed when the writer is told: another connection sees it
        called.append((ticket.item, threading.current_thread().name, _names(database)))
        if len(called) == 7:
            all_called.set()

    first = _leading(commit, write, back)
    tickets = [commit.enqueue(f"n{i}", back) for i in range(6)]  # being written: no wait here
    assert not any(t.finished for t in tickets) and called == []
    with pytest.raises(RuntimeError, match="not done yet"):
        tickets[0].outcome()
    write.go.set()
    assert all_called.wait(10)
    first.join(10)
    # the first write by the thread that found nothing being written; the rest by the writer
    threads = {item: thread for item, thread, _ in called}
    assert threads.pop("first") == "lead"
    assert set(threads.values()) == {"webhook-group-commit"}
    assert all(item in seen for item, _, seen in called)
    assert write.groups == [["first"], [f"n{i}" for i in range(6)]]
    with database.session() as session:
        ids = dict(session.execute(select(rows.c.name, rows.c.id)).all())
    assert [t.outcome() for t in tickets] == [ids[f"n{i}"] for i in range(6)]


def test_a_lone_write_is_written_by_its_own_thread_before_enqueue_returns(database: Database) -> None:
    commit: GroupCommit[Connection, str, int] = GroupCommit(database.transaction, _insert)
    heard: list[str] = []
    ticket = commit.enqueue("alone", lambda t: heard.append(threading.current_thread().name))
    assert ticket.finished and ticket.outcome() > 0
    assert heard == [threading.current_thread().name]
    assert commit._thread is None  # no writer thread was needed


def test_a_writer_whose_callback_fails_does_not_keep_the_others_from_hearing(database: Database) -> None:
    write = _Gated()
    commit: GroupCommit[Connection, str, int] = GroupCommit(database.transaction, write)
    heard: list[str] = []
    all_heard = threading.Event()

    def back(ticket: Any) -> None:
        if ticket.item == "n1":
            raise RuntimeError("its event loop is gone")
        heard.append(ticket.item)
        if len(heard) == 4:
            all_heard.set()

    first = _leading(commit, write, back)
    for name in ["n0", "n1", "n2", "n3"]:
        commit.enqueue(name, back)
    write.go.set()
    assert all_heard.wait(10)
    first.join(10)
    assert sorted(heard) == ["first", "n0", "n2", "n3"]
    assert commit.submit("after") > 0  # writing goes on
