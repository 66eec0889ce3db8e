"""Handshakes: what a sender sends to check a URL before it delivers there, answered by the
plugin itself (never a run). Each is a pure function of the authenticated request: its
answer, or None when the request is no handshake (then it is a delivery)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from airflow_webhook_trigger.core.errors import BadRequest, Unauthorized
from airflow_webhook_trigger.core.request import Headers
from airflow_webhook_trigger.core.response import HttpResponse, json_response
from airflow_webhook_trigger.core.senders.verifiers import SignatureSpec, SignedRequest
from airflow_webhook_trigger.core.senders.verifiers import zoom as verify_zoom

#: the longest challenge or token echoed back (Slack's and Zoom's are about 20-50 characters)
MAX_CHALLENGE = 512


@dataclass(frozen=True)
class HandshakeRequest:
    """A request whose signature checked out, as a handshake reads it."""

    headers: Headers
    query: Mapping[str, object]
    #: the parsed body (``NO_BODY``: none)
    body: object
    #: what the signature covered, and the check it passed
    signed: SignedRequest
    spec: SignatureSpec
    #: the webhook's signing secrets (current, then previous), read when a handshake needs one
    secrets: Callable[[], Sequence[bytes]]
    #: Unix time, as the signature was checked at
    now: float


Handshake = Callable[[HandshakeRequest], "HttpResponse | None"]


def _echoed(value: object, what: str) -> str:
    """A value to echo: a string of 1-``MAX_CHALLENGE`` printable characters, else 400."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_CHALLENGE or not value.isprintable():
        raise BadRequest(f"{what}: a string of 1-{MAX_CHALLENGE} printable characters")
    return value


def slack(request: HandshakeRequest) -> HttpResponse | None:
    """Slack's Events API ``url_verification``: a signed POST whose ``challenge`` is echoed
    (Slack, "Using the Events API": the answer may be JSON ``{"challenge": ...}``)."""
    body = request.body
    if not isinstance(body, dict) or body.get("type") != "url_verification":
        return None
    return json_response(
        200, {"challenge": _echoed(body.get("challenge"), "a url_verification needs a challenge")}
    )


def zoom(request: HandshakeRequest) -> HttpResponse | None:
    """Zoom's ``endpoint.url_validation`` (when the URL is saved, then every 72 hours): the
    ``plainToken`` and its ``encryptedToken``, the hex HMAC-SHA256 of it under the secret
    that signed the request (Zoom, "Validate your webhook endpoint")."""
    body = request.body
    if not isinstance(body, dict) or body.get("event") != "endpoint.url_validation":
        return None
    payload = body.get("payload")
    token = _echoed(
        payload.get("plainToken") if isinstance(payload, dict) else None,
        "an endpoint.url_validation needs payload.plainToken",
    )
    secret = _signing_secret(request, verify_zoom)
    encrypted = hmac.new(secret, token.encode("utf-8"), hashlib.sha256).hexdigest()
    return json_response(200, {"plainToken": token, "encryptedToken": encrypted})


def _signing_secret(request: HandshakeRequest, verify: Callable[..., None]) -> bytes:
    """The secret the request was signed with: during a rotation, the sender's own."""
    for secret in request.secrets():
        try:
            verify(request.spec, [secret], request.signed, request.now)
        except Unauthorized:
            continue
        return secret
    raise Unauthorized("no signature matches")  # verified before: only a secret changed meanwhile
