"""A GitHub-style push webhook: which repository, which branch, which commits.

Webhook (``webhooks.yaml``): GitHub's signature (``X-Hub-Signature-256``, the webhook's
secret in ``GITHUB_WEBHOOK_SECRET``); headers ``X-GitHub-Event`` -> ``event`` and
``X-GitHub-Delivery`` -> ``delivery``; body paths ``ref``, ``repository.full_name`` ->
``repository`` and ``head_commit.id`` -> ``commit``; query ``dry_run`` -> ``dry_run``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, task

with DAG(
    dag_id="github_push",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["webhook-example"],
    params={
        "event": Param("push", type="string"),
        "delivery": Param(None, type=["null", "string"]),
        "ref": Param("refs/heads/main", type="string"),
        "repository": Param(type="string"),
        "commit": Param(None, type=["null", "string"]),
        "dry_run": Param("0", type="string", enum=["0", "1"]),
    },
) as dag:

    @task
    def plan_build(params: dict | None = None) -> dict:  # type: ignore[no-untyped-def]
        branch = params["ref"].removeprefix("refs/heads/")
        plan = {
            "event": params["event"],
            "repository": params["repository"],
            "branch": branch,
            "commit": params["commit"],
            "dry_run": params["dry_run"] == "1",
        }
        print(f"{plan['event']} to {plan['repository']}@{branch}: building {plan['commit']}")
        return plan

    @task
    def build(plan: dict) -> str:
        return "skipped (dry run)" if plan["dry_run"] else f"built {plan['commit']}"

    build(plan_build())
