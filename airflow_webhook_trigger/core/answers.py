"""What the driver answers besides a trigger: a test capture's sample, a sync caller's answer
once its run settled (or not), a status poll."""

from __future__ import annotations

from dataclasses import replace

from airflow_webhook_trigger.core.definition import FORBIDDEN_READ_HEADERS, ID_RE, Webhook
from airflow_webhook_trigger.core.errors import MethodNotAllowed, NotFound
from airflow_webhook_trigger.core.jsonbody import NO_BODY
from airflow_webhook_trigger.core.request import WebhookRequest
from airflow_webhook_trigger.core.response import HttpResponse, json_response
from airflow_webhook_trigger.core.run_tokens import RunTokens
from airflow_webhook_trigger.core.runs import RUN_ID_HEADER, RUN_ID_RE, PendingRun, RunGateway, run_answer
from airflow_webhook_trigger.core.signatures import is_credential_header
from airflow_webhook_trigger.core.waiter import RunSnapshot
from airflow_webhook_trigger.core.webhook_source import WebhookSource


def capture_sample(
    webhook: Webhook, request: WebhookRequest, query: dict[str, object], body: object
) -> dict[str, object]:
    """The request as the webhook's sample: every header but those that may carry a credential
    (named in ``dropped_headers``, lower case, each once), the parsed query and body."""
    configured = webhook.signature.header.lower() if webhook.signature and webhook.signature.header else ""
    # lower case: ASGI servers hand names over so, WSGI ones title-cased (and matching
    # a configured header ignores case anyway)
    headers: list[tuple[str, str]] = []
    dropped: dict[str, None] = {}  # in order of arrival, each once
    for name, value in request.headers.fields():
        lower = name.lower()
        if lower in FORBIDDEN_READ_HEADERS or lower == configured or is_credential_header(name):
            dropped[lower] = None
        else:
            headers.append((lower, value))
    return {
        "headers": [[name, value] for name, value in headers],
        "query": query,
        "body": None if body is NO_BODY else body,
        "dropped_headers": list(dropped),
    }


def sync_answer(pending: PendingRun, snapshot: RunSnapshot | None) -> HttpResponse:
    """A sync caller's answer: the run's (settled), else 202 and where to poll."""
    if snapshot is None:
        return json_response(
            202,
            {
                "dag_id": pending.run.dag_id,
                "run_id": pending.run.run_id,
                "status_url": pending.status_url,
            },
            (("Location", pending.status_url), (RUN_ID_HEADER, pending.run.run_id)),
        )
    return run_answer(pending.run, snapshot)


def run_status(
    source: WebhookSource,
    runs: RunGateway,
    tokens: RunTokens,
    method: str,
    webhook_id: str,
    run_id: str,
    query_string: bytes,
) -> HttpResponse:
    """``GET {trigger URL}/runs/{run_id}?token=...``: the recorded response, or the run's state.

    Opened by the run's token (the status URL handed to its sync caller), never by the
    webhook's credentials: a poll carries nothing that could start a run. Without a
    valid token, or for a run that is not this webhook's, it is unknown (404, the same
    answer whether the webhook exists or not).
    """
    if method not in ("GET", "HEAD"):
        raise MethodNotAllowed(f"method {method[:16]} not allowed; use GET", headers={"Allow": "GET"})
    if not tokens.matches(webhook_id, run_id, query_string):  # before any lookup
        raise NotFound("no such run for this webhook")
    webhook = source.get(webhook_id) if ID_RE.match(webhook_id) else None
    if webhook is None or not webhook.enabled:
        raise NotFound("no such webhook")
    found = None
    if run_id.startswith(tokens.run_prefix(webhook.id)) and RUN_ID_RE.match(run_id):
        found = runs.snapshot(webhook.dag_id, run_id)
    if found is None:
        raise NotFound("no such run for this webhook")
    run, snapshot = found
    if webhook.mode != "sync" and snapshot.response is not None:
        # only a sync webhook's caller waits for an answer decided in the DAG: an async
        # webhook's status URL tells the run's state, whatever its tasks wrote to XCom
        snapshot = replace(snapshot, response=None)
    if not snapshot.settled:
        return json_response(
            202,
            {"dag_id": run.dag_id, "run_id": run.run_id, "state": snapshot.state},
            ((RUN_ID_HEADER, run.run_id),),
        )
    return run_answer(run, snapshot)
