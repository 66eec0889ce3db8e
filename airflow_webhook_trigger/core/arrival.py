"""The values a delivery carries through the driver, made once per request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from airflow_webhook_trigger.core.dedupe import DeliveryKey
from airflow_webhook_trigger.core.definition import Webhook
from airflow_webhook_trigger.core.request import WebhookRequest
from airflow_webhook_trigger.core.signatures import SecretRef


class SecretResolver(Protocol):
    """Reads a webhook's signing secrets when a request needs them (the Airflow side).

    :raises ServiceUnavailable: the secret cannot be read now, or is unusable by the
        scheme (fail closed: never a 2xx), logged by the resolver without the value
    """

    def resolve(self, webhook_id: str, scheme: str, ref: SecretRef) -> bytes: ...

    def may_block(self, ref: SecretRef) -> bool:
        """Whether resolving may wait on I/O (a secrets backend), so not in an event loop."""
        ...


@dataclass(frozen=True, eq=False)
class Authenticated:
    """Proof that :meth:`WebhookEndpoint.authenticate` passed for this webhook and request."""

    webhook: Webhook
    request: WebhookRequest

    def covers(self, webhook: Webhook, request: WebhookRequest) -> bool:
        return self.webhook is webhook and self.request is request


@dataclass(frozen=True, slots=True, eq=False)
class Arrival:
    """One delivery once parsed: what its run, its record and its answer are made from."""

    webhook: Webhook
    #: when it was accepted (wall clock): the run's logical date and the record's time
    received_at: datetime
    #: when the request arrived (the endpoint's timer), for the recorded duration
    started: float
    #: the trigger URL as the caller used it (no query), below which a sync run's status is
    status_base_url: str
    #: the webhook's dedupe key of this delivery, if it has one
    delivery_key: DeliveryKey | None = None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def public_url(base_url: str, path: str, query_string: bytes) -> str:
    """The URL a sender called, as it was given to the sender (what Twilio signs).

    :param base_url: ``[api] base_url``, the public origin (and path) of the api-server
    :param path: the path below it, e.g. ``/webhook/trigger/{id}``
    """
    query = query_string.decode("latin-1")
    return f"{base_url}{path}" + (f"?{query}" if query else "")
