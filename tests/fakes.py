"""A fake Airflow for unit tests of the core (never used by integration tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from airflow_webhook_trigger.core.dedupe import DeliveryKey
from airflow_webhook_trigger.core.definition import Webhook
from airflow_webhook_trigger.core.delivery import DeliveryRow, PriorDelivery
from airflow_webhook_trigger.core.errors import NotFound, WebhookError
from airflow_webhook_trigger.core.runs import RunOrder, TriggeredRun
from airflow_webhook_trigger.core.waiter import RunSnapshot


@dataclass
class FakeSource:
    webhooks: dict[str, Webhook] = field(default_factory=dict)
    calls: int = 0

    def get(self, webhook_id: str) -> Webhook | None:
        self.calls += 1
        return self.webhooks.get(webhook_id)


class FakeWrite:
    """A deferred run: triggered when queued, its outcome kept for ``outcome``."""

    def __init__(self, trigger: Callable[[], TriggeredRun | PriorDelivery]) -> None:
        self._trigger = trigger
        self._outcome: TriggeredRun | PriorDelivery | None = None
        self._error: Exception | None = None
        self.queued = False

    def enqueue(self, done: Callable[[], None]) -> None:
        self.queued = True
        try:
            self._outcome = self._trigger()
        except Exception as exc:
            self._error = exc
        done()

    @property
    def failed(self) -> bool:
        return self._error is not None

    def outcome(self) -> TriggeredRun | PriorDelivery:
        if self._error is not None:
            raise self._error
        assert self._outcome is not None, "not queued"
        return self._outcome


@dataclass
class FakeRuns:
    dags: set[str] = field(default_factory=lambda: {"dag_a"})
    triggered: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)
    fail_with: WebhookError | None = None
    snapshots: dict[str, RunSnapshot] = field(default_factory=dict)

    #: delivery key digest -> the first delivery that claimed it
    claims: dict[str, PriorDelivery] = field(default_factory=dict)
    records: list[DeliveryRow] = field(default_factory=list)
    #: every order received, in order
    orders: list[RunOrder] = field(default_factory=list)
    #: ``begin`` returns writes (as the Airflow gateway does for lean runs)
    defer_writes: bool = False

    def trigger(self, order: RunOrder) -> TriggeredRun | PriorDelivery:
        self.orders.append(order)
        if self.fail_with is not None:
            raise self.fail_with
        if order.dag_id not in self.dags:
            raise NotFound(f"DAG {order.dag_id!r} not found")
        claim = order.claim
        if claim is not None and claim.digest in self.claims:
            return self.claims[claim.digest]
        self.triggered.append((order.dag_id, order.run_id, order.conf))
        if order.delivery is not None:
            row = order.delivery.row
            self.records.append(row)
            if claim is not None:
                self.claims[claim.digest] = PriorDelivery(
                    row.id, claim.body_sha256, order.dag_id, order.run_id, len(self.triggered)
                )
        # as the Airflow gateway may: no row id for a caller that does not want it
        return TriggeredRun(order.dag_id, order.run_id, len(self.triggered) if order.wants_row_id else 0)

    def begin(self, order: RunOrder) -> TriggeredRun | PriorDelivery | FakeWrite:
        """As :meth:`trigger`, or (``defer_writes``) a write that runs it once queued."""
        if not self.defer_writes:
            return self.trigger(order)
        return FakeWrite(lambda: self.trigger(order))

    def prior_delivery(self, webhook_id: str, delivery_key: DeliveryKey) -> PriorDelivery | None:
        return self.claims.get(delivery_key.digest)

    def snapshot(self, dag_id: str, run_id: str) -> tuple[TriggeredRun, RunSnapshot] | None:
        if run_id not in self.snapshots:
            return None
        return TriggeredRun(dag_id, run_id, 1), self.snapshots[run_id]


class FakeRecorder:
    """Every delivery reported, in order (stored, answered or not), and the samples saved."""

    def __init__(self) -> None:
        self.rows: list[DeliveryRow] = []
        self.samples: list[tuple[str, dict[str, object]]] = []

    def record(self, row: DeliveryRow, *, stored: bool = False) -> None:
        self.rows.append(row)

    def answered(self, row: DeliveryRow) -> None:
        self.rows.append(row)

    def save_sample(self, webhook_id: str, sample: dict[str, object]) -> None:
        self.samples.append((webhook_id, sample))
