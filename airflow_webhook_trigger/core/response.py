"""The framework-neutral response the core produces; adapters only copy it out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from airflow_webhook_trigger.core.errors import WebhookError
from airflow_webhook_trigger.core.selectors import HEADER_NAME_RE

JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"

# Every answer of the plugin is served on Airflow's own origin: whatever a body holds, a
# browser must neither sniff it into HTML nor run anything in it, nor frame it.
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy", "sandbox; default-src 'none'; frame-ancestors 'none'"),
)
_SECURITY_NAMES = frozenset(name.lower() for name, _ in SECURITY_HEADERS)

# The one allow-list of headers a configured answer, an operator answer or a stored answer
# may carry: X-* names (except the security ones above and X-Frame-Options) and these.
# Anything else (Refresh, Location, Link, Set-Cookie, Access-Control-*, Content-Type...)
# could change what a browser does with Airflow's origin.
ALLOWED_RESPONSE_HEADERS = frozenset(
    {"cache-control", "retry-after", "content-language", "etag", "last-modified", "expires"}
)
ALLOWED_TEXT = ", ".join(sorted(ALLOWED_RESPONSE_HEADERS))
_REFUSED_X_HEADERS = frozenset({*_SECURITY_NAMES, "x-frame-options"})


def response_header_allowed(name: str) -> bool:
    lower = name.lower()
    if lower in ALLOWED_RESPONSE_HEADERS:
        return True
    return lower.startswith("x-") and lower not in _REFUSED_X_HEADERS


def checked_answer(
    status: object, headers: object, body: object, low: int = 200
) -> tuple[int, dict[str, str], object]:
    """The rules of an answer decided in a DAG: checked when the operator runs and again
    when the stored answer is read (anyone with XCom write access could have written it).

    Raises ValueError naming what is wrong.
    """
    if isinstance(status, bool):
        raise ValueError(f"status_code {status!r} is not an integer")
    try:
        code = int(status)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ValueError(f"status_code {status!r} is not an integer") from None
    if not low <= code <= 599:
        raise ValueError(f"status_code {code} must be between {low} and 599")
    if headers is None:
        headers = {}
    if not isinstance(headers, Mapping):
        raise ValueError("headers must be a mapping")
    rendered: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not HEADER_NAME_RE.match(name):
            raise ValueError(f"header name {name!r} is not valid")
        if not response_header_allowed(name):
            raise ValueError(f"header {name} is not allowed in an answer (allowed: X-* and {ALLOWED_TEXT})")
        text = str(value)
        if any(c in text for c in "\r\n\x00") or len(text) > 4096:
            raise ValueError(f"header {name} must be one line of at most 4096 characters")
        rendered[name] = text
    if body is None:
        body = ""
    if not isinstance(body, str):
        try:
            json.dumps(body, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"body is neither a string nor JSON-serialisable: {exc}") from None
    return code, rendered, body


@dataclass(frozen=True)
class HttpResponse:
    """Every response built here carries :data:`SECURITY_HEADERS` (added if missing), so
    no path of either adapter can forget them."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def __post_init__(self) -> None:
        present = {name.lower() for name, _ in self.headers}
        missing = tuple(h for h in SECURITY_HEADERS if h[0].lower() not in present)
        if missing:
            object.__setattr__(self, "headers", (*self.headers, *missing))


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
