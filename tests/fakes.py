"""A fake Airflow for unit tests of the core (never used by integration tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from airflow_webhook_trigger.core.dedupe import DeliveryKey
from airflow_webhook_trigger.core.definition import Webhook
from airflow_webhook_trigger.core.delivery import DeliveryRow, PriorDelivery
from airflow_webhook_trigger.core.errors import NotFound, WebhookError
from airflow_webhook_trigger.core.runs import TriggeredRun
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
    #: what each trigger was told of its caller wanting the run's key
    keyed: list[bool] = field(default_factory=list)
    #: ``begin`` returns writes (as the Airflow gateway does for lean runs)
    defer_writes: bool = False

    def trigger(
        self,
        dag_id: str,
        run_id: str,
        conf: dict[str, object],
        *,
        record: DeliveryRow | None = None,
        claim: DeliveryKey | None = None,
        keyed: bool = True,
    ) -> TriggeredRun | PriorDelivery:
        self.keyed.append(keyed)
        if self.fail_with is not None:
            raise self.fail_with
        if dag_id not in self.dags:
            raise NotFound(f"DAG {dag_id!r} not found")
        if claim is not None and claim.digest in self.claims:
            return self.claims[claim.digest]
        self.triggered.append((dag_id, run_id, conf))
        if record is not None:
            self.records.append(record)
            if claim is not None:
                self.claims[claim.digest] = PriorDelivery(
                    record.id, claim.body_sha256, dag_id, run_id, len(self.triggered)
                )
        # as the Airflow gateway may: no key for a caller that does not want it
        return TriggeredRun(dag_id, run_id, len(self.triggered) if keyed else 0)

    def begin(
        self,
        dag_id: str,
        run_id: str,
        conf: dict[str, object],
        *,
        record: DeliveryRow | None = None,
        claim: DeliveryKey | None = None,
        keyed: bool = True,
    ) -> TriggeredRun | PriorDelivery | FakeWrite:
        """As :meth:`trigger`, or (``defer_writes``) a write that runs it once queued."""
        if not self.defer_writes:
            return self.trigger(dag_id, run_id, conf, record=record, claim=claim, keyed=keyed)
        return FakeWrite(lambda: self.trigger(dag_id, run_id, conf, record=record, claim=claim, keyed=keyed))

    def prior_delivery(self, webhook_id: str, key: DeliveryKey) -> PriorDelivery | None:
        return self.claims.get(key.digest)

    def snapshot(self, dag_id: str, run_id: str) -> tuple[TriggeredRun, RunSnapshot] | None:
        if run_id not in self.snapshots:
            return None
        return TriggeredRun(dag_id, run_id, 1), self.snapshots[run_id]
