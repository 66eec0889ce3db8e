"""Delivery keys: what makes two requests the same delivery.

A webhook with ``dedupe: {key: ...}`` starts one run per key: a sender's retry carries
the key of its first attempt. ``auto`` takes the key each sender documents for its
signature scheme (§9) when the signature covers it with a timestamp; for a scheme whose
signature covers no timestamp (GitHub, Shopify, Twilio, generic HMAC) the delivery-id
header is not signed, so the key is the digest of what is signed: a captured delivery sent
again with another id, event header or query string is the same delivery. Otherwise the
key is a header, a body path or a query path.
Pure functions over the parsed request: no I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from airflow_webhook_trigger.core.errors import BadRequest, ConfigError
from airflow_webhook_trigger.core.paths import ABSENT, Segment, parse_path, render_path
from airflow_webhook_trigger.core.request import Headers
from airflow_webhook_trigger.core.selectors import HEADER_NAME_RE, Source, select
from airflow_webhook_trigger.core.senders import SENDERS

#: the delivery key each sender sends with a signature over a timestamp, and retries with
#: (each record's ``auto_key``)
AUTO_KEYS: dict[str, tuple[Source, str]] = {
    s.name: (s.auto_key.source, s.auto_key.name) for s in SENDERS if s.auto_key is not None
}
#: schemes whose signature covers no timestamp: ``auto`` is the digest of what is signed
#: (their delivery ids, X-GitHub-Delivery, X-Shopify-Webhook-Id, I-Twilio-Idempotency-Token,
#: are unsigned headers anyone may change)
SIGNED_DIGEST_KEYS = frozenset(s.name for s in SENDERS if s.auto_key is None)
#: schemes whose key may be absent from a request: then it is not deduplicated
OPTIONAL_AUTO_KEYS = frozenset(s.name for s in SENDERS if s.auto_key is not None and s.auto_key.optional)
#: the longest key accepted (a sender's ids are far shorter)
MAX_KEY_LENGTH = 256


@dataclass(frozen=True)
class DedupeSpec:
    """``dedupe.key`` as configured: ``auto``, or where the key is read."""

    auto: bool
    source: Source | None = None
    name: str = ""  # a header name, or a path's canonical text
    segments: tuple[Segment, ...] = ()

    @property
    def text(self) -> str:
        return "auto" if self.auto else f"{self.source}:{self.name}"


@dataclass(frozen=True)
class DeliveryKey:
    """One request's delivery key, and the digest of its raw body (same key, other body: 409)."""

    value: str
    body_sha256: str

    @property
    def digest(self) -> str:
        """What the database keys on: the key's SHA-256 (keys may be long or odd)."""
        return hashlib.sha256(self.value.encode("utf-8", "surrogatepass")).hexdigest()


def parse_dedupe(value: object, where: str = "dedupe") -> DedupeSpec | None:
    """``{key: auto | "header:NAME" | "body:PATH" | "query:PATH"}``; None when not set.

    :raises ConfigError: naming the field
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a mapping with a key")
    unknown = sorted(str(k) for k in value if k != "key")
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: key)")
    return parse_key_text(value.get("key"), f"{where}.key")


def parse_key_text(text: object, where: str = "dedupe.key") -> DedupeSpec:
    """The text form of a key, as YAML and ``--dedupe`` give it.

    :raises ConfigError: naming the field
    """
    if not isinstance(text, str):
        raise ConfigError(f'{where}: must be auto, "header:NAME", "body:PATH" or "query:PATH"')
    if text == "auto":
        return DedupeSpec(auto=True)
    source, sep, rest = text.partition(":")
    if not sep or source not in ("header", "body", "query") or not rest:
        raise ConfigError(f'{where}: {text[:80]!r} must be auto, "header:NAME", "body:PATH" or "query:PATH"')
    if source == "header":
        if not HEADER_NAME_RE.match(rest):
            raise ConfigError(f"{where}: {rest[:80]!r} is not a valid header name")
        return DedupeSpec(auto=False, source="header", name=rest)
    try:
        segments = parse_path(rest)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return DedupeSpec(auto=False, source=source, name=render_path(segments), segments=segments)  # type: ignore[arg-type]


def check_scheme(spec: DedupeSpec, scheme: str | None, where: str = "dedupe.key") -> None:
    """``auto`` needs a signature scheme.

    :raises ConfigError: no scheme
    """
    if spec.auto and (scheme is None or scheme not in (*AUTO_KEYS, *SIGNED_DIGEST_KEYS)):
        what = "no signature check" if scheme is None else f"signature scheme {scheme}"
        raise ConfigError(
            f"{where}: auto takes the sender's delivery key or the digest of what it signs, and "
            f'{what} has neither; use "header:NAME", "body:PATH" or "query:PATH"'
        )


def resolve(spec: DedupeSpec, scheme: str | None) -> DedupeSpec:
    """``auto`` as the header or path it stands for under ``scheme``."""
    if not spec.auto or scheme not in AUTO_KEYS:
        return spec
    source, name = AUTO_KEYS[scheme]
    segments = () if source == "header" else parse_path(name)
    return DedupeSpec(auto=False, source=source, name=name, segments=segments)


def delivery_key(
    spec: DedupeSpec,
    scheme: str | None,
    *,
    headers: Headers,
    query: object,
    body: object,
    raw_body: bytes,
    signed_digest: str | None = None,
) -> DeliveryKey | None:
    """The request's delivery key; None when the scheme's key is optional and absent.

    :param signed_digest: :func:`signatures.signed_digest` of the verified request, the
        key of ``auto`` for the schemes in :data:`SIGNED_DIGEST_KEYS`
    :raises BadRequest: the key is missing, empty, not a string or number, or too long
    """
    body_sha256 = hashlib.sha256(raw_body).hexdigest()
    if spec.auto and scheme in SIGNED_DIGEST_KEYS:
        if signed_digest is None:  # an adapter that skipped the signature: never a guess
            raise BadRequest("the delivery key (what the signature covers) is missing")
        return DeliveryKey(value=f"signed-sha256:{signed_digest}", body_sha256=body_sha256)
    where = resolve(spec, scheme)
    source: Source = where.source or "body"  # auto is resolved by now (check_scheme)
    found = select(source, where.name, where.segments, headers=headers, query=query, body=body)
    label = f"{where.source} {where.name}"
    if found is ABSENT or found is None or found == "":
        if spec.auto and scheme in OPTIONAL_AUTO_KEYS:
            return None
        raise BadRequest(f"the delivery key ({label}, dedupe.key) is missing", extra={"key": where.text})
    if isinstance(found, bool) or not isinstance(found, str | int):
        raise BadRequest(
            f"the delivery key ({label}) must be a string or an integer", extra={"key": where.text}
        )
    value = str(found)
    if len(value) > MAX_KEY_LENGTH:
        raise BadRequest(
            f"the delivery key ({label}) is longer than {MAX_KEY_LENGTH} characters",
            extra={"key": where.text},
        )
    return DeliveryKey(value=value, body_sha256=body_sha256)
