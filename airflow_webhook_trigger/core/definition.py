"""Webhook definitions: the frozen value every part of the plugin passes around.

A definition is read from (and written back to) the declarative document (docs/webhooks.md, "The
declarative form"), the same shape for YAML files, the CLI and the management API.
Validation lives here, once; every failure is a :class:`ConfigError` naming the field.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from airflow_webhook_trigger.core.dedupe import DedupeSpec, check_scheme, parse_dedupe
from airflow_webhook_trigger.core.errors import ConfigError
from airflow_webhook_trigger.core.filters import Condition, parse_filter
from airflow_webhook_trigger.core.paths import Segment, parse_path, render_path
from airflow_webhook_trigger.core.response import ALLOWED_TEXT, response_header_allowed
from airflow_webhook_trigger.core.selectors import HEADER_NAME_RE
from airflow_webhook_trigger.core.senders import SCHEMES, sender
from airflow_webhook_trigger.core.signature_config import SignatureInput, parse_signature
from airflow_webhook_trigger.core.signatures import SignatureSpec

Mode = Literal["async", "sync"]
MODES: tuple[Mode, ...] = ("async", "sync")

# \Z, not $: "$" also matches before a trailing newline ("abcdefgh\n" would pass).
ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}\Z")
ALIAS_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
RESERVED_ALIASES = frozenset({"headers", "query", "body", "webhook"})
# Headers a caller must never see in a run's conf, whatever the configuration says.
FORBIDDEN_READ_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
DAG_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,250}\Z")
USERNAME_RE = re.compile(r"^[^:\x00-\x1f\x7f]{1,128}\Z")

log = logging.getLogger(__name__)

JsonValue = object


def generate_id() -> str:
    """A fresh webhook id: 144 random bits, URL-safe (24 characters).

    Never starting with ``-``, which a command line would take for an option
    (``airflow-webhooks show -abc...``); redrawing costs under 0.03 bits.
    """
    while True:
        webhook_id = secrets.token_urlsafe(18)
        if not webhook_id.startswith("-"):
            return webhook_id


@dataclass(frozen=True)
class HeaderField:
    name: str
    alias: str | None = None


@dataclass(frozen=True)
class PathField:
    path: str
    segments: tuple[Segment, ...]
    alias: str | None = None


@dataclass(frozen=True)
class BasicAuth:
    """Basic auth as stored: the password only as a salted slow hash."""

    username: str
    password_hash: str = field(repr=False)
    password_env: str | None = None


@dataclass(frozen=True)
class AsyncResponse:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: JsonValue = "ok"


@dataclass(frozen=True)
class Webhook:
    id: str
    dag_id: str
    mode: Mode = "async"
    enabled: bool = True
    auth: BasicAuth | None = None
    signature: SignatureSpec | None = None
    headers: tuple[HeaderField, ...] = ()
    query: tuple[PathField, ...] = ()
    body: tuple[PathField, ...] = ()
    response: AsyncResponse = AsyncResponse()
    sync_timeout_seconds: float | None = None
    #: one run per delivery key
    dedupe: DedupeSpec | None = None
    #: conditions a request must meet to start a run, and the answer if not
    filters: tuple[Condition, ...] = ()
    ignored_response: AsyncResponse | None = None
    #: a signed webhook accepts a delivery with an empty body (``request.allow_empty_body``)
    allow_empty_body: bool = False

    def with_changes(self, **changes: object) -> Webhook:
        return replace(self, **changes)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- parsing


def _err(where: str, why: str) -> ConfigError:
    return ConfigError(f"{where}: {why}")


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise _err(where, "must be a mapping")
    for key in value:
        if not isinstance(key, str):
            raise _err(where, f"key {key!r} must be a string")
    return value


def _sequence(value: object, where: str) -> Sequence[object]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise _err(where, "must be a list")
    return value


def _known_keys(doc: Mapping[str, object], allowed: set[str], where: str) -> None:
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise _err(where, f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")


def _str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise _err(where, "must be a string")
    return value


def _alias(value: object, where: str) -> str | None:
    if value is None:
        return None
    alias = _str(value, where)
    if not ALIAS_RE.match(alias):
        raise _err(where, f"alias {alias!r} must be an identifier ([A-Za-z_][A-Za-z0-9_]*, <= 64)")
    if alias in RESERVED_ALIASES:
        raise _err(where, f"alias {alias!r} is reserved ({', '.join(sorted(RESERVED_ALIASES))})")
    return alias


def _header_fields(value: object, where: str) -> tuple[HeaderField, ...]:
    out: list[HeaderField] = []
    seen: set[str] = set()
    for i, item in enumerate(_sequence(value, where)):
        here = f"{where}[{i}]"
        doc = _mapping(item, here)
        _known_keys(doc, {"name", "alias"}, here)
        name = _str(doc.get("name"), f"{here}.name")
        if not HEADER_NAME_RE.match(name):
            raise _err(f"{here}.name", f"{name!r} is not a valid header name")
        if name.lower() in FORBIDDEN_READ_HEADERS:
            raise _err(f"{here}.name", f"{name} may never be passed to a run")
        if name.lower() in seen:
            raise _err(f"{here}.name", f"header {name} is listed twice")
        seen.add(name.lower())
        out.append(HeaderField(name=name, alias=_alias(doc.get("alias"), f"{here}.alias")))
    return tuple(out)


def _path_fields(value: object, where: str) -> tuple[PathField, ...]:
    out: list[PathField] = []
    seen: set[tuple[Segment, ...]] = set()
    for i, item in enumerate(_sequence(value, where)):
        here = f"{where}[{i}]"
        doc = _mapping(item, here)
        _known_keys(doc, {"path", "alias"}, here)
        text = _str(doc.get("path"), f"{here}.path")
        try:
            segments = parse_path(text)
        except ConfigError as exc:
            raise _err(f"{here}.path", str(exc)) from None
        if segments in seen:
            raise _err(f"{here}.path", f"path {text!r} is listed twice")
        seen.add(segments)
        out.append(
            PathField(
                path=render_path(segments),
                segments=segments,
                alias=_alias(doc.get("alias"), f"{here}.alias"),
            )
        )
    return tuple(out)


def _response(value: object, where: str, stored: bool = False) -> AsyncResponse:
    if value is None:
        return AsyncResponse()
    doc = _mapping(value, where)
    _known_keys(doc, {"status", "headers", "body"}, where)
    status = doc.get("status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 299:
        raise _err(
            f"{where}.status",
            f"{status!r} must be an integer from 200 to 299 (a 2xx means the run is committed)",
        )
    headers: list[tuple[str, str]] = []
    raw_headers = _mapping(doc.get("headers") or {}, f"{where}.headers")
    for name, val in raw_headers.items():
        if not HEADER_NAME_RE.match(name):
            raise _err(f"{where}.headers", f"{name!r} is not a valid header name")
        if not response_header_allowed(name):
            if stored:
                # Stored before the allow-list: the webhook keeps working, without the header.
                log.warning("%s.headers: dropping %s, not in the response header allow-list", where, name)
                continue
            raise _err(
                f"{where}.headers",
                f"{name} is not allowed in a response (allowed: X-* names and {ALLOWED_TEXT})",
            )
        if isinstance(val, bool) or not isinstance(val, str | int | float):
            raise _err(f"{where}.headers.{name}", "must be a string")
        text = str(val)
        if any(c in text for c in "\r\n\x00") or len(text) > 4096:
            raise _err(f"{where}.headers.{name}", "must be one line of at most 4096 characters")
        headers.append((name, text))
    # No body by default where HTTP forbids one (RFC 9110 §15.3.5, §15.3.6).
    body = doc.get("body", "" if status in (204, 205) else "ok")
    if body is None:
        body = ""
    if not isinstance(body, str | dict | list):
        raise _err(f"{where}.body", "must be a string, or a JSON object or array")
    try:
        encoded = json.dumps(body, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _err(f"{where}.body", f"is not JSON-serialisable: {exc}") from None
    if len(encoded) > 65536:
        raise _err(f"{where}.body", "is larger than 64 KiB")
    # Keep the JSON form (YAML's `{200: ok}` has an int key): what is stored and read back
    # must compare equal, or every `apply` would see a change.
    body = json.loads(encoded)
    if status in (204, 205) and body != "":
        raise _err(f"{where}.body", f"must be empty with status {status}")
    return AsyncResponse(status=status, headers=tuple(headers), body=body)


def _check_token_header(webhook: Webhook, scheme: str, where: str) -> None:
    """A header that carries the scheme's secret itself is read nowhere: not into ``conf``, a
    filter (whose record keeps what it saw) or a delivery key (which the record keeps)."""
    token_header = sender(scheme).token_header if scheme in SCHEMES else None
    if token_header is None:
        return
    read = [(f"{where}.request.headers", f.name) for f in webhook.headers]
    read += [(f"{where}.filter", c.path) for c in webhook.filters if c.source == "header"]
    if webhook.dedupe is not None and webhook.dedupe.source == "header":
        read.append((f"{where}.dedupe.key", webhook.dedupe.name))
    for field_name, name in read:
        if name.lower() == token_header:
            raise _err(field_name, f"{name} carries the {scheme} secret token: it is never read")


def _check_aliases(webhook: Webhook) -> None:
    seen: set[str] = set()
    fields_: list[HeaderField | PathField] = [*webhook.headers, *webhook.query, *webhook.body]
    for f in fields_:
        if f.alias is None:
            continue
        if f.alias in seen:
            raise ConfigError(f"request: alias {f.alias!r} is used twice")
        seen.add(f.alias)


@dataclass(frozen=True)
class PasswordInput:
    """A password given in a document: a literal, or the name of an env var holding it."""

    literal: str | None = field(default=None, repr=False)
    env: str | None = None


@dataclass(frozen=True)
class WebhookDocument:
    """A parsed, validated document before its password is resolved and hashed."""

    webhook: Webhook  # auth and signature are None here; see the fields below
    id_given: bool
    username: str | None
    password: PasswordInput | None
    signature: SignatureInput | None = None


ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}\Z")


DOCUMENT_KEYS = frozenset(
    {
        "id",
        "dag_id",
        "mode",
        "enabled",
        "auth",
        "request",
        "response",
        "sync",
        "dedupe",
        "filter",
        "ignored_response",
    }
)
#: the parts of a document stored as the webhook row's ``definition`` JSON
DEFINITION_KEYS = ("request", "response", "sync", "dedupe", "filter", "ignored_response")


def parse_document(doc_: object, *, where: str = "webhook", stored: bool = False) -> WebhookDocument:
    """Validate one webhook document into a :class:`WebhookDocument`.

    :param doc_: the mapping read from YAML/JSON
    :param where: prefix for error messages (e.g. ``webhooks[2]``)
    :param stored: a stored row's definition, whose auth is kept apart (checks that need
        the signature were made when it was written)
    :raises ConfigError: naming the field at fault
    """
    doc = _mapping(doc_, where)
    _known_keys(doc, set(DOCUMENT_KEYS), where)
    raw_id = doc.get("id")
    if raw_id is None:
        webhook_id, id_given = generate_id(), False
    else:
        webhook_id, id_given = _str(raw_id, f"{where}.id"), True
        if not ID_RE.match(webhook_id):
            raise _err(f"{where}.id", f"{webhook_id!r} must match [A-Za-z0-9_-]{{8,64}}")
    dag_id = _str(doc.get("dag_id"), f"{where}.dag_id")
    if not DAG_ID_RE.match(dag_id):
        raise _err(f"{where}.dag_id", f"{dag_id!r} is not a valid DAG id")
    mode = doc.get("mode", "async")
    if mode not in MODES:
        raise _err(f"{where}.mode", f"{mode!r} must be one of {', '.join(MODES)}")
    enabled = doc.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _err(f"{where}.enabled", "must be true or false")

    username: str | None = None
    password: PasswordInput | None = None
    signature: SignatureInput | None = None
    if doc.get("auth") is not None:
        auth = _mapping(doc["auth"], f"{where}.auth")
        _known_keys(auth, {"basic", "signature"}, f"{where}.auth")
        if auth.get("signature") is not None:
            signature = parse_signature(auth["signature"], f"{where}.auth.signature")
        if auth.get("basic") is not None:
            here = f"{where}.auth.basic"
            basic = _mapping(auth["basic"], here)
            _known_keys(basic, {"username", "password", "password_env"}, here)
            username = _str(basic.get("username"), f"{here}.username")
            if not USERNAME_RE.match(username):
                raise _err(f"{here}.username", "must be 1-128 characters, no ':' or control characters")
            if ("password" in basic) == ("password_env" in basic):
                raise _err(here, "give exactly one of password, password_env")
            if "password" in basic:
                literal = _str(basic["password"], f"{here}.password")
                if not 1 <= len(literal) <= 1024:
                    raise _err(f"{here}.password", "must be 1-1024 characters")
                password = PasswordInput(literal=literal)
            else:
                env = _str(basic["password_env"], f"{here}.password_env")
                if not ENV_NAME_RE.match(env):
                    raise _err(f"{here}.password_env", f"{env!r} is not an environment variable name")
                password = PasswordInput(env=env)

    request = _mapping(doc.get("request") or {}, f"{where}.request")
    _known_keys(request, {"headers", "query", "body", "allow_empty_body"}, f"{where}.request")
    allow_empty_body = request.get("allow_empty_body", False)
    if not isinstance(allow_empty_body, bool):
        raise _err(f"{where}.request.allow_empty_body", "must be true or false")
    sync = _mapping(doc.get("sync") or {}, f"{where}.sync")
    _known_keys(sync, {"timeout_seconds"}, f"{where}.sync")
    timeout = sync.get("timeout_seconds")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 3600
    ):
        raise _err(f"{where}.sync.timeout_seconds", "must be a number of seconds in (0, 3600]")

    webhook = Webhook(
        id=webhook_id,
        dag_id=dag_id,
        mode=mode,
        enabled=enabled,
        headers=_header_fields(request.get("headers"), f"{where}.request.headers"),
        query=_path_fields(request.get("query"), f"{where}.request.query"),
        body=_path_fields(request.get("body"), f"{where}.request.body"),
        response=_response(doc.get("response"), f"{where}.response", stored),
        sync_timeout_seconds=float(timeout) if timeout is not None else None,
        dedupe=parse_dedupe(doc.get("dedupe"), f"{where}.dedupe"),
        filters=parse_filter(doc.get("filter"), f"{where}.filter", stored=stored),
        ignored_response=(
            None
            if doc.get("ignored_response") is None
            else _response(doc["ignored_response"], f"{where}.ignored_response", stored)
        ),
        allow_empty_body=allow_empty_body,
    )
    _check_aliases(webhook)
    if signature is not None and not stored:
        _check_token_header(webhook, signature.spec.scheme, where)
    if webhook.dedupe is not None and not stored:
        check_scheme(webhook.dedupe, signature.spec.scheme if signature else None, f"{where}.dedupe.key")
    return WebhookDocument(
        webhook=webhook, id_given=id_given, username=username, password=password, signature=signature
    )
