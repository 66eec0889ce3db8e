"""Multi-row INSERTs whose rows are bound when they are made, not when they are written.

A group commit writes the rows of several requests in one statement per table, on one
thread: whatever that thread does per row, every request of the next group waits for.
Through SQLAlchemy's executemany, most of that per-row work is Python: the statement's
execution context, the insertmanyvalues batching, each value's bind processor (JSON
encoding, time zones, UUIDs, binary wrappers) and each Python-side column default (the
figures: docs/decisions/0004-bound-inserts.md).

:class:`BoundInsert` moves that work to where a row is made (a request's own thread, in
parallel with the writer) and leaves the writer one driver-level statement per table: a
multi-row ``INSERT ... VALUES (...), (...)`` compiled by SQLAlchemy once per row count, its
values handed to the driver as they are. What reaches the database is what SQLAlchemy would
send for the same rows:

- the values go through the column types' own bind processors (``dialect_impl``), with the
  types SQLAlchemy would use, and are sent as parameters, never rendered into the SQL;
- a column left out with a Python-side default (a scalar, or a callable that takes no
  execution context: ``uuid7``, ``utcnow``) gets it when the row is made;
- a column left out with a SQL expression default is rendered into the statement by
  SQLAlchemy's compiler, per row, as its own executemany would; one with only a server
  default, or none, is left out, as SQLAlchemy leaves it out.

A table whose defaults this cannot honour (a default callable that reads the execution
context, a default SQLAlchemy would fetch before the insert) is refused when the insert is
built (``ValueError``), never written differently. Statements are executed through
``Connection.exec_driver_sql``, so a driver's error comes back as SQLAlchemy's (an
``IntegrityError`` for a unique key) and a lost connection is invalidated as usual; given a
:class:`WriteBatch`, a statement whose result is not read may wait for the next one
(:mod:`write_batch`: on psycopg2, one message to the database for several statements).

Nothing here imports Airflow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Table, bindparam
from sqlalchemy.engine import Connection, Dialect, Row
from sqlalchemy.types import TypeEngine

from airflow_webhook_trigger.storage.write_batch import WriteBatch

#: a row's values as the driver takes them, in :attr:`BoundInsert.columns` order
BoundRow = tuple[Any, ...]

#: statements compiled per row count, kept at most (the count varies with the group's size)
_MAX_STATEMENTS = 128


class _NoContext:
    """What a Python default gets for its execution context: a callable that reads it fails."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"no execution context here ({name})")


class BoundInsert:
    """Rows of ``table`` bound when made (:meth:`row`), written many to a statement (:meth:`execute`).

    :param table: the table
    :param keys: the columns every row gives (by key), in any order
    :param dialect: the dialect of the connections it will write with
    :param types: a column's type for its bound value where it is not the column's own
        (e.g. a value pickled beforehand, bound as ``LargeBinary``)
    :param returning: columns the statement returns, one row per row written (any order)
    :raises ValueError: a key that is no column of the table, or a default left to a column
        that cannot be honoured here (see the module's docstring)
    """

    def __init__(
        self,
        table: Table,
        keys: Collection[str],
        dialect: Dialect,
        *,
        types: Mapping[str, TypeEngine[Any]] | None = None,
        returning: Sequence[str] = (),
    ) -> None:
        unknown = set(keys) - set(table.c.keys())
        if unknown:
            raise ValueError(f"{table.name} has no column {', '.join(sorted(unknown))}")
        types = dict(types or {})
        self.table = table
        self.keys = frozenset(keys)
        self._dialect = dialect
        self._returning = tuple(table.c[name] for name in returning)
        columns: list[str] = []
        defaults: list[Callable[[], Any] | None] = []
        for column in table.columns:
            default = column.default
            if column.key in self.keys:
                columns.append(column.key)
                defaults.append(None)
            elif default is not None and not (default.is_clause_element or default.is_sequence):
                columns.append(column.key)
                defaults.append(_python_default(table.name, column.key, default))
            # else: a SQL expression default (rendered by the compiler), a server default or
            # none: left out of the row, as SQLAlchemy leaves it out
        #: the columns of a row, in table order
        self.columns: tuple[str, ...] = tuple(columns)
        self._types = tuple(types.get(name, table.c[name].type) for name in columns)
        processors = [t.dialect_impl(dialect).bind_processor(dialect) for t in self._types]
        self._plan = tuple(zip(columns, defaults, processors, strict=True))
        self._any_row = RowTemplate(self, {})
        page = int(getattr(dialect, "insertmanyvalues_page_size", 1000) or 1000)
        most = int(getattr(dialect, "insertmanyvalues_max_parameters", 32_700) or 32_700)
        #: the most rows one statement holds (a driver's or database's parameter limit)
        self.rows_per_statement = max(1, min(page, most // max(1, len(columns))))
        self._statements: dict[tuple[int, bool], tuple[str, Callable[[Sequence[BoundRow]], Any]]] = {}
        self._lock = threading.Lock()
        self._statement(1, bool(self._returning))  # compiled now: a table this cannot write is refused here

    def row(self, values: Mapping[str, Any]) -> BoundRow:
        """One row's values, bound: defaults filled in, each value through its type's processor.

        :raises ValueError: ``values`` does not give exactly :attr:`keys`
        """
        return self._any_row.row(values)

    def template(self, constants: Mapping[str, Any]) -> RowTemplate:
        """Rows sharing ``constants`` (bound once, here): each then gives only the rest.

        :raises ValueError: a constant that is not one of :attr:`keys`
        """
        return RowTemplate(self, constants)

    def execute(
        self, connection: Connection | WriteBatch, rows: Sequence[BoundRow], *, returned: bool = True
    ) -> list[Row[Any]]:
        """Insert ``rows`` (from :meth:`row`) in as few statements as the driver's limits allow;
        the returned rows of all of them (none without ``returning``, or with ``returned=False``:
        then nobody reads a result, and a :class:`WriteBatch` may send the statements with the
        ones after them)."""
        batch = connection if isinstance(connection, WriteBatch) else WriteBatch(connection)
        returning = returned and bool(self._returning)
        found: list[Row[Any]] = []
        for chunk in _chunks(rows, self.rows_per_statement):
            sql, parameters = self._statement(len(chunk), returning)
            if returning:
                found.extend(batch.fetch(sql, parameters(chunk)))
            else:
                batch.send(sql, parameters(chunk))
        return found

    def _statement(self, count: int, returning: bool) -> tuple[str, Callable[[Sequence[BoundRow]], Any]]:
        """The statement for ``count`` rows and how to lay their values out for the driver."""
        found = self._statements.get((count, returning))
        if found is not None:
            return found
        width = len(self.columns)
        names = [[f"r{i}_{j}" for j in range(width)] for i in range(count)]
        values = [
            {name: bindparam(names[i][j], type_=self._types[j]) for j, name in enumerate(self.columns)}
            for i in range(count)
        ]
        statement = self.table.insert().values(values)
        if returning:
            statement = statement.returning(*self._returning)
        compiled = statement.compile(dialect=self._dialect)
        wanted = {name for row in names for name in row}
        # parameters of the statement's own (a literal in a SQL default): their values, bound
        fixed: dict[str, Any] = {}
        for param, name in compiled.bind_names.items():
            if name in wanted:
                continue
            if param.callable is not None or (param.value is None and param.required):
                raise ValueError(f"{self.table.name}: this insert needs values bound at execution")
            process = param.type.dialect_impl(self._dialect).bind_processor(self._dialect)
            fixed[name] = param.value if process is None else process(param.value)
        if compiled.insert_prefetch or not wanted <= set(compiled.bind_names.values()):
            # SQLAlchemy would compute something at execution time (a default it fetches first)
            raise ValueError(f"{self.table.name}: this insert needs values bound at execution")
        parameters: Callable[[Sequence[BoundRow]], Any]
        if compiled.positiontup is None:  # a named paramstyle (pyformat, named)

            def parameters(rows: Sequence[BoundRow]) -> dict[str, Any]:
                pairs = (zip(keys, row, strict=True) for row, keys in zip(rows, names, strict=True))
                return {**fixed, **dict(chain.from_iterable(pairs))}

        else:
            where = {name: (i, j) for i, row in enumerate(names) for j, name in enumerate(row)}
            order = [where.get(name, name) for name in compiled.positiontup]
            if order == [(i, j) for i in range(count) for j in range(width)]:

                def parameters(rows: Sequence[BoundRow]) -> tuple[Any, ...]:
                    return tuple(chain.from_iterable(rows))

            else:  # the statement's own parameters among the rows'

                def parameters(rows: Sequence[BoundRow]) -> tuple[Any, ...]:
                    return tuple(fixed[at] if isinstance(at, str) else rows[at[0]][at[1]] for at in order)

        made = (compiled.string, parameters)
        with self._lock:
            if len(self._statements) >= _MAX_STATEMENTS:
                self._statements.clear()
            self._statements[(count, returning)] = made
        return made


class RowTemplate:
    """Rows of a :class:`BoundInsert` whose other values are the same (:meth:`BoundInsert.template`)."""

    def __init__(self, insert: BoundInsert, constants: Mapping[str, Any]) -> None:
        unknown = constants.keys() - insert.keys
        if unknown:
            raise ValueError(f"{insert.table.name}: {sorted(unknown)} are no keys of this insert")
        self._table = insert.table.name
        #: the keys each row gives
        self.keys = insert.keys - constants.keys()
        base: list[Any] = []
        slots = []
        for at, (name, default, process) in enumerate(insert._plan):
            if default is None and name in constants:
                value = constants[name]
                base.append(value if process is None else process(value))
            else:
                base.append(None)
                slots.append((at, name, default, process))
        self._base = base
        self._slots = tuple(slots)

    def row(self, values: Mapping[str, Any]) -> BoundRow:
        """A row: ``values`` (exactly :attr:`keys`) and the constants, bound.

        :raises ValueError: ``values`` does not give exactly :attr:`keys`
        """
        if values.keys() != self.keys:
            missing, extra = self.keys - values.keys(), values.keys() - self.keys
            raise ValueError(f"a {self._table} row must give {sorted(self.keys)}: {missing=} {extra=}")
        out = self._base.copy()
        for at, name, default, process in self._slots:
            value = values[name] if default is None else default()
            out[at] = value if process is None else process(value)
        return tuple(out)


def _python_default(table: str, column: str, default: Any) -> Callable[[], Any]:
    """A column's Python-side default as a function of nothing, or ``ValueError``."""
    if not default.is_callable:
        value = default.arg
        return lambda: value
    arg = default.arg
    try:
        arg(_NoContext())  # SQLAlchemy wraps a function of nothing as one of the context
    except AttributeError as exc:
        raise ValueError(f"{table}.{column}'s default reads the execution context") from exc
    return lambda: arg(None)


def _chunks(rows: Sequence[BoundRow], size: int) -> Iterator[Sequence[BoundRow]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
