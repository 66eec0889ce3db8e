"""The lean insert: a DAG version's ``dag_run`` and ``task_instance`` rows, built once with
Airflow's own helpers, and the statements that write them (:func:`insert_runs`).

:func:`why_not_lean` says where it would not write exactly what Airflow's ``_trigger_dag``
writes (those DAGs go through Airflow's path); ``tests/airflow_seam/test_run_factory.py``
compares the rows column by column against Airflow's own path.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from airflow_webhook_trigger.airflow_seam import version_compat
from airflow_webhook_trigger.storage.bound_insert import BoundInsert, BoundRow, RowTemplate
from airflow_webhook_trigger.storage.write_batch import WriteBatch

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Dialect
    from sqlalchemy.orm import Session

#: a run id used only to build the per-version task instance rows; never written. In the
#: format of :func:`runs.make_run_id` (``webhook__{handle}__...``, a handle of 16 hex
#: characters) so that what Airflow computes from it matches a real run's
_PLACEHOLDER_RUN_ID = "webhook__0000000000000000__template"


@dataclass(frozen=True)
class LeanRows:
    """A DAG version's ``dag_run`` and ``task_instance`` rows with what every run shares
    already bound (:meth:`bound_insert.BoundInsert.template`): a run binds only its own values.

    :param ti_rows: Airflow's task instance rows minus ``run_id`` and ``context_carrier``,
        keyed by column name, ``executor_config`` already pickled (:func:`pickled_once`):
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
            BoundInsert(DagRun.__table__, RUN_COLUMNS, dialect, returning=("id", "dag_id", "run_id")),
            # executor_config comes pickled (pickled_once): bound as the bytes it is
            BoundInsert(TaskInstance.__table__, ti_keys, dialect, types={"executor_config": LargeBinary()})
            if ti_keys
            else None,
        )


#: the dag_run columns a lean insert writes (the rest take their column defaults)
RUN_COLUMNS = frozenset(
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
RUN_DEFAULTED = frozenset(
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
TI_DEFAULTED = frozenset(
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


def insert_helpers() -> tuple[Any, ...]:
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


def why_not_lean(dag: Any, session: Session) -> str | None:
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

        insert_helpers()
    except ImportError as exc:  # another Airflow release: use its own path
        return f"this Airflow lacks {exc.name or 'a helper'}"
    columns = set(DagRun.__table__.c.keys())
    missing = RUN_COLUMNS - columns
    if missing or not hasattr(dag.timetable, "resolve_partition_date"):
        return f"this Airflow's dag_run differs ({', '.join(sorted(missing)) or 'partitions'})"
    unknown = columns - RUN_COLUMNS - RUN_DEFAULTED
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
            # Airflow's column type serializes a pod before pickling it (pickled_once)
            return f"task {task.task_id!r} has a pod_override"
        weight_rule = task.weight_rule
        if not hasattr(weight_rule, "get_weight"):  # a name, as insert_mapping also accepts
            weight_rule = validate_and_load_priority_weight_strategy(weight_rule)
        if not isinstance(weight_rule, builtin_weights):
            return f"task {task.task_id!r} has a custom priority weight strategy"
    return None


def run_constants(dag: Any, version_id: Any) -> dict[str, object]:
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


def ti_rows(dag: Any, version_id: Any) -> tuple[tuple[dict[str, Any], ...], tuple[tuple[str, int], ...]]:
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


def by_column_name(rows: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
    """``insert_mapping``'s rows (keyed by mapper attribute) keyed by column, for a Core insert.

    A key that is no mapped column (``run_as_user`` in Airflow 3.3) is left out, as the
    ORM's bulk insert leaves it out.
    """
    from airflow.models.taskinstance import TaskInstance

    attrs = TaskInstance.__mapper__.column_attrs
    return tuple(
        {attrs[key].columns[0].key: value for key, value in row.items() if key in attrs} for row in rows
    )


def pickled_once(rows: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
    """Column-keyed rows with ``executor_config`` pickled as Airflow's column type pickles
    it (``ExecutorConfigType``: its pickler, dill, at its protocol), once per version rather
    than once per task instance written. That type treats only a ``pod_override`` apart,
    and a DAG with one is not lean (:func:`why_not_lean`)."""
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


def unknown_ti_attributes(rows: tuple[dict[str, Any], ...]) -> set[str]:
    """task_instance attributes that neither insert_mapping writes nor are known defaults."""
    from airflow.models.taskinstance import TaskInstance

    written = set(rows[0]) | {"run_id", "context_carrier"} if rows else set(TI_DEFAULTED)
    return set(TaskInstance.__mapper__.column_attrs.keys()) - written - TI_DEFAULTED


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
    runs: Sequence[PreparedRun], session: Session | Connection | WriteBatch, *, read_back: bool = True
) -> list[int]:
    """Insert the runs and their task instances in the session's transaction, in two
    statements whatever their number (each a multi-row insert of rows bound beforehand:
    :mod:`bound_insert`); return the ``dag_run`` ids (with ``read_back=False``: zeros, and no
    statement's result is read, so a :class:`WriteBatch` sends both with what follows).

    The rows Airflow's ORM would write (the column defaults apply the same way); the unique
    key on (dag_id, run_id) stands in for Airflow's duplicate check (an ``IntegrityError``,
    which the caller turns into a retryable answer).
    """
    from airflow.utils.types import DagRunType
    from sqlalchemy.engine import Connection

    stats = insert_helpers()[0]
    # a batch or a connection as given (BoundInsert.execute takes either); a session's connection
    batch = session if isinstance(session, WriteBatch | Connection) else session.connection()
    found: dict[tuple[str, str], int] = {}
    for inserts in {id(r.inserts): r.inserts for r in runs}.values():  # one, unless Airflow changed meanwhile
        mine = [r for r in runs if r.inserts is inserts]
        # RETURNING in any order: each id is matched to its run by its unique key
        for returned in inserts.runs.execute(batch, [r.run for r in mine], returned=read_back):
            found[(returned.dag_id, returned.run_id)] = int(returned.id)
        tis = [row for r in mine for row in r.task_instances]
        if tis and inserts.task_instances is not None:
            inserts.task_instances.execute(batch, tis)
    row_ids = [found[(r.dag_id, r.run_id)] if read_back else 0 for r in runs]
    for r in runs:
        for task_type, count in r.task_type_counts:
            stats.incr(
                "task_instance_created",
                count,
                tags={"dag_id": r.dag_id, "run_type": DagRunType.MANUAL, "task_type": task_type},
            )
    return row_ids
