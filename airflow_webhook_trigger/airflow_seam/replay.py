"""Reading one delivery as a caller may, and replaying it (shared by the API and the CLI)."""

from __future__ import annotations

from airflow_webhook_trigger.airflow_seam.wiring import Runtime
from airflow_webhook_trigger.core.access import FULL, DagAccess, check_trigger, unknown_delivery
from airflow_webhook_trigger.core.delivery import DeliveryRow
from airflow_webhook_trigger.core.errors import Conflict, NotFound


def visible_delivery(runtime: Runtime, delivery_id: str, access: DagAccess) -> DeliveryRow:
    """A delivery the caller may read: its DAG and, while it exists, its webhook's DAG.

    :raises NotFound: no such delivery, or one the caller may not read (the same answer)
    """
    row = runtime.deliveries.get(delivery_id)
    if row is None:
        raise unknown_delivery(delivery_id)
    webhook = runtime.store.get(row.webhook_id)
    dags = [d for d in (row.dag_id, webhook.dag_id if webhook else None) if d is not None]
    # a row from before deliveries named their DAG, of a deleted webhook, names none: the CLI sees it
    if not all(access.may_read(d) for d in dags) or (not dags and access is not FULL):
        raise unknown_delivery(delivery_id)
    return row


def replay_delivery(runtime: Runtime, delivery_id: str, access: DagAccess = FULL) -> DeliveryRow:
    """A new run with the trigger variables of an accepted delivery, ``webhook.replay_of`` set.

    :param access: the caller's (the CLI's: every DAG)
    :return: the replay's own delivery row (accepted, with its run)
    :raises NotFound: no such delivery, webhook or run, or one the caller may not read
    :raises Forbidden: the caller may not trigger the delivery's DAG
    :raises Conflict: the delivery started no run, its webhook is disabled, or it now
        triggers another DAG than the delivery's run
    """
    row = visible_delivery(runtime, delivery_id, access)
    if row.outcome != "accepted" or row.run_id is None or row.dag_id is None:
        raise Conflict(
            f"delivery {delivery_id} was {row.outcome}: only a delivery that started a run is replayed"
        )
    webhook = runtime.store.require(row.webhook_id)
    check_trigger(access, [row.dag_id])
    # a replay is a delivery of the webhook as it is now: not one its operator switched off,
    # nor one whose trigger variables were meant for another DAG than the one it now starts
    if not webhook.enabled:
        raise Conflict(f"webhook {webhook.id} is disabled: enable it to replay its deliveries")
    if webhook.dag_id != row.dag_id:
        raise Conflict(
            f"webhook {webhook.id} now triggers DAG {webhook.dag_id}, not {row.dag_id} (the delivery's): "
            "its earlier deliveries are not replayed"
        )
    conf = runtime.gateway.run_conf(row.dag_id, row.run_id)
    if conf is None:
        raise NotFound(f"the run of delivery {delivery_id} ({row.run_id}) no longer exists")
    return runtime.endpoint.replay(webhook, conf, delivery_id)


#: the header a body-less write sent with the UI's cookie must carry (see :func:`not_cross_site`)
