"""Starting DAG runs and reading their state through Airflow (the core's ``RunGateway``).

Airflow imports happen inside functions so that importing the plugin stays light.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_webhook_trigger.airflow_seam import version_compat
from airflow_webhook_trigger.airflow_seam.lean_insert import PreparedRun, insert_runs
from airflow_webhook_trigger.airflow_seam.metadata_db import db_limits, metadata_database
from airflow_webhook_trigger.airflow_seam.run_factory import (
    LatestVersion,
    RunFactory,
    RunTemplate,
    check_params,
    latest_version,
)
from airflow_webhook_trigger.airflow_seam.run_states import run_snapshot, settled_runs
from airflow_webhook_trigger.core.dedupe import DeliveryKey
from airflow_webhook_trigger.core.delivery import PriorDelivery
from airflow_webhook_trigger.core.errors import TOO_MANY_AT_ONCE, Conflict, NotFound, ServiceUnavailable, busy
from airflow_webhook_trigger.core.group_commit import GroupCommit, Ticket
from airflow_webhook_trigger.core.runs import RunOrder, TriggeredRun
from airflow_webhook_trigger.core.settings import Settings
from airflow_webhook_trigger.core.ttl_cache import MISSING, TtlCache
from airflow_webhook_trigger.core.waiter import RunSnapshot
from airflow_webhook_trigger.storage.delivery_writes import (
    BoundRecord,
    RecordInserts,
    claim_and_record,
    find_claim,
)
from airflow_webhook_trigger.storage.engine import Database
from airflow_webhook_trigger.storage.write_batch import WriteBatch

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

S = TypeVar("S")


class _FixedDagBag:
    """The ``dag_bag`` Airflow's trigger path expects, answering with the DAG already loaded."""

    def __init__(self, dag: Any) -> None:
        self._dag = dag

    def get_latest_version_of_dag(self, dag_id: str, *, session: Session) -> Any:
        return self._dag


def airflow_trigger(dag: Any, run_id: str, conf: dict[str, object], session: Session) -> int:
    """Airflow's own trigger path, for DAGs the lean insert does not cover (see :mod:`run_factory`)."""
    from airflow.api.common.trigger_dag import _trigger_dag
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    since_3_2: dict[str, Any] = {}
    if version_compat.trigger_takes_run_type():
        since_3_2 = {"run_type": DagRunType.MANUAL, "note": None}
    dag_run = _trigger_dag(
        dag_id=dag.dag_id,
        # duck-typed: the trigger path only asks the bag for the latest DAG
        dag_bag=_FixedDagBag(dag),  # type: ignore[arg-type]
        triggered_by=DagRunTriggeredByType.REST_API,
        run_id=run_id,
        conf=conf,
        logical_date=None,
        session=session,
        **since_3_2,
    )
    if dag_run is None:
        raise NotFound(f"DAG {dag.dag_id!r} not found")
    session.flush()
    return int(dag_run.id)


@dataclass(frozen=True)
class AirflowCalls:
    """The calls into Airflow (and its tables) that start a run: the DAG's latest version,
    the lean insert of a group, Airflow's own trigger path. Injected in tests."""

    latest_version: Callable[[str, Session], LatestVersion | None] = latest_version
    insert_runs: Callable[..., list[int]] = insert_runs
    trigger_dag: Callable[[Any, str, dict[str, object], Session], int] = airflow_trigger


@dataclass(frozen=True)
class _RunWrite:
    """A lean run to write, with its delivery and the delivery key it claims."""

    order: RunOrder
    run: PreparedRun
    #: the order's delivery and claim, bound (``RecordInserts.bind``)
    bound_record: BoundRecord | None


class _LeanWrite:
    """A lean run waiting for its group (:class:`runs.RunWrite`)."""

    __slots__ = ("_gateway", "_ticket", "_write")

    def __init__(self, gateway: AirflowRunGateway, write: _RunWrite) -> None:
        self._gateway = gateway
        self._write = write
        self._ticket: Ticket[_RunWrite, int] | None = None

    def enqueue(self, done: Callable[[], None]) -> None:
        self._ticket = self._gateway.writes.enqueue(self._write, lambda _: done())

    @property
    def failed(self) -> bool:
        return self._ticket is not None and self._ticket.failed

    def outcome(self) -> TriggeredRun | PriorDelivery:
        ticket = self._ticket
        if ticket is None:
            raise RuntimeError("the write was not queued")
        return self._stored(ticket.outcome)

    def wait(self) -> TriggeredRun | PriorDelivery:
        """Write it with the others being written now, holding this thread until committed."""
        return self._stored(lambda: self._gateway.writes.submit(self._write))

    def _stored(self, row_id: Callable[[], int]) -> TriggeredRun | PriorDelivery:
        order = self._write.order
        # committed (else row_id() raises): only now may we answer 2xx
        return self._gateway.stored(order, lambda: TriggeredRun(order.dag_id, order.run_id, row_id()))


class AirflowRunGateway:
    """Starts runs: the lean insert of :mod:`lean_insert`, or Airflow's ``_trigger_dag``.

    Either way the DAG is deserialized once per version and its params are checked
    with validators compiled once per version (a 422 naming the param).

    At most ``max_concurrent_triggers`` requests are in here at once. The lean runs among
    them are written in groups (:mod:`group_commit`: one transaction and one connection per
    group); a run through Airflow's own path holds a connection of its own, and at most
    ``max_trigger_connections`` do at once (the api-server's thread pool is larger than
    SQLAlchemy's pool). A request that cannot get a slot within
    ``trigger_slot_wait_seconds``, or whose transaction hits a lock or timeout, is answered
    503 + Retry-After and starts no run.
    """

    def __init__(
        self,
        settings: Settings,
        database: Database | None = None,
        *,
        airflow: AirflowCalls | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """:param clock: monotonic seconds, for the cached DAG versions (injected in tests)"""
        self._settings = settings
        self._airflow = airflow or AirflowCalls()
        self._db = database or metadata_database(db_limits(settings))
        self._slots = threading.BoundedSemaphore(settings.max_concurrent_triggers)
        #: connections held by runs going through Airflow's own path (one each; the lean runs
        #: of a group share one, and the version reads are one at a time)
        self._connections = threading.BoundedSemaphore(settings.max_trigger_connections)
        self._runs = RunFactory()
        # the same staleness as the webhook definitions' cache: a DAG re-serialized into a
        # new version gets its runs at that version within registry_cache_seconds, as a
        # webhook changed on another replica is seen within it (a DAG not found: not cached)
        self._versions: TtlCache[str, tuple[LatestVersion, RunTemplate]] = TtlCache(
            settings.registry_cache_seconds, clock=clock, max_entries=1024
        )
        self._reading = threading.Lock()
        self._writes: GroupCommit[WriteBatch, _RunWrite, int] = GroupCommit(
            self._db.write_transaction, self._write_group
        )
        self._records = RecordInserts(self._db.engine.dialect)

    @property
    def writes(self) -> GroupCommit[WriteBatch, _RunWrite, int]:
        """The lean runs' group commit (its counters show how many writes a group holds)."""
        return self._writes

    def _busy(self, why: str) -> ServiceUnavailable:
        return busy(why, self._settings.retry_after_seconds)

    def _version(self, dag_id: str) -> tuple[LatestVersion, RunTemplate]:
        """The DAG's latest version and its run template: cached for ``registry_cache_seconds``
        (the webhook definitions' own staleness), else one read of the DB."""
        found = self._versions.get(dag_id)
        if found is not MISSING:
            return found
        # one read at a time: the requests arriving as the cached version expires make one
        # read (and hold one connection), not one each; waiting for it is bounded like a read
        if not self._reading.acquire(timeout=self._db.limits.timeout):
            raise self._db.unavailable()
        try:
            found = self._versions.get(dag_id)
            if found is not MISSING:
                return found
            with self._db.session() as session:
                latest = self._airflow.latest_version(dag_id, session)
                template = None if latest is None else self._runs.template(latest, session)
            if latest is None or template is None:
                raise NotFound(f"DAG {dag_id!r} not found")
            self._versions.put(dag_id, (latest, template))
        finally:
            self._reading.release()
        return latest, template

    def _write_group(self, writes: Sequence[_RunWrite], batch: WriteBatch) -> list[int]:
        """The lean runs of a group, their task instances, claims and deliveries: one
        statement per table. The claims come last, so the transaction writes (and, on
        SQLite, holds the database's write lock) no longer than before; a concurrent holder
        of the same key (another request, another replica) makes this wait for its commit,
        then fail: the group then retries each write alone.

        The runs' keys are read back only when a write of the group wants its own: on
        PostgreSQL a group of async deliveries is then one round trip (:mod:`write_batch`)."""
        wanted = any(w.order.wants_row_id for w in writes)
        row_ids = self._airflow.insert_runs([w.run for w in writes], batch, read_back=wanted)
        self._records.write(batch, [w.bound_record for w in writes if w.bound_record is not None])
        return row_ids

    def _through_airflow(self, template: RunTemplate, order: RunOrder) -> int:
        """A run through Airflow's own trigger path, in a transaction (and connection) of its own."""
        with self._held(self._connections), self._db.session() as session:
            self._db.bound_writes(session)
            row_id = self._airflow.trigger_dag(template.dag, order.run_id, order.conf, session)
            if order.delivery is not None:
                claim_and_record(session, order.delivery)
        return row_id

    @contextmanager
    def _held(self, semaphore: threading.BoundedSemaphore) -> Iterator[None]:
        """One of ``semaphore``'s places for the block, within ``trigger_slot_wait_seconds``, else 503."""
        if not semaphore.acquire(timeout=self._settings.trigger_slot_wait_seconds):
            raise self._busy(TOO_MANY_AT_ONCE)
        try:
            yield
        finally:
            semaphore.release()

    def trigger(self, order: RunOrder) -> TriggeredRun | PriorDelivery:
        with self._held(self._slots):
            begun = self._begin(order)
            return begun.wait() if isinstance(begun, _LeanWrite) else begun

    def begin(self, order: RunOrder) -> TriggeredRun | PriorDelivery | _LeanWrite:
        with self._held(self._slots):
            return self._begin(order)

    def _begin(self, order: RunOrder) -> TriggeredRun | PriorDelivery | _LeanWrite:
        """A lean run prepared (not written), or a run through Airflow's path, committed."""
        dag_id = order.dag_id

        def started() -> TriggeredRun | _LeanWrite:
            latest, template = self._version(dag_id)
            if not latest.allows_manual_runs:
                # Airflow's trigger_dag refuses these too (DagModel.allowed_run_types)
                raise Conflict(f"DAG {dag_id!r} does not allow manual runs")
            check_params(template.param_checks, order.conf)
            if template.rows is not None:
                # to be written with the other runs being accepted now: one transaction, one commit
                prepared = self._runs.prepare(template, latest, order.run_id, order.conf)
                bound = None if order.delivery is None else self._records.bind(order.delivery)
                return _LeanWrite(self, _RunWrite(order, prepared, bound))
            row_id = self._through_airflow(template, order)
            # committed: only now may we answer 2xx.
            return TriggeredRun(dag_id=dag_id, run_id=order.run_id, row_id=row_id)

        return self.stored(order, started)

    def stored(self, order: RunOrder, work: Callable[[], S]) -> S | PriorDelivery:
        """``work()``, which stores the order's run, with its failures as the core's errors:
        a key claimed meanwhile by a concurrent repeat is that repeat's delivery."""
        from airflow.exceptions import DagNotFound, DagRunAlreadyExists
        from sqlalchemy.exc import IntegrityError

        dag_id = order.dag_id
        try:
            return work()
        except DagNotFound:
            self._versions.forget(dag_id)
            raise NotFound(f"DAG {dag_id!r} not found") from None
        except (DagRunAlreadyExists, IntegrityError):
            if order.delivery is not None and order.delivery.claim is not None:
                prior = self.prior_delivery(order.delivery.row.webhook_id, order.delivery.claim)
                if prior is not None:
                    return prior
            # a random suffix makes a run id collision practically impossible; a DAG version
            # deleted under us is the other way to land here: both are worth a retry, with
            # the version read again
            self._versions.forget(dag_id)
            raise self._busy("the run could not be stored") from None

    def prior_delivery(self, webhook_id: str, delivery_key: DeliveryKey) -> PriorDelivery | None:
        """:raises ServiceUnavailable: the metadata DB cannot serve now"""
        from airflow.models import DagRun
        from sqlalchemy import select

        with self._db.session() as session:
            found = find_claim(session, webhook_id, delivery_key)
            if found is None:
                return None
            run_row_id = session.scalar(
                select(DagRun.id).where(DagRun.dag_id == found.dag_id, DagRun.run_id == found.run_id)
            )
        return PriorDelivery(
            found.delivery_id, found.body_sha256, found.dag_id, found.run_id, int(run_row_id or 0)
        )

    def run_conf(self, dag_id: str, run_id: str) -> dict[str, object] | None:
        """A run's ``conf`` (a replay's trigger variables); None when the run is gone."""
        from airflow.models import DagRun
        from sqlalchemy import select

        with self._db.session() as session:
            found = session.execute(
                select(DagRun.conf).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
            ).first()
        if found is None:
            return None
        return dict(found.conf or {})

    def snapshot(self, dag_id: str, run_id: str) -> tuple[TriggeredRun, RunSnapshot] | None:
        """:raises ServiceUnavailable: the metadata DB cannot serve now"""
        with self._db.session() as session:
            return run_snapshot(session, dag_id, run_id)

    def fetch_settled(self, row_ids: Sequence[int]) -> Mapping[int, RunSnapshot]:
        """The sync waiter's one query per tick (:func:`run_states.settled_runs`).

        :raises ServiceUnavailable: the metadata DB cannot serve now
        """
        with self._db.session() as session:
            return settled_runs(session, row_ids)
