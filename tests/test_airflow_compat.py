"""The Airflow side for real: the trigger path, param errors, and 503 when the DB cannot take a run."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_webhook_trigger.config import Settings
from airflow_webhook_trigger.errors import Conflict, NotFound, ServiceUnavailable, UnprocessableEntity
from tests.integration import refusing_manual_runs, runs_of

pytestmark = pytest.mark.airflow


@pytest.fixture
def gateway(airflow_db: None) -> Any:
    from airflow_webhook_trigger.airflow_compat import AirflowRunGateway

    return AirflowRunGateway(
        Settings(db_lock_timeout_seconds=1.0, trigger_slot_wait_seconds=0.05, max_concurrent_triggers=1)
    )


def test_gateway_trigger_creates_queued_manual_run_with_conf(gateway: Any) -> None:
    run = gateway.trigger("wt_params", "webhook__gw-test-000001__1", {"amount": 3, "extra": [1]})
    [stored] = [r for r in runs_of("wt_params") if r.run_id == run.run_id]
    assert stored.conf == {"amount": 3, "extra": [1]}
    assert stored.state == "queued"
    assert stored.logical_date is None
    assert stored.triggered_by.value == "rest_api"


def test_gateway_trigger_reuses_deserialized_dag_per_version(gateway: Any) -> None:
    gateway.trigger("wt_params", "webhook__gw-cache-00001__1", {"amount": 1})
    cached = dict(gateway._runs.bag._dags)
    gateway.trigger("wt_params", "webhook__gw-cache-00001__2", {"amount": 2})
    assert len(cached) == 1
    assert gateway._runs.bag._dags.keys() == cached.keys()


@pytest.mark.parametrize(
    ("conf", "param", "reason"),
    [
        ({}, "amount", "is required"),
        ({"amount": "7"}, "amount", "is not of type 'integer'"),
        ({"amount": 0}, "amount", "minimum"),
        ({"amount": 5, "currency": "JPY"}, "currency", "is not one of"),
    ],
)
def test_gateway_trigger_invalid_params_is_422_naming_param(
    gateway: Any, conf: dict[str, object], param: str, reason: str
) -> None:
    before = len(runs_of("wt_params"))
    with pytest.raises(UnprocessableEntity) as info:
        gateway.trigger("wt_params", "webhook__gw-param-00001__1", conf)
    assert info.value.extra == {"param": param}
    assert reason in info.value.detail
    assert len(runs_of("wt_params")) == before


def test_gateway_trigger_unknown_dag_is_404(gateway: Any) -> None:
    with pytest.raises(NotFound):
        gateway.trigger("no_such_dag", "webhook__x__1", {})


def test_gateway_no_free_slot_is_503_with_retry_after(gateway: Any) -> None:
    assert gateway._slots.acquire(timeout=1)
    try:
        with pytest.raises(ServiceUnavailable) as info:
            gateway.trigger("wt_params", "webhook__gw-slot-000001__1", {"amount": 1})
    finally:
        gateway._slots.release()
    assert info.value.headers == {"Retry-After": "5"}


@refusing_manual_runs
def test_gateway_trigger_dag_refusing_manual_runs_is_409(gateway: Any) -> None:
    before = len(runs_of("wt_scheduled_only"))
    with pytest.raises(Conflict) as info:
        gateway.trigger("wt_scheduled_only", "webhook__gw-refuse-0001__1", {})
    assert info.value.detail == "DAG 'wt_scheduled_only' does not allow manual runs"
    assert len(runs_of("wt_scheduled_only")) == before


def _lean_proven() -> bool:
    from airflow_webhook_trigger.airflow_runs import PROVEN_RELEASES, airflow_release

    return airflow_release() in PROVEN_RELEASES


@pytest.mark.skipif(not _lean_proven(), reason="the lean insert is not proven on this Airflow release")
def test_gateway_trigger_uses_the_lean_insert_for_plain_dags(gateway: Any, monkeypatch: Any) -> None:
    import airflow_webhook_trigger.airflow_compat as compat

    def not_expected(*args: object, **kwargs: object) -> int:
        raise AssertionError("Airflow's trigger path was used")

    monkeypatch.setattr(compat, "_airflow_trigger", not_expected)
    run = gateway.trigger("wt_params", "webhook__gw-lean-000001__1", {"amount": 2})
    [stored] = [r for r in runs_of("wt_params") if r.run_id == run.run_id]
    assert (stored.id, stored.state, stored.conf) == (run.key, "queued", {"amount": 2})


def test_gateway_trigger_mapped_dag_goes_through_airflow_with_expanded_tasks(gateway: Any) -> None:
    from airflow.models import TaskInstance
    from sqlalchemy import select

    from airflow_webhook_trigger.airflow_compat import db_session

    run = gateway.trigger("wt_mapped", "webhook__gw-mapped-0001__1", {})
    with db_session() as session:
        indexes = session.scalars(
            select(TaskInstance.map_index).where(
                TaskInstance.dag_id == "wt_mapped", TaskInstance.run_id == run.run_id
            )
        ).all()
    assert sorted(indexes) == [0, 1, 2]


@pytest.fixture
def write_lock(airflow_db: None) -> Iterator[None]:
    """Hold the DB's write lock on dag_run from another connection (readers still pass)."""
    from airflow import settings

    url = settings.engine.url
    if url.get_backend_name() == "sqlite":
        import sqlite3

        conn = sqlite3.connect(url.database, isolation_level=None, check_same_thread=False)
        conn.execute("BEGIN IMMEDIATE")
    else:
        import psycopg2

        conn = psycopg2.connect(host=url.host, port=url.port or 5432, user=url.username, dbname=url.database)
        conn.cursor().execute("LOCK TABLE dag_run IN EXCLUSIVE MODE")
    try:
        yield
    finally:
        conn.rollback()
        conn.close()


@pytest.fixture
def lock_hook(store: Any) -> None:
    from airflow_webhook_trigger.registry import upsert

    upsert(store, {"id": "hook-lock-0000001", "dag_id": "wt_plain"}, env={})


def test_endpoint_db_locked_answers_503_and_starts_no_run(
    client: Any, lock_hook: None, write_lock: None
) -> None:
    results: dict[str, Any] = {}

    def post() -> None:
        results["fastapi"] = client.post("/webhook/trigger/hook-lock-0000001")

    worker = threading.Thread(target=post)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the request waited on the lock for more than 60 s"
    response = results["fastapi"]
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert response.json() == {"error": "the metadata database is busy or unavailable; retry later"}
    assert not [r for r in runs_of("wt_plain") if "hook-lock-0000001" in r.run_id]
