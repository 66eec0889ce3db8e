"""The delivery record on the real metadata DB: the buffer, its batches, pruning, queries."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_webhook_trigger.core.dedupe import DeliveryKey
from airflow_webhook_trigger.core.delivery import AcceptedDelivery, DeliveryRow, new_delivery_id

pytestmark = pytest.mark.airflow

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


@dataclass
class Metrics:
    counts: dict[str, int] = field(default_factory=dict)
    timings: list[tuple[str, float]] = field(default_factory=list)

    def incr(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def timing(self, name: str, milliseconds: float) -> None:
        self.timings.append((name, milliseconds))


@pytest.fixture
def tables(airflow_db: None) -> Iterator[None]:
    from sqlalchemy import delete

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.webhook_store import (
        deliveries_table,
        delivery_keys_table,
        samples_table,
    )

    def clear() -> None:
        with db_session() as session:
            for table in (deliveries_table, delivery_keys_table, samples_table):
                session.execute(delete(table))

    clear()
    yield
    clear()


def _log(**kwargs: Any) -> Any:
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.delivery_record import DeliveryLog

    return DeliveryLog(db_session, clock=lambda: NOW, background=False, **kwargs)


def _row(
    outcome: str = "rejected", *, at: datetime = NOW, webhook: str = "hook-log-000001", **more: Any
) -> DeliveryRow:
    more.setdefault("status", 401)
    return DeliveryRow(id=new_delivery_id(), webhook_id=webhook, received_at=at, outcome=outcome, **more)  # type: ignore[arg-type]


def _accepted(run_id: str, key: DeliveryKey | None = None, *, at: datetime = NOW) -> AcceptedDelivery:
    """An accepted delivery of a ``wt_plain`` run, claiming ``key``."""
    row = _row("accepted", at=at, run_id=run_id, dag_id="wt_plain", delivery_key=key and key.value)
    return AcceptedDelivery(row, key)


def test_buffer_is_bounded_and_counts_what_it_drops(tables: None) -> None:
    log = _log(capacity=10)
    for _ in range(25):
        log.record(_row())
    assert log.pending() == 10 and log.dropped == 15
    assert log.flush() == 10
    assert len(log.list(limit=500)) == 10
    assert log.flush() == 0


def test_flush_writes_rows_and_sync_answers(tables: None) -> None:
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.delivery_record import claim_and_record

    accepted = _row("accepted", status=None, run_id="webhook__x__1", dag_id="wt_plain")
    with db_session() as session:
        claim_and_record(session, AcceptedDelivery(accepted))
    log = _log()
    log.answered(accepted.answered(200, 1234.5))
    log.record(_row("filtered", error="body type is 'ping'"))
    assert log.flush() == 2
    got = log.get(accepted.id)
    assert got is not None and (got.status, got.duration_ms) == (200, 1234.5)
    assert [r.outcome for r in log.list("hook-log-000001", "filtered")] == ["filtered"]


def test_rows_listed_newest_first_and_filtered(tables: None) -> None:
    log = _log()
    for minutes, outcome in ((3, "rejected"), (1, "duplicate"), (2, "rejected")):
        log.record(_row(outcome, at=NOW - timedelta(minutes=minutes)))
    log.record(_row(webhook="hook-log-000002"))
    log.flush()
    rows = log.list("hook-log-000001")
    assert [r.received_at for r in rows] == sorted((r.received_at for r in rows), reverse=True)
    assert {r.outcome for r in log.list("hook-log-000001", "rejected")} == {"rejected"}
    assert len(log.list("hook-log-000001", limit=2)) == 2
    assert len(log.list(limit=500)) == 4
    assert log.get("0" * 32) is None


def test_latest_is_each_webhooks_newest_row_in_one_query(tables: None) -> None:
    log = _log()
    old = _row("accepted", at=NOW - timedelta(minutes=5), status=200)
    new = _row("filtered", at=NOW, status=200)
    other = _row(at=NOW - timedelta(days=1), webhook="hook-log-000002")
    for row in (new, old, other, _row(webhook="hook-log-000003")):
        log.record(row)
    log.flush()
    latest = log.latest(["hook-log-000001", "hook-log-000002", "hook-log-none01"])
    assert {k: v.id for k, v in latest.items()} == {"hook-log-000001": new.id, "hook-log-000002": other.id}
    assert log.latest([]) == {}


def test_prune_drops_old_rows_and_keys_only(tables: None) -> None:
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.delivery_record import claim_and_record, find_claim

    log = _log(retention_days=7, dedupe_window_days=3)
    old, recent = NOW - timedelta(days=8), NOW - timedelta(days=1)
    log.record(_row(at=old))
    log.record(_row(at=recent))
    log.flush()
    old_key, new_key = DeliveryKey("k-old", "b"), DeliveryKey("k-new", "b")
    with db_session() as session:
        for key, at in ((old_key, NOW - timedelta(days=4)), (new_key, recent)):
            claim_and_record(session, _accepted(f"r-{key.value}", key, at=at))
    assert log.prune() == (1, 1)
    assert [r.received_at for r in log.list("hook-log-000001") if r.outcome == "rejected"] == [recent]
    with db_session() as session:
        assert find_claim(session, "hook-log-000001", old_key) is None
        assert find_claim(session, "hook-log-000001", new_key) is not None


def test_a_claimed_key_cannot_be_claimed_again(tables: None) -> None:
    from sqlalchemy.exc import IntegrityError

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.delivery_record import claim_and_record

    key = DeliveryKey("evt_1", "b1")
    with db_session() as session:
        claim_and_record(session, _accepted("r-1", key))
    with pytest.raises(IntegrityError), db_session() as session:
        claim_and_record(session, _accepted("r-2", key))


def test_metrics_named_under_one_prefix(tables: None) -> None:
    metrics = Metrics()
    log = _log(metrics=metrics, capacity=1)
    log.record(_row("accepted", status=202, duration_ms=3.5), stored=True)
    log.record(_row("rejected"))
    log.record(_row("rejected"))  # dropped: the buffer holds one
    log.answered(_row("accepted", status=200, duration_ms=900.0))
    assert metrics.counts == {
        "webhook_trigger.deliveries.accepted": 1,
        "webhook_trigger.responses.202": 1,
        "webhook_trigger.deliveries.rejected": 2,
        "webhook_trigger.responses.401": 2,
        "webhook_trigger.deliveries.dropped": 2,
        "webhook_trigger.responses.200": 1,
    }
    assert metrics.timings == [("webhook_trigger.accept_ms", 3.5), ("webhook_trigger.sync_ms", 900.0)]


def test_a_batch_the_db_refuses_is_dropped_not_retried_forever(tables: None) -> None:
    from contextlib import contextmanager

    from airflow_webhook_trigger.core.errors import ServiceUnavailable
    from airflow_webhook_trigger.storage.delivery_record import DeliveryLog

    @contextmanager
    def down() -> Iterator[Any]:
        raise ServiceUnavailable("the metadata database is busy or unavailable; retry later")
        yield

    log = DeliveryLog(down, clock=lambda: NOW, background=False)
    log.record(_row())
    log.record(_row())
    assert log.flush() == 0
    assert log.dropped == 2 and log.pending() == 0


def test_sample_is_replaced_by_the_next_capture(tables: None) -> None:
    log = _log()
    assert log.sample("hook-log-000001") is None
    log.save_sample("hook-log-000001", {"headers": [["X-A", "1"]], "query": {}, "body": {"a": 1}})
    log.save_sample("hook-log-000001", {"headers": [], "query": {"q": "é"}, "body": None})
    found = log.sample("hook-log-000001")
    assert found is not None
    assert found[0] == NOW and found[1] == {"headers": [], "query": {"q": "é"}, "body": None}


def test_rejections_per_webhook_are_bounded_per_minute(tables: None) -> None:
    clock = [0.0]
    log = _log(rejected_per_minute=5, timer=lambda: clock[0])
    for _ in range(1000):  # a flood of bad signatures
        log.record(_row())
    log.record(_row(webhook="hook-log-000002"))  # another webhook keeps its own budget
    log.record(_row("filtered"))  # and other outcomes are not rejections
    assert log.flush() == 7
    assert log.dropped == 995
    clock[0] += 60
    log.record(_row())
    assert log.flush() == 1


def test_the_background_thread_writes_and_prunes(tables: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage import delivery_record as delivery_log
    from airflow_webhook_trigger.storage.delivery_record import DeliveryLog

    monkeypatch.setattr(delivery_log, "FLUSH_INTERVAL_SECONDS", 0.01)
    log = DeliveryLog(db_session, clock=lambda: NOW)
    log.record(_row(at=NOW - timedelta(days=30)))  # pruned on the thread's first round...
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (log.pending() or log.list("hook-log-000001")):
        time.sleep(0.02)
    assert log.pending() == 0
    log.record(_row())  # ...and this one written by a later round
    while time.monotonic() < deadline and [r.received_at for r in log.list("hook-log-000001")] != [NOW]:
        time.sleep(0.02)
    assert [r.received_at for r in log.list("hook-log-000001")] == [NOW]


def test_stopping_writes_what_is_buffered_and_ends_the_thread(tables: None) -> None:
    """At exit (atexit runs it before Airflow disposes of its ORM): a last write, then no thread."""
    import atexit

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.delivery_record import DeliveryLog

    log = DeliveryLog(db_session, clock=lambda: NOW)  # writes every second
    log.record(_row(at=NOW + timedelta(seconds=1)))
    thread = log._thread
    assert thread is not None and thread.is_alive()
    log.stop()
    atexit.unregister(log.stop)
    assert not thread.is_alive()
    assert log.pending() == 0
    assert next(r.received_at for r in log.list("hook-log-000001")) == NOW + timedelta(seconds=1)


def test_a_groups_claims_are_inserted_in_key_order() -> None:
    """Groups written at once (other workers, replicas) take the keys' locks in one order:
    never two waiting for each other."""
    from airflow_webhook_trigger.storage.delivery_record import claim_and_record_many

    class Recording:
        def __init__(self) -> None:
            self.calls: list[list[dict[str, Any]]] = []

        def execute(self, statement: Any, params: list[dict[str, Any]]) -> None:
            self.calls.append(params)

    session = Recording()
    keys = [DeliveryKey(value, "b") for value in ("evt_c", "evt_a", "evt_d", "evt_b")]
    accepted = [_accepted(f"r-{k.value}", k) for k in keys]
    claim_and_record_many(session, accepted)  # type: ignore[arg-type]
    claims, deliveries = session.calls
    digests = [c["key_sha256"] for c in claims]
    assert digests == sorted(digests) and sorted(digests) == sorted(k.digest for k in keys)
    assert [d["run_id"] for d in deliveries] == [a.row.run_id for a in accepted]  # rows as they came


def test_bound_records_write_what_claim_and_record_many_writes(tables: None) -> None:
    """The group commit's bound records: the same rows, the claims in key order too."""
    from sqlalchemy import event, select

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.delivery_record import RecordInserts, claim_and_record_many
    from airflow_webhook_trigger.storage.webhook_store import deliveries_table, delivery_keys_table

    def batch(tag: str) -> list[AcceptedDelivery]:
        keys: list[DeliveryKey | None] = [
            DeliveryKey(f"{tag}_{v}", "b") for v in ("evt_c", "evt_a", "evt_d", "evt_b")
        ]
        keys.insert(2, None)  # a delivery without a key: a row, no claim
        return [_accepted(f"r-{tag}-{i}", k) for i, k in enumerate(keys)]

    ours, theirs = batch("bound"), batch("plain")
    claimed: list[str] = []
    with db_session() as session:
        connection = session.connection()
        inserts = RecordInserts(connection.dialect)
        bound = [inserts.bind(delivery) for delivery in ours]

        def order(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
            if "webhook_trigger_delivery_key" in statement.split("(")[0]:
                claimed.extend(
                    v for v in (params.values() if isinstance(params, dict) else params) if v in digests
                )

        digests = {d.claim.digest for d in ours if d.claim is not None}
        event.listen(connection, "before_cursor_execute", order)
        try:
            inserts.write(connection, bound)
        finally:
            event.remove(connection, "before_cursor_execute", order)
        claim_and_record_many(session, theirs)
    assert claimed == sorted(digests)

    def read(batch: list[AcceptedDelivery]) -> tuple[list[Any], list[Any]]:
        ids = [d.row.id for d in batch]
        with db_session() as session:
            rows = session.execute(select(deliveries_table).where(deliveries_table.c.id.in_(ids))).all()
            claims = session.execute(
                select(delivery_keys_table).where(delivery_keys_table.c.delivery_id.in_(ids))
            ).all()
        by_id = {r.id: r for r in rows}
        varying = {"id", "run_id", "delivery_key"}
        rows_out = [{k: v for k, v in by_id[i]._mapping.items() if k not in varying} for i in ids]
        claims_out = sorted(
            (
                {k: v for k, v in c._mapping.items() if k in {"body_sha256", "dag_id", "created_at"}}
                for c in claims
            ),
            key=str,
        )
        return rows_out, claims_out

    assert read(ours) == read(theirs)
    assert len(read(ours)[1]) == 4


SECRET = "sk_live_51Hsecret-looking-value"


def test_one_bad_row_does_not_take_its_batch_with_it(tables: None, caplog: pytest.LogCaptureFixture) -> None:
    """A row the database refuses (here an id already written: refused by every database) is
    dropped alone, the rest of its batch written; the log names its id, not its values."""
    import logging

    log = _log()
    first = _row(error=SECRET)
    log.record(first)
    assert log.flush() == 1
    before = _row(error=SECRET)
    again = DeliveryRow(
        id=first.id,
        webhook_id="hook-log-000002",
        received_at=NOW,
        outcome="rejected",
        status=401,
        error=SECRET,
    )
    after = _row(error=SECRET, delivery_key=SECRET)
    for row in (before, again, after):
        log.record(row)
    with caplog.at_level(logging.DEBUG, logger="airflow_webhook_trigger"):
        assert log.flush() == 2
    assert log.dropped == 1
    assert {row.id for row in log.list(limit=10)} == {first.id, before.id, after.id}
    assert log.get(first.id).webhook_id == "hook-log-000001"  # type: ignore[union-attr]
    assert f"delivery {first.id} not written (IntegrityError" in caplog.text
    assert SECRET not in caplog.text
    assert "INSERT" not in caplog.text


def test_a_nul_the_database_refuses_loses_only_its_own_row(
    tables: None, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL's text takes no NUL (SQLite's does): a NUL in a filtered delivery's dedupe
    key cost the whole batch, every webhook's rows."""
    import logging

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session

    with db_session() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
    log = _log()
    rows = [_row(webhook=f"hook-log-{n:06d}") for n in range(5)]
    bad = _row(delivery_key=f"{SECRET}\x00", error=SECRET)
    for row in (*rows[:2], bad, *rows[2:]):
        log.record(row)
    with caplog.at_level(logging.DEBUG, logger="airflow_webhook_trigger"):
        written = log.flush()
    stored = {row.id for row in log.list(limit=10)}
    assert {row.id for row in rows} <= stored
    if postgres:
        assert (written, log.dropped, bad.id in stored) == (5, 1, False)
        assert f"delivery {bad.id} not written" in caplog.text
    else:
        assert (written, log.dropped, bad.id in stored) == (6, 0, True)
    assert SECRET not in caplog.text
