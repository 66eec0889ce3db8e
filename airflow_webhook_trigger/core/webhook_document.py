"""A webhook definition written back as its declarative document (what ``export``, the
management API and the Webhooks page show, and ``apply`` reads again); never a secret."""

from __future__ import annotations

import re

from airflow_webhook_trigger.core.definition import AsyncResponse, Webhook
from airflow_webhook_trigger.core.filters import filter_document
from airflow_webhook_trigger.core.signature_config import signature_document


def default_password_env(webhook_id: str) -> str:
    """The env var name ``export`` writes for a webhook whose password was given literally."""
    return "WEBHOOK_PASSWORD_" + re.sub(r"[^A-Za-z0-9]", "_", webhook_id).upper()


def to_document(webhook: Webhook) -> dict[str, object]:
    """Render a webhook as its declarative document; never includes a secret.

    A password is written as ``password_env`` (the variable it came from, or a
    conventional name); ``apply`` keeps the stored password when that variable is unset.
    """
    doc: dict[str, object] = {
        "id": webhook.id,
        "dag_id": webhook.dag_id,
        "mode": webhook.mode,
        "enabled": webhook.enabled,
    }
    auth: dict[str, object] = {}
    if webhook.auth is not None:
        auth["basic"] = {
            "username": webhook.auth.username,
            "password_env": webhook.auth.password_env or default_password_env(webhook.id),
        }
    if webhook.signature is not None:
        auth["signature"] = signature_document(webhook.signature)
    if auth:
        doc["auth"] = auth
    request: dict[str, object] = {}
    if webhook.headers:
        request["headers"] = [_field_doc("name", f.name, f.alias) for f in webhook.headers]
    if webhook.query:
        request["query"] = [_field_doc("path", f.path, f.alias) for f in webhook.query]
    if webhook.body:
        request["body"] = [_field_doc("path", f.path, f.alias) for f in webhook.body]
    if webhook.allow_empty_body:
        request["allow_empty_body"] = True
    if request:
        doc["request"] = request
    doc["response"] = _response_document(webhook.response)
    if webhook.sync_timeout_seconds is not None:
        timeout = webhook.sync_timeout_seconds
        doc["sync"] = {"timeout_seconds": int(timeout) if timeout.is_integer() else timeout}
    if webhook.dedupe is not None:
        doc["dedupe"] = {"key": webhook.dedupe.text}
    if webhook.filters:
        doc["filter"] = filter_document(webhook.filters)
    if webhook.ignored_response is not None:
        doc["ignored_response"] = _response_document(webhook.ignored_response)
    return doc


def _response_document(response: AsyncResponse) -> dict[str, object]:
    out: dict[str, object] = {"status": response.status}
    if response.headers:
        out["headers"] = dict(response.headers)
    out["body"] = response.body
    return out


def _field_doc(key: str, value: str, alias: str | None) -> dict[str, object]:
    out: dict[str, object] = {key: value}
    if alias is not None:
        out["alias"] = alias
    return out
