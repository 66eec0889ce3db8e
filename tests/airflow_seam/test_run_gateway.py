"""The Airflow side for real: the trigger path, param errors, and 503 when the DB cannot take a run."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from airflow_webhook_trigger.core.dedupe import DeliveryKey
from airflow_webhook_trigger.core.delivery import AcceptedDelivery, DeliveryRow
from airflow_webhook_trigger.core.errors import Conflict, NotFound, ServiceUnavailable, UnprocessableEntity
from airflow_webhook_trigger.core.runs import RunOrder
from airflow_webhook_trigger.core.settings import Settings
from tests.integration import refusing_manual_runs, runs_of

pytestmark = pytest.mark.airflow


@pytest.fixture
def gateway(airflow_db: None) -> Any:
    from airflow_webhook_trigger.airflow_seam.run_gateway import AirflowRunGateway

    return AirflowRunGateway(
        Settings(db_lock_timeout_seconds=1.0, trigger_slot_wait_seconds=0.05, max_concurrent_triggers=1)
    )


def test_gateway_trigger_creates_queued_manual_run_with_conf(gateway: Any) -> None:
    run = gateway.trigger(RunOrder("wt_params", "webhook__gw-test-000001__1", {"amount": 3, "extra": [1]}))
    [stored] = [r for r in runs_of("wt_params") if r.run_id == run.run_id]
    assert stored.conf == {"amount": 3, "extra": [1]}
    assert stored.state == "queued"
    assert stored.logical_date is None
    assert stored.triggered_by.value == "rest_api"


def test_gateway_trigger_reuses_deserialized_dag_per_version(gateway: Any) -> None:
    gateway.trigger(RunOrder("wt_params", "webhook__gw-cache-00001__1", {"amount": 1}))
    cached = dict(gateway._runs.bag._dags)
    gateway.trigger(RunOrder("wt_params", "webhook__gw-cache-00001__2", {"amount": 2}))
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
        gateway.trigger(RunOrder("wt_params", "webhook__gw-param-00001__1", conf))
    assert info.value.extra == {"param": param}
    assert reason in info.value.detail
    assert len(runs_of("wt_params")) == before


def test_gateway_trigger_unknown_dag_is_404(gateway: Any) -> None:
    with pytest.raises(NotFound):
        gateway.trigger(RunOrder("no_such_dag", "webhook__x__1", {}))


def test_gateway_no_free_slot_is_503_with_retry_after(gateway: Any) -> None:
    assert gateway._slots.acquire(timeout=1)
    try:
        with pytest.raises(ServiceUnavailable) as info:
            gateway.trigger(RunOrder("wt_params", "webhook__gw-slot-000001__1", {"amount": 1}))
    finally:
        gateway._slots.release()
    assert info.value.headers == {"Retry-After": "5"}


@refusing_manual_runs
def test_gateway_trigger_dag_refusing_manual_runs_is_409(gateway: Any) -> None:
    before = len(runs_of("wt_scheduled_only"))
    with pytest.raises(Conflict) as info:
        gateway.trigger(RunOrder("wt_scheduled_only", "webhook__gw-refuse-0001__1", {}))
    assert info.value.detail == "DAG 'wt_scheduled_only' does not allow manual runs"
    assert len(runs_of("wt_scheduled_only")) == before


def _lean_proven() -> bool:
    from airflow_webhook_trigger.airflow_seam.lean_insert import PROVEN_RELEASES, airflow_release

    return airflow_release() in PROVEN_RELEASES


@pytest.mark.skipif(not _lean_proven(), reason="the lean insert is not proven on this Airflow release")
def test_gateway_trigger_uses_the_lean_insert_for_plain_dags(airflow_db: None) -> None:
    def not_expected(*args: object, **kwargs: object) -> int:
        raise AssertionError("Airflow's trigger path was used")

    gateway = _gateway(_calls(trigger_dag=not_expected), max_concurrent_triggers=1)
    run = gateway.trigger(RunOrder("wt_params", "webhook__gw-lean-000001__1", {"amount": 2}))
    [stored] = [r for r in runs_of("wt_params") if r.run_id == run.run_id]
    assert (stored.id, stored.state, stored.conf) == (run.row_id, "queued", {"amount": 2})


def test_gateway_trigger_mapped_dag_goes_through_airflow_with_expanded_tasks(gateway: Any) -> None:
    from airflow.models import TaskInstance
    from sqlalchemy import select

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session

    run = gateway.trigger(RunOrder("wt_mapped", "webhook__gw-mapped-0001__1", {}))
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
    from airflow_webhook_trigger.storage.webhook_changes import upsert

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


# -- the accept path's speed: the DAG version cache and group commit -----------------------


def _statements(gateway: Any, run: Any) -> list[str]:
    """The SQL statements ``run()`` sends through the gateway's engine (first words)."""
    from sqlalchemy import event

    seen: list[str] = []
    engine = gateway._db.engine

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # a message of several statements (write_batch, on psycopg2): each of them
        seen.extend(" ".join(part.split()[:4]) for part in statement.split(";\n"))

    event.listen(engine, "before_cursor_execute", count)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return seen


def _gateway(airflow: Any = None, **settings: Any) -> Any:
    from airflow_webhook_trigger.airflow_seam.run_gateway import AirflowRunGateway

    return AirflowRunGateway(Settings(**{"trigger_slot_wait_seconds": 2.0, **settings}), airflow=airflow)


def _calls(**calls: Any) -> Any:
    """Airflow's calls, with ``calls`` in place of some."""
    from airflow_webhook_trigger.airflow_seam.run_gateway import AirflowCalls

    return AirflowCalls(**calls)


def _reads_the_version(statements: list[str]) -> bool:
    return any(s.startswith("SELECT dag_version.id") for s in statements)


@pytest.mark.skipif(not _lean_proven(), reason="the lean insert is not proven on this Airflow release")
def test_the_latest_dag_version_is_read_once_per_registry_cache_seconds(airflow_db: None) -> None:
    from airflow_webhook_trigger.airflow_seam.run_gateway import AirflowRunGateway

    now = [0.0]
    settings = Settings(registry_cache_seconds=5.0, trigger_slot_wait_seconds=2.0)
    gateway = AirflowRunGateway(settings, clock=lambda: now[0])
    first = _statements(
        gateway, lambda: gateway.trigger(RunOrder("wt_params", "webhook__gw-ver-000001__1", {"amount": 1}))
    )
    second = _statements(
        gateway, lambda: gateway.trigger(RunOrder("wt_params", "webhook__gw-ver-000001__2", {"amount": 1}))
    )
    now[0] = 5.0
    third = _statements(
        gateway, lambda: gateway.trigger(RunOrder("wt_params", "webhook__gw-ver-000001__3", {"amount": 1}))
    )
    assert _reads_the_version(first)
    assert not _reads_the_version(second)  # within the TTL: no read at all before the insert
    assert _reads_the_version(third)
    first_insert = next(i for i, s in enumerate(second) if s.startswith("INSERT INTO dag_run"))
    # before it, at most the connection's ping and PostgreSQL's BEGIN with its bounds: no read
    assert all(s.startswith(("SELECT 1", "BEGIN; SET LOCAL")) for s in second[:first_insert]), second


def test_registry_cache_seconds_zero_reads_the_version_on_every_run(airflow_db: None) -> None:
    gateway = _gateway(registry_cache_seconds=0)
    for i in range(2):
        seen = _statements(
            gateway,
            lambda i=i: gateway.trigger(RunOrder("wt_params", f"webhook__gw-ver-000002__{i}", {"amount": 1})),
        )
        assert _reads_the_version(seen)


def test_a_dag_not_found_is_not_cached(airflow_db: None) -> None:
    from airflow_webhook_trigger.airflow_seam.run_factory import latest_version

    reads: list[str] = []

    def counting(dag_id: str, session: Any) -> Any:
        reads.append(dag_id)
        return latest_version(dag_id, session)

    gateway = _gateway(_calls(latest_version=counting), registry_cache_seconds=60)
    for _ in range(2):
        with pytest.raises(NotFound):
            gateway.trigger(RunOrder("no_such_dag", "webhook__x__1", {}))
    assert reads == ["no_such_dag", "no_such_dag"]  # a DAG deployed meanwhile is found at once


class _SlowFirstGroup:
    """``insert_runs`` whose first call waits until ``waiting`` other writes queued behind it."""

    def __init__(self, waiting: int) -> None:
        from airflow_webhook_trigger.airflow_seam.lean_insert import insert_runs

        self.gateway: Any = None  # the gateway it writes for, once made
        self.waiting, self.real = waiting, insert_runs
        self.groups: list[list[str]] = []

    def __call__(self, runs: Any, session: Any, *, read_back: bool = True) -> list[int]:
        self.groups.append([r.run_id for r in runs])
        if len(self.groups) == 1:
            for _ in range(500):
                if len(self.gateway.writes._queue) >= self.waiting:
                    break
                threading.Event().wait(0.01)
        return list(self.real(runs, session, read_back=read_back))


@contextmanager
def _first_group_writing(gateway: Any, slow: _SlowFirstGroup, run_id: str) -> Iterator[None]:
    """A first trigger whose group is being written (and held) while the block runs."""
    first = threading.Thread(target=gateway.trigger, args=(RunOrder("wt_params", run_id, {"amount": 1}),))
    first.start()
    for _ in range(2000):  # at most 10 s: a first trigger that fails never writes a group
        if slow.groups or not first.is_alive():
            break
        threading.Event().wait(0.005)
    assert slow.groups, "the first trigger wrote no group"
    yield
    first.join(10)


def _delivery(run_id: str, webhook_id: str = "gw-group-000001") -> DeliveryRow:
    from datetime import datetime, timezone

    from airflow_webhook_trigger.core.delivery import new_delivery_id

    return DeliveryRow(
        id=new_delivery_id(),
        webhook_id=webhook_id,
        received_at=datetime.now(timezone.utc),
        outcome="accepted",
        status=200,
        dag_id="wt_params",
        run_id=run_id,
    )


def _accepted(row: DeliveryRow, claim: DeliveryKey | None = None) -> AcceptedDelivery:
    """The delivery stored with its run, claiming ``claim`` (which its row then names)."""
    from dataclasses import replace

    return AcceptedDelivery(row if claim is None else replace(row, delivery_key=claim.value), claim)


def _held_gateway(webhook_id: str, runs: int) -> tuple[Any, _SlowFirstGroup, list[str], Any]:
    """A gateway whose first group is held until the other ``runs - 1`` wait behind it, the
    run ids, and a delivery row per run id."""
    slow = _SlowFirstGroup(waiting=runs - 1)
    gateway = slow.gateway = _gateway(_calls(insert_runs=slow), max_concurrent_triggers=8)
    ids = [f"webhook__{webhook_id}__{i}" for i in range(runs)]
    return gateway, slow, ids, {r: _delivery(r, webhook_id) for r in ids}


def _concurrently(calls: list[Any]) -> list[Any]:
    got: list[Any] = [None] * len(calls)

    def one(i: int) -> None:
        try:
            got[i] = calls[i]()
        except Exception as exc:
            got[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return got


@pytest.mark.skipif(not _lean_proven(), reason="the lean insert is not proven on this Airflow release")
def test_concurrent_triggers_share_one_transaction_each_answered_once_committed(
    airflow_db: None,
) -> None:
    from airflow_webhook_trigger.storage.delivery_record import DeliveryLog

    gateway, slow, ids, rows = _held_gateway("gw-group-000001", 7)
    with _first_group_writing(gateway, slow, ids[0]):
        got = _concurrently(
            [
                (
                    lambda r=run_id: gateway.trigger(
                        RunOrder("wt_params", r, {"amount": 2}, _accepted(rows[r]))
                    )
                )
                for run_id in ids[1:]
            ]
        )
    assert sorted(slow.groups[1]) == sorted(ids[1:])  # six runs, one transaction
    stored = {r.run_id: r for r in runs_of("wt_params") if r.run_id in ids}
    assert stored.keys() == set(ids)
    for run in got:
        assert stored[run.run_id].id == run.row_id
        assert stored[run.run_id].conf == {"amount": 2}
    log = DeliveryLog(gateway._db.session)
    recorded = {d.run_id for d in log.list("gw-group-000001", limit=50)}
    assert recorded == set(ids[1:])


@pytest.mark.skipif(not _lean_proven(), reason="the lean insert is not proven on this Airflow release")
def test_a_group_reads_the_runs_keys_back_only_when_one_of_its_writes_wants_it(
    airflow_db: None,
) -> None:
    gateway, slow, ids, rows = _held_gateway("gw-group-000003", 4)
    with _first_group_writing(gateway, slow, ids[0]):
        mixed = _concurrently(
            [
                (
                    lambda r=run_id, k=keyed: gateway.trigger(
                        RunOrder("wt_params", r, {"amount": 3}, _accepted(rows[r]), wants_row_id=k)
                    )
                )
                for run_id, keyed in zip(ids[1:], (False, True, False), strict=True)
            ]
        )
    assert sorted(slow.groups[1]) == sorted(ids[1:])  # one group, one of them keyed
    alone = gateway.trigger(
        RunOrder("wt_params", "webhook__gw-group-000003__alone", {"amount": 3}, wants_row_id=False)
    )
    stored = {r.run_id: r for r in runs_of("wt_params")}
    for run in mixed:  # read back for the whole group
        assert run.row_id == stored[run.run_id].id
    assert alone.row_id == 0 and "webhook__gw-group-000003__alone" in stored  # written, not read back
    assert stored["webhook__gw-group-000003__alone"].conf == {"amount": 3}


@pytest.mark.skipif(not _lean_proven(), reason="the lean insert is not proven on this Airflow release")
def test_a_repeat_in_the_same_group_gets_the_first_delivery_and_starts_no_run(
    airflow_db: None,
) -> None:
    from airflow_webhook_trigger.core.delivery import PriorDelivery

    gateway, slow, ids, rows = _held_gateway("gw-group-000002", 4)
    key = DeliveryKey("evt_group_repeat_1", "body-1")
    with _first_group_writing(gateway, slow, ids[0]):
        got = _concurrently(
            [
                lambda: gateway.trigger(
                    RunOrder("wt_params", ids[1], {"amount": 1}, _accepted(rows[ids[1]], key))
                ),
                lambda: gateway.trigger(
                    RunOrder("wt_params", ids[2], {"amount": 1}, _accepted(rows[ids[2]]))
                ),
                lambda: gateway.trigger(
                    RunOrder("wt_params", ids[3], {"amount": 1}, _accepted(rows[ids[3]], key))
                ),
            ]
        )
    assert len(slow.groups[1]) == 3  # the repeat and the first delivery in one group: it failed...
    runs = [g for g in got if not isinstance(g, PriorDelivery)]
    repeats = [g for g in got if isinstance(g, PriorDelivery)]
    assert len(runs) == 2 and len(repeats) == 1, got  # ...then each alone: one run per key
    [winner] = [r for r in runs if r.run_id != ids[2]]
    assert repeats[0].run_id == winner.run_id
    stored = {r.run_id for r in runs_of("wt_params") if r.run_id in ids}
    assert stored == {ids[0], ids[2], winner.run_id}


def test_requests_arriving_as_the_version_expires_read_it_once(airflow_db: None) -> None:
    from airflow_webhook_trigger.airflow_seam.run_factory import latest_version

    reads: list[str] = []

    def slow_read(dag_id: str, session: Any) -> Any:
        reads.append(dag_id)
        threading.Event().wait(0.2)  # long enough for the other seven to arrive meanwhile
        return latest_version(dag_id, session)

    gateway = _gateway(_calls(latest_version=slow_read), registry_cache_seconds=60, max_concurrent_triggers=8)
    got = _concurrently(
        [
            (
                lambda i=i: gateway.trigger(
                    RunOrder("wt_params", f"webhook__gw-ver-000003__{i}", {"amount": 1})
                )
            )
            for i in range(8)
        ]
    )
    assert not [g for g in got if isinstance(g, Exception)], got
    assert reads == ["wt_params"]


def test_waiting_for_another_requests_version_read_is_bounded(airflow_db: None) -> None:
    gateway = _gateway(registry_cache_seconds=60, db_timeout_seconds=0.2, db_lock_timeout_seconds=0.1)
    assert gateway._reading.acquire()  # another request's read that hangs
    try:
        with pytest.raises(ServiceUnavailable) as info:
            gateway.trigger(RunOrder("wt_params", "webhook__gw-ver-000004__1", {"amount": 1}))
    finally:
        gateway._reading.release()
    assert "Retry-After" in info.value.headers


def test_runs_through_airflows_path_hold_at_most_max_trigger_connections(airflow_db: None) -> None:
    gateway = _gateway(max_trigger_connections=1, trigger_slot_wait_seconds=0.05)
    assert gateway._connections.acquire(timeout=1)  # another run through Airflow's path
    try:
        with pytest.raises(ServiceUnavailable) as info:
            gateway.trigger(RunOrder("wt_mapped", "webhook__gw-conn-000001__1", {}))
        if _lean_proven():  # a lean run needs none of these: it writes with its group
            run = gateway.trigger(RunOrder("wt_params", "webhook__gw-conn-000001__2", {"amount": 1}))
            assert run.run_id == "webhook__gw-conn-000001__2"
    finally:
        gateway._connections.release()
    assert info.value.headers == {"Retry-After": "5"}
    assert not [r for r in runs_of("wt_mapped") if r.run_id == "webhook__gw-conn-000001__1"]
    gateway.trigger(RunOrder("wt_mapped", "webhook__gw-conn-000001__3", {}))  # released: it goes through


@pytest.mark.skipif(not _lean_proven(), reason="the lean insert is not proven on this Airflow release")
def test_begin_returns_a_lean_run_unwritten_until_queued_then_its_committed_run(airflow_db: None) -> None:
    from airflow_webhook_trigger.core.runs import TriggeredRun
    from airflow_webhook_trigger.storage.delivery_record import DeliveryLog

    gateway = _gateway(max_concurrent_triggers=4)
    run_id = "webhook__gw-begin-000001__1"
    write = gateway.begin(
        RunOrder("wt_params", run_id, {"amount": 5}, _accepted(_delivery(run_id, "gw-begin-000001")))
    )
    assert not isinstance(write, TriggeredRun)
    assert [r for r in runs_of("wt_params") if r.run_id == run_id] == []  # prepared, not written
    done = threading.Event()
    write.enqueue(done.set)
    assert done.wait(10) and not write.failed
    run = write.outcome()
    [stored] = [r for r in runs_of("wt_params") if r.run_id == run_id]
    assert (run.run_id, run.row_id, stored.conf) == (run_id, stored.id, {"amount": 5})
    assert [d.run_id for d in DeliveryLog(gateway._db.session).list("gw-begin-000001", limit=5)] == [run_id]


@pytest.mark.skipif(not _lean_proven(), reason="the lean insert is not proven on this Airflow release")
def test_a_queued_run_whose_key_a_repeat_took_first_gets_that_delivery(airflow_db: None) -> None:
    from airflow_webhook_trigger.core.delivery import PriorDelivery

    gateway = _gateway(max_concurrent_triggers=4)
    key = DeliveryKey("evt_begin_repeat_1", "body-1")
    first_id, second_id = "webhook__gw-begin-000002__1", "webhook__gw-begin-000002__2"
    first = gateway.trigger(
        RunOrder("wt_params", first_id, {"amount": 1}, _accepted(_delivery(first_id, "gw-begin-000002"), key))
    )
    write = gateway.begin(
        RunOrder(
            "wt_params", second_id, {"amount": 1}, _accepted(_delivery(second_id, "gw-begin-000002"), key)
        )
    )
    done = threading.Event()
    write.enqueue(done.set)
    assert done.wait(10) and write.failed  # the claim failed in the DB...
    prior = write.outcome()  # ...and the outcome is the first delivery, found on a thread
    assert isinstance(prior, PriorDelivery) and prior.run_id == first.run_id
    assert second_id not in {r.run_id for r in runs_of("wt_params")}
