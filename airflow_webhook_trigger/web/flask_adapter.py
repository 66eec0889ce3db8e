"""Flask adapter: the same endpoint as a blueprint (served under ``/pluginsv2`` on Airflow 3).

Registered only when the FAB provider is installed. CSRF-exempt: external callers
have no CSRF token (Flask-WTF's ``csrf.exempt`` in a ``record_once`` hook).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from flask import Blueprint, Response, request
from werkzeug.exceptions import ClientDisconnected

from airflow_webhook_trigger.airflow_seam.wiring import Runtime
from airflow_webhook_trigger.core.driver import public_url
from airflow_webhook_trigger.core.errors import BadRequest, WebhookError, body_too_large
from airflow_webhook_trigger.core.request import Headers, WebhookRequest, wsgi_header_bytes
from airflow_webhook_trigger.core.response import INTERNAL_ERROR, HttpResponse, error_response
from airflow_webhook_trigger.core.runs import PendingRun

log = logging.getLogger(__name__)

_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_CHUNK = 64 * 1024


def _read_body(limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            chunk = request.stream.read(_CHUNK)
        except ClientDisconnected:  # fewer bytes than Content-Length said: the client's fault
            raise BadRequest("client disconnected before the body was read") from None
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise body_too_large(limit)
        chunks.append(chunk)


def _headers() -> Headers:
    return Headers.from_raw((k.encode("latin-1"), wsgi_header_bytes(v)) for k, v in request.headers.items())


def _incoming(runtime: Runtime, path: str) -> WebhookRequest:
    """The request as the core sees it, its body read within the limit."""
    return WebhookRequest(
        method=request.method,
        headers=_headers(),
        query_string=request.query_string,
        body=_read_body(runtime.settings.max_body_bytes),
        url=public_url(
            runtime.base_url,
            f"{request.script_root}{runtime.settings.url_prefix}{path}",
            request.query_string,
        ),
    )


def _capture(runtime: Runtime, webhook_id: str) -> HttpResponse:
    endpoint = runtime.endpoint
    webhook = endpoint.locate(request.method, webhook_id, request.headers.get("Content-Length"))
    sample, answer = endpoint.capture(webhook, _incoming(runtime, f"/test/{webhook_id}"))
    runtime.deliveries.save_sample(webhook.id, sample)
    return answer


def _handle(runtime: Runtime, webhook_id: str) -> HttpResponse:
    started = time.perf_counter()
    endpoint = runtime.endpoint
    webhook = endpoint.locate(request.method, webhook_id, request.headers.get("Content-Length"))
    with runtime.sync_slot(webhook) as slot:
        with endpoint.recording(webhook, started):
            incoming = _incoming(runtime, f"/trigger/{webhook_id}")
            result = endpoint.accept(webhook, incoming, request_url=request.base_url, started=started)
        if isinstance(result, PendingRun):
            if slot is not None:
                slot.waits_on(result.run.key)
            return _wait(runtime, result)
        return result


def _wait(runtime: Runtime, pending: PendingRun) -> HttpResponse:
    """Sync mode: this WSGI thread waits on the process's one waiter, if a slot is free.

    The thread is one of the api-server's shared anyio worker threads (40, also serving
    Airflow's execution API that running tasks call), so at most ``flask_sync_max_waiting``
    wait at once. Past that the caller gets the timeout answer at once (202 + status URL):
    its run is already committed, so it polls the status URL and nothing is lost.
    """
    slots = runtime.flask_sync_slots
    if not slots.acquire(blocking=False):
        return runtime.endpoint.finish(pending, None)
    try:
        snapshot = runtime.waiter.wait(pending.run.key, pending.timeout)
    finally:
        slots.release()
    return runtime.endpoint.finish(pending, snapshot)


def _guarded(work: Callable[[], HttpResponse]) -> Response:
    """The one place that turns errors into responses for this adapter."""
    try:
        result = work()
    except WebhookError as exc:
        result = error_response(exc)
    except Exception:
        log.exception("unexpected error while handling a webhook")
        result = INTERNAL_ERROR
    return Response(result.body, status=result.status, headers=list(result.headers))


def create_blueprint(runtime: Callable[[], Runtime], url_prefix: str) -> Blueprint:
    """:param url_prefix: ``[webhook_trigger] url_prefix`` (under ``/pluginsv2`` on Airflow 3)"""
    bp = Blueprint("webhook_trigger", __name__, url_prefix=url_prefix)

    def trigger(webhook_id: str) -> Response:
        return _guarded(lambda: _handle(runtime(), webhook_id))

    def status(webhook_id: str, run_id: str) -> Response:
        return _guarded(
            lambda: runtime().endpoint.status(request.method, webhook_id, run_id, request.query_string)
        )

    bp.add_url_rule(
        "/trigger/<webhook_id>",
        endpoint="trigger",
        view_func=trigger,
        methods=_METHODS,
        provide_automatic_options=False,
    )

    bp.add_url_rule(
        "/test/<webhook_id>",
        endpoint="test",
        view_func=lambda webhook_id: _guarded(lambda: _capture(runtime(), webhook_id)),
        methods=_METHODS,
        provide_automatic_options=False,
    )

    bp.add_url_rule(
        "/trigger/<webhook_id>/runs/<run_id>",
        endpoint="status",
        view_func=status,
        methods=_METHODS,
        provide_automatic_options=False,
    )

    def exempt_from_csrf(state: object) -> None:
        csrf = state.app.extensions.get("csrf")  # type: ignore[attr-defined]
        if csrf is not None:
            csrf.exempt(bp)

    bp.record_once(exempt_from_csrf)
    return bp
