"""Delivery keys: parsing the setting and reading a request's key."""

from __future__ import annotations

import hashlib

import pytest

from airflow_webhook_trigger.core.dedupe import (
    AUTO_KEYS,
    MAX_KEY_LENGTH,
    SIGNED_DIGEST_KEYS,
    DedupeSpec,
    check_scheme,
    delivery_key,
    parse_dedupe,
    parse_key_text,
)
from airflow_webhook_trigger.core.errors import BadRequest, ConfigError
from airflow_webhook_trigger.core.jsonbody import NO_BODY
from airflow_webhook_trigger.core.request import Headers
from airflow_webhook_trigger.core.signatures import SCHEMES, TIMESTAMPED, SignedRequest, signed_digest


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("auto", DedupeSpec(auto=True)),
        ("header:X-GitHub-Delivery", DedupeSpec(False, "header", "X-GitHub-Delivery")),
        ("body:id", DedupeSpec(False, "body", "id", ("id",))),
        ("body:data.object.id", DedupeSpec(False, "body", "data.object.id", ("data", "object", "id"))),
        ("query:events[0].id", DedupeSpec(False, "query", "events[0].id", ("events", 0, "id"))),
    ],
)
def test_key_text_parses(text: str, expected: DedupeSpec) -> None:
    spec = parse_key_text(text)
    assert spec == expected
    assert parse_key_text(spec.text) == spec  # the text form round-trips


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Auto", "must be auto"),
        ("header:", "must be auto"),
        ("cookie:x", "must be auto"),
        ("header:bad name", "not a valid header name"),
        ("body:a..b", "dedupe.key"),
        (7, "must be auto"),
    ],
)
def test_key_text_refused(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_key_text(value)


def test_dedupe_mapping_needs_only_key() -> None:
    assert parse_dedupe(None) is None
    assert parse_dedupe({"key": "auto"}) == DedupeSpec(auto=True)
    with pytest.raises(ConfigError, match="unknown key"):
        parse_dedupe({"key": "auto", "window": 3})
    with pytest.raises(ConfigError, match="mapping"):
        parse_dedupe("auto")


def test_auto_needs_a_signature_scheme() -> None:
    with pytest.raises(ConfigError, match="auto takes the sender's delivery key"):
        check_scheme(DedupeSpec(auto=True), None)
    check_scheme(parse_key_text("header:X-Id"), None)  # an explicit key needs no scheme
    for scheme in SCHEMES:  # hmac too: its key is the digest of the body it signs
        check_scheme(DedupeSpec(auto=True), scheme)


def _key(spec: str, scheme: str | None = None, headers=(), query=None, body=NO_BODY, raw=b"{}", signed=None):  # type: ignore[no-untyped-def]
    return delivery_key(
        parse_key_text(spec),
        scheme,
        headers=Headers(headers),
        query=query or {},
        body=body,
        raw_body=raw,
        signed_digest=signed,
    )


@pytest.mark.parametrize(
    ("scheme", "headers", "body", "expected"),
    [
        (
            "stripe",
            [],
            {"id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "object": "event"},
            "evt_1NG8Du2eZvKYlo2CUI79vXWy",
        ),
        ("slack", [], {"event_id": "Ev08MFMKH6"}, "Ev08MFMKH6"),
        (
            "standard-webhooks",
            [("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")],
            {},
            "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        ),
    ],
)
def test_auto_key_of_each_timestamped_scheme(
    scheme: str, headers: list[tuple[str, str]], body: object, expected: str
) -> None:
    assert scheme in AUTO_KEYS
    key = _key("auto", scheme, headers=headers, body=body, raw=b"raw")
    assert key is not None
    assert key.value == expected
    assert key.body_sha256 == hashlib.sha256(b"raw").hexdigest()
    assert key.digest == hashlib.sha256(expected.encode()).hexdigest()


def test_auto_key_of_every_scheme_is_signed() -> None:
    # a signed delivery id only where the signature also covers a timestamp (an old copy
    # cannot come back with it); else the digest of the signed body: every scheme, one rule.
    # Zoom signs a timestamp but sends no id: its retries repeat the body, so the digest
    assert set(AUTO_KEYS) <= set(TIMESTAMPED)
    assert set(TIMESTAMPED) - set(AUTO_KEYS) == {"zoom"}
    assert set(AUTO_KEYS) | SIGNED_DIGEST_KEYS == set(SCHEMES)


@pytest.mark.parametrize("scheme", sorted(SIGNED_DIGEST_KEYS))
def test_auto_key_without_signed_timestamp_is_the_signed_digest_whatever_the_headers(scheme: str) -> None:
    # a captured delivery sent again with a new delivery id, event or query string: one key
    ids = ("X-GitHub-Delivery", "X-Shopify-Webhook-Id", "I-Twilio-Idempotency-Token", "X-GitHub-Event")
    first = _key("auto", scheme, headers=[(n, "1") for n in ids], raw=b"raw", signed="ab" * 32)
    again = _key(
        "auto", scheme, headers=[(n, "2") for n in ids], query={"x": "1"}, raw=b"raw", signed="ab" * 32
    )
    assert first == again and first is not None
    assert first.value == "signed-sha256:" + "ab" * 32
    assert _key("auto", scheme, raw=b"raw", signed="cd" * 32) != first  # other signed content
    with pytest.raises(BadRequest):  # never a key made up without the verified digest
        _key("auto", scheme, raw=b"raw")


def _signed(url: str, body: bytes, content_type: str = "application/x-www-form-urlencoded") -> str:
    return signed_digest("twilio", SignedRequest(Headers([("Content-Type", content_type)]), body, url))


def test_signed_digest_body_schemes_hash_the_raw_body() -> None:
    request = SignedRequest(Headers([("X-GitHub-Delivery", "d")]), b'{"a": 1}', "https://h/x?y=1")
    for scheme in ("github", "shopify", "hmac"):
        assert signed_digest(scheme, request) == hashlib.sha256(b'{"a": 1}').hexdigest()


def test_signed_digest_twilio_is_what_its_signature_covers() -> None:
    base = _signed("https://h/t?src=sms", b"From=%2B1&Body=hi")
    # the same signature validates these (pairs sorted; the default port either way) ...
    assert _signed("https://h/t?src=sms", b"Body=hi&From=%2B1") == base
    assert _signed("https://h:443/t?src=sms", b"From=%2B1&Body=hi") == base
    # ... not these: the query string and the form are signed
    assert _signed("https://h/t?src=mms", b"From=%2B1&Body=hi") != base
    assert _signed("https://h/t?src=sms", b"From=%2B1&Body=ho") != base
    json_url = "https://h/t?bodySHA256=" + hashlib.sha256(b"{}").hexdigest()
    assert _signed(json_url, b"{}", "application/json") == hashlib.sha256(json_url.encode()).hexdigest()


def test_slack_without_event_id_is_not_deduplicated() -> None:
    # slash commands and interactions carry no event_id: each is its own delivery
    assert _key("auto", "slack", body={"command": "/deploy"}) is None


def test_missing_key_is_a_400_naming_it() -> None:
    with pytest.raises(
        BadRequest, match=r"delivery key \(header webhook-id, dedupe.key\) is missing"
    ) as info:
        _key("auto", "standard-webhooks")
    assert info.value.extra == {"key": "header:webhook-id"}
    with pytest.raises(BadRequest, match=r"body id"):
        _key("auto", "stripe", body={"object": "event"})
    with pytest.raises(BadRequest, match="missing"):
        _key("body:id", body=NO_BODY)
    with pytest.raises(BadRequest, match="missing"):
        _key("body:id", body={"id": ""})


@pytest.mark.parametrize("value", [{"a": 1}, [1], True, 1.5, None])
def test_key_must_be_a_string_or_an_integer(value: object) -> None:
    with pytest.raises(BadRequest):
        _key("body:id", body={"id": value})


def test_key_from_query_and_integer_body() -> None:
    assert _key("query:delivery", query={"delivery": "d-1"}).value == "d-1"  # type: ignore[union-attr]
    assert _key("body:n", body={"n": 42}).value == "42"  # type: ignore[union-attr]


def test_key_length_is_bounded() -> None:
    assert _key("body:id", body={"id": "k" * MAX_KEY_LENGTH}) is not None
    with pytest.raises(BadRequest, match="longer than"):
        _key("body:id", body={"id": "k" * (MAX_KEY_LENGTH + 1)})
