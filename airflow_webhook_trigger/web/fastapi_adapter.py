"""FastAPI adapter: ``POST {prefix}/trigger/{id}`` plus the management API.

Thin by design: the request's head, its body and where blocking work runs
(:class:`_StarletteIO`) go to the core's :class:`RequestDriver`, whose
:class:`HttpResponse` is copied out. The body is read here, never through
``request.json()``.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from airflow_webhook_trigger.airflow_seam.wiring import Runtime
from airflow_webhook_trigger.core.driver import RequestDriver, RequestHead
from airflow_webhook_trigger.core.errors import NotFound
from airflow_webhook_trigger.core.request import Headers
from airflow_webhook_trigger.core.response import SECURITY_HEADERS, HttpResponse, error_response
from airflow_webhook_trigger.core.waiter import RunSnapshot, RunWaiter
from airflow_webhook_trigger.web.admission import Admission, Written
from airflow_webhook_trigger.web.lingering import TrackedReceive, answer_then_linger, expects_continue
from airflow_webhook_trigger.web.management_api import management_router
from airflow_webhook_trigger.web.starlette_io import as_response, http_exception_response, read_body_within

T = TypeVar("T")


_frozen = threading.Lock()
_heap_frozen = False


def freeze_startup_heap() -> bool:
    """Once per process: collect, then move every object alive into the permanent generation.

    The api-server holds several hundred thousand long-lived objects (Airflow's app, its
    models, the DAGs it loaded). Under webhook load, each request's objects in flight
    survive the young collections, which then trigger full ones about every few seconds,
    each walking that whole heap (the figures: docs/decisions/0008-gc-freeze.md). Frozen,
    that heap is no longer walked; objects made after are collected as before. Returns
    whether this call froze it.
    """
    global _heap_frozen
    with _frozen:
        if _heap_frozen:
            return False
        gc.collect()
        gc.freeze()
        _heap_frozen = True
        return True


class _StarletteIO:
    """:class:`DriverIO` for one request in the event loop: blocking work on the
    admission's bounded threads, waits (slots, group commits, sync runs) in the loop."""

    defers_writes = True

    def __init__(self, request: Request, admission: Admission, waiter: RunWaiter) -> None:
        self._request = request
        self._admission = admission
        self._waiter = waiter
        self.head = RequestHead(
            method=request.method,
            headers=Headers.from_raw(request.headers.raw),
            query_string=request.scope.get("query_string", b""),
            called_url=str(request.url.replace(query="")),
        )

    async def read_body(self, limit: int) -> bytes:
        return await read_body_within(self._request, limit)

    async def lookup(self, work: Callable[[], T]) -> T:
        return await self._admission.lookup(work)

    async def slow_check(self, queue: str, work: Callable[[], T]) -> T:
        return await self._admission.slow_check(queue, work)

    def trigger_slot(self) -> AbstractAsyncContextManager[None]:
        return self._admission.slot()

    async def in_slot(self, work: Callable[[], T]) -> T:
        return await self._admission.in_slot(work)

    def write_waiter(self) -> Written:
        return Written()

    async def wait_run(self, run_row_id: int, timeout: float) -> RunSnapshot | None:
        # no thread is held meanwhile: the process's one waiter polls for every caller
        return await self._waiter.wait_async(run_row_id, timeout)


class _PluginRoute:
    """An ASGI endpoint (not a function) so that Starlette routes every method to it; each
    URL of the core is a subclass asking the driver for one answer."""

    def __init__(self, runtime: Callable[[], Runtime], admission: Callable[[], Admission]) -> None:
        self._runtime = runtime
        self._admission = admission

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracked = TrackedReceive(receive)
        request = Request(scope, tracked)
        runtime = self._runtime()
        io = _StarletteIO(request, self._admission(), runtime.waiter)
        result = await self.answer(runtime.driver, io, request.path_params)
        if result.status == 413:  # the body is left unread: answer, then drain it, bounded
            linger = not tracked.ended and not expects_continue(scope["headers"])
            await answer_then_linger(result, tracked, send, linger=linger)
            return
        await as_response(result)(scope, receive, send)

    async def answer(self, driver: RequestDriver, io: _StarletteIO, params: dict[str, Any]) -> HttpResponse:
        raise NotImplementedError


class TriggerRoute(_PluginRoute):
    """``POST {prefix}/trigger/{id}``."""

    async def answer(self, driver: RequestDriver, io: _StarletteIO, params: dict[str, Any]) -> HttpResponse:
        return await driver.trigger(io, str(params.get("webhook_id", "")))


class StatusRoute(_PluginRoute):
    """``GET {prefix}/trigger/{id}/runs/{run_id}``: a sync run's response or state."""

    async def answer(self, driver: RequestDriver, io: _StarletteIO, params: dict[str, Any]) -> HttpResponse:
        return await driver.status(io, str(params.get("webhook_id", "")), str(params.get("run_id", "")))


class CaptureRoute(_PluginRoute):
    """``POST {prefix}/test/{id}``: a test capture, the webhook's sample (no run)."""

    async def answer(self, driver: RequestDriver, io: _StarletteIO, params: dict[str, Any]) -> HttpResponse:
        return await driver.capture(io, str(params.get("webhook_id", "")))


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
