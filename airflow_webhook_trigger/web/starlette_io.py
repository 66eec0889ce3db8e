"""Starlette in and out: reading a bounded body, writing the core's answer."""

from __future__ import annotations

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from airflow_webhook_trigger.core.errors import BadRequest, body_too_large
from airflow_webhook_trigger.core.response import HttpResponse, json_response


async def read_body_within(request: Request, limit: int) -> bytes:
    """The whole body, chunked or not; 413 as soon as it passes ``limit`` bytes."""
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


def as_response(result: HttpResponse) -> Response:
    """The core's response as Starlette's (this adapter's only way out)."""
    return Response(content=result.body, status_code=result.status, headers=dict(result.headers))


def http_exception_response(exc: StarletteHTTPException) -> HttpResponse:
    """Starlette's and Airflow's own HTTP errors (no route, no token, no permission) as ours."""
    return json_response(exc.status_code, {"error": str(exc.detail)}, tuple((exc.headers or {}).items()))
