"""Reading runs' states through Airflow's tables: what a sync caller waits for and a status
poll reads (the run's state and the first answer a ``WebhookResponseOperator`` recorded)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_webhook_trigger.core.response import checked_answer
from airflow_webhook_trigger.core.runs import TriggeredRun
from airflow_webhook_trigger.core.waiter import FINISHED_STATES, RESPONSE_KEY, RecordedResponse, RunSnapshot

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def run_snapshot(session: Session, dag_id: str, run_id: str) -> tuple[TriggeredRun, RunSnapshot] | None:
    """A run's state and first recorded response; None when there is no such run."""
    from airflow.models import DagRun
    from sqlalchemy import and_

    found = _snapshots(_snapshot_query(session, and_(DagRun.dag_id == dag_id, DagRun.run_id == run_id)))
    return next(iter(found.values()), None)


def settled_runs(session: Session, row_ids: Sequence[int]) -> Mapping[int, RunSnapshot]:
    """The runs among ``row_ids`` that settled (a recorded response, or ended): with a
    thousand callers waiting, a tick then reads a handful of rows, not a thousand."""
    from airflow.models import DagRun
    from airflow.models.xcom import XComModel
    from sqlalchemy import and_, or_

    settled = or_(DagRun.state.in_(sorted(FINISHED_STATES)), XComModel.dag_run_id.is_not(None))
    rows = _snapshot_query(session, and_(DagRun.id.in_(list(row_ids)), settled))
    return {row_id: snap for row_id, (_, snap) in _snapshots(rows).items()}


def recorded_response(value: object, task_id: str) -> RecordedResponse | None:
    """A response as the operator stored it in XCom; None if it is not one of ours."""
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, dict):
        return None
    try:
        # Re-checked with the operator's own rules: the XCom may have been written by any
        # task or through Airflow's XCom API, and it is served on Airflow's origin.
        status, headers, body = checked_answer(value.get("status"), value.get("headers"), value.get("body"))
    except ValueError as exc:
        log.warning("Ignoring the stored answer of task %s: %s", task_id, exc)
        return None
    return RecordedResponse(status=status, headers=tuple(headers.items()), body=body, task_id=task_id)


def _snapshot_query(session: Session, where: Any) -> list[Any]:
    from airflow.models import DagRun
    from airflow.models.xcom import XComModel
    from sqlalchemy import and_, select

    query = (
        select(DagRun.id, DagRun.dag_id, DagRun.run_id, DagRun.state, XComModel.task_id, XComModel.value)
        .outerjoin(XComModel, and_(XComModel.dag_run_id == DagRun.id, XComModel.key == RESPONSE_KEY))
        .where(where)
        .order_by(DagRun.id, XComModel.timestamp, XComModel.task_id)
    )
    return list(session.execute(query).all())


def _snapshots(rows: Sequence[Any]) -> dict[int, tuple[TriggeredRun, RunSnapshot]]:
    out: dict[int, tuple[TriggeredRun, RunSnapshot]] = {}
    for row in rows:
        state = str(getattr(row.state, "value", row.state))
        response = recorded_response(row.value, row.task_id) if row.task_id is not None else None
        current = out.get(row.id)
        if current is None or (current[1].response is None and response is not None):
            # rows come oldest response first: the first response recorded wins
            out[row.id] = (TriggeredRun(row.dag_id, row.run_id, int(row.id)), RunSnapshot(state, response))
    return out
