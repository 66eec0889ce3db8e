"""Creating DAG runs the way Airflow's trigger path does, with the per-version work done once.

Airflow's ``_trigger_dag`` redoes on every call what depends only on the DAG version:
deserializing the DAG, checking every param schema against the JSON-schema meta-schema,
building each task instance's row (a ``TaskInstance`` object per task to compute its
priority weight), and it opens a second connection to look for a duplicate run id.
That is about 60% of a webhook's time (profiled for issue #3: a lean insert of the same
rows is 2.8x faster).

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
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from airflow_webhook_trigger.airflow_seam import version_compat
from airflow_webhook_trigger.core.errors import UnprocessableEntity
from airflow_webhook_trigger.storage.bound_insert import BoundInsert, BoundRow, RowTemplate
from airflow_webhook_trigger.storage.write_batch import WriteBatch

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Dialect
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: a run id used only to build the per-version task instance rows; never written. In the
#: format of :func:`runs.make_run_id` (``webhook__{handle}__...``, a handle of 16 hex
#: characters) so that what Airflow computes from it matches a real run's
_PLACEHOLDER_RUN_ID = "webhook__0000000000000000__template"
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


@dataclass(frozen=True)
class LeanRows:
    """A DAG version's ``dag_run`` and ``task_instance`` rows with what every run shares
    already bound (:meth:`bound_insert.BoundInsert.template`): a run binds only its own values.

    :param ti_rows: Airflow's task instance rows minus ``run_id`` and ``context_carrier``,
        keyed by column name, ``executor_config`` already pickled (:func:`_pickled_once`):
        what ``task_instances`` were made from
    """

    inserts: LeanInserts
    run: RowTemplate
    task_instances: tuple[RowTemplate, ...]
    ti_rows: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class LeanInserts:
    """The ``dag_run`` and ``task_instance`` inserts of lean runs, for one dialect and one
    set of columns (:mod:`bound_insert`: rows bound by :meth:`RunFactory.prepare`)."""

    runs: BoundInsert
    #: None for a DAG without tasks
    task_instances: BoundInsert | None

    @staticmethod
    def build(dialect: Dialect, ti_keys: Collection[str]) -> LeanInserts:
        """:raises ValueError: the tables' defaults cannot be honoured by bound rows"""
        from airflow.models.dagrun import DagRun
        from airflow.models.taskinstance import TaskInstance
        from sqlalchemy import LargeBinary

        return LeanInserts(
            BoundInsert(DagRun.__table__, _RUN_COLUMNS, dialect, returning=("id", "dag_id", "run_id")),
            # executor_config comes pickled (_pickled_once): bound as the bytes it is
            BoundInsert(TaskInstance.__table__, ti_keys, dialect, types={"executor_config": LargeBinary()})
            if ti_keys
            else None,
        )


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


#: the dag_run columns a lean insert writes (the rest take their column defaults)
_RUN_COLUMNS = frozenset(
    {
        "dag_id",
        "run_id",
        "queued_at",
        "logical_date",
        "start_date",
        "state",
        "run_type",
        "creating_job_id",
        "triggered_by",
        "triggering_user_name",
        "conf",
        "data_interval_start",
        "data_interval_end",
        "run_after",
        "clear_number",
        "backfill_id",
        "bundle_version",
        "scheduled_by_job_id",
        "context_carrier",
        "created_dag_version_id",
        "partition_key",
        "partition_date",
    }
)


#: the ``dag_run`` columns Airflow's ORM insert leaves to their defaults (Airflow 3.3)
_RUN_DEFAULTED = frozenset(
    {
        "id",
        "created_at",
        "updated_at",
        "end_date",
        "last_scheduling_decision",
        "log_template_id",
        "span_status",
    }
)
#: the ``TaskInstance`` mapper attributes ``insert_mapping`` leaves to their defaults (3.3)
_TI_DEFAULTED = frozenset(
    {
        "duration", "end_date", "external_executor_id", "id", "last_heartbeat_at", "next_kwargs",
        "next_method", "pid", "queued_by_job_id", "queued_dttm", "_rendered_map_index",
        "retry_delay_override", "retry_reason", "scheduled_dttm", "span_status", "start_date",
        "state", "trigger_id", "trigger_timeout", "updated_at",
    }
)  # fmt: skip
#: the Airflow releases (major.minor) on which tests/airflow_seam/test_run_factory.py proved, row by row
#: and table by table, that the lean insert writes what Airflow's own trigger writes
PROVEN_RELEASES = ("3.3",)


def airflow_release() -> str:
    """The running Airflow's ``major.minor``."""
    return version_compat.release_name()


def _insert_helpers() -> tuple[Any, ...]:
    """Airflow's helpers a lean insert calls (an ImportError means: not this Airflow)."""
    from airflow._shared.observability.metrics import stats
    from airflow._shared.observability.traces import (
        TASK_SPAN_DETAIL_LEVEL_KEY,
        new_dagrun_trace_carrier,
        new_task_run_carrier,
    )
    from airflow._shared.timezones import timezone
    from airflow.models.dagrun import dagrun_trace_attributes

    return (
        stats,
        TASK_SPAN_DETAIL_LEVEL_KEY,
        new_dagrun_trace_carrier,
        new_task_run_carrier,
        timezone,
        dagrun_trace_attributes,
    )


def _why_not_lean(dag: Any, session: Session) -> str | None:
    """None if the lean path writes exactly what Airflow would for this DAG, else why not."""
    release = airflow_release()
    if release not in PROVEN_RELEASES:
        return f"the lean insert is proven on Airflow {', '.join(PROVEN_RELEASES)}, not {release}"
    try:
        from airflow.exceptions import NotMapped
        from airflow.models.dagrun import DagRun
        from airflow.serialization.definitions.mappedoperator import get_mapped_ti_count
        from airflow.settings import task_instance_mutation_hook
        from airflow.task.priority_strategy import (
            _AbsolutePriorityWeightStrategy,
            _DownstreamPriorityWeightStrategy,
            _UpstreamPriorityWeightStrategy,
            validate_and_load_priority_weight_strategy,
        )

        _insert_helpers()
    except ImportError as exc:  # another Airflow release: use its own path
        return f"this Airflow lacks {exc.name or 'a helper'}"
    columns = set(DagRun.__table__.c.keys())
    missing = _RUN_COLUMNS - columns
    if missing or not hasattr(dag.timetable, "resolve_partition_date"):
        return f"this Airflow's dag_run differs ({', '.join(sorted(missing)) or 'partitions'})"
    unknown = columns - _RUN_COLUMNS - _RUN_DEFAULTED
    if unknown:  # Airflow's trigger may set them: a lean row would leave them to defaults
        names = ", ".join(sorted(unknown))
        return f"this Airflow's dag_run has columns the lean insert does not write ({names})"
    builtin_weights = (
        _AbsolutePriorityWeightStrategy,
        _DownstreamPriorityWeightStrategy,
        _UpstreamPriorityWeightStrategy,
    )
    if not getattr(task_instance_mutation_hook, "is_noop", False):
        return "a task_instance_mutation_hook is set"
    if getattr(dag, "deadline", None):
        return "the DAG has deadline alerts"
    for task in dag.task_dict.values():
        try:
            get_mapped_ti_count(task, _PLACEHOLDER_RUN_ID, session=session)
        except NotMapped:
            pass
        except Exception:  # NotFullyPopulated and friends: mapped all the same
            return f"task {task.task_id!r} is mapped"
        else:
            return f"task {task.task_id!r} is mapped"
        config = task.executor_config
        if isinstance(config, dict) and "pod_override" in config:
            # Airflow's column type serializes a pod before pickling it (_pickled_once)
            return f"task {task.task_id!r} has a pod_override"
        weight_rule = task.weight_rule
        if not hasattr(weight_rule, "get_weight"):  # a name, as insert_mapping also accepts
            weight_rule = validate_and_load_priority_weight_strategy(weight_rule)
        if not isinstance(weight_rule, builtin_weights):
            return f"task {task.task_id!r} has a custom priority weight strategy"
    return None


def _run_constants(dag: Any, version_id: Any) -> dict[str, object]:
    """The ``dag_run`` values every manual run of a DAG version shares (:meth:`RunFactory.prepare`
    gives the rest)."""
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    return {
        "dag_id": dag.dag_id,
        "logical_date": None,
        "start_date": None,
        "state": DagRunState.QUEUED.value,
        "run_type": DagRunType.MANUAL.value,
        "creating_job_id": None,
        "triggered_by": DagRunTriggeredByType.REST_API,
        "triggering_user_name": None,
        "data_interval_start": None,
        "data_interval_end": None,
        "clear_number": 0,
        "backfill_id": None,
        "scheduled_by_job_id": None,
        "created_dag_version_id": version_id,
        "partition_key": None,
    }


def _ti_rows(dag: Any, version_id: Any) -> tuple[tuple[dict[str, Any], ...], tuple[tuple[str, int], ...]]:
    """Airflow's own ``insert_mapping`` per task, computed once per version."""
    from airflow.models.taskinstance import TaskInstance

    rows = []
    counts: dict[str, int] = {}
    placeholder = SimpleNamespace(context_carrier=None)
    for task in dag.task_dict.values():
        row = TaskInstance.insert_mapping(
            _PLACEHOLDER_RUN_ID,
            task,
            map_index=-1,
            dag_version_id=version_id,
            dag_run=placeholder,  # type: ignore[arg-type]  # only its context_carrier is read
        )
        del row["run_id"], row["context_carrier"]
        rows.append(row)
        counts[task.task_type] = counts.get(task.task_type, 0) + 1
    return tuple(rows), tuple(counts.items())


def _by_column_name(rows: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
    """``insert_mapping``'s rows (keyed by mapper attribute) keyed by column, for a Core insert.

    A key that is no mapped column (``run_as_user`` in Airflow 3.3) is left out, as the
    ORM's bulk insert leaves it out.
    """
    from airflow.models.taskinstance import TaskInstance

    attrs = TaskInstance.__mapper__.column_attrs
    return tuple(
        {attrs[key].columns[0].key: value for key, value in row.items() if key in attrs} for row in rows
    )


def _pickled_once(rows: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
    """Column-keyed rows with ``executor_config`` pickled as Airflow's column type pickles
    it (``ExecutorConfigType``: its pickler, dill, at its protocol), once per version rather
    than once per task instance written. That type treats only a ``pod_override`` apart,
    and a DAG with one is not lean (:func:`_why_not_lean`)."""
    from airflow.models.taskinstance import TaskInstance

    column_type = TaskInstance.__table__.c.executor_config.type
    pickled = []
    for row in rows:
        config = row["executor_config"]
        pickled.append(
            {
                **row,
                "executor_config": None
                if config is None
                else column_type.pickler.dumps(config, column_type.protocol),
            }
        )
    return tuple(pickled)


def _unknown_ti_attributes(rows: tuple[dict[str, Any], ...]) -> set[str]:
    """task_instance attributes that neither insert_mapping writes nor are known defaults."""
    from airflow.models.taskinstance import TaskInstance

    written = set(rows[0]) | {"run_id", "context_carrier"} if rows else set(_TI_DEFAULTED)
    return set(TaskInstance.__mapper__.column_attrs.keys()) - written - _TI_DEFAULTED


class _HashCheckedDagBag:
    """Airflow 3.3's ``DBDagBag.get_dag``, for 3.1 and 3.2 (see :mod:`version_compat`).

    Their bags keep the first DAG they read for a version forever, yet a version with no
    runs yet is rewritten in place. As 3.3's bag does, a cached DAG is served as is for
    ``[core] min_serialized_dag_update_interval`` (a version cannot be rewritten more often),
    then re-checked against the DB's ``dag_hash`` (one indexed single-column read).
    """

    def __init__(self) -> None:
        from airflow.configuration import conf

        self._dags: dict[Any, tuple[Any, str, float]] = {}  # version id -> (DAG, hash, checked at)
        self._interval = conf.getint("core", "min_serialized_dag_update_interval")
        self._lock = threading.Lock()

    def get_dag(self, version_id: Any, session: Session) -> Any:
        from airflow.models.serialized_dag import SerializedDagModel
        from sqlalchemy import select

        with self._lock:
            cached = self._dags.get(version_id)
        now = time.monotonic()
        if cached is not None and now - cached[2] < self._interval:
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
        self._bag: Any = DBDagBag(load_op_links=False) if fresh else _HashCheckedDagBag()
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
            why = _why_not_lean(dag, session)
            if why is None:
                rows, counts = _ti_rows(dag, latest.version_id)
                unknown = _unknown_ti_attributes(rows)
                if unknown:
                    names = ", ".join(sorted(unknown))
                    why = f"this Airflow's task_instance has columns the lean insert does not write ({names})"
                rows = _pickled_once(_by_column_name(rows))
                inserts = self._lean_inserts(session.get_bind().dialect, rows)
                lean = LeanRows(
                    inserts,
                    inserts.runs.template(_run_constants(dag, latest.version_id)),
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
            _insert_helpers()
        )
        dag = template.dag
        now = timezone.utcnow()
        identity = SimpleNamespace(dag_id=dag.dag_id, run_id=run_id, run_type=DagRunType.MANUAL)
        carrier = new_dagrun_trace_carrier(
            task_span_detail_level=conf.get(span_level_key),
            attributes=trace_attributes(identity),
        )
        # with _run_constants, every column of _RUN_COLUMNS (the row template checks it);
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

    def insert_run(
        self,
        template: RunTemplate,
        latest: LatestVersion,
        run_id: str,
        conf: dict[str, object],
        session: Session,
    ) -> int:
        """Insert one queued manual run and its task instances; return the ``dag_run`` id."""
        return insert_runs([self.prepare(template, latest, run_id, conf)], session)[0]


@dataclass(frozen=True)
class PreparedRun:
    """A lean run's rows, built and bound outside any transaction (:meth:`RunFactory.prepare`)."""

    dag_id: str
    run_id: str
    inserts: LeanInserts
    #: the ``dag_run`` row, bound by ``inserts.runs``
    run: BoundRow
    #: the task instances' rows, bound by ``inserts.task_instances``
    task_instances: tuple[BoundRow, ...]
    task_type_counts: tuple[tuple[str, int], ...]


def insert_runs(
    runs: Sequence[PreparedRun], session: Session | Connection | WriteBatch, *, keyed: bool = True
) -> list[int]:
    """Insert the runs and their task instances in the session's transaction, in two
    statements whatever their number (each a multi-row insert of rows bound beforehand:
    :mod:`bound_insert`); return the ``dag_run`` ids (with ``keyed=False``: zeros, and no
    statement's result is read, so a :class:`WriteBatch` sends both with what follows).

    The rows Airflow's ORM would write (the column defaults apply the same way); the unique
    key on (dag_id, run_id) stands in for Airflow's duplicate check (an ``IntegrityError``,
    which the caller turns into a retryable answer).
    """
    from airflow.utils.types import DagRunType
    from sqlalchemy.engine import Connection

    stats = _insert_helpers()[0]
    # a batch or a connection as given (BoundInsert.execute takes either); a session's connection
    batch = session if isinstance(session, WriteBatch | Connection) else session.connection()
    found: dict[tuple[str, str], int] = {}
    for inserts in {id(r.inserts): r.inserts for r in runs}.values():  # one, unless Airflow changed meanwhile
        mine = [r for r in runs if r.inserts is inserts]
        # RETURNING in any order: each id is matched to its run by its unique key
        for returned in inserts.runs.execute(batch, [r.run for r in mine], returned=keyed):
            found[(returned.dag_id, returned.run_id)] = int(returned.id)
        tis = [row for r in mine for row in r.task_instances]
        if tis and inserts.task_instances is not None:
            inserts.task_instances.execute(batch, tis)
    keys = [found[(r.dag_id, r.run_id)] if keyed else 0 for r in runs]
    for r in runs:
        for task_type, count in r.task_type_counts:
            stats.incr(
                "task_instance_created",
                count,
                tags={"dag_id": r.dag_id, "run_type": DagRunType.MANUAL, "task_type": task_type},
            )
    return keys
