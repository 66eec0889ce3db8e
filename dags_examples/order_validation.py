"""A sync webhook: the caller waits while the DAG validates the order and answers.

``check_order`` (a ``@task.branch``) reads the trigger variables through ``params`` and
picks one ``WebhookResponseOperator``: ``accept_order`` answers 200 with a JSON body
built from ``params``; ``reject_order`` answers 422 with the reason. ``fulfil_order``
runs after the answer went out: the caller does not wait for it.
"""

from __future__ import annotations

import time

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_webhook_trigger import WebhookResponseOperator

CATALOG = {"SKU-1": 1250, "SKU-2": 990, "SKU-3": 4500}

with DAG(
    dag_id="order_validation",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["webhook-example"],
    render_template_as_native_obj=True,
    params={
        "order_id": Param(type="string", minLength=1),
        "sku": Param(type="string"),
        "quantity": Param(1, type="integer"),
    },
) as dag:

    @task.branch
    def check_order(params: dict | None = None, ti=None) -> str:  # type: ignore[no-untyped-def]
        reason = None
        if params["sku"] not in CATALOG:
            reason = f"unknown sku {params['sku']}"
        elif not 1 <= params["quantity"] <= 10:
            reason = "quantity must be between 1 and 10"
        if reason:
            ti.xcom_push(key="reason", value=reason)
            return "reject_order"
        ti.xcom_push(key="total", value=CATALOG[params["sku"]] * params["quantity"])
        return "accept_order"

    accept = WebhookResponseOperator(
        task_id="accept_order",
        status_code=200,
        headers={"X-Order-Id": "{{ params.order_id }}"},
        body={
            "order_id": "{{ params.order_id }}",
            "status": "accepted",
            "quantity": "{{ params.quantity }}",
            "total": "{{ ti.xcom_pull(task_ids='check_order', key='total') }}",
        },
    )
    reject = WebhookResponseOperator(
        task_id="reject_order",
        status_code=422,
        body={
            "order_id": "{{ params.order_id }}",
            "status": "rejected",
            "reason": "{{ ti.xcom_pull(task_ids='check_order', key='reason') }}",
        },
    )

    @task
    def fulfil_order(params: dict | None = None) -> str:  # type: ignore[no-untyped-def]
        time.sleep(5)  # slow work the caller does not wait for
        return f"fulfilled {params['order_id']}"

    check_order() >> [accept, reject]
    accept >> fulfil_order()
