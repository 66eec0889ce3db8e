"""Creating DAG runs the way Airflow's trigger path does, with the per-version work done once.

Airflow's ``_trigger_dag`` redoes on every call what depends only on the DAG version:
deserializing the DAG, checking every param schema against the JSON-schema meta-schema,
building each task instance's row (a ``TaskInstance`` object per task to compute its
priority weight), and it opens a second connection to look for a duplicate run id.
That was most of a webhook's time (the figures: docs/decisions/0002-lean-run-insert.md).

:class:`RunFactory` does that work once per DAG version (:class:`RunTemplate`), then a
run costs one select (the latest version), one insert into ``dag_run`` and one
multi-row insert into ``task_instance``, in the caller's transaction. The rows are
the ones Airflow writes (``tests/airflow_seam/test_run_factory.py`` compares them column by
column, and counts every table, against Airflow's own path), built with Airflow's
own helpers (``TaskInstance.insert_mapping``, the trace carriers, the stats counter).

The lean path is only taken where it provably writes the same thing. A DAG with a
mapped task or task group (the task count depends on the run), deadline alerts, a
custom priority-weight strategy, a ``task_instance_mutation_hook``, or an Airflow
without the helpers used here goes through Airflow's ``_trigger_dag`` instead
(with the deserialized DAG still cached); :attr:`RunTemplate.why_not_lean` says why.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from airflow_webhook_trigger.airflow_seam import lean_insert, version_compat
from airflow_webhook_trigger.airflow_seam.lean_insert import LeanInserts, LeanRows, PreparedRun
from airflow_webhook_trigger.core.errors import UnprocessableEntity

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: the run type webhook runs have; a DAG whose ``allowed_run_types`` omits it refuses them
MANUAL = "manual"


@dataclass(frozen=True)
class LatestVersion:
    """The DAG's latest version and the ``dag`` row fields a new run copies."""

    dag_id: str
    version_id: Any  # a UUID
    bundle_version: str | None
    allowed_run_types: tuple[str, ...] | None

    @property
    def allows_manual_runs(self) -> bool:
        return self.allowed_run_types is None or MANUAL in self.allowed_run_types


#: a declared param: its name, its default, its compiled JSON-schema validator (None: no schema)
ParamCheck = tuple[str, object, Any]


def compile_param_checks(dag: Any) -> tuple[ParamCheck, ...]:
    """The DAG's declared params with their validators, compiled once per DAG version.

    Airflow's own check (``Param.resolve``) re-validates each schema against the
    meta-schema on every call, and also checks every conf key that is not a param; we
    only need the declared params, to name the one at fault. These are the only check
    on the lean path (Airflow's ``_trigger_dag``, for the other DAGs, validates again);
    conf keys that are not params need none, being JSON already.
    """
    from jsonschema import FormatChecker
    from jsonschema.validators import validator_for

    checks = []
    for name in dag.params:
        param = dag.params.get_param(name)
        schema = param.schema or {}
        cls = validator_for(schema)
        cls.check_schema(schema)
        validator = cls(schema, format_checker=FormatChecker()) if schema else None
        checks.append((name, param.value, validator))
    return tuple(checks)


def _is_arg_set_function() -> Any:
    """Airflow's "is this default a real value" test; it moved between releases."""
    try:
        from airflow.serialization.definitions.notset import is_arg_set
    except ImportError:  # before Airflow 3.3
        try:
            from airflow.sdk.definitions._internal.types import is_arg_set  # type: ignore[assignment]
        except ImportError:  # Airflow 3.1: only the marker class
            from airflow.sdk.definitions._internal.types import ArgNotSet

            def is_arg_set(value: object) -> bool:  # type: ignore[misc]
                return not isinstance(value, ArgNotSet)

    return is_arg_set


def check_params(checks: tuple[ParamCheck, ...], conf: dict[str, object]) -> None:
    """:raises UnprocessableEntity: naming the first param missing or invalid in ``conf``"""
    is_arg_set = _is_arg_set_function()
    for name, default, validator in checks:
        value = conf.get(name, default)
        if not is_arg_set(value):
            raise UnprocessableEntity(f"DAG param {name!r} is required", extra={"param": name})
        if validator is None:
            continue
        error = next(iter(validator.iter_errors(value)), None)
        if error is not None:
            raise UnprocessableEntity(f"DAG param {name!r} {_short_reason(error)}", extra={"param": name})


def _short_reason(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc)
    first = str(message).splitlines()[0] if message else "is invalid"
    if len(first) > 200:
        first = first[:200] + "..."
    return f"is invalid: {first}"


@dataclass(frozen=True)
class RunTemplate:
    """What every run of one DAG version shares.

    :param dag: the deserialized DAG of that version
    :param param_checks: its params, compiled (:func:`compile_param_checks`)
    :param rows: its runs' rows, bound but for what each run gives; None when the run must
        go through Airflow's own trigger path
    :param why_not_lean: why ``rows`` is None
    """

    dag: Any
    version_id: Any
    param_checks: tuple[ParamCheck, ...]
    rows: LeanRows | None
    task_type_counts: tuple[tuple[str, int], ...] = ()
    why_not_lean: str | None = None

    @property
    def ti_rows(self) -> tuple[dict[str, Any], ...] | None:
        """The task instance rows the lean insert writes (:attr:`LeanRows.ti_rows`), or None."""
        return None if self.rows is None else self.rows.ti_rows


def latest_version(dag_id: str, session: Session) -> LatestVersion | None:
    """One select: the latest DAG version joined with the ``dag`` row."""
    from airflow.models.dag import DagModel
    from airflow.models.dag_version import DagVersion
    from sqlalchemy import null, select

    allowed = getattr(DagModel, "allowed_run_types", None)  # new in Airflow 3.2
    row = session.execute(
        select(DagVersion.id, DagModel.bundle_version, allowed if allowed is not None else null())
        .join(DagModel, DagModel.dag_id == DagVersion.dag_id)
        .where(DagVersion.dag_id == dag_id)
        # Airflow's own "latest version": highest version_number (DagVersion._latest_version_select)
        .order_by(DagVersion.version_number.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    version_id, bundle_version, allowed_types = row
    return LatestVersion(
        dag_id=dag_id,
        version_id=version_id,
        bundle_version=bundle_version,
        allowed_run_types=None if allowed_types is None else tuple(str(t) for t in allowed_types),
    )


class HashCheckedDagBag:
    """Airflow 3.3's ``DBDagBag.get_dag``, for 3.1 and 3.2 (see :mod:`version_compat`).

    Their bags keep the first DAG they read for a version forever, yet a version with no
    runs yet is rewritten in place. As 3.3's bag does, a cached DAG is served as is for
    ``[core] min_serialized_dag_update_interval`` (a version cannot be rewritten more often),
    then re-checked against the DB's ``dag_hash`` (one indexed single-column read).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """:param clock: monotonic seconds (injected in tests)"""
        from airflow.configuration import conf

        self._clock = clock
        self._dags: dict[Any, tuple[Any, str, float]] = {}  # version id -> (DAG, hash, checked at)
        #: seconds a cached DAG is served as is before its hash is checked again
        self.interval = conf.getint("core", "min_serialized_dag_update_interval")
        self._lock = threading.Lock()

    def get_dag(self, version_id: Any, session: Session) -> Any:
        from airflow.models.serialized_dag import SerializedDagModel
        from sqlalchemy import select

        with self._lock:
            cached = self._dags.get(version_id)
        now = self._clock()
        if cached is not None and now - cached[2] < self.interval:
            return cached[0]
        where = SerializedDagModel.dag_version_id == version_id
        current_hash = select(SerializedDagModel.dag_hash).where(where)
        if cached is not None and session.scalar(current_hash) == cached[1]:
            with self._lock:
                self._dags[version_id] = (cached[0], cached[1], now)
            return cached[0]
        serdag = session.scalar(select(SerializedDagModel).where(where))
        if serdag is None:
            return None
        serdag.load_op_links = False
        dag = serdag.dag
        with self._lock:
            self._dags[version_id] = (dag, serdag.dag_hash, now)
        return dag

    def clear_cache(self) -> None:
        with self._lock:
            self._dags.clear()


class RunFactory:
    """Deserialized DAGs, compiled params and run templates, cached per DAG version; lean run inserts."""

    def __init__(self) -> None:
        from airflow.models.dagbag import DBDagBag

        fresh = version_compat.dag_bag_checks_freshness()
        self._bag: Any = DBDagBag(load_op_links=False) if fresh else HashCheckedDagBag()
        self._templates: dict[Any, RunTemplate] = {}
        #: the lean inserts by dialect and task instance columns (their statements are
        #: compiled once per row count, whatever the DAG)
        self._inserts: dict[tuple[str, str, frozenset[str]], LeanInserts] = {}
        self._lock = threading.Lock()

    @property
    def bag(self) -> Any:
        return self._bag

    def template(self, latest: LatestVersion, session: Session) -> RunTemplate | None:
        """The version's template (built on first use); None if its DAG cannot be loaded.

        The DAG comes from Airflow's ``DBDagBag`` on every call: it re-checks a cached DAG
        against the DB's ``dag_hash`` now and then, since a version with no runs yet can be
        rewritten in place; a template is reused only while the bag hands out the same DAG.
        """
        dag = self._bag.get_dag(latest.version_id, session=session)
        if dag is None:
            return None
        with self._lock:
            found = self._templates.get(latest.version_id)
        if found is not None and found.dag is dag:
            return found
        checks = compile_param_checks(dag)
        rows: tuple[dict[str, Any], ...] = ()
        counts: tuple[tuple[str, int], ...] = ()
        try:
            why = lean_insert.why_not_lean(dag, session)
            if why is None:
                rows, counts = lean_insert.ti_rows(dag, latest.version_id)
                unknown = lean_insert.unknown_ti_attributes(rows)
                if unknown:
                    names = ", ".join(sorted(unknown))
                    why = f"this Airflow's task_instance has columns the lean insert does not write ({names})"
                rows = lean_insert.pickled_once(lean_insert.by_column_name(rows))
                inserts = self._lean_inserts(session.get_bind().dialect, rows)
                lean = LeanRows(
                    inserts,
                    inserts.runs.template(lean_insert.run_constants(dag, latest.version_id)),
                    tuple(inserts.task_instances.template(row) for row in rows)
                    if inserts.task_instances is not None
                    else (),
                    rows,
                )
        except Exception as exc:  # any surprise while preparing: Airflow's own path, always
            why = f"preparing the lean insert failed ({type(exc).__name__}: {str(exc)[:200]})"
        if why is None:
            made = RunTemplate(dag, latest.version_id, checks, lean, counts)
        else:
            # once per DAG version: the template is cached
            log.info("DAG %s: runs go through Airflow's trigger path (%s)", latest.dag_id, why)
            made = RunTemplate(dag, latest.version_id, checks, None, why_not_lean=why)
        with self._lock:
            if len(self._templates) >= 256:  # old versions of busy DAGs: start afresh
                self._templates.clear()
                self._bag.clear_cache()  # its dict is unbounded too
            self._templates[latest.version_id] = made
        return made

    def _lean_inserts(self, dialect: Dialect, ti_rows: tuple[dict[str, Any], ...]) -> LeanInserts:
        keys = frozenset(ti_rows[0]) | {"run_id", "context_carrier"} if ti_rows else frozenset()
        key = (dialect.name, dialect.driver, keys)
        with self._lock:
            found = self._inserts.get(key)
        if found is None:
            found = LeanInserts.build(dialect, keys)
            with self._lock:
                found = self._inserts.setdefault(key, found)
        return found

    def prepare(
        self, template: RunTemplate, latest: LatestVersion, run_id: str, conf: dict[str, object]
    ) -> PreparedRun:
        """A queued manual run's ``dag_run`` row and its task instances' rows, bound (the
        values processed by their column types, the defaults filled in: :mod:`bound_insert`),
        to be written by :func:`insert_runs` (alone, or in a group sharing one transaction)."""
        from airflow.utils.types import DagRunType

        lean = template.rows
        if lean is None:
            raise ValueError(f"DAG {template.dag.dag_id}: not a lean template ({template.why_not_lean})")
        _, span_level_key, new_dagrun_trace_carrier, new_task_run_carrier, timezone, trace_attributes = (
            lean_insert.insert_helpers()
        )
        dag = template.dag
        now = timezone.utcnow()
        identity = SimpleNamespace(dag_id=dag.dag_id, run_id=run_id, run_type=DagRunType.MANUAL)
        carrier = new_dagrun_trace_carrier(
            task_span_detail_level=conf.get(span_level_key),
            attributes=trace_attributes(identity),
        )
        # with run_constants, every column of lean_insert.RUN_COLUMNS (the row template checks it);
        # columns left out take their column defaults, as in Airflow's ORM insert:
        # log_template_id (the latest log template), created_at, updated_at, span_status
        unversioned = getattr(dag, "disable_bundle_versioning", False)
        run = lean.run.row(
            {
                "run_id": run_id,
                "queued_at": now,
                "conf": conf,
                "run_after": now,
                "bundle_version": None if unversioned else latest.bundle_version,
                "context_carrier": carrier,
                "partition_date": dag.timetable.resolve_partition_date(None),
            }
        )
        tis = tuple(
            ti.row({"run_id": run_id, "context_carrier": new_task_run_carrier(carrier)})
            for ti in lean.task_instances
        )
        return PreparedRun(dag.dag_id, run_id, lean.inserts, run, tis, template.task_type_counts)
