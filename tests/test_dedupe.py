"""Delivery keys (PRODUCT.md §10): parsing the setting and reading a request's key."""

from __future__ import annotations

import hashlib

import pytest

from airflow_webhook_trigger.dedupe import (
    AUTO_KEYS,
    MAX_KEY_LENGTH,
    DedupeSpec,
    check_scheme,
    delivery_key,
    parse_dedupe,
    parse_key_text,
)
from airflow_webhook_trigger.errors import BadRequest, ConfigError
from airflow_webhook_trigger.jsonbody import NO_BODY
from airflow_webhook_trigger.request import Headers


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


@pytest.mark.parametrize("scheme", [None, "hmac"])
def test_auto_needs_a_scheme_with_a_key(scheme: str | None) -> None:
    with pytest.raises(ConfigError, match="auto takes the sender's delivery key"):
        check_scheme(DedupeSpec(auto=True), scheme)
    check_scheme(parse_key_text("header:X-Id"), scheme)  # an explicit key needs no scheme


def _key(spec: str, scheme: str | None = None, headers=(), query=None, body=NO_BODY, raw=b"{}"):  # type: ignore[no-untyped-def]
    return delivery_key(
        parse_key_text(spec), scheme, headers=Headers(headers), query=query or {}, body=body, raw_body=raw
    )


@pytest.mark.parametrize(
    ("scheme", "headers", "body", "expected"),
    [
        ("github", [("x-github-delivery", "72d3162e-cc78-11e3")], {}, "72d3162e-cc78-11e3"),
        (
            "stripe",
            [],
            {"id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "object": "event"},
            "evt_1NG8Du2eZvKYlo2CUI79vXWy",
        ),
        ("slack", [], {"event_id": "Ev08MFMKH6"}, "Ev08MFMKH6"),
        ("shopify", [("X-Shopify-Webhook-Id", "b54557e4")], {}, "b54557e4"),
        (
            "standard-webhooks",
            [("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")],
            {},
            "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        ),
        ("twilio", [("I-Twilio-Idempotency-Token", "3cb2d4d1")], {}, "3cb2d4d1"),
    ],
)
def test_auto_key_of_each_scheme(
    scheme: str, headers: list[tuple[str, str]], body: object, expected: str
) -> None:
    assert scheme in AUTO_KEYS
    key = _key("auto", scheme, headers=headers, body=body, raw=b"raw")
    assert key is not None
    assert key.value == expected
    assert key.body_sha256 == hashlib.sha256(b"raw").hexdigest()
    assert key.digest == hashlib.sha256(expected.encode()).hexdigest()


def test_slack_without_event_id_is_not_deduplicated() -> None:
    # slash commands and interactions carry no event_id: each is its own delivery
    assert _key("auto", "slack", body={"command": "/deploy"}) is None


def test_missing_key_is_a_400_naming_it() -> None:
    with pytest.raises(
        BadRequest, match=r"delivery key \(header X-GitHub-Delivery, dedupe.key\) is missing"
    ) as info:
        _key("auto", "github")
    assert info.value.extra == {"key": "header:X-GitHub-Delivery"}
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
