"""The delivery record on the real metadata DB: the buffer, its batches, pruning, queries."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from airflow_webhook_trigger.core.dedupe import DeliveryKey
from airflow_webhook_trigger.core.delivery import AcceptedDelivery, DeliveryRow
from tests.storage.deliveries import NOW, accepted, delivery_row

pytestmark = pytest.mark.airflow


@dataclass
class Metrics:
    counts: dict[str, int] = field(default_factory=dict)
    timings: list[tuple[str, float]] = field(default_factory=list)

    def incr(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def timing(self, name: str, milliseconds: float) -> None:
        self.timings.append((name, milliseconds))


def _log(**kwargs: Any) -> Any:
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.delivery_record import DeliveryLog

    return DeliveryLog(db_session, clock=lambda: NOW, background=False, **kwargs)


SECRET = "sk_live_51Hsecret-looking-value"


def test_buffer_is_bounded_and_counts_what_it_drops(tables: None) -> None:
    log = _log(capacity=10)
    for _ in range(25):
        log.record(delivery_row())
    assert log.pending() == 10 and log.dropped == 15
    assert log.flush() == 10
    assert len(log.list(limit=500)) == 10
    assert log.flush() == 0


def test_flush_writes_rows_and_sync_answers(tables: None) -> None:
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.delivery_writes import claim_and_record

    accepted = delivery_row("accepted", status=None, run_id="webhook__x__1", dag_id="wt_plain")
    with db_session() as session:
        claim_and_record(session, AcceptedDelivery(accepted))
    log = _log()
    log.answered(accepted.answered(200, 1234.5))
    log.record(delivery_row("filtered", error="body type is 'ping'"))
    assert log.flush() == 2
    got = log.get(accepted.id)
    assert got is not None and (got.status, got.duration_ms) == (200, 1234.5)
    assert [r.outcome for r in log.list("hook-log-000001", "filtered")] == ["filtered"]


def test_rows_listed_newest_first_and_filtered(tables: None) -> None:
    log = _log()
    for minutes, outcome in ((3, "rejected"), (1, "duplicate"), (2, "rejected")):
        log.record(delivery_row(outcome, at=NOW - timedelta(minutes=minutes)))
    log.record(delivery_row(webhook="hook-log-000002"))
    log.flush()
    rows = log.list("hook-log-000001")
    assert [r.received_at for r in rows] == sorted((r.received_at for r in rows), reverse=True)
    assert {r.outcome for r in log.list("hook-log-000001", "rejected")} == {"rejected"}
    assert len(log.list("hook-log-000001", limit=2)) == 2
    assert len(log.list(limit=500)) == 4
    assert log.get("0" * 32) is None


def test_latest_is_each_webhooks_newest_row_in_one_query(tables: None) -> None:
    log = _log()
    old = delivery_row("accepted", at=NOW - timedelta(minutes=5), status=200)
    new = delivery_row("filtered", at=NOW, status=200)
    other = delivery_row(at=NOW - timedelta(days=1), webhook="hook-log-000002")
    for row in (new, old, other, delivery_row(webhook="hook-log-000003")):
        log.record(row)
    log.flush()
    latest = log.latest(["hook-log-000001", "hook-log-000002", "hook-log-none01"])
    assert {k: v.id for k, v in latest.items()} == {"hook-log-000001": new.id, "hook-log-000002": other.id}
    assert log.latest([]) == {}


def test_prune_drops_old_rows_and_keys_only(tables: None) -> None:
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.delivery_writes import claim_and_record, find_claim

    log = _log(retention_days=7, dedupe_window_days=3)
    old, recent = NOW - timedelta(days=8), NOW - timedelta(days=1)
    log.record(delivery_row(at=old))
    log.record(delivery_row(at=recent))
    log.flush()
    old_key, new_key = DeliveryKey("k-old", "b"), DeliveryKey("k-new", "b")
    with db_session() as session:
        for key, at in ((old_key, NOW - timedelta(days=4)), (new_key, recent)):
            claim_and_record(session, accepted(f"r-{key.value}", key, at=at))
    assert log.prune() == (1, 1)
    assert [r.received_at for r in log.list("hook-log-000001") if r.outcome == "rejected"] == [recent]
    with db_session() as session:
        assert find_claim(session, "hook-log-000001", old_key) is None
        assert find_claim(session, "hook-log-000001", new_key) is not None


def test_metrics_named_under_one_prefix(tables: None) -> None:
    metrics = Metrics()
    log = _log(metrics=metrics, capacity=1)
    log.record(delivery_row("accepted", status=202, duration_ms=3.5), stored=True)
    log.record(delivery_row("rejected"))
    log.record(delivery_row("rejected"))  # dropped: the buffer holds one
    log.answered(delivery_row("accepted", status=200, duration_ms=900.0))
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
    log.record(delivery_row())
    log.record(delivery_row())
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
        log.record(delivery_row())
    log.record(delivery_row(webhook="hook-log-000002"))  # another webhook keeps its own budget
    log.record(delivery_row("filtered"))  # and other outcomes are not rejections
    assert log.flush() == 7
    assert log.dropped == 995
    clock[0] += 60
    log.record(delivery_row())
    assert log.flush() == 1


def test_the_background_thread_writes_and_prunes(tables: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage import delivery_record as delivery_log
    from airflow_webhook_trigger.storage.delivery_record import DeliveryLog

    monkeypatch.setattr(delivery_log, "FLUSH_INTERVAL_SECONDS", 0.01)
    log = DeliveryLog(db_session, clock=lambda: NOW)
    log.record(delivery_row(at=NOW - timedelta(days=30)))  # pruned on the thread's first round...
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (log.pending() or log.list("hook-log-000001")):
        time.sleep(0.02)
    assert log.pending() == 0
    log.record(delivery_row())  # ...and this one written by a later round
    while time.monotonic() < deadline and [r.received_at for r in log.list("hook-log-000001")] != [NOW]:
        time.sleep(0.02)
    assert [r.received_at for r in log.list("hook-log-000001")] == [NOW]


def test_stopping_writes_what_is_buffered_and_ends_the_thread(tables: None) -> None:
    """At exit (atexit runs it before Airflow disposes of its ORM): a last write, then no thread."""
    import atexit

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.delivery_record import DeliveryLog

    log = DeliveryLog(db_session, clock=lambda: NOW)  # writes every second
    log.record(delivery_row(at=NOW + timedelta(seconds=1)))
    thread = log._thread
    assert thread is not None and thread.is_alive()
    log.stop()
    atexit.unregister(log.stop)
    assert not thread.is_alive()
    assert log.pending() == 0
    assert next(r.received_at for r in log.list("hook-log-000001")) == NOW + timedelta(seconds=1)


def test_one_bad_row_does_not_take_its_batch_with_it(tables: None, caplog: pytest.LogCaptureFixture) -> None:
    """A row the database refuses (here an id already written: refused by every database) is
    dropped alone, the rest of its batch written; the log names its id, not its values."""
    import logging

    log = _log()
    first = delivery_row(error=SECRET)
    log.record(first)
    assert log.flush() == 1
    before = delivery_row(error=SECRET)
    again = DeliveryRow(
        id=first.id,
        webhook_id="hook-log-000002",
        received_at=NOW,
        outcome="rejected",
        status=401,
        error=SECRET,
    )
    after = delivery_row(error=SECRET, delivery_key=SECRET)
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
    rows = [delivery_row(webhook=f"hook-log-{n:06d}") for n in range(5)]
    bad = delivery_row(delivery_key=f"{SECRET}\x00", error=SECRET)
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
