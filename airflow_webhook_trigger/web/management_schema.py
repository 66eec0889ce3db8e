"""The management API's OpenAPI schema: the webhook document, its views and the errors.

Kept beside the one validation of a webhook document (``core/definition``), with the
enums derived from the sender records (``core/senders``). The server is stricter than a
schema can say (path syntax, alias rules); ``tests/web/test_management_schema.py`` sends
generated requests to every operation and checks each answer against the status and
body documented here.
"""

from __future__ import annotations

from typing import Any

from airflow_webhook_trigger.core.delivery import OUTCOMES
from airflow_webhook_trigger.core.senders import SCHEMES

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "param": {"type": "string"}},
    "required": ["error"],
}
_WHY = {
    400: "Malformed request: body or query parameter",
    401: "No valid Airflow token",
    403: "The user lacks the connection permission, or may not trigger the webhook's DAG",
    404: "No such webhook (or delivery), or one of a DAG the user may not read",
    409: "A webhook with this id exists (replay: the delivery started no run)",
    413: "Body over max_body_bytes",
    415: "The body is not application/json",
    422: "The document is not a valid webhook",
    503: "The metadata database is busy or unavailable (see Retry-After)",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    statuses = sorted({401, 403, 503, *codes})
    return {
        code: {"description": _WHY[code], "content": {"application/json": {"schema": ERROR_SCHEMA}}}
        for code in statuses
    }


def _object(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    # the server refuses unknown keys at every level (model._known_keys): so does the schema
    return {"type": "object", "properties": properties, "additionalProperties": False, **extra}


def _nullable(properties: dict[str, Any]) -> dict[str, Any]:
    return {**_object(properties), "type": ["object", "null"]}


_FIELDS: dict[str, Any] = {
    "type": "array",
    "items": _object({"name": {"type": "string"}, "path": {"type": "string"}, "alias": {"type": "string"}}),
}
PROPERTIES: dict[str, Any] = {
    "id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"},
    "dag_id": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,250}$"},
    "mode": {"type": "string", "enum": ["async", "sync"]},
    "enabled": {"type": "boolean"},
    "auth": _nullable(
        {
            "signature": _nullable(
                {
                    "scheme": {"type": "string", "enum": list(SCHEMES)},
                    **{
                        f"{stem}{suffix}": {"type": "string"}
                        for stem in ("secret", "previous_secret")
                        for suffix in ("_env", "_conn_id", "")
                    },
                    "secret_stored": {"type": "boolean", "enum": [True]},
                    "previous_secret_stored": {"type": "boolean", "enum": [True]},
                    "tolerance_seconds": {"type": "integer", "minimum": 1, "maximum": 86400},
                    "header": {"type": "string"},
                    "algorithm": {"type": "string", "enum": ["sha256", "sha512"]},
                    "encoding": {"type": "string", "enum": ["hex", "base64"]},
                    "prefix": {"type": "string"},
                }
            ),
            "basic": _nullable(
                {
                    "username": {"type": "string"},
                    "password": {"type": "string", "format": "password", "writeOnly": True},
                    "password_env": {"type": "string"},
                }
            ),
        }
    ),
    "request": _object(
        {
            "headers": _FIELDS,
            "query": _FIELDS,
            "body": _FIELDS,
            "allow_empty_body": {
                "type": "boolean",
                "description": "a signed webhook accepts an empty body (default false: 400)",
            },
        }
    ),
    "response": _object(
        {
            "status": {"type": "integer", "minimum": 200, "maximum": 299},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "body": {"description": "a string (text/plain) or any JSON value (application/json)"},
        }
    ),
    "sync": _object(
        {"timeout_seconds": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 3600}}
    ),
    "dedupe": _nullable(
        {"key": {"type": "string", "description": 'auto, "header:NAME", "body:PATH" or "query:PATH"'}}
    ),
    "filter": {
        "type": ["array", "null"],
        "maxItems": 32,
        "items": {
            "type": "object",
            "description": "one of header/query/body and one of equals/in/not_in/exists/matches",
            "properties": {
                "header": {"type": "string"},
                "query": {"type": "string"},
                "body": {"type": "string"},
                "equals": {"description": "a JSON scalar"},
                "in": {"type": "array"},
                "not_in": {"type": "array"},
                "exists": {"type": "boolean"},
                "matches": {"type": "string", "maxLength": 256},
            },
            "additionalProperties": False,
        },
    },
}
PROPERTIES["ignored_response"] = {**PROPERTIES["response"], "type": ["object", "null"]}
#: the declarative form (docs/webhooks.md, "The declarative form"); the server validates it fully
WEBHOOK_DOCUMENT: dict[str, Any] = _object(PROPERTIES, required=["dag_id"])
#: PATCH: any of the top-level fields
WEBHOOK_CHANGES: dict[str, Any] = _object(PROPERTIES)
WEBHOOK_VIEW: dict[str, Any] = {
    "type": "object",
    "properties": {
        **PROPERTIES,
        "url": {"type": "string"},
        "test_url": {"type": "string", "description": "POST a test request here to capture a sample"},
        "last_delivery": {
            "type": ["object", "null"],
            "properties": {
                "received_at": {"type": "string", "format": "date-time"},
                "outcome": {"type": "string", "enum": list(OUTCOMES)},
                "status": {"type": ["integer", "null"]},
            },
        },
        "warnings": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["id", "dag_id", "mode", "enabled", "url", "test_url", "last_delivery"],
}


SCHEMES_VIEW: dict[str, Any] = {
    "type": "object",
    "properties": {
        "schemes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "enum": list(SCHEMES)},
                    "doc": {"type": "string"},
                    "timestamped": {"type": "boolean"},
                    "options": {"type": "array", "items": {"type": "string"}},
                    "signed": {"type": "array", "items": {"type": "string"}},
                },
            },
        }
    },
}


def request_body(schema: dict[str, Any], example: object = None) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"requestBody": {"required": True, "content": {"application/json": content}}}


def ok(status: int, schema: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    return {status: {"description": "OK", "content": {"application/json": {"schema": schema}}}}
