"""A delivery, as the record keeps it: values and the recorder's interface.

Pure: the core builds these; ``storage.delivery_record`` stores them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Literal, Protocol

from airflow_webhook_trigger.core.dedupe import DeliveryKey

Outcome = Literal["accepted", "duplicate", "filtered", "rejected", "handshake"]
OUTCOMES: tuple[Outcome, ...] = ("accepted", "duplicate", "filtered", "rejected", "handshake")
#: the longest error text kept (our own messages are shorter; nothing secret is in them)
MAX_ERROR_LENGTH = 500
#: the most deliveries one listing returns (the API and the CLI)
MAX_LIMIT = 500


def as_utc(moment: datetime) -> datetime:
    """A naive datetime read as UTC (SQLite hands them back so; a query may give one)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def new_delivery_id() -> str:
    """128 random bits, hex (what ``replay`` and the API name a delivery by)."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class DeliveryRow:
    """One request that named an existing webhook, once answered (or, accepted, committed)."""

    id: str
    webhook_id: str
    received_at: datetime
    outcome: Outcome
    status: int | None = None
    error: str | None = None
    dag_id: str | None = None
    run_id: str | None = None
    delivery_key: str | None = None
    duration_ms: float | None = None
    replay_of: str | None = None

    def answered(self, status: int, duration_ms: float) -> DeliveryRow:
        return replace(self, status=status, duration_ms=round(duration_ms, 3))

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "webhook_id": self.webhook_id,
            "received_at": self.received_at.isoformat(),
            "outcome": self.outcome,
            "status": self.status,
            "error": self.error,
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "delivery_key": self.delivery_key,
            "duration_ms": self.duration_ms,
            "replay_of": self.replay_of,
        }


@dataclass(frozen=True, slots=True)
class AcceptedDelivery:
    """An accepted delivery as its run's transaction stores it: its row and, for a webhook
    with ``dedupe``, the delivery key it claims there (a claim cannot exist without its row).

    :raises ValueError: a row that is not an accepted delivery of one run, or a claim that
        is not the row's delivery key
    """

    row: DeliveryRow
    claim: DeliveryKey | None = None

    def __post_init__(self) -> None:
        row = self.row
        if row.outcome != "accepted" or row.dag_id is None or row.run_id is None:
            raise ValueError("an accepted delivery names the run it started")
        if self.claim is not None and self.claim.value != row.delivery_key:
            raise ValueError("a delivery claims the delivery key its row names")


def error_text(detail: str) -> str:
    return detail if len(detail) <= MAX_ERROR_LENGTH else detail[: MAX_ERROR_LENGTH - 3] + "..."


@dataclass(frozen=True)
class PriorDelivery:
    """The first delivery of a key: its run and body digest."""

    delivery_id: str
    body_sha256: str
    dag_id: str
    run_id: str
    #: the run's ``dag_run.id``, what a sync caller waits by (0: the run is gone)
    run_row_id: int


class DeliveryRecorder(Protocol):
    """Where the core reports deliveries (the api-server's buffered log, with metrics)."""

    def record(self, row: DeliveryRow, *, stored: bool = False) -> None:
        """A delivery answered. ``stored``: already written with its run (count it only)."""
        ...

    def answered(self, row: DeliveryRow) -> None:
        """A stored (accepted, sync) delivery got its answer: its status and duration."""
        ...


class NoRecorder:
    """Records nothing (unit tests of the core, tools)."""

    def record(self, row: DeliveryRow, *, stored: bool = False) -> None:
        return None

    def answered(self, row: DeliveryRow) -> None:
        return None
