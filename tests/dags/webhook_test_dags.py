"""DAGs used by the integration tests only."""

from __future__ import annotations

import inspect

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

# The lean run insert (airflow_runs) must write what Airflow's own trigger path writes:
# task attributes that land in task_instance rows, a task group, every weight rule.
with DAG(
    dag_id="wt_shapes",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    is_paused_upon_creation=True,
    default_args={"retries": 2, "queue": "webhooks"},
):
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import TaskGroup

    start = EmptyOperator(task_id="start", priority_weight=7, weight_rule="absolute")
    with TaskGroup("group"):
        left = EmptyOperator(task_id="left", pool_slots=1, weight_rule="upstream")
        right = EmptyOperator(task_id="right", task_display_name="Right side", executor_config={"k": 1})
    end = EmptyOperator(task_id="end", retries=0)

    @task(priority_weight=3)
    def shaped() -> None:
        pass

    start >> [left, right] >> end >> shaped()

# A mapped task: its task count depends on the run, so Airflow's own path creates it.
with DAG(
    dag_id="wt_mapped",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    is_paused_upon_creation=True,
):

    @task
    def double(x: int) -> int:
        return 2 * x

    double.expand(x=[1, 2, 3])

# A DAG that refuses manual runs (``allowed_run_types``, Airflow 3.2+): a webhook gets 409.
# Airflow 3.1's DAG has no such argument, so there the DAG does not exist.
if "allowed_run_types" in inspect.signature(DAG).parameters:
    with DAG(
        dag_id="wt_scheduled_only",
        schedule="@daily",
        catchup=False,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        is_paused_upon_creation=True,
        allowed_run_types=["scheduled", "backfill"],
    ):

        @task
        def scheduled_noop() -> None:
            pass

        scheduled_noop()
