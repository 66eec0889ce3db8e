"""DAGs used by the integration tests only."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, task

with DAG(
    dag_id="wt_params",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    params={
        "amount": Param(type="integer", minimum=1),
        "currency": Param("EUR", type="string", enum=["EUR", "USD"]),
    },
):

    @task
    def noop() -> None:
        pass

    noop()

with DAG(
    dag_id="wt_plain",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    is_paused_upon_creation=True,
):

    @task
    def echo(dag_run=None) -> dict:  # type: ignore[no-untyped-def]
        return dict(dag_run.conf)

    echo()
