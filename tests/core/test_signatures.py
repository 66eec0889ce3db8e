"""Sender signatures: the senders' own published vectors and SDKs against our verifier.

GitHub's and Standard Webhooks' documented examples; Stripe, Slack, Twilio and Standard
Webhooks signatures made by their official SDKs; Shopify, Zoom and the generic scheme by
``openssl dgst`` (the recipe the README gives); GitLab's and Telegram's tokens as their
docs send them. Then the hostile cases.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_webhook_trigger.core.errors import Unauthorized
from airflow_webhook_trigger.core.request import Headers
from airflow_webhook_trigger.core.signatures import (
    SecretRef,
    SignatureSpec,
    SignedRequest,
    UnusableSecret,
    check_secret,
    twilio_url_variants,
    verify,
)
from tests.senders import _openssl

NOW = 1_764_583_200  # 2025-12-01T10:00:00Z
REF = SecretRef(env="SIGNING_SECRET")


def spec(scheme: str, **kwargs: Any) -> SignatureSpec:
    return SignatureSpec(scheme=scheme, secret=REF, **kwargs)


def _verify(
    scheme: str,
    secret: bytes | list[bytes],
    headers: dict[str, str] | list[tuple[str, str]],
    body: bytes,
    *,
    url: str = "",
    now: float = NOW,
    **kwargs: Any,
) -> None:
    items = list(headers.items()) if isinstance(headers, dict) else headers
    secrets = secret if isinstance(secret, list) else [secret]
    verify(spec(scheme, **kwargs), secrets, SignedRequest(Headers(items), body, url), now)


def _refused(*args: Any, **kwargs: Any) -> str:
    with pytest.raises(Unauthorized) as info:
        _verify(*args, **kwargs)
    return info.value.detail


# -- GitHub: the documented example ("Validating webhook deliveries") ---------------------

GITHUB_SECRET = b"It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_github_documented_vector_verifies() -> None:
    _verify("github", GITHUB_SECRET, {"X-Hub-Signature-256": GITHUB_SIGNATURE}, GITHUB_BODY)


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        ({}, GITHUB_BODY, "X-Hub-Signature-256 is missing"),
        ({"X-Hub-Signature": "sha1=" + "0" * 40}, GITHUB_BODY, "only the SHA-1 X-Hub-Signature was sent"),
        ({"X-Hub-Signature-256": GITHUB_SIGNATURE.replace("sha256=", "sha1=")}, GITHUB_BODY, "sha256="),
        ({"X-Hub-Signature-256": GITHUB_SIGNATURE[:-2]}, GITHUB_BODY, "not 64 hex digits"),
        ({"X-Hub-Signature-256": GITHUB_SIGNATURE[:-2] + "zz"}, GITHUB_BODY, "not hex"),
        ({"X-Hub-Signature-256": GITHUB_SIGNATURE}, b"Hello, World?", "no signature matches"),
        ({"X-Hub-Signature-256": GITHUB_SIGNATURE}, GITHUB_BODY + b" ", "no signature matches"),
        ({"X-Hub-Signature-256": "sha256=é" + "0" * 63}, GITHUB_BODY, "not hex"),
        ({"X-Hub-Signature-256": ""}, GITHUB_BODY, "malformed"),
    ],
)
def test_github_refusals_name_the_problem(headers: dict[str, str], body: bytes, message: str) -> None:
    detail = _refused("github", GITHUB_SECRET, headers, body)
    assert message in detail
    assert "757107" not in detail


def test_github_header_twice_refused() -> None:
    headers = [("X-Hub-Signature-256", GITHUB_SIGNATURE), ("X-Hub-Signature-256", GITHUB_SIGNATURE)]
    assert "more than once" in _refused("github", GITHUB_SECRET, headers, GITHUB_BODY)


def test_github_previous_secret_still_verifies_during_rotation() -> None:
    _verify(
        "github", [b"the-new-secret", GITHUB_SECRET], {"X-Hub-Signature-256": GITHUB_SIGNATURE}, GITHUB_BODY
    )


# -- Stripe: signatures from the official SDK --------------------------------------------

STRIPE_SECRET = "whsec_test_5c7bF0aWd3kQ9e2L"
STRIPE_BODY = '{"id": "evt_1", "type": "payment_intent.succeeded"}'


def _stripe_header(timestamp: int = NOW, secret: str = STRIPE_SECRET, body: str = STRIPE_BODY) -> str:
    import stripe

    return str(stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp))


def test_stripe_sdk_signature_verifies_and_sdk_agrees() -> None:
    import stripe

    header = _stripe_header()
    _verify("stripe", STRIPE_SECRET.encode(), {"Stripe-Signature": header}, STRIPE_BODY.encode())
    assert stripe.WebhookSignature.verify_header(STRIPE_BODY, header, STRIPE_SECRET, tolerance=None)


def test_stripe_any_v1_may_match_rolling_secrets() -> None:
    old = _stripe_header(secret="whsec_old").split(",")[1]
    header = f"{_stripe_header()},{old},v0=deadbeef"
    _verify("stripe", b"whsec_old", {"Stripe-Signature": header}, STRIPE_BODY.encode())


def test_stripe_secret_wrongly_base64_decoded_does_not_verify() -> None:
    decoded = base64.b64decode(STRIPE_SECRET.removeprefix("whsec_") + "==")
    detail = _refused("stripe", decoded, {"Stripe-Signature": _stripe_header()}, STRIPE_BODY.encode())
    assert detail == "no signature matches"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing"),
        ("v1=" + "0" * 64, "must have one t="),
        (f"t={NOW},t={NOW},v1=" + "0" * 64, "must have one t="),
        (f"t={NOW}", "no v1 signature"),
        (f"t=+{NOW},v1=" + "0" * 64, "digits"),
        (f"t={NOW}.5,v1=" + "0" * 64, "digits"),
        ("t=١٢٣,v1=" + "0" * 64, "digits"),
        (f"t={NOW},v1=abc", "not 64 hex digits"),
        (f"t={NOW},garbage", "malformed"),
        (f"t={NOW - 301}", "tolerance"),
    ],
)
def test_stripe_malformed_headers_refused(header: str | None, message: str) -> None:
    headers = {} if header is None else {"Stripe-Signature": header}
    assert message in _refused("stripe", STRIPE_SECRET.encode(), headers, STRIPE_BODY.encode())


@pytest.mark.parametrize(("offset", "ok"), [(-300, True), (300, True), (-301, False), (301, False)])
def test_stripe_tolerance_inclusive_both_ways(offset: int, ok: bool) -> None:
    header = {"Stripe-Signature": _stripe_header(timestamp=NOW + offset)}
    if ok:
        _verify("stripe", STRIPE_SECRET.encode(), header, STRIPE_BODY.encode())
    else:
        assert "tolerance" in _refused("stripe", STRIPE_SECRET.encode(), header, STRIPE_BODY.encode())


def test_stripe_tolerance_configurable() -> None:
    header = {"Stripe-Signature": _stripe_header(timestamp=NOW - 1000)}
    _verify("stripe", STRIPE_SECRET.encode(), header, STRIPE_BODY.encode(), tolerance_seconds=1000)


# -- Slack: signatures from slack_sdk ------------------------------------------------------

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_BODY = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fweather&text=94070"


def _slack_headers(timestamp: int = NOW, body: bytes = SLACK_BODY) -> dict[str, str]:
    from slack_sdk.signature import SignatureVerifier

    signature = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=str(timestamp), body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}


def test_slack_sdk_signature_verifies() -> None:
    _verify("slack", SLACK_SECRET.encode(), _slack_headers(), SLACK_BODY)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda h: h.pop("X-Slack-Request-Timestamp"), "X-Slack-Request-Timestamp is missing"),
        (lambda h: h.pop("X-Slack-Signature"), "X-Slack-Signature is missing"),
        (lambda h: h.update({"X-Slack-Request-Timestamp": str(NOW + 301)}), "tolerance"),
        (lambda h: h.update({"X-Slack-Request-Timestamp": "-1"}), "digits"),
        (lambda h: h.update({"X-Slack-Signature": "v1=" + "0" * 64}), "must start with v0="),
        (lambda h: h.update({"X-Slack-Request-Timestamp": str(NOW + 1)}), "no signature matches"),
    ],
)
def test_slack_refusals(change: Any, message: str) -> None:
    headers = _slack_headers()
    change(headers)
    assert message in _refused("slack", SLACK_SECRET.encode(), headers, SLACK_BODY)


def test_slack_stale_by_the_sdk_is_stale_here() -> None:
    headers = _slack_headers(timestamp=NOW - 301)
    assert "tolerance" in _refused("slack", SLACK_SECRET.encode(), headers, SLACK_BODY)


# -- Standard Webhooks: the specification's vector and the official library -------------

SW_SECRET = b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TIMESTAMP = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _sw_headers(signature: str = SW_SIGNATURE, stamp: int = SW_TIMESTAMP) -> dict[str, str]:
    return {"webhook-id": SW_ID, "webhook-timestamp": str(stamp), "webhook-signature": signature}


def test_standard_webhooks_spec_vector_verifies() -> None:
    _verify("standard-webhooks", SW_SECRET, _sw_headers(), SW_BODY, now=SW_TIMESTAMP)


def test_standard_webhooks_library_signature_verifies_in_a_list() -> None:
    from standardwebhooks import Webhook

    stamp = datetime.fromtimestamp(NOW, tz=timezone.utc)
    signature = Webhook(SW_SECRET.decode()).sign(SW_ID, stamp, SW_BODY.decode())
    other = "v1," + base64.b64encode(b"x" * 32).decode()
    headers = _sw_headers(f"v1a,c2lnbmF0dXJl {other} {signature}", NOW)
    _verify("standard-webhooks", SW_SECRET, headers, SW_BODY)


@pytest.mark.parametrize(
    "bad", ["v1,!!!notbase64", "v1," + base64.b64encode(b"short").decode(), "v1g0hM9SsE"]
)
def test_standard_webhooks_malformed_entry_beside_valid_one_verifies(bad: str) -> None:
    # the spec's list: any valid v1 entry may match, a malformed neighbour does not refuse it
    from standardwebhooks import Webhook

    stamp = datetime.fromtimestamp(NOW, tz=timezone.utc)
    signature = Webhook(SW_SECRET.decode()).sign(SW_ID, stamp, SW_BODY.decode())
    for value in (f"{bad} {signature}", f"{signature} {bad}"):
        _verify("standard-webhooks", SW_SECRET, _sw_headers(value, NOW), SW_BODY)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (_sw_headers("v1,!!!notbase64"), "malformed"),
        (_sw_headers("v1," + base64.b64encode(b"short").decode()), "malformed"),
        (_sw_headers("v1a,abc"), "no v1 signature"),
        (_sw_headers("v1g0hM9SsE"), "malformed"),
        (_sw_headers(stamp=SW_TIMESTAMP - 301), "tolerance"),
        (_sw_headers(stamp=SW_TIMESTAMP + 301), "tolerance"),
        (
            {"webhook-timestamp": str(SW_TIMESTAMP), "webhook-signature": SW_SIGNATURE},
            "webhook-id is missing",
        ),
    ],
)
def test_standard_webhooks_refusals(headers: dict[str, str], message: str) -> None:
    assert message in _refused("standard-webhooks", SW_SECRET, headers, SW_BODY, now=SW_TIMESTAMP)


def test_standard_webhooks_secret_not_base64_is_unusable_not_unauthorized() -> None:
    with pytest.raises(UnusableSecret):
        _verify("standard-webhooks", b"whsec_not*base64", _sw_headers(), SW_BODY, now=SW_TIMESTAMP)
    with pytest.raises(UnusableSecret):
        check_secret("standard-webhooks", b"whsec_%%%")
    check_secret("standard-webhooks", SW_SECRET)


# -- Twilio: signatures from the official SDK -------------------------------------------

TWILIO_TOKEN = "12345"
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
}


def _twilio_signature(url: str, params: Any) -> str:
    from twilio.request_validator import RequestValidator

    return str(RequestValidator(TWILIO_TOKEN).compute_signature(url, params))


def _form(params: dict[str, str]) -> bytes:
    from urllib.parse import urlencode

    return urlencode(params).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_twilio_sdk_form_signature_verifies() -> None:
    headers = {**FORM, "X-Twilio-Signature": _twilio_signature(TWILIO_URL, TWILIO_PARAMS)}
    _verify("twilio", TWILIO_TOKEN.encode(), headers, _form(TWILIO_PARAMS), url=TWILIO_URL)


def test_twilio_signed_with_port_verifies_without_and_back() -> None:
    with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    headers = {**FORM, "X-Twilio-Signature": _twilio_signature(with_port, TWILIO_PARAMS)}
    _verify("twilio", TWILIO_TOKEN.encode(), headers, _form(TWILIO_PARAMS), url=TWILIO_URL)
    headers = {**FORM, "X-Twilio-Signature": _twilio_signature(TWILIO_URL, TWILIO_PARAMS)}
    _verify("twilio", TWILIO_TOKEN.encode(), headers, _form(TWILIO_PARAMS), url=with_port)


def test_twilio_json_body_with_body_sha256_verifies() -> None:
    body = b'{"property": "value", "boolean": true}'
    url = f"https://mycompany.com/myapp?bodySHA256={hashlib.sha256(body).hexdigest()}"
    headers = {"Content-Type": "application/json", "X-Twilio-Signature": _twilio_signature(url, {})}
    _verify("twilio", TWILIO_TOKEN.encode(), headers, body, url=url)
    assert "bodySHA256 does not match" in _refused(
        "twilio", TWILIO_TOKEN.encode(), headers, body + b" ", url=url
    )


def test_twilio_other_url_or_param_refused() -> None:
    headers = {**FORM, "X-Twilio-Signature": _twilio_signature(TWILIO_URL, TWILIO_PARAMS)}
    body = _form(TWILIO_PARAMS)
    other_url = TWILIO_URL.replace("foo=1", "foo=2")
    assert _refused("twilio", TWILIO_TOKEN.encode(), headers, body, url=other_url) == "no signature matches"
    tampered = _form({**TWILIO_PARAMS, "Digits": "1235"})
    assert (
        _refused("twilio", TWILIO_TOKEN.encode(), headers, tampered, url=TWILIO_URL) == "no signature matches"
    )


def test_twilio_url_variants_table() -> None:
    assert twilio_url_variants("https://a.example/x?y=1") == [
        "https://a.example/x?y=1",
        "https://a.example:443/x?y=1",
    ]
    assert twilio_url_variants("http://a.example:80/x") == ["http://a.example:80/x", "http://a.example/x"]
    assert twilio_url_variants("http://a.example:8080/x") == ["http://a.example:8080/x"]


# -- Shopify and the generic scheme: openssl's HMAC --------------------------------------


_openssl_hmac = _openssl  # an HMAC by openssl dgst: not our code


SHOPIFY_SECRET = "hush"
SHOPIFY_BODY = b'{"id": 820982911946154508, "email": "jon@example.com"}'


def test_shopify_openssl_signature_verifies() -> None:
    signature = base64.b64encode(_openssl_hmac(SHOPIFY_SECRET, SHOPIFY_BODY)).decode()
    _verify("shopify", SHOPIFY_SECRET.encode(), {"X-Shopify-Hmac-Sha256": signature}, SHOPIFY_BODY)
    assert "not base64" in _refused(
        "shopify", SHOPIFY_SECRET.encode(), {"X-Shopify-Hmac-Sha256": signature[:-1] + "*"}, SHOPIFY_BODY
    )
    hexed = {"X-Shopify-Hmac-Sha256": _openssl_hmac(SHOPIFY_SECRET, SHOPIFY_BODY).hex()}
    assert "32-byte digest" in _refused("shopify", SHOPIFY_SECRET.encode(), hexed, SHOPIFY_BODY)


@pytest.mark.parametrize(
    ("algorithm", "encoding", "prefix"),
    [
        ("sha256", "hex", "sha256="),
        ("sha512", "hex", ""),
        ("sha256", "base64", ""),
        ("sha512", "base64", "v1="),
    ],
)
def test_generic_hmac_openssl_signature_verifies(algorithm: str, encoding: str, prefix: str) -> None:
    raw = _openssl_hmac("generic-secret", b'{"a": 1}', algorithm)
    value = prefix + (raw.hex() if encoding == "hex" else base64.b64encode(raw).decode())
    options = {"header": "X-Signature", "algorithm": algorithm, "encoding": encoding, "prefix": prefix}
    _verify("hmac", b"generic-secret", {"X-Signature": value}, b'{"a": 1}', **options)
    detail = _refused("hmac", b"generic-secret", {"X-Signature": value}, b'{"a": 2}', **options)
    assert detail == "no signature matches"
    if prefix:
        assert "must start with" in _refused(
            "hmac", b"generic-secret", {"X-Signature": value[len(prefix) :]}, b'{"a": 1}', **options
        )


# -- every scheme: never anything but our own error ---------------------------------------

SCHEME_SECRETS = {
    "github": GITHUB_SECRET,
    "stripe": STRIPE_SECRET.encode(),
    "slack": SLACK_SECRET.encode(),
    "shopify": SHOPIFY_SECRET.encode(),
    "standard-webhooks": SW_SECRET,
    "twilio": TWILIO_TOKEN.encode(),
    "hmac": b"generic-secret",
    "zoom": b"zoom-secret-token",
    "meta": b"meta-app-secret",
    "pagerduty": b"pagerduty-secret",
    "atlassian": b"atlassian-secret",
    "gitlab": b"gitlab-secret-token",
    "telegram": b"telegram_Secret-token",
}
HEADER_NAMES = [
    "X-Hub-Signature-256", "X-Hub-Signature", "Stripe-Signature", "X-Slack-Signature",
    "X-Slack-Request-Timestamp", "X-Shopify-Hmac-Sha256", "webhook-id", "webhook-timestamp",
    "webhook-signature", "X-Twilio-Signature", "X-Signature", "Content-Type", "x-zm-signature",
    "x-zm-request-timestamp", "X-Gitlab-Token", "X-Telegram-Bot-Api-Secret-Token",
]  # fmt: skip


def test_every_scheme_is_in_the_hostile_table() -> None:
    from airflow_webhook_trigger.core.senders import SCHEMES

    assert set(SCHEME_SECRETS) == set(SCHEMES)


@pytest.mark.parametrize("method", ["sha256", "sha384", "sha512"])
def test_atlassian_websub_openssl_signature_verifies(method: str) -> None:
    body = b'{"webhookEvent": "jira:issue_created", "issue": {"key": "OPS-1"}}'
    header = {"X-Hub-Signature": f"{method}=" + _openssl("jira-secret", body, method).hex()}
    _verify("atlassian", b"jira-secret", header, body)
    assert _refused("atlassian", b"other", header, body) == "no signature matches"


def test_atlassian_refuses_sha1_and_an_unknown_method() -> None:
    body = b"{}"
    sha1 = {"X-Hub-Signature": "sha1=" + _openssl("s", body, "sha1").hex()}
    assert "must start with sha256=" in _refused("atlassian", b"s", sha1, body)
    assert "is not 64 hex digits" in _refused("atlassian", b"s", {"X-Hub-Signature": "sha256=abc"}, body)


def test_meta_app_secret_openssl_signature_verifies_sha1_alone_refused() -> None:
    body = b'{"object": "whatsapp_business_account", "entry": [{"id": "1"}]}'
    _verify(
        "meta", b"app-secret", {"X-Hub-Signature-256": "sha256=" + _openssl("app-secret", body).hex()}, body
    )
    sha1 = {"X-Hub-Signature": "sha1=" + _openssl("app-secret", body, "sha1").hex()}
    assert "X-Hub-Signature-256 is required" in _refused("meta", b"app-secret", sha1, body)


def test_pagerduty_any_v1_of_the_list_may_match() -> None:
    body = b'{"event": {"id": "01DEN4HPBQAAAG05V5QQYBRZMF", "event_type": "incident.triggered"}}'
    mine = _openssl("pd-secret", body).hex()
    other = _openssl("pd-other", body).hex()
    _verify("pagerduty", b"pd-secret", {"X-PagerDuty-Signature": f"v1={other},v1={mine}"}, body)
    _verify("pagerduty", b"pd-secret", {"X-PagerDuty-Signature": f"v2=zz, v1={mine}"}, body)  # v2 skipped
    assert (
        _refused("pagerduty", b"pd-secret", {"X-PagerDuty-Signature": f"v1={other}"}, body)
        == "no signature matches"
    )
    assert "no v1" in _refused("pagerduty", b"pd-secret", {"X-PagerDuty-Signature": "v2=ab"}, body)
    assert "malformed" in _refused("pagerduty", b"pd-secret", {"X-PagerDuty-Signature": mine}, body)


def test_zoom_openssl_signature_verifies_and_a_stale_one_does_not() -> None:
    body = b'{"event": "meeting.started", "payload": {"object": {"id": "8512"}}}'
    stamp = str(NOW - 10)
    signature = "v0=" + _openssl("zoom-token", b"v0:" + stamp.encode() + b":" + body).hex()
    headers = {"x-zm-request-timestamp": stamp, "x-zm-signature": signature}
    _verify("zoom", b"zoom-token", headers, body)
    assert "tolerance" in _refused("zoom", b"zoom-token", headers, body, now=NOW + 400)
    assert _refused("zoom", b"other", headers, body) == "no signature matches"
    assert "v0=" in _refused("zoom", b"zoom-token", {**headers, "x-zm-signature": signature[3:]}, body)


@pytest.mark.parametrize(
    ("scheme", "header"), [("gitlab", "X-Gitlab-Token"), ("telegram", "X-Telegram-Bot-Api-Secret-Token")]
)
def test_a_token_scheme_compares_the_header_with_the_secret(scheme: str, header: str) -> None:
    token = b"Tok_en-42"
    _verify(scheme, token, {header: "Tok_en-42"}, b'{"update_id": 1}')
    _verify(scheme, [b"new", token], {header: "Tok_en-42"}, b"")  # the previous token, rotating
    assert _refused(scheme, token, {header: "Tok_en-43"}, b"{}") == f"{header} does not match"
    assert "is missing" in _refused(scheme, token, {}, b"{}")
    assert "more than once" in _refused(scheme, token, [(header, "Tok_en-42"), (header, "x")], b"{}")


@pytest.mark.parametrize("secret", [b"has space", b"semi;colon", b"x" * 257, "é".encode()])
def test_a_telegram_secret_token_outside_its_alphabet_is_unusable(secret: bytes) -> None:
    with pytest.raises(UnusableSecret, match="Telegram secret_token"):
        check_secret("telegram", secret)
    check_secret("telegram", b"A-z_09")


@pytest.mark.parametrize("scheme", sorted(SCHEME_SECRETS))
@given(
    headers=st.lists(st.tuples(st.sampled_from(HEADER_NAMES), st.text(max_size=120)), max_size=6),
    body=st.binary(max_size=200),
    url=st.sampled_from(["", "https://h.example/webhook/trigger/x?bodySHA256=ab", "http://[::1]:99/x"]),
)
def test_every_scheme_hostile_input_only_unauthorized(
    scheme: str, headers: list[tuple[str, str]], body: bytes, url: str
) -> None:
    try:
        _verify(scheme, SCHEME_SECRETS[scheme], headers, body, url=url)
    except Unauthorized as exc:
        from airflow_webhook_trigger.core.senders import sender

        detail = exc.detail.lower()
        # a refusal speaks of the signature or the scheme's header, never of a secret's value
        names_its_header = any(name in detail for name in sender(scheme).headers)
        assert "secret" not in detail or "signature" in detail or names_its_header
        assert SCHEME_SECRETS[scheme].decode() not in exc.detail


def test_secret_value_never_in_a_refusal() -> None:
    for scheme, secret in SCHEME_SECRETS.items():
        detail = _refused(scheme, secret, {}, b"{}")
        assert secret.decode() not in detail
        assert hmac.new(secret, b"{}", hashlib.sha256).hexdigest() not in detail


@pytest.mark.parametrize(
    ("name", "credential"),
    [
        ("Authorization", True),
        ("X-Gitlab-Token", True),
        ("x-api-key", True),
        ("X-Shopify-Access-Token", True),
        ("X-Hub-Signature-256", True),
        ("webhook-signature", True),
        ("X-Webhook-Secret", True),
        ("Cookie", True),
        ("X-GitHub-Event", False),
        ("Content-Type", False),
        ("X-Request-Id", False),
        ("User-Agent", False),
    ],
)
def test_is_credential_header_by_name(name: str, credential: bool) -> None:
    from airflow_webhook_trigger.core.signatures import is_credential_header

    assert is_credential_header(name) is credential
