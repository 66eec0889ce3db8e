"""The management routes' error handling and JSON bodies: every error, expected or not,
is the core's JSON error, rendered in one place (:class:`JsonErrorRoute`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from airflow_webhook_trigger.airflow_seam.wiring import Runtime
from airflow_webhook_trigger.core.errors import (
    BadRequest,
    ConfigError,
    UnprocessableEntity,
    UnsupportedMediaType,
    WebhookError,
    check_declared_size,
)
from airflow_webhook_trigger.core.jsonbody import is_json_media_type, parse_json, parse_media_type
from airflow_webhook_trigger.core.response import (
    INTERNAL_ERROR,
    SECURITY_HEADERS,
    HttpResponse,
    error_response,
)
from airflow_webhook_trigger.storage.db_errors import is_unavailable
from airflow_webhook_trigger.storage.engine import Database
from airflow_webhook_trigger.web.starlette_io import as_response, http_exception_response, read_body_within

log = logging.getLogger(__name__)


def _validation_response(exc: RequestValidationError) -> HttpResponse:
    # never echo the input back (FastAPI's own answer does): name where it was wrong
    where = sorted({".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()})
    return error_response(BadRequest(f"invalid request: {', '.join(where) or 'malformed'}"))


class JsonErrorRoute(APIRoute):
    """The one place where the management API turns errors into responses.

    Subclass it with :meth:`database` (:func:`route_class_for`): a DB failure raised by
    Airflow's own code in a route (its token check reads ``revoked_token``) is then a 503
    like ours.
    """

    def database(self) -> Database | None:
        return None

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        database = self.database  # bound: reads the runtime's database when called

        async def guarded(request: Request) -> Response:
            response = await answered(request)
            # JSON only, but on Airflow's origin: never sniffed into a page, nor run, nor framed
            for name, value in SECURITY_HEADERS:
                response.headers.setdefault(name, value)
            return response

        async def answered(request: Request) -> Response:
            try:
                return await handler(request)
            except WebhookError as exc:
                return as_response(error_response(exc))
            except ConfigError as exc:
                return as_response(error_response(UnprocessableEntity(str(exc))))
            except StarletteHTTPException as exc:
                return as_response(http_exception_response(exc))
            except RequestValidationError as exc:
                return as_response(_validation_response(exc))
            except Exception as exc:
                db = database() if is_unavailable(exc) else None
                if db is not None:
                    db.outage.failed(exc)
                    return as_response(error_response(db.unavailable()))
                log.exception("unexpected error in the webhook management API")
                return as_response(INTERNAL_ERROR)

        return guarded


def route_class_for(runtime: Callable[[], Runtime]) -> type[JsonErrorRoute]:
    """:class:`JsonErrorRoute` reading the database of this app's runtime."""

    class ManagementRoute(JsonErrorRoute):
        def database(self) -> Database:
            return runtime().database

    return ManagementRoute


async def _read_limited(request: Request, limit: int) -> bytes:
    check_declared_size(request.headers.get("content-length"), limit)
    return await read_body_within(request, limit)


def json_body_reader(runtime: Callable[[], Runtime]) -> Callable[[Request], Coroutine[Any, Any, object]]:
    """A dependency: the request's JSON body, parsed by the core.

    Not FastAPI's ``Body()``: its validation errors are ``{"detail": [...]}`` echoing the
    input back, where every error of this API is ``{"error": "..."}``.

    :raises UnsupportedMediaType: not ``application/json`` (or ``+json``), or not UTF-8
    """

    async def read(request: Request) -> object:
        content_type = request.headers.get("content-type")
        if not content_type:
            raise UnsupportedMediaType("send the body as application/json (no Content-Type was sent)")
        media_type, params = parse_media_type(content_type)
        if not is_json_media_type(media_type):
            raise UnsupportedMediaType("send the body as application/json")
        if params.get("charset", "utf-8").lower() != "utf-8":
            raise UnsupportedMediaType("a JSON body must be UTF-8 (RFC 8259 §8.1)")
        settings = runtime().settings
        raw = await _read_limited(request, settings.max_body_bytes)
        return parse_json(raw, max_depth=settings.json_max_depth)

    return read
