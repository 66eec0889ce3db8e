"""Handshakes: a sender checking the URL, answered by the plugin, never a run."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest
from slack_sdk.signature import SignatureVerifier

from airflow_webhook_trigger.core.dedupe import parse_dedupe
from airflow_webhook_trigger.core.definition import Webhook, parse_document
from airflow_webhook_trigger.core.endpoint import WebhookEndpoint
from airflow_webhook_trigger.core.errors import BadRequest, Unauthorized
from airflow_webhook_trigger.core.jsonbody import NO_BODY
from airflow_webhook_trigger.core.request import Headers, WebhookRequest
from airflow_webhook_trigger.core.response import HttpResponse
from airflow_webhook_trigger.core.senders import SENDERS, handshakes, sender
from airflow_webhook_trigger.core.senders.handshakes import HandshakeRequest
from airflow_webhook_trigger.core.settings import Settings
from airflow_webhook_trigger.core.signatures import SecretRef, SignatureSpec, SignedRequest
from tests.fakes import FakeRecorder, FakeRuns, FakeSource

CHALLENGE = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
VERIFICATION = {"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": CHALLENGE, "type": "url_verification"}
NO_HEADERS = Headers()


def _shake(body: object) -> HandshakeRequest:
    """A verified request's parts, as a handshake reads them (no secret needed by Slack's)."""
    spec = SignatureSpec("slack", SecretRef(env="X"))
    return HandshakeRequest(NO_HEADERS, {}, body, SignedRequest(NO_HEADERS, b"", ""), spec, lambda: [], 0.0)


def test_slack_url_verification_is_answered_with_its_challenge() -> None:
    answer = handshakes.slack(_shake(VERIFICATION))
    assert answer is not None and answer.status == 200
    assert json.loads(answer.body) == {"challenge": CHALLENGE}


@pytest.mark.parametrize(
    "body", [NO_BODY, {"type": "event_callback", "event_id": "Ev1"}, {"command": "/deploy"}, [1], "text"]
)
def test_anything_else_is_a_delivery(body: object) -> None:
    assert handshakes.slack(_shake(body)) is None


@pytest.mark.parametrize("challenge", [None, 7, "", "x" * 513, "a\nb", ["x"]])
def test_a_url_verification_without_a_usable_challenge_is_400(challenge: object) -> None:
    with pytest.raises(BadRequest, match="needs a challenge"):
        handshakes.slack(_shake({**VERIFICATION, "challenge": challenge}))


def test_the_senders_with_a_handshake() -> None:
    assert {s.name for s in SENDERS if s.handshake is not None} == {"slack", "zoom"}


class _Secret:
    def resolve(self, webhook_id: str, scheme: str, ref: SecretRef) -> bytes:
        return b"slack-signing-secret"

    def may_block(self, ref: SecretRef) -> bool:
        return False


def _slack_endpoint(**doc: object) -> tuple[WebhookEndpoint, FakeRuns, FakeRecorder, Webhook]:
    document = {"id": "hook-slack-handsh", "dag_id": "dag_a", **doc}
    # as the store gives it: the signature check and the scheme's automatic key
    spec = SignatureSpec("slack", SecretRef(env="SLACK_SIGNING_SECRET"))
    webhook = parse_document(document).webhook.with_changes(
        signature=spec, dedupe=parse_dedupe({"key": "auto"})
    )
    runs, recorder = FakeRuns(), FakeRecorder()
    endpoint = WebhookEndpoint(
        Settings(),
        FakeSource({webhook.id: webhook}),
        runs,
        clock=lambda: datetime.now(timezone.utc),
        secrets=_Secret(),
        deliveries=recorder,
    )
    return endpoint, runs, recorder, webhook


def _signed(body: bytes, secret: str = "slack-signing-secret") -> WebhookRequest:
    stamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    headers = Headers(
        [
            ("Content-Type", "application/json"),
            ("X-Slack-Request-Timestamp", stamp),
            ("X-Slack-Signature", str(signature)),
        ]
    )
    return WebhookRequest("POST", headers, b"", body)


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_a_signed_url_verification_starts_no_run_and_is_recorded_as_a_handshake(mode: str) -> None:
    endpoint, runs, recorder, webhook = _slack_endpoint(mode=mode)
    answer = endpoint.accept(webhook, _signed(json.dumps(VERIFICATION).encode()))
    assert isinstance(answer, HttpResponse) and json.loads(answer.body) == {"challenge": CHALLENGE}
    assert runs.orders == [] and runs.claims == {}  # no run, no delivery key taken
    [row] = recorder.rows
    assert (row.outcome, row.status, row.run_id) == ("handshake", 200, None)


def test_an_unverified_url_verification_is_refused_before_it_is_read() -> None:
    endpoint, runs, recorder, webhook = _slack_endpoint()
    with pytest.raises(Unauthorized):
        endpoint.accept(webhook, _signed(json.dumps(VERIFICATION).encode(), "other"))
    assert runs.orders == [] and recorder.rows == []  # the driver records the refusal


def test_an_events_api_delivery_still_starts_its_run() -> None:
    endpoint, runs, _, webhook = _slack_endpoint()
    event = {"type": "event_callback", "event_id": "Ev0001", "event": {"type": "app_mention"}}
    answer = endpoint.accept(webhook, _signed(json.dumps(event).encode()))
    assert isinstance(answer, HttpResponse) and answer.status == 200
    assert len(runs.orders) == 1 and sender("slack").handshake is not None


def _zoom_shake(body: bytes, signed_with: str, secrets: list[bytes]) -> HandshakeRequest:
    from tests.senders import zoom

    headers = Headers(list(zoom(signed_with)(body, "").items()))
    spec = SignatureSpec("zoom", SecretRef(env="X"))
    parsed = json.loads(body)
    return HandshakeRequest(
        headers, {}, parsed, SignedRequest(headers, body, ""), spec, lambda: secrets, time.time()
    )


def test_zoom_url_validation_hashes_the_token_with_the_secret_that_signed_it() -> None:
    from tests.senders import ZOOM_PLAIN_TOKEN, ZOOM_VALIDATION, zoom_encrypted_token

    for signer in ("old-token", "new-token"):
        answer = handshakes.zoom(_zoom_shake(ZOOM_VALIDATION, signer, [b"new-token", b"old-token"]))
        assert answer is not None and json.loads(answer.body) == {
            "plainToken": ZOOM_PLAIN_TOKEN,
            "encryptedToken": zoom_encrypted_token(signer, ZOOM_PLAIN_TOKEN),
        }


def test_a_zoom_event_is_a_delivery_and_a_validation_without_its_token_is_400() -> None:
    from tests.senders import ZOOM_EVENT

    assert handshakes.zoom(_zoom_shake(ZOOM_EVENT, "s", [b"s"])) is None
    for payload in (b"{}", b'{"plainToken": 7}', b'{"plainToken": ""}', b"[1]"):
        body = b'{"event": "endpoint.url_validation", "payload": ' + payload + b"}"
        with pytest.raises(BadRequest, match=r"payload\.plainToken"):
            handshakes.zoom(_zoom_shake(body, "s", [b"s"]))
