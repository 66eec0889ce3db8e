"""Signed webhooks and the requests real senders make, for the HTTP contract table.

Signatures come from the senders' own SDKs (Stripe, Slack, Twilio, Standard Webhooks),
or from ``openssl dgst`` for GitHub, Shopify and the generic scheme (the recipe the
README gives): never from our own verifier's code.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tests.integration import basic

GITHUB_SECRET = "gh-contract-secret"
STRIPE_SECRET = "whsec_contract_7fQ2"
STRIPE_OLD_SECRET = "whsec_contract_old"
SLACK_SECRET = "slack-contract-secret"
TWILIO_TOKEN = "twilio-contract-token"
SW_SECRET = "whsec_" + base64.b64encode(b"standard-webhooks-contract-key-32").decode()
SHOPIFY_SECRET = "shopify-contract-secret"
HMAC_SECRET = "hmac-contract-secret"
GITLAB_TOKEN = "gitlab-contract-token"
META_SECRET = "meta-contract-app-secret"
PAGERDUTY_SECRET = "pagerduty-contract-secret"
ATLASSIAN_SECRET = "atlassian-contract-secret"
TELEGRAM_TOKEN = "telegram_contract-Token42"
ZOOM_SECRET = "zoom-contract-secret-token"
ZOOM_OLD_SECRET = "zoom-contract-old-token"

ENV = {
    "WT_GITHUB_SECRET": GITHUB_SECRET,
    "WT_STRIPE_OLD_SECRET": STRIPE_OLD_SECRET,
    "WT_TWILIO_TOKEN": TWILIO_TOKEN,
    "WT_SHOPIFY_SECRET": SHOPIFY_SECRET,
    "WT_ZOOM_SECRET": ZOOM_SECRET,
    "WT_GITLAB_TOKEN": GITLAB_TOKEN,
    "WT_META_SECRET": META_SECRET,
    "WT_PAGERDUTY_SECRET": PAGERDUTY_SECRET,
    "WT_ATLASSIAN_SECRET": ATLASSIAN_SECRET,
    "WT_ZOOM_OLD_SECRET": ZOOM_OLD_SECRET,
    "WT_UNSET_LATER": "set while applying, unset when requests come",
}
SLACK_CONN = "wt_slack_signing"

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

SIGNED_WEBHOOKS: list[dict[str, Any]] = [
    {"id": "hook-gh-000000001", "dag_id": "wt_plain",
     "auth": {"signature": {"scheme": "github", "secret_env": "WT_GITHUB_SECRET"}}},
    {"id": "hook-stripe-00001", "dag_id": "wt_plain",
     "auth": {"signature": {"scheme": "stripe", "secret": STRIPE_SECRET,
                            "previous_secret_env": "WT_STRIPE_OLD_SECRET"}}},
    {"id": "hook-slack-000001", "dag_id": "wt_plain",
     "request": {"body": [{"path": "command", "alias": "command"}, {"path": "text"}]},
     "auth": {"signature": {"scheme": "slack", "secret_conn_id": SLACK_CONN}}},
    {"id": "hook-twilio-00001", "dag_id": "wt_plain",
     "auth": {"signature": {"scheme": "twilio", "secret_env": "WT_TWILIO_TOKEN"}}},
    {"id": "hook-sw-000000001", "dag_id": "wt_plain",
     "auth": {"signature": {"scheme": "standard-webhooks", "secret": SW_SECRET}}},
    {"id": "hook-shop-0000001", "dag_id": "wt_plain",
     "auth": {"signature": {"scheme": "shopify", "secret_env": "WT_SHOPIFY_SECRET"}}},
    {"id": "hook-hmac-0000001", "dag_id": "wt_plain",
     "auth": {"signature": {"scheme": "hmac", "secret": HMAC_SECRET, "header": "X-Signature",
                            "algorithm": "sha512", "encoding": "base64", "prefix": "v1="}}},
    {"id": "hook-both-0000001", "dag_id": "wt_plain",
     "auth": {"basic": {"username": "u", "password": "both-pass"},
              "signature": {"scheme": "github", "secret_env": "WT_GITHUB_SECRET"}}},
    {"id": "hook-ghempty-00001", "dag_id": "wt_plain", "request": {"allow_empty_body": True},
     "auth": {"signature": {"scheme": "github", "secret_env": "WT_GITHUB_SECRET"}}},
    {"id": "hook-ghdedupe-0001", "dag_id": "wt_plain", "dedupe": {"key": "auto"},
     "auth": {"signature": {"scheme": "github", "secret_env": "WT_GITHUB_SECRET"}}},
    {"id": "hook-twdedupe-0001", "dag_id": "wt_plain", "dedupe": {"key": "auto"},
     "auth": {"signature": {"scheme": "twilio", "secret_env": "WT_TWILIO_TOKEN"}}},
    {"id": "hook-zoom-0000001", "dag_id": "wt_plain",
     "auth": {"signature": {"scheme": "zoom", "secret_env": "WT_ZOOM_SECRET",
                            "previous_secret_env": "WT_ZOOM_OLD_SECRET"}}},
    {"id": "hook-meta-0000001", "dag_id": "wt_plain",
     "auth": {"signature": {"scheme": "meta", "secret_env": "WT_META_SECRET"}}},
    {"id": "hook-atlassian-001", "dag_id": "wt_plain",
     "auth": {"signature": {"scheme": "atlassian", "secret_env": "WT_ATLASSIAN_SECRET"}}},
    {"id": "hook-pagerduty-01", "dag_id": "wt_plain",
     "auth": {"signature": {"scheme": "pagerduty", "secret_env": "WT_PAGERDUTY_SECRET"}}},
    {"id": "hook-gitlab-000001", "dag_id": "wt_plain",
     "auth": {"signature": {"scheme": "gitlab", "secret_env": "WT_GITLAB_TOKEN"}}},
    {"id": "hook-telegram-0001", "dag_id": "wt_plain",
     "auth": {"signature": {"scheme": "telegram", "secret": TELEGRAM_TOKEN}}},
    {"id": "hook-unset-000001", "dag_id": "wt_plain",
     "auth": {"signature": {"scheme": "github", "secret_env": "WT_UNSET_LATER"}}},
]  # fmt: skip


def _openssl(secret: str, body: bytes, digest: str = "sha256") -> bytes:
    done = subprocess.run(
        ["openssl", "dgst", f"-{digest}", "-hmac", secret, "-binary"],
        input=body,
        capture_output=True,
        check=True,
    )
    return done.stdout


def github(secret: str = GITHUB_SECRET) -> Any:
    return lambda body, url: {"X-Hub-Signature-256": "sha256=" + _openssl(secret, body).hex()}


def stripe(secret: str = STRIPE_SECRET, age: int = 0) -> Any:
    def sign(body: bytes, url: str) -> dict[str, str]:
        import stripe as sdk

        header = sdk.WebhookSignature.generate_signature_header(
            body.decode(), secret, timestamp=int(time.time()) - age
        )
        return {"Stripe-Signature": str(header)}

    return sign


def slack(secret: str = SLACK_SECRET, age: int = 0) -> Any:
    """Slack's own signature (``slack_sdk``), made ``age`` seconds ago."""

    def sign(body: bytes, url: str) -> dict[str, str]:
        from slack_sdk.signature import SignatureVerifier

        stamp = str(int(time.time()) - age)
        signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": str(signature)}

    return sign


def twilio(token: str = TWILIO_TOKEN) -> Any:
    def sign(body: bytes, url: str) -> dict[str, str]:
        from twilio.request_validator import RequestValidator

        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        return {"X-Twilio-Signature": str(RequestValidator(token).compute_signature(url, params))}

    return sign


def standard(secret: str = SW_SECRET) -> Any:
    def sign(body: bytes, url: str) -> dict[str, str]:
        from standardwebhooks import Webhook

        msg_id = "msg_" + hashlib.sha256(body + url.encode()).hexdigest()[:16]
        stamp = datetime.now(timezone.utc)
        signature = Webhook(secret).sign(msg_id, stamp, body.decode())
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(stamp.timestamp())),
            "webhook-signature": signature,
        }

    return sign


def shopify(secret: str = SHOPIFY_SECRET) -> Any:
    return lambda body, url: {"X-Shopify-Hmac-Sha256": base64.b64encode(_openssl(secret, body)).decode()}


def websub(secret: str = ATLASSIAN_SECRET, method: str = "sha256") -> Any:
    """``X-Hub-Signature: <method>=<hex>``, by ``openssl dgst``."""
    return lambda body, url: {"X-Hub-Signature": f"{method}=" + _openssl(secret, body, method).hex()}


def zoom(secret: str = ZOOM_SECRET, age: int = 0) -> Any:
    """Zoom's v0 signature, by ``openssl dgst`` (Zoom publishes no Python SDK or vector)."""

    def sign(body: bytes, url: str) -> dict[str, str]:
        stamp = str(int(time.time()) - age)
        signature = _openssl(secret, b"v0:" + stamp.encode() + b":" + body).hex()
        return {"x-zm-request-timestamp": stamp, "x-zm-signature": f"v0={signature}"}

    return sign


def zoom_encrypted_token(secret: str, plain_token: str) -> str:
    """The ``encryptedToken`` Zoom expects for ``plain_token``, by ``openssl dgst``."""
    return _openssl(secret, plain_token.encode()).hex()


def generic(secret: str = HMAC_SECRET) -> Any:
    return lambda body, url: {
        "X-Signature": "v1=" + base64.b64encode(_openssl(secret, body, "sha512")).decode()
    }


def github_sha1_only(body: bytes, url: str) -> dict[str, str]:
    return {"X-Hub-Signature": "sha1=" + _openssl(GITHUB_SECRET, body, "sha1").hex()}


def _with(signer: Any, **extra: str) -> Any:
    return lambda body, url: {**signer(body, url), **extra}


def _without_v0(signer: Any) -> Any:
    def sign(body: bytes, url: str) -> dict[str, str]:
        headers = signer(body, url)
        return {**headers, "x-zm-signature": headers["x-zm-signature"].removeprefix("v0=")}

    return sign


def _tampered(signer: Any) -> Any:
    # signed over the body, then one byte of the body changes in transit (see row bodies)
    return lambda body, url: signer(body.replace(b"1250", b"1251"), url)


EVENT = b'{"id": "evt_17", "type": "payment_intent.succeeded", "amount": 1250}'
#: a GitLab push event and a Telegram update, in the shape of their docs
PUSH = b'{"object_kind": "push", "ref": "refs/heads/main", "project": {"path_with_namespace": "g/p"}}'
UPDATE = b'{"update_id": 10000, "message": {"message_id": 1, "text": "/deploy", "chat": {"id": 7}}}'
#: Zoom's event and its endpoint.url_validation, in the shape of Zoom's docs
ZOOM_EVENT = b'{"event": "meeting.started", "event_ts": 1733650000000, "payload": {"object": {"id": "8512"}}}'
ZOOM_PLAIN_TOKEN = "qgg8vlvZRS6UYooatFL8Aw"
ZOOM_VALIDATION = (
    b'{"payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}, "event_ts": 1733650000000, '
    b'"event": "endpoint.url_validation"}'
)
#: Slack's url_verification as its Events API docs show it
CHALLENGE = (
    b'{"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", '
    b'"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}'
)
SLASH = urlencode({"command": "/deploy", "text": "shop v2", "user_name": "café"}).encode()

SIGNED_ROWS: list[dict[str, Any]] = [
    # GitHub: openssl's HMAC of the body, as GitHub signs
    {"name": "github signed", "webhook": "hook-gh-000000001", "status": 200, "body": EVENT, "headers": JSON,
     "signer": github()},
    {"name": "github no signature", "webhook": "hook-gh-000000001", "status": 401, "body": EVENT,
     "headers": JSON, "error": "X-Hub-Signature-256 is missing"},
    {"name": "github sha1 only", "webhook": "hook-gh-000000001", "status": 401, "body": EVENT,
     "headers": JSON, "signer": github_sha1_only, "error": "only the SHA-1"},
    {"name": "github other secret", "webhook": "hook-gh-000000001", "status": 401, "body": EVENT,
     "headers": JSON, "signer": github("another"), "error": "no signature matches"},
    {"name": "github one byte changed", "webhook": "hook-gh-000000001", "status": 401, "body": EVENT,
     "headers": JSON, "signer": _tampered(github()), "error": "no signature matches"},
    {"name": "github garbled", "webhook": "hook-gh-000000001", "status": 401, "body": EVENT,
     "headers": {**JSON, "X-Hub-Signature-256": "sha256=zz"}, "error": "X-Hub-Signature-256"},
    {"name": "github non-ascii header", "webhook": "hook-gh-000000001", "status": 401, "body": EVENT,
     "headers": {**JSON, "X-Hub-Signature-256": "sha256=caf\u00e9".encode()}, "error": "X-Hub-Signature-256"},
    {"name": "github signed, body not json", "webhook": "hook-gh-000000001", "status": 415, "body": b"a=1",
     "headers": {"Content-Type": "text/plain"}, "signer": github()},
    # an empty body signed (what a status poll of a signed webhook used to send): no delivery,
    # on every scheme, unless the webhook says empty deliveries are valid
    {"name": "github empty body signed", "webhook": "hook-gh-000000001", "status": 400, "body": b"",
     "headers": JSON, "signer": github(), "error": "empty body"},
    {"name": "hmac empty body signed", "webhook": "hook-hmac-0000001", "status": 400, "body": b"",
     "signer": generic(), "error": "request.allow_empty_body"},
    {"name": "github empty body allowed", "webhook": "hook-ghempty-00001", "status": 200, "body": b"",
     "signer": github()},
    {"name": "github empty body allowed, unsigned", "webhook": "hook-ghempty-00001", "status": 401,
     "body": b"", "error": "X-Hub-Signature-256 is missing"},
    # Stripe: the SDK's header; the previous secret still verifies during a rotation
    {"name": "stripe signed", "webhook": "hook-stripe-00001", "status": 200, "body": EVENT, "headers": JSON,
     "signer": stripe()},
    {"name": "stripe previous secret", "webhook": "hook-stripe-00001", "status": 200, "body": EVENT,
     "headers": JSON, "signer": stripe(STRIPE_OLD_SECRET)},
    {"name": "stripe stale", "webhook": "hook-stripe-00001", "status": 401, "body": EVENT, "headers": JSON,
     "signer": stripe(age=301), "error": "tolerance"},
    {"name": "stripe from the future", "webhook": "hook-stripe-00001", "status": 401, "body": EVENT,
     "headers": JSON, "signer": stripe(age=-400), "error": "tolerance"},
    {"name": "stripe secret base64-decoded", "webhook": "hook-stripe-00001", "status": 401, "body": EVENT,
     "headers": JSON, "signer": stripe("contract_7fQ2"), "error": "no signature matches"},
    # Slack: a slash command, a form body, its secret an Airflow connection's password
    {"name": "slack slash command", "webhook": "hook-slack-000001", "status": 200, "body": SLASH,
     "headers": FORM, "signer": slack()},
    {"name": "slack wrong secret", "webhook": "hook-slack-000001", "status": 401, "body": SLASH,
     "headers": FORM, "signer": slack("nope"), "error": "no signature matches"},
    # Slack's url_verification, sent when an app's Events API URL is saved: echoed, no run
    {"name": "slack url_verification", "webhook": "hook-slack-000001", "status": 200, "body": CHALLENGE,
     "headers": JSON, "signer": slack(), "runs": 0},
    {"name": "slack url_verification wrong secret", "webhook": "hook-slack-000001", "status": 401,
     "body": CHALLENGE, "headers": JSON, "signer": slack("nope"), "error": "no signature matches"},
    {"name": "slack url_verification unsigned", "webhook": "hook-slack-000001", "status": 401,
     "body": CHALLENGE, "headers": JSON, "error": "is missing"},
    {"name": "slack url_verification stale", "webhook": "hook-slack-000001", "status": 401, "body": CHALLENGE,
     "headers": JSON, "signer": slack(age=400), "error": "tolerance"},
    {"name": "slack url_verification without a challenge", "webhook": "hook-slack-000001", "status": 400,
     "body": b'{"type": "url_verification", "challenge": 7}', "headers": JSON, "signer": slack(),
     "error": "needs a challenge"},
    {"name": "slack timestamp garbled", "webhook": "hook-slack-000001", "status": 401, "body": SLASH,
     "headers": FORM, "signer": _with(slack(), **{"X-Slack-Request-Timestamp": "12e3"}), "error": "digits"},
    # Zoom: a meeting event, then the URL validation it sends when the URL is saved
    {"name": "zoom signed", "webhook": "hook-zoom-0000001", "status": 200, "body": ZOOM_EVENT,
     "headers": JSON, "signer": zoom()},
    {"name": "zoom previous secret", "webhook": "hook-zoom-0000001", "status": 200, "body": ZOOM_EVENT,
     "headers": JSON, "signer": zoom(ZOOM_OLD_SECRET)},
    {"name": "zoom wrong secret", "webhook": "hook-zoom-0000001", "status": 401, "body": ZOOM_EVENT,
     "headers": JSON, "signer": zoom("nope"), "error": "no signature matches"},
    {"name": "zoom stale", "webhook": "hook-zoom-0000001", "status": 401, "body": ZOOM_EVENT,
     "headers": JSON, "signer": zoom(age=301), "error": "tolerance"},
    {"name": "zoom signature without v0=", "webhook": "hook-zoom-0000001", "status": 401, "body": ZOOM_EVENT,
     "headers": JSON, "signer": _without_v0(zoom()), "error": "must start with v0="},
    {"name": "zoom url_validation", "webhook": "hook-zoom-0000001", "status": 200, "body": ZOOM_VALIDATION,
     "headers": JSON, "signer": zoom(), "runs": 0},
    {"name": "zoom url_validation previous secret", "webhook": "hook-zoom-0000001", "status": 200,
     "body": ZOOM_VALIDATION, "headers": JSON, "signer": zoom(ZOOM_OLD_SECRET), "runs": 0},
    {"name": "zoom url_validation wrong secret", "webhook": "hook-zoom-0000001", "status": 401,
     "body": ZOOM_VALIDATION, "headers": JSON, "signer": zoom("nope"), "error": "no signature matches"},
    {"name": "zoom url_validation without a token", "webhook": "hook-zoom-0000001", "status": 400,
     "body": b'{"event": "endpoint.url_validation", "payload": {}}', "headers": JSON, "signer": zoom(),
     "error": "payload.plainToken"},
    # Meta (the app secret) and Atlassian (WebSub): openssl, as neither publishes a vector
    {"name": "meta signed", "webhook": "hook-meta-0000001", "status": 200, "body": EVENT, "headers": JSON,
     "signer": github(META_SECRET)},
    {"name": "meta other secret", "webhook": "hook-meta-0000001", "status": 401, "body": EVENT,
     "headers": JSON, "signer": github("nope"), "error": "no signature matches"},
    {"name": "atlassian signed", "webhook": "hook-atlassian-001", "status": 200, "body": EVENT,
     "headers": JSON, "signer": websub(ATLASSIAN_SECRET)},
    {"name": "atlassian sha1", "webhook": "hook-atlassian-001", "status": 401, "body": EVENT,
     "headers": JSON, "signer": websub(ATLASSIAN_SECRET, "sha1"), "error": "must start with sha256="},
    # PagerDuty: a list of v1 signatures, any of which may match
    {"name": "pagerduty signed", "webhook": "hook-pagerduty-01", "status": 200, "body": EVENT,
     "headers": JSON, "signer": lambda b, u: {"X-PagerDuty-Signature": "v1=" + "ab" * 32 + ",v1="
                                              + _openssl(PAGERDUTY_SECRET, b).hex()}},
    {"name": "pagerduty other secret", "webhook": "hook-pagerduty-01", "status": 401, "body": EVENT,
     "headers": JSON, "signer": lambda b, u: {"X-PagerDuty-Signature": "v1=" + _openssl("x", b).hex()},
     "error": "no signature matches"},
    # GitLab and Telegram send the token itself, as their docs say
    {"name": "gitlab token", "webhook": "hook-gitlab-000001", "status": 200, "body": PUSH,
     "headers": {**JSON, "X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": GITLAB_TOKEN}},
    {"name": "gitlab other token", "webhook": "hook-gitlab-000001", "status": 401, "body": PUSH,
     "headers": {**JSON, "X-Gitlab-Token": GITLAB_TOKEN + "x"}, "error": "X-Gitlab-Token does not match"},
    {"name": "gitlab no token", "webhook": "hook-gitlab-000001", "status": 401, "body": PUSH,
     "headers": JSON, "error": "X-Gitlab-Token is missing"},
    {"name": "telegram secret token", "webhook": "hook-telegram-0001", "status": 200, "body": UPDATE,
     "headers": {**JSON, "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_TOKEN}},
    {"name": "telegram other token", "webhook": "hook-telegram-0001", "status": 401, "body": UPDATE,
     "headers": {**JSON, "X-Telegram-Bot-Api-Secret-Token": "nope"}, "error": "does not match"},
    # Twilio: the SDK signs the public URL and the form's pairs
    {"name": "twilio signed form", "webhook": "hook-twilio-00001", "status": 200,
     "body": b"From=%2B15551234567&Body=hi+there&MessageSid=SM1", "headers": FORM, "signer": twilio()},
    {"name": "twilio signed, query too", "webhook": "hook-twilio-00001", "status": 200, "query": "src=sms",
     "body": b"From=%2B15551234567&Body=hi", "headers": FORM, "signer": twilio()},
    {"name": "twilio other token", "webhook": "hook-twilio-00001", "status": 401,
     "body": b"From=%2B15551234567&Body=hi", "headers": FORM, "signer": twilio("x"), "error": "no signature"},
    # Standard Webhooks: the official library's signature
    {"name": "standard-webhooks signed", "webhook": "hook-sw-000000001", "status": 200, "body": EVENT,
     "headers": JSON, "signer": standard()},
    {"name": "standard-webhooks wrong key", "webhook": "hook-sw-000000001", "status": 401, "body": EVENT,
     "headers": JSON, "signer": standard("whsec_" + base64.b64encode(b"k" * 24).decode())},
    # Shopify and generic HMAC: openssl
    {"name": "shopify signed", "webhook": "hook-shop-0000001", "status": 200, "body": EVENT, "headers": JSON,
     "signer": shopify()},
    {"name": "shopify hex instead of base64", "webhook": "hook-shop-0000001", "status": 401, "body": EVENT,
     "headers": {**JSON, "X-Shopify-Hmac-Sha256": "ab" * 32}, "error": "X-Shopify-Hmac-Sha256"},
    {"name": "hmac signed", "webhook": "hook-hmac-0000001", "status": 200, "body": EVENT, "headers": JSON,
     "signer": generic()},
    {"name": "hmac no prefix", "webhook": "hook-hmac-0000001", "status": 401, "body": EVENT,
     "headers": JSON, "signer": lambda b, u: {"X-Signature": generic()(b, u)["X-Signature"][3:]},
     "error": "must start with v1="},
    # Basic auth and a signature: both must pass
    {"name": "basic and signature", "webhook": "hook-both-0000001", "status": 200, "body": EVENT,
     "headers": {**JSON, **basic("u", "both-pass")}, "signer": github()},
    {"name": "basic ok, signature missing", "webhook": "hook-both-0000001", "status": 401, "body": EVENT,
     "headers": {**JSON, **basic("u", "both-pass")}, "error": "X-Hub-Signature-256 is missing"},
    {"name": "signature ok, basic wrong", "webhook": "hook-both-0000001", "status": 401, "body": EVENT,
     "headers": {**JSON, **basic("u", "nope")}, "signer": github(), "error": "invalid credentials"},
    # fail closed: the secret's variable is gone from the server's environment
    {"name": "secret unset now", "webhook": "hook-unset-000001", "status": 503, "body": EVENT,
     "headers": JSON, "signer": github(), "error": "signing secret cannot be read",
     "response_headers": {"retry-after": "5"}},
]  # fmt: skip


class SigningEnv:
    """The environment and Airflow connection the signed webhooks read their secrets from."""

    def __init__(self) -> None:
        self.values = dict(ENV)
        self._saved = {k: os.environ.get(k) for k in ENV}

    def __enter__(self) -> SigningEnv:
        from airflow.models.connection import Connection
        from airflow.utils.session import create_session
        from sqlalchemy import delete

        os.environ.update(ENV)
        with create_session() as session:
            session.execute(delete(Connection).where(Connection.conn_id == SLACK_CONN))
            session.add(Connection(conn_id=SLACK_CONN, conn_type="generic", password=SLACK_SECRET))
        return self

    def after_apply(self) -> None:
        os.environ.pop("WT_UNSET_LATER", None)

    def __exit__(self, *exc: object) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
