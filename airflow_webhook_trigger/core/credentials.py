"""A webhook's credential checks: Basic auth, then the sender's signature; and the sender's
handshake, which only a verified request may get."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

from airflow_webhook_trigger.core.arrival import Authenticated, SecretResolver
from airflow_webhook_trigger.core.auth import BasicAuthChecker
from airflow_webhook_trigger.core.definition import Webhook
from airflow_webhook_trigger.core.errors import BadRequest, busy
from airflow_webhook_trigger.core.request import WebhookRequest
from airflow_webhook_trigger.core.response import HttpResponse
from airflow_webhook_trigger.core.senders import sender
from airflow_webhook_trigger.core.senders.handshakes import HandshakeRequest
from airflow_webhook_trigger.core.signatures import SignedRequest, UnusableSecret
from airflow_webhook_trigger.core.signatures import verify as verify_signature


class Credentials:
    """Checks a request against its webhook's auth (no state but the checker's cache)."""

    def __init__(
        self,
        checker: BasicAuthChecker,
        secrets: SecretResolver | None,
        clock: Callable[[], datetime],
        retry_after: int,
    ) -> None:
        self._checker = checker
        self._secrets = secrets
        self._clock = clock
        self._retry_after = retry_after

    def slow_check_queue(self, webhook: Webhook) -> str | None:
        """What a slow credential check for this webhook would serialise on, or None.

        None when checking costs microseconds (no auth, or a password already verified
        in this process): an adapter may then call :meth:`authenticate` inline. Otherwise
        the first check costs a scrypt, to be run on a worker thread, one per key.
        """
        if webhook.auth is not None and self._checker.needs_slow_check(webhook.auth):
            return webhook.auth.password_hash
        signature = webhook.signature
        if signature is not None and self._secrets is not None:
            refs = [signature.secret, *([signature.previous] if signature.previous else [])]
            if any(self._secrets.may_block(ref) for ref in refs):
                return f"secrets of {webhook.id}"
        return None

    def handshake(
        self, webhook: Webhook, request: WebhookRequest, query: dict[str, object], body: object, now: float
    ) -> HttpResponse | None:
        """The answer to the sender checking the URL, if this authenticated request is that
        (``core/senders/handshakes``): no run, no delivery key."""
        spec = webhook.signature
        handshake = None if spec is None else sender(spec.scheme).handshake
        if spec is None or handshake is None:
            return None
        signed = SignedRequest(request.headers, request.body, request.url)
        secrets = functools.partial(self.signing_secrets, webhook)
        return handshake(HandshakeRequest(request.headers, query, body, signed, spec, secrets, now))

    def signing_secrets(self, webhook: Webhook) -> list[bytes]:
        """The webhook's signing secrets, current then previous (none: no signature).

        :raises ServiceUnavailable: a secret cannot be read now
        """
        spec = webhook.signature
        if spec is None:
            return []
        if self._secrets is None:  # a webhook with a signature, and no way to read secrets
            raise busy("the webhook's signing secret cannot be read", self._retry_after)
        secrets = [self._secrets.resolve(webhook.id, spec.scheme, spec.secret)]
        if spec.previous is not None:
            secrets.append(self._secrets.resolve(webhook.id, spec.scheme, spec.previous))
        return secrets

    def authenticate(self, webhook: Webhook, request: WebhookRequest) -> Authenticated:
        """The webhook's auth checks: Basic auth, then the signature over the
        raw body (and, for Twilio, ``request.url``).

        :raises Unauthorized: missing, malformed or wrong credentials or signature
        :raises ServiceUnavailable: a signing secret cannot be read now
        """
        if webhook.auth is not None:
            self._checker.check(webhook.auth, request.headers)
        spec = webhook.signature
        if spec is not None:
            if not request.body and not webhook.allow_empty_body:
                # a signature over nothing may have been made for something else (a poll)
                raise BadRequest(
                    "an empty body is not a delivery of this signed webhook "
                    "(request.allow_empty_body is false)"
                )
            secrets = self.signing_secrets(webhook)
            signed = SignedRequest(request.headers, request.body, request.url)
            try:
                verify_signature(spec, secrets, signed, self._clock().timestamp())
            except UnusableSecret:  # resolvers check secrets first; this is the last line
                raise busy("the webhook's signing secret cannot be used", self._retry_after) from None
        return Authenticated(webhook, request)
