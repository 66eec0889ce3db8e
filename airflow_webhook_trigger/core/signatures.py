"""Sender signatures: each scheme exactly as its sender signs, over the raw body.

The schemes are the records of :mod:`airflow_webhook_trigger.core.senders` (each one's
``doc`` names the sender documentation followed); this module dispatches to them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from airflow_webhook_trigger.core.senders import (
    SCHEMES,
    SIGNATURE_HEADER_NAMES,
    SIGNED_PARTS,
    TIMESTAMPED,
    sender,
)
from airflow_webhook_trigger.core.senders.verifiers import (
    ALGORITHMS,
    DEFAULT_TOLERANCE,
    ENCODINGS,
    SecretRef,
    SignatureSpec,
    SignedRequest,
    UnusableSecret,
    body_digest,
    standard_webhooks_key,
    twilio_url_variants,
)

__all__ = [
    "ALGORITHMS",
    "DEFAULT_TOLERANCE",
    "ENCODINGS",
    "SCHEMES",
    "SIGNATURE_HEADER_NAMES",
    "SIGNED_PARTS",
    "TIMESTAMPED",
    "SecretRef",
    "SignatureSpec",
    "SignedRequest",
    "UnusableSecret",
    "check_secret",
    "is_credential_header",
    "signed_digest",
    "standard_webhooks_key",
    "twilio_url_variants",
    "verify",
]

# Names that carry a credential by their look (X-Api-Key, X-Gitlab-Token, X-Auth-Token,
# X-Shopify-Access-Token, X-Webhook-Secret, ...): a test capture keeps none of them either.
_CREDENTIAL_NAME = re.compile(r"token|secret|passw|key|auth|session|cookie|signature|credential|hmac")


def is_credential_header(name: str) -> bool:
    """Whether a header, by its name, may carry a credential: auth and cookies, every
    scheme's signature headers, and names that look like a token, key, secret or password.

    :param name: a header name, any case
    """
    lower = name.lower()
    return lower in SIGNATURE_HEADER_NAMES or _CREDENTIAL_NAME.search(lower) is not None


def verify(spec: SignatureSpec, secrets: Sequence[bytes], request: SignedRequest, now: float) -> None:
    """Check ``request`` against ``spec`` with any of ``secrets`` (current, then previous).

    :param secrets: the signing secrets, as bytes (never empty)
    :param now: Unix time, for the schemes that sign a timestamp
    :raises Unauthorized: missing, malformed, stale or wrong signature
    :raises UnusableSecret: a secret the scheme cannot use (see :func:`check_secret`)
    """
    sender(spec.scheme).verify(spec, secrets, request, now)


def check_secret(scheme: str, secret: bytes) -> None:
    """Refuse, when configured, a secret the scheme could never use.

    :raises UnusableSecret: naming the problem, never the value
    """
    if not secret:
        raise UnusableSecret("the signing secret is empty")
    if scheme in SCHEMES:  # a scheme no longer known is refused where it is parsed
        sender(scheme).check_secret(secret)


def signed_digest(scheme: str, request: SignedRequest) -> str:
    """The SHA-256 (hex) of what the scheme's signature covers, once verified: the same for
    every request the same signature is valid for (Twilio: the URL without a default port,
    the form's pairs sorted, as its validator signs them), whatever its unsigned parts say.
    """
    return sender(scheme).digest(request) if scheme in SCHEMES else body_digest(request)
