"""A delivery as its run's transaction writes it: the row and its delivery key's claim.

The run gateway writes an accepted delivery in the run's own transaction, the claim of its
delivery key first: a concurrent holder of the same key (another request, worker or
replica) makes the transaction fail, so one key never starts two runs. The group commit's
rows are bound beforehand (:class:`RecordInserts`). Plain SQLAlchemy Core: no Airflow import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session

from airflow_webhook_trigger.core.dedupe import DeliveryKey
from airflow_webhook_trigger.core.delivery import AcceptedDelivery, DeliveryRow
from airflow_webhook_trigger.storage.bound_insert import BoundInsert, BoundRow
from airflow_webhook_trigger.storage.webhook_store import deliveries_table, delivery_keys_table
from airflow_webhook_trigger.storage.write_batch import WriteBatch


def delivery_values(row: DeliveryRow) -> dict[str, object]:
    """A delivery's row, as the deliveries table's columns."""
    return {
        "id": row.id,
        "webhook_id": row.webhook_id,
        "received_at": row.received_at,
        "outcome": row.outcome,
        "status": row.status,
        "error": row.error,
        "dag_id": row.dag_id,
        "run_id": row.run_id,
        "delivery_key": row.delivery_key,
        "duration_ms": row.duration_ms,
        "replay_of": row.replay_of,
    }


_DELIVERY_COLUMNS = frozenset(c.key for c in deliveries_table.columns)
_CLAIM_COLUMNS = frozenset(c.key for c in delivery_keys_table.columns)

#: built once: ``insert(...).values(dict)`` per request costs more than the insert itself
INSERT_DELIVERY = insert(deliveries_table)
_INSERT_KEY = insert(delivery_keys_table)


def claim_and_record(session: Session, delivery: AcceptedDelivery) -> None:
    """In the run's transaction: the delivery key's claim first (a concurrent holder of
    the same key makes this raise ``IntegrityError``), then the delivery's row."""
    claim_and_record_many(session, [delivery])


def _claim(row: DeliveryRow, delivery_key: DeliveryKey) -> dict[str, object]:
    return {
        "webhook_id": row.webhook_id,
        "key_sha256": delivery_key.digest,
        "body_sha256": delivery_key.body_sha256,
        "dag_id": row.dag_id,
        "run_id": row.run_id,
        "delivery_id": row.id,
        "created_at": row.received_at,
    }


def _claim_order(row: DeliveryRow, delivery_key: DeliveryKey) -> tuple[str, str]:
    # in key order: groups written at once (by other api-server workers or replicas) claim
    # keys in the same order, so one holding a key another wants makes it wait, never both
    # wait for each other (a deadlock, which PostgreSQL would end with an error)
    return (row.webhook_id, delivery_key.digest)


def claim_and_record_many(session: Session | Connection, deliveries: Sequence[AcceptedDelivery]) -> None:
    """:func:`claim_and_record` for the deliveries of a group of runs sharing one
    transaction: one statement for the claims, one for the rows (each an ``executemany``)."""
    claims = [
        (_claim_order(d.row, d.claim), _claim(d.row, d.claim)) for d in deliveries if d.claim is not None
    ]
    if claims:
        session.execute(_INSERT_KEY, [claim for _, claim in sorted(claims, key=lambda c: c[0])])
    if deliveries:
        session.execute(INSERT_DELIVERY, [delivery_values(d.row) for d in deliveries])


@dataclass(frozen=True)
class BoundRecord:
    """An accepted delivery's row and its key's claim, bound (:class:`RecordInserts`)."""

    row: BoundRow
    #: the claim and its place in the claims' order (:func:`_claim_order`), or None
    claim: tuple[tuple[str, str], BoundRow] | None


class RecordInserts:
    """:func:`claim_and_record_many` with rows bound beforehand (:mod:`bound_insert`): the
    group commit's writer thread is left one driver-level statement per table."""

    def __init__(self, dialect: Dialect) -> None:
        self._rows = BoundInsert(deliveries_table, _DELIVERY_COLUMNS, dialect)
        self._claims = BoundInsert(delivery_keys_table, _CLAIM_COLUMNS, dialect)

    def bind(self, delivery: AcceptedDelivery) -> BoundRecord:
        row, key = delivery.row, delivery.claim
        claim = None if key is None else (_claim_order(row, key), self._claims.row(_claim(row, key)))
        return BoundRecord(self._rows.row(delivery_values(row)), claim)

    def write(self, connection: Connection | WriteBatch, records: Sequence[BoundRecord]) -> None:
        """The claims first, in key order, then the rows: as :func:`claim_and_record_many`."""
        claims = sorted((r.claim for r in records if r.claim is not None), key=lambda c: c[0])
        if claims:
            self._claims.execute(connection, [bound for _, bound in claims])
        if records:
            self._rows.execute(connection, [r.row for r in records])


def find_claim(session: Session, webhook_id: str, delivery_key: DeliveryKey) -> Any:
    """The claim of the delivery key (``body_sha256``, ``dag_id``, ``run_id``, ``delivery_id``), or None."""
    table = delivery_keys_table
    return session.execute(
        select(table.c.body_sha256, table.c.dag_id, table.c.run_id, table.c.delivery_id).where(
            table.c.webhook_id == webhook_id, table.c.key_sha256 == delivery_key.digest
        )
    ).first()
