"""Sync-mode DAGs used by the end-to-end tests only."""

from __future__ import annotations

import time

import pendulum
from airflow.sdk import DAG, task

from airflow_webhook_trigger import WebhookResponseOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG(dag_id="wt_sync_fail", schedule=None, start_date=START):

    @task(retries=0)
    def explode() -> None:
        raise RuntimeError("boom before any response")

    explode() >> WebhookResponseOperator(task_id="never", status_code=200, body="unreachable")

with DAG(dag_id="wt_sync_noresponse", schedule=None, start_date=START):

    @task
    def work() -> int:
        return 1

    work()

with DAG(dag_id="wt_sync_two", schedule=None, start_date=START):
    first = WebhookResponseOperator(task_id="first", status_code=201, body={"which": "first"})
    second = WebhookResponseOperator(task_id="second", status_code=202, body={"which": "second"})
    first >> second

with DAG(dag_id="wt_sync_slow", schedule=None, start_date=START):

    @task
    def slow() -> None:
        time.sleep(6)

    slow() >> WebhookResponseOperator(task_id="late", status_code=200, body="late answer")
