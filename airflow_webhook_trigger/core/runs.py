"""The core's view of DAG runs: what starting one returns, what a sync caller waits for,
the gateway that starts them (the Airflow side), and a finished run's answer."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from airflow_webhook_trigger.core.dedupe import DeliveryKey
from airflow_webhook_trigger.core.delivery import AcceptedDelivery, DeliveryRow, PriorDelivery
from airflow_webhook_trigger.core.response import HttpResponse, body_response, json_response
from airflow_webhook_trigger.core.waiter import RunSnapshot

RUN_ID_HEADER = "X-Airflow-Run-Id"
#: the run ids a status URL may name: Airflow's default ``allowed_run_id_pattern``
#: (a NUL, which PostgreSQL's driver refuses with an error of its own, never reaches the DB)
RUN_ID_RE = re.compile(r"^[A-Za-z0-9_.~:+-]{1,250}\Z")


@dataclass(frozen=True)
class TriggeredRun:
    dag_id: str
    run_id: str
    #: the run's ``dag_run.id``, what the sync waiter polls by (0: not read back)
    row_id: int = 0


@dataclass(frozen=True, slots=True)
class RunOrder:
    """A run to start, and what its transaction stores with it.

    :raises ValueError: a delivery that is not this run's
    """

    dag_id: str
    run_id: str
    #: the trigger variables (the run's ``conf``)
    conf: dict[str, object]
    #: the delivery stored (and its key claimed) in the run's transaction
    delivery: AcceptedDelivery | None = None
    #: whether the caller uses the run's ``row_id`` (only a sync webhook waits by it): the
    #: gateway may leave it 0 where reading it back costs more
    wants_row_id: bool = True

    def __post_init__(self) -> None:
        row = None if self.delivery is None else self.delivery.row
        if row is not None and (row.dag_id, row.run_id) != (self.dag_id, self.run_id):
            raise ValueError("a run stores only its own delivery")

    @property
    def claim(self) -> DeliveryKey | None:
        """The delivery key claimed with the run, if any."""
        return None if self.delivery is None else self.delivery.claim


@dataclass(frozen=True)
class PendingRun:
    """A sync webhook's run, started: the adapter waits for it, then calls ``finish``."""

    run: TriggeredRun
    timeout: float
    status_url: str
    #: the delivery to complete once answered (accepted: stored already; duplicate: not yet)
    delivery: DeliveryRow | None = None
    started: float = 0.0


@dataclass(frozen=True, eq=False)
class Deferred:
    """An accepted delivery whose run waits for its group's commit (``accept(defer=True)``).

    The adapter queues ``write`` (:meth:`RunWrite.enqueue`), waits for it without holding
    a thread, then calls ``resume`` for the answer: in the event loop, or on a worker
    thread when ``write.failed`` (it may then read the DB).
    """

    write: RunWrite
    resume: Callable[[], HttpResponse | PendingRun]


class RunWrite(Protocol):
    """A run prepared and waiting to be written with the others being accepted now (one
    transaction and one commit for the group): what :meth:`RunGateway.begin` may return."""

    def enqueue(self, done: Callable[[], None]) -> None:
        """Queue the write; ``done()`` is called once its group is committed or failed.

        A blocking call (on a worker thread): when nothing is being written, the caller's
        thread writes the group itself, and ``done()`` is called before this returns;
        otherwise it returns at once, and ``done()`` comes later from another thread."""
        ...

    @property
    def failed(self) -> bool:
        """Once done: whether the write failed, so that :meth:`outcome` may read the DB."""
        ...

    def outcome(self) -> TriggeredRun | PriorDelivery:
        """Once done: the run, or (a concurrent repeat claimed the key first) its delivery.

        Blocks only when :attr:`failed`, to look for that repeat.

        :raises WebhookError: as :meth:`RunGateway.trigger`
        """
        ...


class RunGateway(Protocol):
    """Starts DAG runs (the Airflow side).

    :raises NotFound: unknown DAG
    :raises UnprocessableEntity: conf rejected by the DAG's params
    :raises ServiceUnavailable: the metadata DB cannot take the run now
    """

    def trigger(self, order: RunOrder) -> TriggeredRun | PriorDelivery:
        """Start the run, storing its delivery (if any) in the same transaction.

        When the delivery claims a key that another delivery holds already (a concurrent
        repeat), no run is started and that first delivery is returned instead.
        """
        ...

    def begin(self, order: RunOrder) -> TriggeredRun | PriorDelivery | RunWrite:
        """:meth:`trigger`, but a run to be written with others is returned unwritten, for
        the caller to queue and wait for without holding a thread (a gateway that does not
        group writes returns what :meth:`trigger` does)."""
        ...

    def prior_delivery(self, webhook_id: str, delivery_key: DeliveryKey) -> PriorDelivery | None:
        """The first delivery of this key for this webhook, if any."""
        ...

    def snapshot(self, dag_id: str, run_id: str) -> tuple[TriggeredRun, RunSnapshot] | None:
        """A run's state and first recorded response; None when there is no such run."""
        ...


def make_run_id(handle: str, received_at: datetime) -> str:
    """A run id naming the webhook by its handle (:meth:`RunTokens.handle`, never its id),
    unique, within Airflow's allowed run-id characters."""
    stamp = received_at.strftime("%Y%m%dT%H%M%S.%fZ")
    return f"webhook__{handle}__{stamp}_{secrets.token_hex(4)}"


def run_answer(run: TriggeredRun, snapshot: RunSnapshot) -> HttpResponse:
    """A sync status answer: the recorded response; else 200 with the state; else 500 if it failed."""
    extra = ((RUN_ID_HEADER, run.run_id),)
    if snapshot.response is not None:
        recorded = snapshot.response
        return body_response(recorded.status, recorded.body, (*recorded.headers, *extra))
    if snapshot.state == "failed":
        return json_response(500, {"error": "run failed", "dag_id": run.dag_id, "run_id": run.run_id}, extra)
    return json_response(200, {"dag_id": run.dag_id, "run_id": run.run_id, "state": snapshot.state}, extra)
