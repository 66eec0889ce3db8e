"""The senders: one record per signature scheme, and every list derived from the records.

Adding a sender is one :class:`Sender` in :data:`SENDERS` (its verifier in
:mod:`.verifiers`, its handshake, if any, in :mod:`.handshakes`) and its test vectors: the
scheme list, the tolerance rule, the signed parts, the automatic delivery key, the
management API's enum, the CLI's choices and the UI's list (read from
``GET /api/schemes``) all come from here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from airflow_webhook_trigger.core.selectors import Source
from airflow_webhook_trigger.core.senders import handshakes
from airflow_webhook_trigger.core.senders import verifiers as v
from airflow_webhook_trigger.core.senders.handshakes import Handshake
from airflow_webhook_trigger.core.senders.verifiers import DEFAULT_TOLERANCE, SignatureSpec, SignedRequest

Verifier = Callable[[SignatureSpec, Sequence[bytes], SignedRequest, float], None]


@dataclass(frozen=True)
class AutoKey:
    """The delivery key a sender sends, signed, and retries with (``dedupe: {key: auto}``)."""

    source: Source
    name: str
    #: may be absent from a request (then it is not deduplicated)
    optional: bool = False


@dataclass(frozen=True)
class Sender:
    """Everything the package knows about one signature scheme."""

    name: str
    #: one line: what is signed, how, and the sender documentation followed
    doc: str
    verify: Verifier
    #: the headers it reads (lower case); ``signature_headers`` carry the signature itself
    headers: tuple[str, ...]
    #: never kept in a test capture
    signature_headers: tuple[str, ...]
    #: what the signature covers, as ``conf.webhook.signed`` tells a DAG (``url``: scheme,
    #: host, path and query string; ``timestamp``: the signed time)
    signed: tuple[str, ...]
    #: ``dedupe: {key: auto}``; None: the digest of what is signed (``digest``)
    auto_key: AutoKey | None = None
    #: the SHA-256 (hex) of what is signed, once verified
    digest: Callable[[SignedRequest], str] = v.body_digest
    #: signs a timestamp, checked against ``tolerance_seconds`` (default ``DEFAULT_TOLERANCE``)
    timestamped: bool = False
    #: the secret's shape, checked when configured: raises ``UnusableSecret``
    check_secret: Callable[[bytes], None] = v.any_secret
    #: the scheme's own ``auth.signature`` keys
    options: tuple[str, ...] = ()
    #: the request the sender sends to check the URL, answered once its signature checks out
    handshake: Handshake | None = None
    #: a header that carries the secret itself (lower case): never read into ``conf``, a
    #: filter or a delivery key
    token_header: str | None = None


SENDERS: tuple[Sender, ...] = (
    Sender(
        name="github",
        doc='X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)> (GitHub, "Validating webhook '
        'deliveries"); the SHA-1 X-Hub-Signature alone is refused',
        verify=v.github,
        headers=("x-hub-signature-256", "x-hub-signature"),
        signature_headers=("x-hub-signature-256", "x-hub-signature"),
        signed=("body",),
    ),
    Sender(
        name="stripe",
        doc='Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>, any v1 may match; '
        'the whsec_ secret is used as text (Stripe, "Verify webhook signatures manually")',
        verify=v.stripe,
        headers=("stripe-signature",),
        signature_headers=("stripe-signature",),
        signed=("timestamp", "body"),
        auto_key=AutoKey("body", "id"),  # the Event object's id, the same on every retry
        timestamped=True,
    ),
    Sender(
        name="slack",
        doc='X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<ts>:<body>")> with '
        'X-Slack-Request-Timestamp (Slack, "Verifying requests from Slack")',
        verify=v.slack,
        headers=("x-slack-signature", "x-slack-request-timestamp"),
        signature_headers=("x-slack-signature",),
        signed=("timestamp", "body"),
        # the Events API has event_id; slash commands and interactions have none
        auto_key=AutoKey("body", "event_id", optional=True),
        timestamped=True,
        handshake=handshakes.slack,  # url_verification, when the Events API URL is saved
    ),
    Sender(
        name="shopify",
        doc='X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)> (Shopify, "Verify webhooks")',
        verify=v.shopify,
        headers=("x-shopify-hmac-sha256",),
        signature_headers=("x-shopify-hmac-sha256",),
        signed=("body",),
    ),
    Sender(
        name="standard-webhooks",
        doc="webhook-id, webhook-timestamp, webhook-signature (space-separated v1,<base64>) over "
        '"<id>.<timestamp>.<body>", secret whsec_<base64> (the Standard Webhooks specification)',
        verify=v.standard_webhooks,
        headers=("webhook-id", "webhook-timestamp", "webhook-signature"),
        signature_headers=("webhook-signature",),
        signed=("webhook-id", "timestamp", "body"),
        auto_key=AutoKey("header", "webhook-id"),  # the spec: "the same on retries"; signed
        timestamped=True,
        check_secret=v.standard_webhooks_secret,
    ),
    Sender(
        name="twilio",
        doc="X-Twilio-Signature: <base64 HMAC-SHA1(token, URL + sorted form pairs)>, or the URL alone "
        'with a bodySHA256 query parameter (Twilio, "Webhooks security"; URL with and without its port)',
        verify=v.twilio,
        headers=("x-twilio-signature", "content-type"),
        signature_headers=("x-twilio-signature",),
        signed=("url", "body"),
        digest=v.twilio_digest,
    ),
    Sender(
        name="zoom",
        doc='x-zm-signature: v0=<hex HMAC-SHA256(secret token, "v0:<ts>:<body>")> with '
        'x-zm-request-timestamp (Zoom, "Verify webhook events"); endpoint.url_validation answered',
        verify=v.zoom,
        headers=("x-zm-signature", "x-zm-request-timestamp"),
        signature_headers=("x-zm-signature",),
        signed=("timestamp", "body"),
        timestamped=True,
        handshake=handshakes.zoom,  # when the URL is saved, then every 72 hours
    ),
    Sender(
        name="meta",
        doc='X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)> (Meta, "Webhooks: '
        'Validate payloads"; Facebook, Instagram, WhatsApp); the SHA-1 X-Hub-Signature alone is refused',
        verify=v.github,  # the same header and MAC as GitHub's
        headers=("x-hub-signature-256", "x-hub-signature"),
        signature_headers=("x-hub-signature-256", "x-hub-signature"),
        signed=("body",),
    ),
    Sender(
        name="atlassian",
        doc="X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)> (W3C WebSub; Jira Cloud "
        'admin webhooks, Bitbucket "Secure webhooks"); sha384 and sha512 accepted, SHA-1 refused',
        verify=v.websub,
        headers=("x-hub-signature",),
        signature_headers=("x-hub-signature",),
        signed=("body",),
    ),
    Sender(
        name="pagerduty",
        doc="X-PagerDuty-Signature: v1=<hex HMAC-SHA256(secret, body)>, a comma-separated list of "
        'which any v1 may match (PagerDuty, "Verifying Signatures", V3 webhooks)',
        verify=v.pagerduty,
        headers=("x-pagerduty-signature",),
        signature_headers=("x-pagerduty-signature",),
        signed=("body",),
    ),
    Sender(
        name="gitlab",
        doc='X-Gitlab-Token: the secret token itself, compared in constant time (GitLab, "Webhooks": '
        "Secret token); nothing is signed",
        verify=v.gitlab,
        headers=("x-gitlab-token",),
        signature_headers=("x-gitlab-token",),
        signed=(),
        token_header="x-gitlab-token",  # noqa: S106 (a header name, not a secret)
    ),
    Sender(
        name="telegram",
        doc="X-Telegram-Bot-Api-Secret-Token: the setWebhook secret_token itself, compared in constant "
        'time (Telegram Bot API, "setWebhook"); nothing is signed',
        verify=v.telegram,
        headers=("x-telegram-bot-api-secret-token",),
        signature_headers=("x-telegram-bot-api-secret-token",),
        signed=(),
        check_secret=v.telegram_secret,
        token_header="x-telegram-bot-api-secret-token",  # noqa: S106 (a header name)
    ),
    Sender(
        name="hmac",
        doc="a configured header, sha256/sha512, hex/base64, an optional prefix, over the raw body",
        verify=v.generic_hmac,
        headers=(),  # the configured one
        signature_headers=(),
        signed=("body",),
        options=("header", "algorithm", "encoding", "prefix"),
    ),
)

_BY_NAME = {s.name: s for s in SENDERS}


def sender(name: str) -> Sender:
    """The record of a scheme. :raises KeyError: no such scheme"""
    return _BY_NAME[name]


#: every derived list reads the records
SCHEMES: tuple[str, ...] = tuple(s.name for s in SENDERS)
TIMESTAMPED = frozenset(s.name for s in SENDERS if s.timestamped)
SIGNED_PARTS: dict[str, tuple[str, ...]] = {s.name: s.signed for s in SENDERS}
SIGNATURE_HEADER_NAMES = frozenset(h for s in SENDERS for h in s.signature_headers)

__all__ = [
    "DEFAULT_TOLERANCE",
    "SCHEMES",
    "SENDERS",
    "SIGNATURE_HEADER_NAMES",
    "SIGNED_PARTS",
    "TIMESTAMPED",
    "AutoKey",
    "Sender",
    "sender",
]
