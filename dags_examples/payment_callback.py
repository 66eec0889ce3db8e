"""A payment provider calls a webhook when a payment settles.

Webhook (``webhooks.yaml``): Basic auth, ``X-Request-Id`` header aliased to
``request_id``, body paths ``data.object.amount`` -> ``amount`` and
``data.object.currency`` -> ``currency``. The DAG's typed params are the
webhook's schema: a request without an integer ``amount`` gets 422.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, task

with DAG(
    dag_id="payment_callback",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["webhook-example"],
    params={
        "amount": Param(type="integer", minimum=1, description="amount in cents"),
        "currency": Param("EUR", type="string", enum=["EUR", "USD", "GBP"]),
        "request_id": Param(None, type=["null", "string"]),
    },
) as dag:

    @task
    def record_payment(params: dict | None = None, dag_run=None) -> dict:  # type: ignore[no-untyped-def]
        conf = dag_run.conf
        seen = {
            "amount": params["amount"],
            "currency": params["currency"],
            "request_id": params["request_id"],
            "webhook": conf["webhook"]["handle"],  # names the webhook without its id
            "headers": conf["headers"],
            "body": conf.get("body"),
        }
        print(f"payment of {seen['amount']} {seen['currency']} (request {seen['request_id']})")
        return seen

    record_payment()
