"""A delivery written in its run's transaction, on the real metadata DB: the claim of its
key (one key, one run), the claims' order, and the bound rows of a group commit."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_webhook_trigger.core.dedupe import DeliveryKey
from airflow_webhook_trigger.core.delivery import AcceptedDelivery
from tests.storage.deliveries import accepted

pytestmark = pytest.mark.airflow


def test_a_claimed_key_cannot_be_claimed_again(tables: None) -> None:
    from sqlalchemy.exc import IntegrityError

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.delivery_writes import claim_and_record

    key = DeliveryKey("evt_1", "b1")
    with db_session() as session:
        claim_and_record(session, accepted("r-1", key))
    with pytest.raises(IntegrityError), db_session() as session:
        claim_and_record(session, accepted("r-2", key))


def test_a_groups_claims_are_inserted_in_key_order() -> None:
    """Groups written at once (other workers, replicas) take the keys' locks in one order:
    never two waiting for each other."""
    from airflow_webhook_trigger.storage.delivery_writes import claim_and_record_many

    class Recording:
        def __init__(self) -> None:
            self.calls: list[list[dict[str, Any]]] = []

        def execute(self, statement: Any, params: list[dict[str, Any]]) -> None:
            self.calls.append(params)

    session = Recording()
    keys = [DeliveryKey(value, "b") for value in ("evt_c", "evt_a", "evt_d", "evt_b")]
    group = [accepted(f"r-{k.value}", k) for k in keys]
    claim_and_record_many(session, group)  # type: ignore[arg-type]
    claims, deliveries = session.calls
    digests = [c["key_sha256"] for c in claims]
    assert digests == sorted(digests) and sorted(digests) == sorted(k.digest for k in keys)
    assert [d["run_id"] for d in deliveries] == [a.row.run_id for a in group]  # rows as they came


def test_bound_records_write_what_claim_and_record_many_writes(tables: None) -> None:
    """The group commit's bound records: the same rows, the claims in key order too."""
    from sqlalchemy import event, select

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.delivery_writes import RecordInserts, claim_and_record_many
    from airflow_webhook_trigger.storage.webhook_store import deliveries_table, delivery_keys_table

    def batch(tag: str) -> list[AcceptedDelivery]:
        keys: list[DeliveryKey | None] = [
            DeliveryKey(f"{tag}_{v}", "b") for v in ("evt_c", "evt_a", "evt_d", "evt_b")
        ]
        keys.insert(2, None)  # a delivery without a key: a row, no claim
        return [accepted(f"r-{tag}-{i}", k) for i, k in enumerate(keys)]

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
