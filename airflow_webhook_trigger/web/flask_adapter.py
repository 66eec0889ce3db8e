"""Flask adapter: the same URLs as a blueprint (served under ``/pluginsv2`` on Airflow 3),
driven by the core's :class:`RequestDriver` on the request's own thread.

Registered only when the FAB provider is installed. CSRF-exempt: external callers
have no CSRF token (Flask-WTF's ``csrf.exempt`` in a ``record_once`` hook).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

from flask import Blueprint, Response, request
from werkzeug.exceptions import ClientDisconnected

from airflow_webhook_trigger.airflow_seam.wiring import Runtime
from airflow_webhook_trigger.core.driver import RequestDriver, RequestHead, WriteWaiter, run_blocking
from airflow_webhook_trigger.core.errors import BadRequest, body_too_large
from airflow_webhook_trigger.core.request import Headers, wsgi_header_bytes
from airflow_webhook_trigger.core.response import HttpResponse
from airflow_webhook_trigger.core.waiter import RunSnapshot, RunWaiter

_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_CHUNK = 64 * 1024

T = TypeVar("T")


@contextlib.asynccontextmanager
async def _no_slot() -> AsyncIterator[None]:
    yield


class _WsgiIO:
    """:class:`DriverIO` on the request's own WSGI thread: every step runs at once.

    That thread is one of the api-server's shared anyio worker threads (40, also serving
    Airflow's execution API that running tasks call), so at most ``flask_sync_max_waiting``
    sync callers wait at once. Past that a caller gets the timeout answer at once (202 +
    status URL): its run is already committed, so it polls the status URL and nothing is lost.
    """

    defers_writes = False

    def __init__(self, waiter: RunWaiter, sync_waits: threading.BoundedSemaphore) -> None:
        self._waiter = waiter
        self._sync_waits = sync_waits
        self.head = RequestHead(
            method=request.method,
            headers=Headers.from_raw(
                (k.encode("latin-1"), wsgi_header_bytes(v)) for k, v in request.headers.items()
            ),
            query_string=request.query_string,
            called_url=request.base_url,
            script_root=request.script_root,
        )

    async def read_body(self, limit: int) -> bytes:
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

    async def lookup(self, work: Callable[[], T]) -> T:
        return work()

    async def slow_check(self, queue: str, work: Callable[[], T]) -> T:
        return work()

    def trigger_slot(self) -> AbstractAsyncContextManager[None]:
        return _no_slot()

    async def in_slot(self, work: Callable[[], T]) -> T:
        return work()

    def write_waiter(self) -> WriteWaiter:
        raise NotImplementedError("a WSGI thread writes its run itself")

    async def wait_run(self, run_row_id: int, timeout: float) -> RunSnapshot | None:
        if not self._sync_waits.acquire(blocking=False):
            return None
        try:
            return self._waiter.wait(run_row_id, timeout)
        finally:
            self._sync_waits.release()


def _answer(
    runtime: Runtime, ask: Callable[[RequestDriver, _WsgiIO], Coroutine[object, object, HttpResponse]]
) -> Response:
    result = run_blocking(ask(runtime.driver, _WsgiIO(runtime.waiter, runtime.flask_sync_slots)))
    return Response(result.body, status=result.status, headers=list(result.headers))


def create_blueprint(runtime: Callable[[], Runtime], url_prefix: str) -> Blueprint:
    """:param url_prefix: ``[webhook_trigger] url_prefix`` (under ``/pluginsv2`` on Airflow 3)"""
    bp = Blueprint("webhook_trigger", __name__, url_prefix=url_prefix)

    def trigger(webhook_id: str) -> Response:
        return _answer(runtime(), lambda driver, io: driver.trigger(io, webhook_id))

    def capture(webhook_id: str) -> Response:
        return _answer(runtime(), lambda driver, io: driver.capture(io, webhook_id))

    def status(webhook_id: str, run_id: str) -> Response:
        return _answer(runtime(), lambda driver, io: driver.status(io, webhook_id, run_id))

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
        view_func=capture,
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
