"""``auth.signature`` in the declarative document: parsed, validated, and written back.

The document names where each secret comes from; a literal ``secret`` is only an input
(the registry encrypts it) and is never written back: a stored secret is exported as
``secret_stored: true``, which ``apply`` reads as "keep the one stored for this webhook".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from airflow_webhook_trigger.core.errors import ConfigError
from airflow_webhook_trigger.core.selectors import HEADER_NAME_RE
from airflow_webhook_trigger.core.senders import sender
from airflow_webhook_trigger.core.signatures import (
    ALGORITHMS,
    DEFAULT_TOLERANCE,
    ENCODINGS,
    SCHEMES,
    TIMESTAMPED,
    SecretRef,
    SignatureSpec,
)

ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}\Z")
CONN_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,250}\Z")
_HMAC_ONLY = ("header", "algorithm", "encoding", "prefix")


@dataclass(frozen=True)
class SecretInput:
    """A secret source as a document gives it (exactly one of these)."""

    env: str | None = None
    conn_id: str | None = None
    literal: str | None = field(default=None, repr=False)
    #: ``secret_stored: true``: keep the secret already stored for this webhook
    keep_stored: bool = False


@dataclass(frozen=True)
class SignatureInput:
    """A parsed ``auth.signature`` before its secrets are resolved (registry)."""

    spec: SignatureSpec  # secrets are placeholders here; see ``secret`` / ``previous``
    secret: SecretInput
    previous: SecretInput | None


def _err(where: str, why: str) -> ConfigError:
    return ConfigError(f"{where}: {why}")


def _secret(doc: Mapping[str, object], stem: str, where: str, *, required: bool) -> SecretInput | None:
    keys = [k for k in (f"{stem}_env", f"{stem}_conn_id", stem, f"{stem}_stored") if k in doc]
    if not keys:
        if required:
            raise _err(where, f"give one of {stem}_env, {stem}_conn_id, {stem}")
        return None
    if len(keys) > 1:
        raise _err(where, f"give only one of {', '.join(keys)}")
    key = keys[0]
    value = doc[key]
    here = f"{where}.{key}"
    if key == f"{stem}_stored":
        if value is not True:
            raise _err(here, "can only be true (keep the stored secret)")
        return SecretInput(keep_stored=True)
    if not isinstance(value, str):
        raise _err(here, "must be a string")
    if key == f"{stem}_env":
        if not ENV_NAME_RE.match(value):
            raise _err(here, f"{value!r} is not an environment variable name")
        return SecretInput(env=value)
    if key == f"{stem}_conn_id":
        if not CONN_ID_RE.match(value):
            raise _err(here, f"{value!r} is not a connection id")
        return SecretInput(conn_id=value)
    if not 1 <= len(value) <= 1024:
        raise _err(here, "must be 1-1024 characters")
    return SecretInput(literal=value)


def parse_signature(value: object, where: str) -> SignatureInput:
    """Validate an ``auth.signature`` mapping.

    :raises ConfigError: naming the field at fault
    """
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _err(where, "must be a mapping")
    doc: Mapping[str, object] = value
    allowed = {"scheme", "tolerance_seconds", *_HMAC_ONLY}
    for stem in ("secret", "previous_secret"):
        allowed |= {f"{stem}_env", f"{stem}_conn_id", stem, f"{stem}_stored"}
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise _err(where, f"unknown key(s) {', '.join(unknown)}")
    scheme = doc.get("scheme")
    if not isinstance(scheme, str) or scheme not in SCHEMES:
        raise _err(f"{where}.scheme", f"{scheme!r} must be one of {', '.join(SCHEMES)}")
    tolerance = doc.get("tolerance_seconds", DEFAULT_TOLERANCE)
    if "tolerance_seconds" in doc and scheme not in TIMESTAMPED:
        raise _err(f"{where}.tolerance_seconds", f"{scheme} signs no timestamp")
    if isinstance(tolerance, bool) or not isinstance(tolerance, int) or not 1 <= tolerance <= 86400:
        raise _err(f"{where}.tolerance_seconds", "must be a whole number of seconds, 1-86400")
    options: dict[str, str] = {}
    for key in _HMAC_ONLY:
        if key in doc:
            if key not in sender(scheme).options:
                raise _err(f"{where}.{key}", "only for scheme hmac")
            text = doc[key]
            if not isinstance(text, str):
                raise _err(f"{where}.{key}", "must be a string")
            options[key] = text
    header = options.get("header")
    if scheme == "hmac":
        if header is None:
            raise _err(f"{where}.header", "scheme hmac needs the header the signature is sent in")
        if not HEADER_NAME_RE.match(header):
            raise _err(f"{where}.header", f"{header!r} is not a valid header name")
    algorithm = options.get("algorithm", "sha256")
    if algorithm not in ALGORITHMS:
        raise _err(f"{where}.algorithm", f"{algorithm!r} must be one of {', '.join(ALGORITHMS)}")
    encoding = options.get("encoding", "hex")
    if encoding not in ENCODINGS:
        raise _err(f"{where}.encoding", f"{encoding!r} must be one of {', '.join(ENCODINGS)}")
    prefix = options.get("prefix", "")
    if len(prefix) > 64 or any(ord(c) < 0x21 or ord(c) > 0x7E for c in prefix):
        raise _err(f"{where}.prefix", "must be at most 64 visible ASCII characters")
    secret = _secret(doc, "secret", where, required=True) or SecretInput()  # (required: never None)
    previous = _secret(doc, "previous_secret", where, required=False)
    spec = SignatureSpec(
        scheme=scheme,
        secret=SecretRef(),
        tolerance_seconds=tolerance,
        header=header,
        algorithm=algorithm,
        encoding=encoding,
        prefix=prefix,
    )
    return SignatureInput(spec=spec, secret=secret, previous=previous)


def _source_doc(ref: SecretRef, stem: str) -> dict[str, object]:
    if ref.env is not None:
        return {f"{stem}_env": ref.env}
    if ref.conn_id is not None:
        return {f"{stem}_conn_id": ref.conn_id}
    return {f"{stem}_stored": True}


def signature_document(spec: SignatureSpec) -> dict[str, object]:
    """The document of a stored signature check; never a secret, never its ciphertext."""
    doc: dict[str, object] = {"scheme": spec.scheme, **_source_doc(spec.secret, "secret")}
    if spec.previous is not None:
        doc.update(_source_doc(spec.previous, "previous_secret"))
    if spec.scheme in TIMESTAMPED:
        doc["tolerance_seconds"] = spec.tolerance_seconds
    if spec.scheme == "hmac":
        doc.update({"header": spec.header, "algorithm": spec.algorithm, "encoding": spec.encoding})
        if spec.prefix:
            doc["prefix"] = spec.prefix
    return doc
