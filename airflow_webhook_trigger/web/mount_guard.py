"""The ASGI guard in front of the plugin's mounts (registered as a root middleware).

Two things Airflow's root app does on the plugin's paths before any code of ours runs:

1. A path whose decoded form holds a control character (``%0A``, ``%00``) matches no
   mount (Starlette's mount pattern ``.*`` stops at a newline) and falls through to
   Airflow's own 404, ``{"detail": ...}``: :class:`MountGuard` answers it in the
   plugin's own shape, ``{"error": "Not Found"}``, on both prefixes.

2. The WSGI mount of the blueprint (``/pluginsv2``):

Airflow 3 serves plugin blueprints through Starlette's ``WSGIMiddleware``, which reads a
request's whole body into memory (growing one ``bytes`` by each chunk: quadratic)
before Flask or any check of ours runs, and which hands a chunked body to Flask as an
empty one (no ``CONTENT_LENGTH``, no ``wsgi.input_terminated``): a big upload costs
memory and time before any check, and a chunked webhook would be acknowledged with its
body lost (docs/decisions/0009-guard-the-wsgi-mount.md).

:class:`MountGuard` applies the webhook body limit on the blueprint's paths, where the
FastAPI adapter applies it itself:

- a declared ``Content-Length`` over ``max_body_bytes``: 413 at once, nothing kept (what
  the sender still uploads is drained, bounded, so it sees the answer: :mod:`lingering`);
- no ``Content-Length`` (chunked): the body is read here, up to the limit (413 past
  it), and passed on whole with its ``Content-Length``, so Flask sees every byte.

The same bounds hold on every path under ``/pluginsv2`` that no blueprint serves (the
Flask app's URL map matches no view for it): the plugin brings that mount, and a path
nobody serves would otherwise read any body whole. Other plugins' blueprint paths keep
Airflow's behaviour.

3. The trigger URL's fast path (``trigger_fast_path``, on by default): Airflow's root
   middlewares all run before any mount, and on ``POST {prefix}/trigger/{id}`` two of them
   do nothing but cost: the UI's token refresh (a ``BaseHTTPMiddleware``: a task group and
   memory streams per request; a webhook sender carries no Airflow session) and gzip (a
   webhook's answer is a few bytes). On its first request :class:`MountGuard` puts
   :class:`TriggerFastPath` in front of the root app's stack, which sends those requests
   through the middlewares that matter (Airflow's access log and CORS, rebuilt around this
   guard; every middleware inside this guard) and everything else through the whole stack. A
   root middleware it does not know (an auth manager's, another plugin's, outside this
   guard) turns the fast path off: it is never skipped (docs/decisions/0006-fast-path.md).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airflow_webhook_trigger.core.errors import PayloadTooLarge, body_too_large, check_declared_size
from airflow_webhook_trigger.core.response import HttpResponse, error_response, json_response
from airflow_webhook_trigger.web.lingering import answer_then_linger, expects_continue

log = logging.getLogger(__name__)

#: where Airflow 3 mounts plugin blueprints
PLUGINS_MOUNT = "/pluginsv2"

#: root middlewares (by class) that do nothing for a trigger request: left out of its path
SKIPPED_ON_TRIGGER = frozenset(
    {
        "airflow.api_fastapi.auth.middlewares.refresh_token.JWTRefreshMiddleware",
        "starlette.middleware.gzip.GZipMiddleware",
    }
)
#: root middlewares a trigger request still goes through (stateless: built again for it):
#: the access log, and CORS (``[api] access_control_allow_origins``: a browser's POST)
KEPT_ON_TRIGGER = frozenset(
    {
        "airflow.api_fastapi.common.http_access_log.HttpAccessLogMiddleware",
        "starlette.middleware.cors.CORSMiddleware",
    }
)


async def _send_response(
    scope: Scope, receive: Receive, send: Send, result: HttpResponse, *, body_ended: bool = False
) -> None:
    """Answer before the body is read, then drain it, bounded (:mod:`lingering`)."""
    linger = not body_ended and not expects_continue(list(scope.get("headers", ())))
    await answer_then_linger(result, receive, send, linger=linger)


def blueprint_routes(root: Any) -> Callable[[str, str], bool] | None:
    """``(path below /pluginsv2, method) -> a blueprint's view serves it``, from the Flask app
    behind the root app's ``/pluginsv2`` mount (``None``: no such mount found)."""
    for route in getattr(root, "routes", None) or ():
        if getattr(route, "path", None) != PLUGINS_MOUNT:
            continue
        url_map = getattr(getattr(getattr(route, "app", None), "app", None), "url_map", None)
        if url_map is not None:
            return functools.partial(_served, url_map)
    return None


def _served(url_map: Any, path: str, method: str) -> bool:
    try:
        url_map.bind("localhost").match(path or "/", method)
    except Exception:  # NotFound, MethodNotAllowed, RequestRedirect: Flask answers, no view reads a body
        return False
    return True


#: what :class:`MountGuard` needs from the settings: (url_prefix, max_body_bytes, blueprint served)
GuardLimits = tuple[str, int, bool]

NOT_FOUND = json_response(404, {"error": "Not Found"})


_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")


def _path_in_app(scope: Scope) -> str:
    """The request's path below the app's ``root_path``."""
    path: str = scope.get("path", "")
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path


def _has_control_character(path: str) -> bool:
    return _CONTROL_CHARACTER.search(path) is not None


class MountGuard:
    """See the module docstring.

    :param app: the next ASGI app (Airflow's root app and its mounts)
    :param limits: ``() -> (url_prefix, max_body_bytes, blueprint served)``, called on
        first use (the settings are read late, when the api-server serves, not at import)
    """

    def __init__(
        self,
        app: ASGIApp,
        limits: Callable[[], GuardLimits],
        fast_path: Callable[[], bool] = lambda: False,
        served: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.app = app
        self._limits = limits
        self._fast_path = fast_path
        #: ``(path below /pluginsv2, method) -> a blueprint serves it`` (found on first use)
        self._served = served
        self._resolved: tuple[str, str | None, int] | None = None
        #: the root app's stack was looked at for the fast path (on the first request)
        self._looked_at_root = False

    def _limits_now(self) -> tuple[str, str | None, int]:
        if self._resolved is None:
            prefix, limit, blueprint = self._limits()
            self._resolved = (prefix, PLUGINS_MOUNT + prefix if blueprint else None, limit)
        return self._resolved

    @staticmethod
    def _under(path: str, prefix: str | None) -> bool:
        return prefix is not None and (path == prefix or path.startswith(prefix + "/"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        prefix, blueprint_prefix, limit = self._limits_now()
        if not self._looked_at_root:
            self._looked_at_root = True
            if self._fast_path():
                install_fast_path(scope.get("app"), self, prefix)
            if self._served is None and blueprint_prefix is not None:
                self._served = blueprint_routes(scope.get("app"))
        path = _path_in_app(scope)
        ours = self._under(path, prefix) or self._under(path, blueprint_prefix)
        if ours and _has_control_character(path):
            await _send_response(scope, receive, send, NOT_FOUND)
            return
        if self._under(path, blueprint_prefix) or self._unserved_plugin_path(scope, path, blueprint_prefix):
            await self._bounded(scope, receive, send, limit)
            return
        await self.app(scope, receive, send)

    def _unserved_plugin_path(self, scope: Scope, path: str, blueprint_prefix: str | None) -> bool:
        """A path under ``/pluginsv2`` (a mount our blueprint brings) that no blueprint serves."""
        if blueprint_prefix is None or self._served is None or not self._under(path, PLUGINS_MOUNT):
            return False
        return not self._served(path[len(PLUGINS_MOUNT) :], str(scope.get("method", "GET")))

    async def _bounded(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        headers = list(scope.get("headers", ()))
        declared = [v for k, v in headers if k.lower() == b"content-length"]
        if declared:
            try:
                check_declared_size(declared[0].decode("latin-1"), limit)
            except PayloadTooLarge as exc:
                await _send_response(scope, receive, send, error_response(exc))
                return
            await self.app(scope, receive, send)
            return
        # No length: read the (chunked) body here, bounded, and pass it on with its length.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                ended = not message.get("more_body", False)
                await _send_response(
                    scope, receive, send, error_response(body_too_large(limit)), body_ended=ended
                )
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        kept = [(k, v) for k, v in headers if k.lower() != b"transfer-encoding"]
        kept.append((b"content-length", str(len(body)).encode("ascii")))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app({**scope, "headers": kept}, replay, send)


def _class_name(cls: Any) -> str:
    return f"{getattr(cls, '__module__', '')}.{getattr(cls, '__qualname__', '')}"


def trigger_chain(root: Any, guard: MountGuard) -> ASGIApp | str:
    """What a trigger request goes through: the root middlewares outside ``guard`` that it
    needs, built around it; or why there is no such path (a root middleware not known)."""
    outer: list[Any] = []
    for entry in getattr(root, "user_middleware", None) or ():
        if getattr(entry, "cls", None) is type(guard):
            break
        outer.append(entry)
    else:
        return "this guard is not among the root app's middlewares"
    app: ASGIApp = guard
    for entry in reversed(outer):  # the innermost first
        name = _class_name(entry.cls)
        if name in SKIPPED_ON_TRIGGER:
            continue
        if name not in KEPT_ON_TRIGGER:
            return f"a root middleware not known to be safe to leave out: {name}"
        app = entry.cls(app, *entry.args, **entry.kwargs)
    return app


class TriggerFastPath:
    """The root app's stack, with ``POST {prefix}/trigger/...`` sent through ``trigger``."""

    def __init__(self, full: ASGIApp, trigger: ASGIApp, prefix: str) -> None:
        self.full = full
        self.trigger = trigger
        self._start = prefix + "/trigger/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        post = scope["type"] == "http" and scope.get("method") == "POST"
        if post and _path_in_app(scope).startswith(self._start):
            await self.trigger(scope, receive, send)
            return
        await self.full(scope, receive, send)


def install_fast_path(root: Any, guard: MountGuard, prefix: str) -> bool:
    """Put :class:`TriggerFastPath` in front of the root app's built stack (Starlette's
    ``middleware_stack``), if every root middleware outside ``guard`` is known."""
    stack = getattr(root, "middleware_stack", None)
    if stack is None or isinstance(stack, TriggerFastPath):
        return False
    chain = trigger_chain(root, guard)
    if isinstance(chain, str):
        log.info("webhook trigger fast path off: %s", chain)
        return False
    root.middleware_stack = TriggerFastPath(stack, chain, prefix)
    return True
