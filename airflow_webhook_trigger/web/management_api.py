"""The management REST API: CRUD, URLs and sample parsing, under the plugin prefix.

Protected by Airflow's auth manager twice: with the *connection* permissions (a
webhook's configuration is as sensitive as a connection: reading needs ``GET`` on
connections, changing needs ``POST``/``PUT``/``DELETE``), and with the permissions of
each webhook's DAG (:mod:`~airflow_webhook_trigger.core.access`: reading needs read access to
the DAG, writing the right to trigger it; lists show only readable DAGs' webhooks). No
token -> 401; a user without the permission -> 403; a webhook whose DAG the user may not
read -> 404, as if it did not exist. Responses never include a password or its hash.

Writes take only ``application/json`` (415 otherwise): Airflow's UI authenticates with
a cookie, and a cross-site HTML form can send ``text/plain`` but not JSON without a
CORS preflight. Writes with no body (delete, replay) sent with that cookie must carry
``X-Requested-With`` instead (:func:`~airflow_webhook_trigger.web.deliveries_api.not_cross_site`).

Every error, expected or not, is the core's JSON error, rendered in one place
(:class:`JsonErrorRoute`); the OpenAPI schema documents each status and body.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from airflow_webhook_trigger.airflow_seam.wiring import Runtime
from airflow_webhook_trigger.core.access import DagAccess, check_read, check_write
from airflow_webhook_trigger.core.definition import DAG_ID_RE, Webhook, to_document
from airflow_webhook_trigger.core.delivery import OUTCOMES, DeliveryRow
from airflow_webhook_trigger.core.errors import (
    BadRequest,
    ConfigError,
    UnprocessableEntity,
    UnsupportedMediaType,
    WebhookError,
    check_declared_size,
)
from airflow_webhook_trigger.core.jsonbody import is_json_media_type, parse_json, parse_media_type
from airflow_webhook_trigger.core.response import (
    INTERNAL_ERROR,
    SECURITY_HEADERS,
    HttpResponse,
    error_response,
    json_response,
)
from airflow_webhook_trigger.core.sample import paths_from_sample
from airflow_webhook_trigger.core.senders import SCHEMES, SENDERS, Sender
from airflow_webhook_trigger.core.urls import test_url, webhook_url
from airflow_webhook_trigger.storage.db_errors import is_unavailable
from airflow_webhook_trigger.storage.engine import Database
from airflow_webhook_trigger.storage.webhook_changes import upsert
from airflow_webhook_trigger.web.deliveries_api import deliveries_router, not_cross_site
from airflow_webhook_trigger.web.starlette_io import as_response, http_exception_response, read_body_within

log = logging.getLogger(__name__)


def last_delivery(row: DeliveryRow | None) -> dict[str, object] | None:
    """What the list shows of a webhook's newest delivery."""
    if row is None:
        return None
    return {"received_at": row.received_at.isoformat(), "outcome": row.outcome, "status": row.status}


def _validation_response(exc: RequestValidationError) -> HttpResponse:
    # never echo the input back (FastAPI's own answer does): name where it was wrong
    where = sorted({".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()})
    return error_response(BadRequest(f"invalid request: {', '.join(where) or 'malformed'}"))


class JsonErrorRoute(APIRoute):
    """The one place where the management API turns errors into responses.

    Subclass it with :meth:`database` (:func:`route_class_for`): a DB failure raised by
    Airflow's own code in a route (its token check reads ``revoked_token``) is then a 503
    like ours.
    """

    def database(self) -> Database | None:
        return None

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        database = self.database  # bound: reads the runtime's database when called

        async def guarded(request: Request) -> Response:
            response = await answered(request)
            # JSON only, but on Airflow's origin: never sniffed into a page, nor run, nor framed
            for name, value in SECURITY_HEADERS:
                response.headers.setdefault(name, value)
            return response

        async def answered(request: Request) -> Response:
            try:
                return await handler(request)
            except WebhookError as exc:
                return as_response(error_response(exc))
            except ConfigError as exc:
                return as_response(error_response(UnprocessableEntity(str(exc))))
            except StarletteHTTPException as exc:
                return as_response(http_exception_response(exc))
            except RequestValidationError as exc:
                return as_response(_validation_response(exc))
            except Exception as exc:
                db = database() if is_unavailable(exc) else None
                if db is not None:
                    db.outage.failed(exc)
                    return as_response(error_response(db.unavailable()))
                log.exception("unexpected error in the webhook management API")
                return as_response(INTERNAL_ERROR)

        return guarded


def route_class_for(runtime: Callable[[], Runtime]) -> type[JsonErrorRoute]:
    """:class:`JsonErrorRoute` reading the database of this app's runtime."""

    class ManagementRoute(JsonErrorRoute):
        def database(self) -> Database:
            return runtime().database

    return ManagementRoute


async def _read_limited(request: Request, limit: int) -> bytes:
    check_declared_size(request.headers.get("content-length"), limit)
    return await read_body_within(request, limit)


def json_body_reader(runtime: Callable[[], Runtime]) -> Callable[[Request], Coroutine[Any, Any, object]]:
    """A dependency: the request's JSON body, parsed by the core.

    Not FastAPI's ``Body()``: its validation errors are ``{"detail": [...]}`` echoing the
    input back, where every error of this API is ``{"error": "..."}``.

    :raises UnsupportedMediaType: not ``application/json`` (or ``+json``), or not UTF-8
    """

    async def read(request: Request) -> object:
        content_type = request.headers.get("content-type")
        if not content_type:
            raise UnsupportedMediaType("send the body as application/json (no Content-Type was sent)")
        media_type, params = parse_media_type(content_type)
        if not is_json_media_type(media_type):
            raise UnsupportedMediaType("send the body as application/json")
        if params.get("charset", "utf-8").lower() != "utf-8":
            raise UnsupportedMediaType("a JSON body must be UTF-8 (RFC 8259 §8.1)")
        settings = runtime().settings
        raw = await _read_limited(request, settings.max_body_bytes)
        return parse_json(raw, max_depth=settings.json_max_depth)

    return read


def _json_object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError("the body must be a JSON object")
    return value


def _dag_of(document: dict[str, Any]) -> str | None:
    """The DAG a document names, checked as a DAG id; None when it names none (the
    document's own validation then says what is wrong)."""
    dag_id = document.get("dag_id")
    return dag_id if isinstance(dag_id, str) and DAG_ID_RE.match(dag_id) else None


# -- the OpenAPI schema ----------------------------------------------------------------

_ERROR_SCHEMA: dict[str, Any] = {
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


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    statuses = sorted({401, 403, 503, *codes})
    return {
        code: {"description": _WHY[code], "content": {"application/json": {"schema": _ERROR_SCHEMA}}}
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
_PROPERTIES: dict[str, Any] = {
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
_PROPERTIES["ignored_response"] = {**_PROPERTIES["response"], "type": ["object", "null"]}
#: the declarative form (docs/webhooks.md, "The declarative form"); the server validates it fully
WEBHOOK_DOCUMENT: dict[str, Any] = _object(_PROPERTIES, required=["dag_id"])
#: PATCH: any of the top-level fields
WEBHOOK_CHANGES: dict[str, Any] = _object(_PROPERTIES)
_VIEW: dict[str, Any] = {
    "type": "object",
    "properties": {
        **_PROPERTIES,
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


def scheme_view(sender: Sender) -> dict[str, object]:
    """What a client needs to offer a scheme: its name, whether it takes a tolerance, its options."""
    return {
        "name": sender.name,
        "doc": sender.doc,
        "timestamped": sender.timestamped,
        "options": list(sender.options),
        "signed": list(sender.signed),
    }


_SCHEMES_VIEW: dict[str, Any] = {
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


def _body(schema: dict[str, Any], example: object = None) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"requestBody": {"required": True, "content": {"application/json": content}}}


def _ok(status: int, schema: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    return {status: {"description": "OK", "content": {"application/json": {"schema": schema}}}}


def management_router(runtime: Callable[[], Runtime]) -> APIRouter:
    from airflow_webhook_trigger.airflow_seam.airflow_config import base_url
    from airflow_webhook_trigger.airflow_seam.dag_access import dag_access_dependency, requires_permission
    from airflow_webhook_trigger.airflow_seam.secrets import AirflowVault

    route_class = route_class_for(runtime)
    router = APIRouter(prefix="/api", tags=["webhooks"], route_class=route_class)
    caller = Depends(dag_access_dependency())
    router.include_router(deliveries_router(runtime, route_class, requires_permission, caller, _errors))
    read = [Depends(requires_permission("GET"))]
    json_body = json_body_reader(runtime)

    def readable(webhook_id: str, access: DagAccess) -> Webhook:
        webhook = runtime().store.require(webhook_id)
        check_read(access, webhook.id, [webhook.dag_id])
        return webhook

    def view(webhook: Webhook, latest: dict[str, DeliveryRow] | None = None) -> dict[str, object]:
        current = runtime()
        if latest is None:
            latest = current.deliveries.latest([webhook.id])
        doc = to_document(webhook)
        doc["url"] = webhook_url(base_url(), current.settings.url_prefix, webhook.id)
        doc["test_url"] = test_url(base_url(), current.settings.url_prefix, webhook.id)
        doc["last_delivery"] = last_delivery(latest.get(webhook.id))
        return doc

    def changed(webhook: Webhook, status: int, warnings: tuple[str, ...] = ()) -> Response:
        runtime().source.invalidate()
        return as_response(json_response(status, {**view(webhook), "warnings": list(warnings)}))

    @router.get(
        "/webhooks",
        dependencies=read,
        summary="List webhooks",
        responses={
            **_ok(200, {"type": "object", "properties": {"webhooks": {"type": "array", "items": _VIEW}}}),
            **_errors(400),
        },
    )
    def list_webhooks(
        dag_id: str | None = Query(default=None, pattern=r"^[A-Za-z0-9_.-]{1,250}$"),
        access: DagAccess = caller,
    ) -> Any:
        if dag_id is not None and not DAG_ID_RE.match(dag_id):
            raise BadRequest("dag_id is not a valid DAG id (letters, digits, '_', '.', '-')")
        webhooks = runtime().store.list(dag_id)
        visible = access.readable({w.dag_id for w in webhooks})
        webhooks = [w for w in webhooks if w.dag_id in visible]
        latest = runtime().deliveries.latest([w.id for w in webhooks])
        return {"webhooks": [view(w, latest) for w in webhooks]}

    @router.get(
        "/schemes",
        dependencies=read,
        summary="The signature schemes (the sender records)",
        responses={**_ok(200, _SCHEMES_VIEW), **_errors()},
    )
    def list_schemes() -> Any:
        return {"schemes": [scheme_view(s) for s in SENDERS]}

    @router.post(
        "/webhooks",
        dependencies=[Depends(requires_permission("POST"))],
        status_code=201,
        summary="Create a webhook from its declarative document",
        openapi_extra=_body(WEBHOOK_DOCUMENT, {"dag_id": "payment_callback"}),
        responses={**_ok(201, _VIEW), **_errors(400, 409, 413, 415, 422)},
    )
    def create_webhook(body: object = Depends(json_body), access: DagAccess = caller) -> Any:
        document = _json_object(body)
        check_write(access, str(document.get("id", "")), None, _dag_of(document))
        applied = upsert(runtime().store, document, env=os.environ, create_only=True, vault=AirflowVault())
        return changed(applied.webhook, 201, applied.warnings)

    @router.get(
        "/webhooks/{webhook_id}",
        dependencies=read,
        summary="Show a webhook",
        responses={**_ok(200, _VIEW), **_errors(404)},
    )
    def show_webhook(webhook_id: str, access: DagAccess = caller) -> Any:
        return view(readable(webhook_id, access))

    @router.put(
        "/webhooks/{webhook_id}",
        dependencies=[Depends(requires_permission("PUT"))],
        summary="Replace a webhook's definition",
        openapi_extra=_body(WEBHOOK_DOCUMENT, {"dag_id": "payment_callback", "mode": "async"}),
        responses={**_ok(200, _VIEW), **_errors(400, 404, 413, 415, 422)},
    )
    def replace_webhook(
        webhook_id: str, body: object = Depends(json_body), access: DagAccess = caller
    ) -> Any:
        store = runtime().store
        document = _json_object(body)
        check_write(access, webhook_id, store.require(webhook_id).dag_id, _dag_of(document))
        if document.get("id", webhook_id) != webhook_id:
            raise BadRequest("the id in the body differs from the id in the URL")
        applied = upsert(store, {**document, "id": webhook_id}, env=os.environ, vault=AirflowVault())
        return changed(applied.webhook, 200, applied.warnings)

    @router.patch(
        "/webhooks/{webhook_id}",
        dependencies=[Depends(requires_permission("PUT"))],
        summary="Change some top-level fields of a webhook (e.g. enabled)",
        openapi_extra=_body(WEBHOOK_CHANGES, {"enabled": False}),
        responses={**_ok(200, _VIEW), **_errors(400, 404, 413, 415, 422)},
    )
    def patch_webhook(webhook_id: str, body: object = Depends(json_body), access: DagAccess = caller) -> Any:
        store = runtime().store
        changes = _json_object(body)
        webhook = store.require(webhook_id)
        check_write(access, webhook_id, webhook.dag_id, _dag_of(changes) or webhook.dag_id)
        current = to_document(webhook)
        if "id" in changes and changes["id"] != webhook_id:
            raise BadRequest("the id of a webhook cannot be changed")
        applied = upsert(
            store, {**current, **changes, "id": webhook_id}, env=os.environ, vault=AirflowVault()
        )
        return changed(applied.webhook, 200, applied.warnings)

    @router.delete(
        "/webhooks/{webhook_id}",
        dependencies=[Depends(requires_permission("DELETE")), Depends(not_cross_site)],
        status_code=204,
        response_class=Response,
        summary="Delete a webhook",
        responses={204: {"description": "Deleted"}, **_errors(404)},
    )
    def delete_webhook(webhook_id: str, access: DagAccess = caller) -> Response:
        check_write(access, webhook_id, runtime().store.require(webhook_id).dag_id, None)
        runtime().store.delete(webhook_id)
        runtime().source.invalidate()
        return Response(status_code=204)

    @router.get(
        "/webhooks/{webhook_id}/url",
        dependencies=read,
        summary="The webhook's full URL",
        responses={
            **_ok(
                200, {"type": "object", "properties": {"id": {"type": "string"}, "url": {"type": "string"}}}
            ),
            **_errors(404),
        },
    )
    def url_of_webhook(webhook_id: str, access: DagAccess = caller) -> Any:
        webhook = readable(webhook_id, access)
        return {"id": webhook.id, "url": view(webhook)["url"]}

    @router.post(
        "/parse-sample",
        dependencies=read,
        summary="List the paths of a sample URL/query/JSON",
        openapi_extra=_body(
            {
                "type": "object",
                "properties": {
                    "sample": {"type": "string", "pattern": "\\S"},
                    "form": {"type": "boolean", "description": "a form body (Slack, Twilio): body paths"},
                },
                "required": ["sample"],
            },
            {"sample": "?a=1&b[c]=2"},
        ),
        responses={
            **_ok(
                200,
                {
                    "type": "object",
                    "properties": {
                        "part": {"type": "string", "enum": ["query", "body"]},
                        "paths": {"type": "array", "items": {"type": "string"}},
                    },
                },
            ),
            **_errors(400, 413, 415),
        },
    )
    def parse_sample(body: object = Depends(json_body)) -> Any:
        sample = body.get("sample") if isinstance(body, dict) else None
        if not isinstance(sample, str):
            raise BadRequest("'sample' must be a string")
        form = body.get("form", False) if isinstance(body, dict) else False
        if not isinstance(form, bool):
            raise BadRequest("'form' must be true or false")
        parsed = paths_from_sample(sample, form=form)
        return {"part": parsed.part, "paths": list(parsed.paths)}

    return router
