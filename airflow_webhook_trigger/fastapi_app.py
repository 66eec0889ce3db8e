"""FastAPI adapter: ``POST {prefix}/trigger/{id}`` plus the management API.

Thin by design: turn the Starlette request into a :class:`WebhookRequest` once, call
the core, copy its :class:`HttpResponse` out. Blocking work (DB, scrypt) runs in
worker threads; the body is read here, never through ``request.json()``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from anyio import to_thread
from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from airflow_webhook_trigger.endpoint import PendingRun, body_too_large
from airflow_webhook_trigger.errors import BadRequest, WebhookError
from airflow_webhook_trigger.request import Headers, WebhookRequest
from airflow_webhook_trigger.response import INTERNAL_ERROR, HttpResponse, error_response
from airflow_webhook_trigger.runtime import Runtime

log = logging.getLogger(__name__)


async def _read_body(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise body_too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise BadRequest("client disconnected before the body was read") from None
    return b"".join(chunks)


def _render(result: HttpResponse) -> Response:
    return Response(content=result.body, status_code=result.status, headers=dict(result.headers))


async def guarded(work: Callable[[], Awaitable[HttpResponse]]) -> HttpResponse:
    """The one place that turns errors into responses for this adapter."""
    try:
        return await work()
    except WebhookError as exc:
        return error_response(exc)
    except Exception:
        log.exception("unexpected error while handling a webhook")
        return INTERNAL_ERROR


class TriggerRoute:
    """An ASGI endpoint (not a function) so that Starlette routes every method to it."""

    def __init__(self, runtime: Callable[[], Runtime]) -> None:
        self._runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        webhook_id = str(request.path_params.get("webhook_id", ""))

        async def work() -> HttpResponse:
            runtime = self._runtime()
            endpoint = runtime.endpoint
            webhook = await to_thread.run_sync(
                endpoint.locate, request.method, webhook_id, request.headers.get("content-length")
            )
            body = await _read_body(request, runtime.settings.max_body_bytes)
            incoming = WebhookRequest(
                method=request.method,
                headers=_headers(request),
                query_string=scope.get("query_string", b""),
                body=body,
            )
            url = str(request.url.replace(query=""))
            result = await to_thread.run_sync(lambda: endpoint.accept(webhook, incoming, request_url=url))
            if isinstance(result, PendingRun):
                # Sync mode: wait on the process's one waiter; no thread is held meanwhile.
                snapshot = await runtime.waiter.wait_async(result.run.key, result.timeout)
                return endpoint.finish(result, snapshot)
            return result

        await _render(await guarded(work))(scope, receive, send)


class StatusRoute:
    """``GET {prefix}/trigger/{id}/runs/{run_id}``: a sync run's response or state."""

    def __init__(self, runtime: Callable[[], Runtime]) -> None:
        self._runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        params = request.path_params

        async def work() -> HttpResponse:
            headers = _headers(request)
            return await to_thread.run_sync(
                self._runtime().endpoint.status,
                request.method,
                str(params.get("webhook_id", "")),
                str(params.get("run_id", "")),
                headers,
            )

        await _render(await guarded(work))(scope, receive, send)


def _headers(request: Request) -> Headers:
    return Headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw)


def create_app(runtime: Callable[[], Runtime]) -> FastAPI:
    """The app mounted by the api-server at ``[webhook_trigger] url_prefix``.

    :param runtime: returns the shared :class:`Runtime` (called per request; cheap)
    """
    from airflow_webhook_trigger.management import management_router

    app = FastAPI(
        title="airflow-webhook-trigger",
        description="Webhook URLs that start Airflow DAG runs, and their management API.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.router.routes.append(Route("/trigger/{webhook_id}", TriggerRoute(runtime)))
    app.router.routes.append(Route("/trigger/{webhook_id}/runs/{run_id}", StatusRoute(runtime)))
    app.include_router(management_router(runtime))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    return app
