"""``WebhookResponseOperator``: the answer a sync webhook's caller gets, decided in the DAG."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator

from airflow_webhook_trigger.core.response import checked_answer
from airflow_webhook_trigger.core.waiter import RESPONSE_KEY


def _response_value(status_code: Any, headers: Any, body: Any, task_id: str) -> dict[str, Any]:
    """Validate the rendered fields into what is recorded (JSON only: it crosses processes).

    The same rules (:func:`checked_answer`) are applied again when the answer is read back.
    """
    status, rendered, checked_body = checked_answer(status_code, headers, body)
    return {"status": status, "headers": rendered, "body": checked_body, "task_id": task_id}


class WebhookResponseOperator(BaseOperator):
    """Decide the HTTP answer of the sync webhook call that started this run.

    The first response recorded in a run wins: the caller gets it as soon as this task
    has run, even while the DAG goes on. A later response task logs that it is ignored.
    In a run that no sync caller waits for (an async webhook, a manual or scheduled run)
    it only logs that no caller is waiting. Put one per branch of a ``@task.branch`` to
    answer success or failure.

    :param status_code: HTTP status, 200-599 (templated)
    :param headers: extra response headers (templated)
    :param body: a string (sent as ``text/plain``) or a JSON-serialisable value (sent as
        ``application/json``) (templated)
    """

    template_fields: Sequence[str] = ("status_code", "headers", "body")
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        status_code: int | str = 200,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.status_code = status_code
        self.headers = dict(headers or {})
        self.body = body

    def execute(self, context: Any) -> None:
        response = _response_value(self.status_code, self.headers, self.body, self.task_id)
        conf = getattr(context.get("dag_run"), "conf", None) or {}
        webhook = conf.get("webhook") if isinstance(conf, Mapping) else None
        if not isinstance(webhook, Mapping) or webhook.get("mode") != "sync":
            self.log.info(
                "No caller is waiting for this run (not started by a sync webhook); response %s not sent.",
                response["status"],
            )
            return
        ti = context["ti"]
        others = [
            task.task_id
            for task in self.dag.tasks
            if isinstance(task, WebhookResponseOperator) and task.task_id != self.task_id
        ]
        if others:
            previous = ti.xcom_pull(task_ids=others, key=RESPONSE_KEY)
            earlier = [p for p in (previous or []) if isinstance(p, Mapping)]
            if earlier:
                self.log.warning(
                    "A response was already recorded in this run by task %s; this one "
                    "(status %s) is ignored: the first response wins.",
                    earlier[0].get("task_id"),
                    response["status"],
                )
                return
        ti.xcom_push(key=RESPONSE_KEY, value=response)
        self.log.info("Response recorded for the waiting caller: status %s.", response["status"])
