"""Bound multi-row inserts: the same rows as SQLAlchemy's own executemany, fewer steps.

Plain SQLAlchemy engines, no Airflow: a SQLite file, and the PostgreSQL of the PostgreSQL
pass (``WEBHOOK_TEST_DATABASE``). The lean runs' own proof, row by row against Airflow's
trigger, is tests/airflow_seam/test_run_factory.py.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy import exc as sa_exc

from airflow_webhook_trigger.storage.bound_insert import BoundInsert
from airflow_webhook_trigger.storage.write_batch import WriteBatch

#: the counter table, ours, and a twin written by SQLAlchemy's own executemany
Tables = tuple[Table, Table, Table]
_stamps = itertools.count()


def _stamp() -> datetime:
    """A Python default of no argument, different on every call."""
    return datetime(2026, 1, 1, tzinfo=timezone.utc).replace(microsecond=next(_stamps) % 1_000_000)


def _tables(metadata: MetaData, suffix: str) -> tuple[Table, Table]:
    counter = Table(f"bi_counter_{suffix}", metadata, Column("v", Integer, primary_key=True))
    table = Table(
        f"bi_rows_{suffix}",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(200), nullable=False, unique=True),
        Column("payload", JSON),
        Column("blob", LargeBinary),
        Column("created_at", DateTime(timezone=True), default=_stamp),
        Column("token", String(40), default=lambda: uuid.uuid4().hex),
        Column("kind", String(20), default="plain"),
        # a SQL expression default: rendered per row by the compiler
        Column("seq", Integer, default=select(func.coalesce(func.max(counter.c.v), 0)).scalar_subquery()),
        Column("note", String(20), server_default="from-server"),
        Column("unset", String(20)),
    )
    return counter, table


@pytest.fixture
def tables(engine: Engine) -> Iterator[Tables]:
    metadata = MetaData()
    suffix = uuid.uuid4().hex[:8]
    counter, ours = _tables(metadata, suffix)
    twin_counter, theirs = _tables(metadata, suffix + "_sa")
    metadata.create_all(engine)
    with engine.begin() as connection:
        for table in (counter, twin_counter):
            connection.execute(table.insert(), [{"v": 41}])
    yield counter, ours, theirs
    metadata.drop_all(engine)


GIVEN = ("name", "payload", "blob")
HOSTILE = [
    "plain",
    "it's; DROP TABLE x; --",
    "%s %(name)s %% ?",
    'quote " back\\slash',
    "ünïcødé ✓ 🎉",
]


def _rows(count: int, prefix: str = "r") -> list[dict[str, Any]]:
    return [
        {
            "name": f"{prefix}{i}-{HOSTILE[i % len(HOSTILE)]}",
            "payload": {"n": i, "text": HOSTILE[i % len(HOSTILE)], "nested": [1, None, {"k": "v"}]},
            "blob": bytes(range(i % 256)) + b"\x00\xff",
        }
        for i in range(count)
    ]


def _read(engine: Engine, table: Table) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(select(table).order_by(table.c.name))]


@pytest.mark.parametrize("through", ["connection", "batch"])
def test_writes_what_sqlalchemys_executemany_writes(
    engine: Engine, tables: tuple[Table, Table, Table], through: str
) -> None:
    """Through the connection, or a deferring batch (on psycopg2: the statements rendered by
    the driver on the client and sent with the next one, the hostile text among them)."""
    _, ours, theirs = tables
    insert = BoundInsert(ours, GIVEN, engine.dialect, returning=("id", "name"))
    rows = _rows(7)
    bound = [insert.row(r) for r in rows]
    with engine.begin() as connection:
        if through == "batch":
            batch = WriteBatch(connection, defer=True)
            insert.execute(batch, bound[:3], returned=False)  # held back on psycopg2...
            assert batch.pending == (1 if engine.dialect.driver == "psycopg2" else 0)
            returned = insert.execute(batch, bound[3:])  # ...and sent with this one
            assert batch.pending == 0
            returned += connection.execute(
                select(ours.c.id, ours.c.name).where(ours.c.name.in_([r["name"] for r in rows[:3]]))
            ).all()
        else:
            returned = insert.execute(connection, bound)
        connection.execute(theirs.insert(), rows)

    mine, sa = _read(engine, ours), _read(engine, theirs)
    assert len(mine) == len(sa) == 7
    by_name = {r["name"]: r["id"] for r in mine}
    assert {row.name: row.id for row in returned} == by_name
    varying = {"id", "created_at", "token"}  # a key, and Python defaults made per row
    assert [{k: v for k, v in r.items() if k not in varying} for r in mine] == [
        {k: v for k, v in r.items() if k not in varying} for r in sa
    ]
    first = mine[0]
    assert first["kind"] == "plain" and first["note"] == "from-server" and first["unset"] is None
    assert first["seq"] == 41  # the SQL default, evaluated by the database
    assert len({r["token"] for r in mine}) == 7  # the callable ran once per row
    assert len({r["created_at"] for r in mine}) == 7
    # hostile text came back exactly as given, in the column and inside the JSON
    assert {r["name"] for r in mine} == {r["name"] for r in rows}
    assert sorted(r["payload"]["text"] for r in mine) == sorted(r["payload"]["text"] for r in rows)
    assert sorted(bytes(r["blob"]) for r in mine) == sorted(r["blob"] for r in rows)


def test_one_statement_per_chunk_of_rows(engine: Engine, tables: Tables) -> None:
    _, ours, _ = tables
    insert = BoundInsert(ours, GIVEN, engine.dialect, returning=("id",))
    insert.rows_per_statement = 3  # as a driver's parameter limit would make it
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with engine.begin() as connection:
            returned = insert.execute(connection, [insert.row(r) for r in _rows(8)])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 3  # 3 + 3 + 2 rows
    assert len(returned) == 8 and len(_read(engine, ours)) == 8
    assert insert.rows_per_statement == 3


def test_statements_are_compiled_once_per_row_count(
    engine: Engine, tables: tuple[Table, Table, Table]
) -> None:
    _, ours, _ = tables
    insert = BoundInsert(ours, GIVEN, engine.dialect, returning=("id",))
    assert insert._statement(4, True) is insert._statement(4, True)
    assert insert._statement(4, True)[0] != insert._statement(5, True)[0]
    assert "RETURNING" in insert._statement(4, True)[0]
    assert "RETURNING" not in insert._statement(4, False)[0]


def test_returned_false_reads_nothing_back(engine: Engine, tables: Tables) -> None:
    _, ours, _ = tables
    insert = BoundInsert(ours, GIVEN, engine.dialect, returning=("id",))
    with engine.begin() as connection:
        assert insert.execute(connection, [insert.row(r) for r in _rows(3)], returned=False) == []
    assert len(_read(engine, ours)) == 3


def test_a_taken_unique_key_fails_the_whole_statement(
    engine: Engine, tables: tuple[Table, Table, Table]
) -> None:
    _, ours, _ = tables
    insert = BoundInsert(ours, GIVEN, engine.dialect)
    rows = _rows(3)
    with engine.begin() as connection:
        insert.execute(connection, [insert.row(rows[1])])
    with pytest.raises(sa_exc.IntegrityError), engine.begin() as connection:
        insert.execute(connection, [insert.row(r) for r in rows])
    assert [r["name"] for r in _read(engine, ours)] == [rows[1]["name"]]


def test_rows_must_give_exactly_the_keys(engine: Engine, tables: Tables) -> None:
    _, ours, _ = tables
    insert = BoundInsert(ours, GIVEN, engine.dialect)
    row = _rows(1)[0]
    with pytest.raises(ValueError, match="missing="):
        insert.row({k: v for k, v in row.items() if k != "blob"})
    with pytest.raises(ValueError, match="extra="):
        insert.row({**row, "kind": "other"})
    with pytest.raises(ValueError, match="no column nope"):
        BoundInsert(ours, (*GIVEN, "nope"), engine.dialect)


def test_a_default_reading_the_execution_context_is_refused() -> None:
    def from_context(context: Any) -> str:
        return str(context.get_current_parameters()["name"])

    table = Table(
        "bi_context",
        MetaData(),
        Column("name", String(20)),
        Column("derived", String(20), default=from_context),
    )
    dialect = create_engine("sqlite://").dialect
    with pytest.raises(ValueError, match=r"bi_context\.derived's default reads the execution context"):
        BoundInsert(table, ("name",), dialect)
    assert BoundInsert(table, ("name", "derived"), dialect).columns == ("name", "derived")


def test_a_type_given_for_a_column_is_the_one_bound() -> None:
    """A value prepared beforehand (bytes already pickled) is bound as the type given."""
    from sqlalchemy import PickleType

    table = Table("bi_pickle", MetaData(), Column("config", PickleType))
    engine = create_engine("sqlite://")
    table.create(engine)
    insert = BoundInsert(table, ("config",), engine.dialect, types={"config": LargeBinary()})
    import pickle

    with engine.begin() as connection:
        insert.execute(connection, [insert.row({"config": pickle.dumps({"a": 1})})])
        assert connection.execute(select(table.c.config)).scalar() == {"a": 1}
        raw = connection.execute(text("SELECT config FROM bi_pickle")).scalar()
    assert pickle.loads(raw) == {"a": 1}


def test_a_row_template_binds_its_constants_once(engine: Engine, tables: Tables) -> None:
    _, ours, theirs = tables
    insert = BoundInsert(ours, GIVEN, engine.dialect)
    rows = _rows(4)
    shared = {"payload": rows[0]["payload"], "blob": rows[0]["blob"]}
    template = insert.template(shared)
    assert template.keys == {"name"}
    with engine.begin() as connection:
        insert.execute(connection, [template.row({"name": r["name"]}) for r in rows])
        connection.execute(theirs.insert(), [{**shared, "name": r["name"]} for r in rows])
    varying = {"id", "created_at", "token"}
    assert [{k: v for k, v in r.items() if k not in varying} for r in _read(engine, ours)] == [
        {k: v for k, v in r.items() if k not in varying} for r in _read(engine, theirs)
    ]
    assert template.row({"name": "x"}) != template.row({"name": "x"})  # its defaults, per row
    with pytest.raises(ValueError, match="extra="):
        template.row({"name": "x", "blob": b""})
    with pytest.raises(ValueError, match="no keys of this insert"):
        insert.template({"kind": "not given by rows"})
