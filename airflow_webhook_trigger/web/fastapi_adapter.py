"""FastAPI adapter: ``POST {prefix}/trigger/{id}`` plus the management API.

Thin by design: turn the Starlette request into a :class:`WebhookRequest` once, call
the core, copy its :class:`HttpResponse` out. Blocking work (DB, scrypt) runs in
worker threads; the body is read here, never through ``request.json()``.
"""

from __future__ import annotations

import functools
import gc
import logging
import threading
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from airflow_webhook_trigger.airflow_seam.wiring import Runtime
from airflow_webhook_trigger.core.definition import Webhook
from airflow_webhook_trigger.core.driver import Authenticated, public_url
from airflow_webhook_trigger.core.errors import NotFound, WebhookError
from airflow_webhook_trigger.core.request import Headers, WebhookRequest
from airflow_webhook_trigger.core.response import (
    INTERNAL_ERROR,
    SECURITY_HEADERS,
    HttpResponse,
    error_response,
)
from airflow_webhook_trigger.core.runs import Deferred, PendingRun
from airflow_webhook_trigger.core.ttl_cache import Missing
from airflow_webhook_trigger.core.waiter import SyncSlot
from airflow_webhook_trigger.web.admission import Admission, Written
from airflow_webhook_trigger.web.lingering import TrackedReceive, answer_then_linger, expects_continue
from airflow_webhook_trigger.web.management_api import management_router
from airflow_webhook_trigger.web.starlette_io import as_response, http_exception_response, read_body_within

log = logging.getLogger(__name__)


async def guarded(work: Callable[[], Awaitable[HttpResponse]]) -> HttpResponse:
    """The one place that turns errors into responses for this adapter."""
    try:
        return await work()
    except WebhookError as exc:
        return error_response(exc)
    except Exception:
        log.exception("unexpected error while handling a webhook")
        return INTERNAL_ERROR


_frozen = threading.Lock()
_heap_frozen = False


def freeze_startup_heap() -> bool:
    """Once per process: collect, then move every object alive into the permanent generation.

    The api-server holds several hundred thousand long-lived objects (Airflow's app, its
    models, the DAGs it loaded). Under webhook load, each request's objects in flight
    survive the young collections, which then trigger full ones about every few seconds;
    each full collection walks that whole heap (measured: 0.4 s each, a quarter of the
    server's CPU at 32 clients). Frozen, that heap is no longer walked; objects made after
    are collected as before. Returns whether this call froze it.
    """
    global _heap_frozen
    with _frozen:
        if _heap_frozen:
            return False
        gc.collect()
        gc.freeze()
        _heap_frozen = True
        return True


class _PluginRoute:
    """An ASGI endpoint (not a function) so that Starlette routes every method to it; each
    URL of the core is a subclass answering one request, its errors rendered by :func:`guarded`."""

    def __init__(self, runtime: Callable[[], Runtime], admission: Callable[[], Admission]) -> None:
        self._runtime = runtime
        self._admission = admission

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracked = TrackedReceive(receive)
        request = Request(scope, tracked)
        result = await guarded(lambda: self.answer(request))
        if result.status == 413:  # the body is left unread: answer, then drain it, bounded
            linger = not tracked.ended and not expects_continue(scope["headers"])
            await answer_then_linger(result, tracked, send, linger=linger)
            return
        await as_response(result)(scope, receive, send)

    async def answer(self, request: Request) -> HttpResponse:
        raise NotImplementedError

    async def _located(self, request: Request) -> Webhook:
        """The webhook the URL names (method, id and declared size checked first)."""
        endpoint = self._runtime().endpoint
        webhook_id = str(request.path_params.get("webhook_id", ""))
        length = request.headers.get("content-length")
        cached = endpoint.locate_cached(request.method, webhook_id, length)  # no thread hop
        if not isinstance(cached, Missing):
            return cached
        return await self._admission().lookup(lambda: endpoint.locate(request.method, webhook_id, length))

    async def _authenticated(self, webhook: Webhook, incoming: WebhookRequest) -> Authenticated:
        """The webhook's auth checks, outside the trigger slots: a flood of wrong passwords
        must not hold the slots every other webhook needs. HMACs only: inline; a first
        scrypt or a secrets backend: on a thread of its own, one check per key at a time."""
        endpoint = self._runtime().endpoint
        slow_key = endpoint.slow_check_queue(webhook)
        check = functools.partial(endpoint.authenticate, webhook, incoming)
        return check() if slow_key is None else await self._admission().slow_check(slow_key, check)


class TriggerRoute(_PluginRoute):
    """``POST {prefix}/trigger/{id}``."""

    async def answer(self, request: Request) -> HttpResponse:
        started = time.perf_counter()
        runtime = self._runtime()
        webhook = await self._located(request)
        with runtime.sync_slot(webhook) as slot:
            return await self._answer(request, runtime, webhook, started, slot)

    async def _answer(
        self, request: Request, runtime: Runtime, webhook: Webhook, started: float, slot: SyncSlot | None
    ) -> HttpResponse:
        endpoint = runtime.endpoint
        with endpoint.recording(webhook, started):
            incoming = await _incoming(request, runtime, f"/trigger/{webhook.id}")
            proof = await self._authenticated(webhook, incoming)
            url = str(request.url.replace(query=""))
            admission = self._admission()
            async with admission.slot():
                written = Written()
                result = await admission.in_slot(
                    lambda: written.queue(
                        endpoint.accept(
                            webhook,
                            incoming,
                            request_url=url,
                            authenticated=proof,
                            started=started,
                            defer=True,
                        )
                    )
                )
                if isinstance(result, Deferred):
                    await written.wait()  # its group's commit, holding no thread
                    result = (
                        await admission.in_slot(result.resume) if result.write.failed else result.resume()
                    )
        if isinstance(result, PendingRun):
            # Sync mode: wait on the process's one waiter; no thread is held meanwhile.
            if slot is not None:
                slot.waits_on(result.run.key)
            snapshot = await runtime.waiter.wait_async(result.run.key, result.timeout)
            return endpoint.finish(result, snapshot)
        return result


class StatusRoute(_PluginRoute):
    """``GET {prefix}/trigger/{id}/runs/{run_id}``: a sync run's response or state."""

    async def answer(self, request: Request) -> HttpResponse:
        params = request.path_params
        webhook_id, run_id = str(params.get("webhook_id", "")), str(params.get("run_id", ""))
        query_string = request.scope.get("query_string", b"")
        status = self._runtime().endpoint.status
        return await self._admission().lookup(
            lambda: status(request.method, webhook_id, run_id, query_string)
        )


def _headers(request: Request) -> Headers:
    return Headers.from_raw(request.headers.raw)


async def _incoming(request: Request, runtime: Runtime, path: str) -> WebhookRequest:
    """The request as the core sees it, its body read within the limit."""
    body = await read_body_within(request, runtime.settings.max_body_bytes)
    query_string = request.scope.get("query_string", b"")
    return WebhookRequest(
        method=request.method,
        headers=_headers(request),
        query_string=query_string,
        body=body,
        url=public_url(runtime.base_url, f"{runtime.settings.url_prefix}{path}", query_string),
    )


class CaptureRoute(_PluginRoute):
    """``POST {prefix}/test/{id}``: a test capture, the webhook's sample (no run)."""

    async def answer(self, request: Request) -> HttpResponse:
        runtime = self._runtime()
        webhook = await self._located(request)
        incoming = await _incoming(request, runtime, f"/test/{webhook.id}")
        proof = await self._authenticated(webhook, incoming)

        def capture() -> HttpResponse:
            sample, answer = runtime.endpoint.capture(webhook, incoming, authenticated=proof)
            runtime.deliveries.save_sample(webhook.id, sample)
            return answer

        return await self._admission().run(capture)


def _ui_asset_endpoint(runtime: Callable[[], Runtime]) -> Callable[[Request], Awaitable[Response]]:
    """``GET {prefix}/ui/{name}``: the Webhooks page's bundle and icons (no secret: public,
    like Airflow's own assets), revalidated by ETag so an upgrade is seen at once."""
    from airflow_webhook_trigger.web.ui_page import asset

    async def serve(request: Request) -> Response:
        current = runtime()
        name = str(request.path_params.get("name", ""))
        found = asset(name, current.base_url, current.settings.url_prefix)
        if found is None:
            return as_response(error_response(NotFound(f"no UI asset named {name[:64]!r}")))
        # a script and icons, loaded by Airflow's page: opened on their own, they run nothing
        headers = {"ETag": found.etag, "Cache-Control": "no-cache", **dict(SECURITY_HEADERS)}
        if found.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(found.body, media_type=found.media_type, headers=headers)

    return serve


def create_app(runtime: Callable[[], Runtime]) -> FastAPI:
    """The app mounted by the api-server at ``[webhook_trigger] url_prefix``.

    :param runtime: returns the shared :class:`Runtime` (called per request; cheap)
    """
    app = FastAPI(
        title="airflow-webhook-trigger",
        description="Webhook URLs that start Airflow DAG runs, and their management API.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )

    @functools.cache
    def admission() -> Admission:  # one per app, built with the settings on first use
        settings = runtime().settings
        if settings.gc_freeze:
            freeze_startup_heap()
        return Admission(settings)

    app.router.routes.append(Route("/trigger/{webhook_id}", TriggerRoute(runtime, admission)))
    app.router.routes.append(Route("/trigger/{webhook_id}/runs/{run_id}", StatusRoute(runtime, admission)))
    app.router.routes.append(Route("/test/{webhook_id}", CaptureRoute(runtime, admission)))
    app.router.routes.append(Route("/ui/{name}", _ui_asset_endpoint(runtime), methods=["GET", "HEAD"]))
    app.include_router(management_router(runtime))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # raised outside a route: no route matches, or a method the route lacks
        if exc.status_code == 405:
            # Starlette names only the first route of the path; RFC 9110 §15.5.6: all of them
            allowed = sorted(
                {m for r in app.router.routes if r.matches(request.scope)[0] != Match.NONE
                 for m in getattr(r, "methods", None) or ()}
            )  # fmt: skip
            exc = StarletteHTTPException(405, exc.detail, headers={"Allow": ", ".join(allowed)})
        return as_response(http_exception_response(exc))

    return app
