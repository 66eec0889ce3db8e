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
empty one (no ``CONTENT_LENGTH``, no ``wsgi.input_terminated``): measured, 64 MiB to
an unknown id took 9 s, and a chunked webhook was acknowledged with its body lost.

:class:`MountGuard` applies the webhook body limit on the blueprint's paths, where the
FastAPI adapter applies it itself:

- a declared ``Content-Length`` over ``max_body_bytes``: 413 at once, nothing read;
- no ``Content-Length`` (chunked): the body is read here, up to the limit (413 past
  it), and passed on whole with its ``Content-Length``, so Flask sees every byte.

Only the blueprint's own prefix is touched: other plugins' blueprints keep Airflow's
behaviour.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airflow_webhook_trigger.errors import PayloadTooLarge, body_too_large, check_declared_size
from airflow_webhook_trigger.response import HttpResponse, error_response, json_response

#: where Airflow 3 mounts plugin blueprints
PLUGINS_MOUNT = "/pluginsv2"


async def _send_response(send: Send, result: HttpResponse) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in result.headers]
    headers.append((b"content-length", str(len(result.body)).encode("ascii")))
    headers.append((b"connection", b"close"))  # the unread body stays unread
    await send({"type": "http.response.start", "status": result.status, "headers": headers})
    await send({"type": "http.response.body", "body": result.body})


#: what :class:`MountGuard` needs from the settings: (url_prefix, max_body_bytes, blueprint served)
GuardLimits = tuple[str, int, bool]

NOT_FOUND = json_response(404, {"error": "Not Found"})


_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")


def _has_control_character(path: str) -> bool:
    return _CONTROL_CHARACTER.search(path) is not None


class MountGuard:
    """See the module docstring.

    :param app: the next ASGI app (Airflow's root app and its mounts)
    :param limits: ``() -> (url_prefix, max_body_bytes, blueprint served)``, called on
        first use (the settings are read late, when the api-server serves, not at import)
    """

    def __init__(self, app: ASGIApp, limits: Callable[[], GuardLimits]) -> None:
        self.app = app
        self._limits = limits
        self._resolved: tuple[str, str | None, int] | None = None

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
        path: str = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        ours = self._under(path, prefix) or self._under(path, blueprint_prefix)
        if ours and _has_control_character(path):
            await _send_response(send, NOT_FOUND)
            return
        if not self._under(path, blueprint_prefix):
            await self.app(scope, receive, send)
            return
        await self._bounded(scope, receive, send, limit)

    async def _bounded(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        headers = list(scope.get("headers", ()))
        declared = [v for k, v in headers if k.lower() == b"content-length"]
        if declared:
            try:
                check_declared_size(declared[0].decode("latin-1"), limit)
            except PayloadTooLarge as exc:
                await _send_response(send, error_response(exc))
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
                await _send_response(send, error_response(body_too_large(limit)))
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
