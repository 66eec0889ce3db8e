"""The framework-neutral response the core produces; adapters only copy it out."""

from __future__ import annotations

import json
from dataclasses import dataclass

from airflow_webhook_trigger.errors import WebhookError

JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def json_bytes(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(status: int, value: object, headers: tuple[tuple[str, str], ...] = ()) -> HttpResponse:
    return HttpResponse(status, (("Content-Type", JSON_TYPE), *headers), json_bytes(value))


def body_response(status: int, body: object, headers: tuple[tuple[str, str], ...] = ()) -> HttpResponse:
    """A configured body: a string is sent as text, anything else as JSON."""
    if isinstance(body, str):
        return HttpResponse(status, (("Content-Type", TEXT_TYPE), *headers), body.encode("utf-8"))
    return json_response(status, body, headers)


def error_response(error: WebhookError) -> HttpResponse:
    """The one rendering of an error: ``{"error": detail, ...extra}`` plus its headers."""
    payload: dict[str, object] = {"error": error.detail}
    payload.update(error.extra)
    return json_response(error.status_code, payload, tuple(error.headers.items()))


INTERNAL_ERROR = json_response(500, {"error": "internal error"})
