"""How each sender signs: the verifiers the records in :mod:`..senders` point to.

Pure functions: the secrets, the clock and the public URL are handed in. Every parse of
an attacker-controlled header (digits-only timestamps, hex of the right length, base64
with ``validate=True``) ends in :class:`Unauthorized` naming what was wrong, never the
expected value; digests are compared with :func:`hmac.compare_digest` on bytes. Each
record's ``doc`` names the sender documentation its verifier follows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from airflow_webhook_trigger.core.errors import Unauthorized
from airflow_webhook_trigger.core.request import Headers

ALGORITHMS = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
ENCODINGS = ("hex", "base64")
DEFAULT_TOLERANCE = 300

_MAX_HEADER = 8192
_DIGITS = re.compile(r"^[0-9]{1,12}\Z")


@dataclass(frozen=True)
class SecretRef:
    """Where a signing secret comes from: never the value (a stored one is ciphertext)."""

    env: str | None = None
    conn_id: str | None = None
    #: the secret encrypted with Airflow's Fernet key
    stored: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """The source, for logs and errors (never the value)."""
        if self.env is not None:
            return f"environment variable {self.env}"
        if self.conn_id is not None:
            return f"Airflow connection {self.conn_id}"
        return "the stored secret"


@dataclass(frozen=True)
class SignatureSpec:
    """A webhook's signature check, as configured."""

    scheme: str
    secret: SecretRef
    previous: SecretRef | None = None
    tolerance_seconds: int = DEFAULT_TOLERANCE
    #: ``hmac`` only: where the signature is, how it is made and written
    header: str | None = None
    algorithm: str = "sha256"
    encoding: str = "hex"
    prefix: str = ""


@dataclass(frozen=True)
class SignedRequest:
    """What a signature covers.

    :param url: the public URL the sender called, with its query (Twilio signs it)
    """

    headers: Headers
    body: bytes
    url: str = ""


def _fail(detail: str) -> Unauthorized:
    return Unauthorized(detail)


def _one_header(headers: Headers, name: str) -> str:
    values = headers.get_all(name)
    if not values:
        raise _fail(f"signature header {name} is missing")
    if len(values) > 1:
        raise _fail(f"signature header {name} is sent more than once")
    value = values[0].strip()
    if not value or len(value) > _MAX_HEADER:
        raise _fail(f"signature header {name} is malformed")
    return value


def _hex(text: str, size: int, what: str) -> bytes:
    if len(text) != size * 2:
        raise _fail(f"{what} is not {size * 2} hex digits")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise _fail(f"{what} is not hex") from None


def _b64(text: str, what: str, size: int | None = None) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise _fail(f"{what} is not base64") from None
    if size is not None and len(raw) != size:
        raise _fail(f"{what} is not a {size}-byte digest")
    return raw


def _timestamp(text: str, what: str, now: float, tolerance: int) -> str:
    if not _DIGITS.match(text):
        raise _fail(f"{what} is not a Unix time in digits")
    # inclusive, in both directions: a stale copy is a replay, a future one a forgery
    if abs(now - int(text)) > tolerance:
        raise _fail(f"{what} is outside the tolerance of {tolerance} s")
    return text


def _mac(key: bytes, message: bytes, algorithm: Callable[..., object] = hashlib.sha256) -> bytes:
    return hmac.new(key, message, algorithm).digest()  # type: ignore[arg-type]


def _any_matches(candidates: Sequence[bytes], expected: Sequence[bytes]) -> bool:
    # every comparison is made (no early exit on which secret or which candidate matched)
    found = False
    for want in expected:
        for got in candidates:
            found |= hmac.compare_digest(got, want)
    return found


_NO_MATCH = "no signature matches"


Algorithm = Callable[..., Any]


def _method_mac(
    request: SignedRequest, secrets: Sequence[bytes], header: str, methods: Mapping[str, Algorithm]
) -> None:
    """``<header>: <method>=<hex HMAC of the body>``, the method one of ``methods``: GitHub's
    and Meta's ``X-Hub-Signature-256``, WebSub's ``X-Hub-Signature``."""
    method, _, digest = _one_header(request.headers, header).partition("=")
    algorithm = methods.get(method)
    if algorithm is None:
        *others, last = [f"{name}=" for name in methods]
        raise _fail(f"{header} must start with {', '.join(others) + ' or ' if others else ''}{last}")
    given = _hex(digest, algorithm().digest_size, header)
    if not _any_matches([given], [_mac(s, request.body, algorithm) for s in secrets]):
        raise _fail(_NO_MATCH)


def github(spec: SignatureSpec, secrets: Sequence[bytes], request: SignedRequest, now: float) -> None:
    headers = request.headers
    if "x-hub-signature-256" not in headers and "x-hub-signature" in headers:
        raise _fail("only the SHA-1 X-Hub-Signature was sent; X-Hub-Signature-256 is required")
    _method_mac(request, secrets, "X-Hub-Signature-256", {"sha256": hashlib.sha256})


#: the WebSub methods of ``X-Hub-Signature: <method>=<hex>`` accepted (SHA-1 is not)
_WEBSUB: dict[str, Algorithm] = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


def websub(spec: SignatureSpec, secrets: Sequence[bytes], request: SignedRequest, now: float) -> None:
    """``X-Hub-Signature: <method>=<hex HMAC of the body>`` (W3C WebSub), as Jira Cloud and
    Bitbucket send it (``sha256``)."""
    _method_mac(request, secrets, "X-Hub-Signature", _WEBSUB)


def _entries(value: str, header: str) -> Iterator[tuple[str, str]]:
    """The ``<key>=<value>`` entries of a comma-separated signature header (Stripe's, PagerDuty's)."""
    for item in value.split(","):
        key, eq, text = item.strip().partition("=")
        if not eq:
            raise _fail(f"{header} is malformed")
        yield key, text


def pagerduty(spec: SignatureSpec, secrets: Sequence[bytes], request: SignedRequest, now: float) -> None:
    """``X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]``, each an HMAC-SHA256 of the body; any
    may match (one per secret while PagerDuty rotates), other versions are skipped."""
    value = _one_header(request.headers, "X-PagerDuty-Signature")
    given = [
        _hex(digest, 32, "an X-PagerDuty-Signature v1")
        for version, digest in _entries(value, "X-PagerDuty-Signature")
        if version == "v1"
    ]
    if not given:
        raise _fail("X-PagerDuty-Signature has no v1 signature")
    if not _any_matches(given, [_mac(s, request.body) for s in secrets]):
        raise _fail(_NO_MATCH)


def stripe(spec: SignatureSpec, secrets: Sequence[bytes], request: SignedRequest, now: float) -> None:
    value = _one_header(request.headers, "Stripe-Signature")
    stamps: list[str] = []
    signatures: list[bytes] = []
    for key, text in _entries(value, "Stripe-Signature"):
        if key == "t":
            stamps.append(text)
        elif key == "v1":
            signatures.append(_hex(text, 32, "a Stripe-Signature v1"))
        # v0 (test mode, SHA-1 era) and unknown schemes are ignored, as Stripe's SDK does
    if len(stamps) != 1:
        raise _fail("Stripe-Signature must have one t=")
    stamp = _timestamp(stamps[0], "Stripe-Signature t", now, spec.tolerance_seconds)
    if not signatures:
        raise _fail("Stripe-Signature has no v1 signature")
    signed = stamp.encode("ascii") + b"." + request.body
    if not _any_matches(signatures, [_mac(s, signed) for s in secrets]):
        raise _fail(_NO_MATCH)


def _v0(
    request: SignedRequest, secrets: Sequence[bytes], now: float, tolerance: int, names: tuple[str, str]
) -> None:
    """``<signature header>: v0=<hex HMAC-SHA256(secret, "v0:<timestamp>:<body>")>`` with the
    timestamp in its own header: Slack's scheme, which Zoom follows."""
    signature_header, timestamp_header = names
    stamp = _timestamp(_one_header(request.headers, timestamp_header), timestamp_header, now, tolerance)
    value = _one_header(request.headers, signature_header)
    version, _, digest = value.partition("=")
    if version != "v0":
        raise _fail(f"{signature_header} must start with v0=")
    given = _hex(digest, 32, signature_header)
    signed = b"v0:" + stamp.encode("ascii") + b":" + request.body
    if not _any_matches([given], [_mac(s, signed) for s in secrets]):
        raise _fail(_NO_MATCH)


def slack(spec: SignatureSpec, secrets: Sequence[bytes], request: SignedRequest, now: float) -> None:
    _v0(request, secrets, now, spec.tolerance_seconds, ("X-Slack-Signature", "X-Slack-Request-Timestamp"))


def zoom(spec: SignatureSpec, secrets: Sequence[bytes], request: SignedRequest, now: float) -> None:
    _v0(request, secrets, now, spec.tolerance_seconds, ("x-zm-signature", "x-zm-request-timestamp"))


def _token(request: SignedRequest, secrets: Sequence[bytes], name: str) -> None:
    """A header that carries the secret itself (nothing is signed), compared in constant time."""
    given = _one_header(request.headers, name).encode("utf-8", "surrogateescape")
    if not _any_matches([given], secrets):
        raise _fail(f"{name} does not match")


def gitlab(spec: SignatureSpec, secrets: Sequence[bytes], request: SignedRequest, now: float) -> None:
    _token(request, secrets, "X-Gitlab-Token")


def telegram(spec: SignatureSpec, secrets: Sequence[bytes], request: SignedRequest, now: float) -> None:
    _token(request, secrets, "X-Telegram-Bot-Api-Secret-Token")


def shopify(spec: SignatureSpec, secrets: Sequence[bytes], request: SignedRequest, now: float) -> None:
    given = _b64(_one_header(request.headers, "X-Shopify-Hmac-Sha256"), "X-Shopify-Hmac-Sha256", 32)
    if not _any_matches([given], [_mac(s, request.body) for s in secrets]):
        raise _fail(_NO_MATCH)


class UnusableSecret(ValueError):
    """The configured secret cannot be used by its scheme (a configuration error)."""


def standard_webhooks_key(secret: bytes) -> bytes:
    """The HMAC key of a Standard Webhooks secret: ``whsec_<base64>`` (or bare base64), decoded.

    :raises UnusableSecret: not base64 (the operator's error, not the caller's)
    """
    text = secret.decode("ascii", "replace").strip().removeprefix("whsec_")
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise UnusableSecret("a standard-webhooks secret must be whsec_<base64>") from None


def standard_webhooks(
    spec: SignatureSpec, secrets: Sequence[bytes], request: SignedRequest, now: float
) -> None:
    msg_id = _one_header(request.headers, "webhook-id")
    if any(c in msg_id for c in " ,\x00"):
        raise _fail("webhook-id is malformed")
    stamp = _timestamp(
        _one_header(request.headers, "webhook-timestamp"), "webhook-timestamp", now, spec.tolerance_seconds
    )
    given: list[bytes] = []
    malformed = 0
    for item in _one_header(request.headers, "webhook-signature").split(" "):
        version, comma, text = item.partition(",")
        if not comma:
            malformed += 1
            continue
        if version == "v1":
            # any valid v1 entry may match (the spec's list, as its reference library reads
            # it): one malformed entry beside a valid one does not refuse the request
            try:
                given.append(_b64(text, "a webhook-signature v1", 32))
            except Unauthorized:
                malformed += 1
        # other versions (v1a: asymmetric) are not ours to check
    if not given:
        raise _fail(
            "webhook-signature is malformed" if malformed else "webhook-signature has no v1 signature"
        )
    signed = msg_id.encode("utf-8") + b"." + stamp.encode("ascii") + b"." + request.body
    keys = [standard_webhooks_key(s) for s in secrets]
    if not _any_matches(given, [_mac(k, signed) for k in keys]):
        raise _fail(_NO_MATCH)


_DEFAULT_PORTS = {"https": 443, "http": 80}


def twilio_url_variants(url: str) -> list[str]:
    """The URL as given, with its default port added, and without it (Twilio's validator)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    userinfo = userinfo + "@" if userinfo else ""
    default = _DEFAULT_PORTS.get(parts.scheme)
    with_port = urlunsplit(parts._replace(netloc=f"{userinfo}{host}:{parts.port or default}"))
    without_port = (
        urlunsplit(parts._replace(netloc=f"{userinfo}{host}")) if parts.port in (None, default) else url
    )
    return list(dict.fromkeys([url, with_port, without_port]))


def _twilio_form_message(url: str, body: bytes) -> bytes:
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise _fail("form body is not UTF-8") from None
    by_name: dict[str, set[str]] = {}
    for name, value in pairs:
        by_name.setdefault(name, set()).add(value)
    # as twilio.request_validator.compute_signature: names sorted, then each name's values
    text = url + "".join(name + value for name in sorted(by_name) for value in sorted(by_name[name]))
    return text.encode("utf-8")


def twilio(spec: SignatureSpec, secrets: Sequence[bytes], request: SignedRequest, now: float) -> None:
    given = _b64(_one_header(request.headers, "X-Twilio-Signature"), "X-Twilio-Signature", 20)
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    query = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
    if content_type == "application/x-www-form-urlencoded" or not request.body:
        messages = [_twilio_form_message(u, request.body) for u in twilio_url_variants(request.url)]
    elif "bodySHA256" in query:
        # a JSON (or other) body: the URL is signed, and carries the body's hash
        want = hashlib.sha256(request.body).hexdigest()
        if not hmac.compare_digest(query["bodySHA256"].lower().encode(), want.encode()):
            raise _fail("bodySHA256 does not match the body")
        messages = [u.encode("utf-8") for u in twilio_url_variants(request.url)]
    else:
        raise _fail("a Twilio request with a non-form body must carry bodySHA256 in its URL")
    expected = [_mac(s, m, hashlib.sha1) for s in secrets for m in messages]
    if not _any_matches([given], expected):
        raise _fail(_NO_MATCH)


def generic_hmac(spec: SignatureSpec, secrets: Sequence[bytes], request: SignedRequest, now: float) -> None:
    name = spec.header or "X-Signature"
    value = _one_header(request.headers, name)
    if spec.prefix:
        if not value.startswith(spec.prefix):
            raise _fail(f"{name} must start with {spec.prefix}")
        value = value[len(spec.prefix) :]
    algorithm = ALGORITHMS[spec.algorithm]
    size = algorithm().digest_size
    given = _hex(value, size, name) if spec.encoding == "hex" else _b64(value, name, size)
    if not _any_matches([given], [_mac(s, request.body, algorithm) for s in secrets]):
        raise _fail(_NO_MATCH)


def body_digest(request: SignedRequest) -> str:
    """The SHA-256 (hex) of the raw body: what every scheme but Twilio signs, in the end."""
    return hashlib.sha256(request.body).hexdigest()


def twilio_digest(request: SignedRequest) -> str:
    """What Twilio signs, the same for every request its signature is valid for: the URL
    without a default port, the form's pairs sorted, as its validator signs them."""
    url = min(twilio_url_variants(request.url), key=lambda u: (len(u), u))
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded" or not request.body:
        message = _twilio_form_message(url, request.body)
    else:  # the URL carries bodySHA256, checked against the body
        message = url.encode("utf-8")
    return hashlib.sha256(message).hexdigest()


def any_secret(secret: bytes) -> None:
    """Any non-empty secret: the schemes that use it as the HMAC key, byte for byte."""


_TELEGRAM_SECRET = re.compile(rb"[A-Za-z0-9_-]{1,256}")


def telegram_secret(secret: bytes) -> None:
    """Telegram's ``secret_token``: 1-256 characters, ``A-Z``, ``a-z``, ``0-9``, ``_`` and ``-``."""
    if not _TELEGRAM_SECRET.fullmatch(secret):
        raise UnusableSecret("a Telegram secret_token is 1-256 characters of A-Z, a-z, 0-9, _ and -")


def standard_webhooks_secret(secret: bytes) -> None:
    """``whsec_<base64>`` (or bare base64)."""
    standard_webhooks_key(secret)
