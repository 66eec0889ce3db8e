"""Handshakes: what a sender sends to check a URL before it delivers there, answered by the
plugin itself (never a run). Each is a pure function of the authenticated request: its
answer, or None when the request is no handshake (then it is a delivery)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from airflow_webhook_trigger.core.errors import BadRequest
from airflow_webhook_trigger.core.request import Headers
from airflow_webhook_trigger.core.response import HttpResponse, json_response

#: the parsed request a handshake is read from: headers, query string, body (``NO_BODY``: none)
Handshake = Callable[[Headers, Mapping[str, object], object], "HttpResponse | None"]

#: the longest challenge echoed back (Slack's are about 50 characters)
MAX_CHALLENGE = 512


def _challenge(value: object, what: str) -> str:
    """A challenge to echo: a string of 1-``MAX_CHALLENGE`` printable characters, else 400."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_CHALLENGE or not value.isprintable():
        raise BadRequest(f"{what} needs a challenge: a string of 1-{MAX_CHALLENGE} printable characters")
    return value


def slack(headers: Headers, query: Mapping[str, object], body: object) -> HttpResponse | None:
    """Slack's Events API ``url_verification``: a signed POST whose ``challenge`` is echoed
    (Slack, "Using the Events API": the answer may be JSON ``{"challenge": ...}``)."""
    if not isinstance(body, dict) or body.get("type") != "url_verification":
        return None
    return json_response(200, {"challenge": _challenge(body.get("challenge"), "a url_verification")})
