"""The lean run insert writes what Airflow's own trigger path writes, row for row.

Each DAG is triggered twice with the same conf, once through Airflow's ``_trigger_dag``
and once through :func:`lean_insert.insert_runs`; every table's row count must change
the same way, and the ``dag_run`` and ``task_instance`` rows must match column by
column (except ids, timestamps and the per-run trace carriers).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration import refusing_manual_runs

pytestmark = pytest.mark.airflow


def _lean_proven() -> bool:
    from airflow_webhook_trigger.airflow_seam.lean_insert import PROVEN_RELEASES, airflow_release

    return airflow_release() in PROVEN_RELEASES


#: tests of the lean insert itself: on a release it is not proven on, Airflow's own path is
#: used instead (test_an_unproven_release_uses_airflows_path_for_every_dag covers that)
lean_only = pytest.mark.skipif(
    not _lean_proven(), reason="the lean insert is not proven on this Airflow release; its own path is used"
)


CONFS: dict[str, dict[str, object]] = {
    "payment_callback": {"amount": 1250, "currency": "USD", "headers": {"x-request-id": "r1"}},
    "github_push": {"repository": "octo/repo", "body": {"ref": "refs/heads/main"}},
    "order_validation": {"order_id": "A-1", "sku": "SKU-1", "quantity": 2},
    "wt_params": {"amount": 3},
    "wt_plain": {"webhook": {"id": "x", "mode": "async", "received_at": "2026-11-27T00:00:00+00:00"}},
    "wt_sync_fail": {},
    "wt_sync_noresponse": {},
    "wt_sync_two": {},
    "wt_sync_slow": {},
    "wt_shapes": {"nested": {"list": [1, 2, {"k": None}], "unicode": "é€😀"}},
    "wt_mapped": {},
}

#: columns that differ between any two runs by design
RUN_VARYING = {"id", "run_id", "queued_at", "run_after", "created_at", "updated_at", "context_carrier"}
TI_VARYING = {"id", "run_id", "context_carrier", "updated_at"}
_counter = itertools.count()


@pytest.fixture
def factory(airflow_db: None) -> Any:
    from airflow_webhook_trigger.airflow_seam.run_factory import RunFactory

    return RunFactory()


def _template(factory: Any, dag_id: str) -> tuple[Any, Any]:
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.airflow_seam.run_factory import latest_version

    with db_session() as session:
        latest = latest_version(dag_id, session)
        assert latest is not None
        template = factory.template(latest, session)
        assert template is not None
    return latest, template


def _counts() -> dict[str, int]:
    from airflow.models.base import Base
    from sqlalchemy import func, select

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session

    with db_session() as session:
        return {
            table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


def _diff(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in after if after[name] != before.get(name)}


def _rows(dag_id: str, run_id: str) -> tuple[dict[str, Any], dict[tuple[str, int], dict[str, Any]]]:
    from airflow.models import DagRun, TaskInstance
    from sqlalchemy import select

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session

    runs, tis = DagRun.__table__, TaskInstance.__table__
    with db_session() as session:
        run = session.execute(select(runs).where(runs.c.dag_id == dag_id, runs.c.run_id == run_id)).one()
        ti_rows = session.execute(select(tis).where(tis.c.dag_id == dag_id, tis.c.run_id == run_id)).all()
    return dict(run._mapping), {(r.task_id, r.map_index): dict(r._mapping) for r in ti_rows}


def _pickled_configs(dag_id: str, run_id: str) -> dict[str, bytes | None]:
    """Each task instance's ``executor_config`` as stored: the pickle's bytes, not its value."""
    from airflow.models import TaskInstance
    from sqlalchemy import LargeBinary, select, type_coerce

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session

    tis = TaskInstance.__table__
    raw = type_coerce(tis.c.executor_config, LargeBinary)
    with db_session() as session:
        query = select(tis.c.task_id, raw).where(tis.c.dag_id == dag_id, tis.c.run_id == run_id)
        rows = session.execute(query)
        return {task_id: None if value is None else bytes(value) for task_id, value in rows}


@pytest.fixture
def cleanup() -> Iterator[list[tuple[str, str]]]:
    created: list[tuple[str, str]] = []
    yield created
    from airflow.models import DagRun, TaskInstance
    from sqlalchemy import delete

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session

    # queued runs of unpaused DAGs would otherwise be run by the e2e tests' scheduler
    with db_session() as session:
        for dag_id, run_id in created:
            tis, runs = TaskInstance.__table__, DagRun.__table__
            session.execute(delete(tis).where(tis.c.dag_id == dag_id, tis.c.run_id == run_id))
            session.execute(delete(runs).where(runs.c.dag_id == dag_id, runs.c.run_id == run_id))


@pytest.mark.parametrize("dag_id", sorted(set(CONFS) - {"wt_mapped"}))
@lean_only
def test_lean_insert_writes_what_airflow_writes(factory: Any, cleanup: list[Any], dag_id: str) -> None:
    from airflow_webhook_trigger.airflow_seam.lean_insert import insert_runs
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.airflow_seam.run_gateway import airflow_trigger

    latest, template = _template(factory, dag_id)
    assert template.why_not_lean is None
    conf = CONFS[dag_id]
    n = next(_counter)
    theirs, ours = f"webhook__eq-airflow__{n}", f"webhook__eq-lean__{n}"
    cleanup.extend([(dag_id, theirs), (dag_id, ours)])

    before = _counts()
    with db_session() as session:
        airflow_trigger(template.dag, theirs, dict(conf), session)
    middle = _counts()
    with db_session() as session:
        key = insert_runs([factory.prepare(template, latest, ours, dict(conf))], session)[0]
    after = _counts()

    assert _diff(before, middle) == _diff(middle, after)
    assert _diff(middle, after)["dag_run"] == 1
    assert _diff(middle, after)["task_instance"] == len(template.dag.task_dict)

    run_a, tis_a = _rows(dag_id, theirs)
    run_b, tis_b = _rows(dag_id, ours)
    assert run_b["id"] == key
    assert {k: v for k, v in run_b.items() if k not in RUN_VARYING} == {
        k: v for k, v in run_a.items() if k not in RUN_VARYING
    }
    assert run_b["conf"] == conf
    assert set(run_b["context_carrier"]) == set(run_a["context_carrier"]) == {"traceparent"}
    assert run_b["context_carrier"] != run_a["context_carrier"]
    assert tis_a.keys() == tis_b.keys()
    for task in tis_a:
        assert {k: v for k, v in tis_b[task].items() if k not in TI_VARYING} == {
            k: v for k, v in tis_a[task].items() if k not in TI_VARYING
        }, task
        # each task's trace span hangs off its own run's trace
        assert (
            tis_b[task]["context_carrier"]["traceparent"].split("-")[1]
            == (run_b["context_carrier"]["traceparent"].split("-")[1])
        )
    # executor_config is pickled once per DAG version, to the very bytes Airflow writes
    assert _pickled_configs(dag_id, ours) == _pickled_configs(dag_id, theirs)


def _same_rows(dag_id: str, theirs: str, ours: str, key: int) -> None:
    run_a, tis_a = _rows(dag_id, theirs)
    run_b, tis_b = _rows(dag_id, ours)
    assert run_b["id"] == key
    assert {k: v for k, v in run_b.items() if k not in RUN_VARYING} == {
        k: v for k, v in run_a.items() if k not in RUN_VARYING
    }
    assert tis_a.keys() == tis_b.keys()
    for task in tis_a:
        assert {k: v for k, v in tis_b[task].items() if k not in TI_VARYING} == {
            k: v for k, v in tis_a[task].items() if k not in TI_VARYING
        }, task
    assert _pickled_configs(dag_id, ours) == _pickled_configs(dag_id, theirs)


@lean_only
def test_a_group_of_lean_runs_writes_what_airflow_writes_for_each(factory: Any, cleanup: list[Any]) -> None:
    """Group commit: several runs of several DAGs in one transaction, two statements."""
    from sqlalchemy import event

    from airflow_webhook_trigger.airflow_seam.lean_insert import insert_runs
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.airflow_seam.run_gateway import airflow_trigger

    dag_ids = ["payment_callback", "order_validation", "payment_callback", "wt_shapes"]
    templates = {d: _template(factory, d) for d in set(dag_ids)}
    n = next(_counter)
    names = [
        (d, f"webhook__grp-airflow__{n}_{i}", f"webhook__grp-lean__{n}_{i}") for i, d in enumerate(dag_ids)
    ]
    cleanup.extend([(d, x) for d, a, b in names for x in (a, b)])

    before = _counts()
    for dag_id, theirs, _ in names:
        with db_session() as session:
            airflow_trigger(templates[dag_id][1].dag, theirs, dict(CONFS[dag_id]), session)
    middle = _counts()
    prepared = [
        factory.prepare(templates[d][1], templates[d][0], ours, dict(CONFS[d])) for d, _, ours in names
    ]
    statements: list[str] = []
    with db_session() as session:
        listen = session.get_bind()
        mine = session.connection()

        def count(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            # this session's statements only: a runtime's background writer (the delivery
            # record's flush and pruning) may use the engine meanwhile
            if conn is mine:
                statements.append(statement.split()[0])

        event.listen(listen, "before_cursor_execute", count)
        try:
            keys = insert_runs(prepared, session)
        finally:
            event.remove(listen, "before_cursor_execute", count)
    after = _counts()

    assert _diff(before, middle) == _diff(middle, after)
    assert statements == ["INSERT", "INSERT"]  # dag_run, then task_instance: one statement each
    assert len(set(keys)) == len(names)
    for (dag_id, theirs, ours), key in zip(names, keys, strict=True):
        _same_rows(dag_id, theirs, ours, key)


@lean_only
def test_template_is_built_once_per_version(factory: Any) -> None:
    _, first = _template(factory, "wt_shapes")
    _, again = _template(factory, "wt_shapes")
    assert again is first
    factory.bag.clear_cache()  # as when Airflow's bag finds the version rewritten in place
    _, rebuilt = _template(factory, "wt_shapes")
    assert rebuilt is not first and rebuilt.dag is not first.dag
    assert rebuilt.ti_rows == first.ti_rows
    assert [row["task_id"] for row in first.ti_rows] == list(first.dag.task_dict)
    weights = {row["task_id"]: row["priority_weight"] for row in first.ti_rows}
    assert weights["start"] == 7  # absolute
    assert {row["queue"] for row in first.ti_rows} == {"webhooks"}


@lean_only
def test_mapped_dag_goes_through_airflows_path(factory: Any) -> None:
    _, template = _template(factory, "wt_mapped")
    assert template.ti_rows is None
    assert template.why_not_lean == "task 'double' is mapped"


@refusing_manual_runs
def test_latest_version_reads_allowed_run_types(factory: Any) -> None:
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.airflow_seam.run_factory import latest_version

    with db_session() as session:
        refusing = latest_version("wt_scheduled_only", session)
        plain = latest_version("wt_plain", session)
        missing = latest_version("no_such_dag", session)
    assert refusing is not None and not refusing.allows_manual_runs
    assert plain is not None and plain.allows_manual_runs and plain.allowed_run_types is None
    assert missing is None


@lean_only
def test_duplicate_run_id_is_an_integrity_error(factory: Any, cleanup: list[Any]) -> None:
    from sqlalchemy.exc import IntegrityError

    from airflow_webhook_trigger.airflow_seam.lean_insert import insert_runs
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session

    latest, template = _template(factory, "wt_plain")
    cleanup.append(("wt_plain", "webhook__eq-dup__1"))
    with db_session() as session:
        insert_runs([factory.prepare(template, latest, "webhook__eq-dup__1", {})], session)
    with pytest.raises(IntegrityError), db_session() as session:
        insert_runs([factory.prepare(template, latest, "webhook__eq-dup__1", {})], session)


@lean_only
def test_a_pod_override_goes_through_airflows_path(factory: Any, monkeypatch: Any) -> None:
    """Airflow's column type serializes a pod before pickling: not what the lean insert pickles."""
    from airflow_webhook_trigger.airflow_seam.lean_insert import why_not_lean
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session

    _, template = _template(factory, "wt_shapes")
    assert template.why_not_lean is None
    task = template.dag.task_dict["group.right"]
    monkeypatch.setattr(task, "executor_config", {"pod_override": "a pod", "k": 1})
    with db_session() as session:
        assert why_not_lean(template.dag, session) == "task 'group.right' has a pod_override"


@lean_only
def test_an_airflow_whose_dag_run_differs_keeps_airflows_path(factory: Any, monkeypatch: Any) -> None:
    import airflow_webhook_trigger.airflow_seam.lean_insert as lean

    monkeypatch.setattr(lean, "RUN_COLUMNS", lean.RUN_COLUMNS | {"column_of_another_release"})
    _, template = _template(factory, "wt_plain")
    assert template.ti_rows is None
    assert template.why_not_lean == "this Airflow's dag_run differs (column_of_another_release)"


@lean_only
def test_an_airflow_without_the_helpers_keeps_airflows_path(factory: Any, monkeypatch: Any) -> None:
    import airflow_webhook_trigger.airflow_seam.lean_insert as lean

    def missing() -> None:
        raise ImportError("no such module", name="airflow._shared.observability.traces")

    monkeypatch.setattr(lean, "insert_helpers", missing)
    _, template = _template(factory, "wt_plain")
    assert template.why_not_lean == "this Airflow lacks airflow._shared.observability.traces"


# -- the lean insert, gated: every fallback keeps Airflow's own path -----------------------


def test_an_unproven_airflow_release_keeps_airflows_path(factory: Any, monkeypatch: Any) -> None:
    import airflow_webhook_trigger.airflow_seam.lean_insert as lean

    monkeypatch.setattr(lean, "airflow_release", lambda: "3.4")
    _, template = _template(factory, "wt_plain")
    assert template.ti_rows is None
    assert template.why_not_lean == "the lean insert is proven on Airflow 3.3, not 3.4"


def test_the_dev_release_is_a_proven_one() -> None:
    from airflow_webhook_trigger.airflow_seam.lean_insert import airflow_release

    # the release the dev extra pins is the one this file's row-by-row comparison proves
    if airflow_release() == "3.3":
        assert _lean_proven()


@pytest.mark.skipif(_lean_proven(), reason="the lean insert is proven on this release")
def test_an_unproven_release_uses_airflows_path_for_every_dag(factory: Any) -> None:
    from airflow_webhook_trigger.airflow_seam.lean_insert import airflow_release

    for dag_id in sorted(CONFS):
        _, template = _template(factory, dag_id)
        assert template.ti_rows is None, dag_id
        assert template.why_not_lean.endswith(f"not {airflow_release()}"), dag_id


@lean_only
def test_any_exception_while_preparing_keeps_airflows_path_logged_once(
    factory: Any, monkeypatch: Any, caplog: Any
) -> None:
    import logging

    import airflow_webhook_trigger.airflow_seam.lean_insert as lean

    def changed_signature(dag: Any, version_id: Any) -> Any:
        raise TypeError("insert_mapping() got an unexpected keyword argument 'dag_run'")

    monkeypatch.setattr(lean, "ti_rows", changed_signature)
    with caplog.at_level(logging.INFO, logger="airflow_webhook_trigger.airflow_seam.run_factory"):
        _, template = _template(factory, "wt_plain")
        _template(factory, "wt_plain")
    assert template.ti_rows is None
    assert template.why_not_lean == (
        "preparing the lean insert failed "
        "(TypeError: insert_mapping() got an unexpected keyword argument 'dag_run')"
    )
    assert caplog.text.count("runs go through Airflow's trigger path") == 1


@lean_only
def test_an_unknown_dag_run_column_keeps_airflows_path(factory: Any, monkeypatch: Any) -> None:
    import airflow_webhook_trigger.airflow_seam.lean_insert as lean

    monkeypatch.setattr(lean, "RUN_DEFAULTED", lean.RUN_DEFAULTED - {"last_scheduling_decision"})
    _, template = _template(factory, "wt_plain")
    assert template.why_not_lean == (
        "this Airflow's dag_run has columns the lean insert does not write (last_scheduling_decision)"
    )


@lean_only
def test_an_unknown_task_instance_column_keeps_airflows_path(factory: Any, monkeypatch: Any) -> None:
    import airflow_webhook_trigger.airflow_seam.lean_insert as lean

    monkeypatch.setattr(lean, "TI_DEFAULTED", lean.TI_DEFAULTED - {"pid"})
    _, template = _template(factory, "wt_plain")
    assert (
        template.why_not_lean
        == "this Airflow's task_instance has columns the lean insert does not write (pid)"
    )


def test_a_fallback_template_still_starts_the_run(monkeypatch: Any, airflow_db: None) -> None:
    import airflow_webhook_trigger.airflow_seam.lean_insert as lean
    from airflow_webhook_trigger.airflow_seam.run_gateway import AirflowRunGateway
    from airflow_webhook_trigger.core.runs import RunOrder
    from airflow_webhook_trigger.core.settings import Settings
    from tests.integration import runs_of

    monkeypatch.setattr(lean, "airflow_release", lambda: "3.0")
    order = RunOrder("wt_plain", "webhook__gate-fallback__1", {"x": 1})
    run = AirflowRunGateway(Settings()).trigger(order)
    [stored] = [r for r in runs_of("wt_plain") if r.run_id == run.run_id]
    assert (stored.id, stored.conf, stored.run_type) == (run.row_id, {"x": 1}, "manual")


def test_the_package_has_no_assert_statements() -> None:
    """Runtime checks must hold under ``python -O``."""
    import ast
    from pathlib import Path

    import airflow_webhook_trigger

    package = Path(airflow_webhook_trigger.__file__).parent
    found = [
        f"{path.name}:{node.lineno}"
        for path in package.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assert)
    ]
    assert found == []


def test_hash_checked_bag_rereads_a_version_rewritten_in_place(airflow_db: None) -> None:
    """Airflow 3.1 and 3.2's stand-in for 3.3's DBDagBag.get_dag (airflow_version)."""
    from airflow.models.serialized_dag import SerializedDagModel
    from sqlalchemy import select, update

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.airflow_seam.run_factory import HashCheckedDagBag, latest_version

    clock = [1000.0]
    bag = HashCheckedDagBag(clock=lambda: clock[0])
    with db_session() as session:
        latest = latest_version("wt_plain", session)
        assert latest is not None
        first = bag.get_dag(latest.version_id, session)
        assert first is not None and first.dag_id == "wt_plain"
        assert bag.get_dag(latest.version_id, session) is first  # cached
        where = SerializedDagModel.dag_version_id == latest.version_id
        real_hash = session.scalar(select(SerializedDagModel.dag_hash).where(where))
        session.execute(update(SerializedDagModel).where(where).values(dag_hash="rewritten"))
        assert bag.get_dag(latest.version_id, session) is first  # within the interval: not re-checked
        clock[0] += bag.interval + 1
        reread = bag.get_dag(latest.version_id, session)
        assert reread is not first and reread.dag_id == "wt_plain"
        clock[0] += bag.interval + 1
        assert bag.get_dag(latest.version_id, session) is reread  # same hash: kept
        session.execute(update(SerializedDagModel).where(where).values(dag_hash=real_hash))
        bag.clear_cache()
        assert bag.get_dag(latest.version_id, session) is not reread
        assert bag.get_dag(uuid.UUID(int=0), session) is None


def test_run_factory_bag_by_release() -> None:
    from airflow.models.dagbag import DBDagBag

    from airflow_webhook_trigger.airflow_seam import run_factory as airflow_runs
    from airflow_webhook_trigger.airflow_seam import version_compat as airflow_version

    bag = airflow_runs.RunFactory().bag
    if airflow_version.release() >= (3, 3):
        assert type(bag) is DBDagBag
    else:
        assert type(bag) is airflow_runs.HashCheckedDagBag
