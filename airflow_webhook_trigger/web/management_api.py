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
(:mod:`json_route`); the OpenAPI schema (:mod:`management_schema`) documents each status
and body.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from airflow_webhook_trigger.airflow_seam.wiring import Runtime
from airflow_webhook_trigger.core.access import DagAccess, check_read, check_write
from airflow_webhook_trigger.core.definition import DAG_ID_RE, Webhook
from airflow_webhook_trigger.core.delivery import DeliveryRow
from airflow_webhook_trigger.core.errors import BadRequest, ConfigError
from airflow_webhook_trigger.core.response import json_response
from airflow_webhook_trigger.core.sample import paths_from_sample
from airflow_webhook_trigger.core.senders import SENDERS, Sender
from airflow_webhook_trigger.core.urls import test_url, webhook_url
from airflow_webhook_trigger.core.webhook_document import to_document
from airflow_webhook_trigger.storage.webhook_changes import upsert
from airflow_webhook_trigger.web.deliveries_api import deliveries_router, not_cross_site
from airflow_webhook_trigger.web.json_route import json_body_reader, route_class_for
from airflow_webhook_trigger.web.management_schema import (
    SCHEMES_VIEW,
    WEBHOOK_CHANGES,
    WEBHOOK_DOCUMENT,
    WEBHOOK_VIEW,
    errors,
    ok,
    request_body,
)
from airflow_webhook_trigger.web.starlette_io import as_response


def last_delivery(row: DeliveryRow | None) -> dict[str, object] | None:
    """What the list shows of a webhook's newest delivery."""
    if row is None:
        return None
    return {"received_at": row.received_at.isoformat(), "outcome": row.outcome, "status": row.status}


def _json_object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError("the body must be a JSON object")
    return value


def _dag_of(document: dict[str, Any]) -> str | None:
    """The DAG a document names, checked as a DAG id; None when it names none (the
    document's own validation then says what is wrong)."""
    dag_id = document.get("dag_id")
    return dag_id if isinstance(dag_id, str) and DAG_ID_RE.match(dag_id) else None


def scheme_view(sender: Sender) -> dict[str, object]:
    """What a client needs to offer a scheme: its name, whether it takes a tolerance, its options."""
    return {
        "name": sender.name,
        "doc": sender.doc,
        "timestamped": sender.timestamped,
        "options": list(sender.options),
        "signed": list(sender.signed),
    }


def management_router(runtime: Callable[[], Runtime]) -> APIRouter:
    from airflow_webhook_trigger.airflow_seam.airflow_config import base_url
    from airflow_webhook_trigger.airflow_seam.dag_access import dag_access_dependency, requires_permission
    from airflow_webhook_trigger.airflow_seam.secrets import AirflowVault

    route_class = route_class_for(runtime)
    router = APIRouter(prefix="/api", tags=["webhooks"], route_class=route_class)
    caller = Depends(dag_access_dependency())
    router.include_router(deliveries_router(runtime, route_class, requires_permission, caller, errors))
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
            **ok(
                200, {"type": "object", "properties": {"webhooks": {"type": "array", "items": WEBHOOK_VIEW}}}
            ),
            **errors(400),
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
        responses={**ok(200, SCHEMES_VIEW), **errors()},
    )
    def list_schemes() -> Any:
        return {"schemes": [scheme_view(s) for s in SENDERS]}

    @router.post(
        "/webhooks",
        dependencies=[Depends(requires_permission("POST"))],
        status_code=201,
        summary="Create a webhook from its declarative document",
        openapi_extra=request_body(WEBHOOK_DOCUMENT, {"dag_id": "payment_callback"}),
        responses={**ok(201, WEBHOOK_VIEW), **errors(400, 409, 413, 415, 422)},
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
        responses={**ok(200, WEBHOOK_VIEW), **errors(404)},
    )
    def show_webhook(webhook_id: str, access: DagAccess = caller) -> Any:
        return view(readable(webhook_id, access))

    @router.put(
        "/webhooks/{webhook_id}",
        dependencies=[Depends(requires_permission("PUT"))],
        summary="Replace a webhook's definition",
        openapi_extra=request_body(WEBHOOK_DOCUMENT, {"dag_id": "payment_callback", "mode": "async"}),
        responses={**ok(200, WEBHOOK_VIEW), **errors(400, 404, 413, 415, 422)},
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
        openapi_extra=request_body(WEBHOOK_CHANGES, {"enabled": False}),
        responses={**ok(200, WEBHOOK_VIEW), **errors(400, 404, 413, 415, 422)},
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
        responses={204: {"description": "Deleted"}, **errors(404)},
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
            **ok(
                200, {"type": "object", "properties": {"id": {"type": "string"}, "url": {"type": "string"}}}
            ),
            **errors(404),
        },
    )
    def url_of_webhook(webhook_id: str, access: DagAccess = caller) -> Any:
        webhook = readable(webhook_id, access)
        return {"id": webhook.id, "url": view(webhook)["url"]}

    @router.post(
        "/parse-sample",
        dependencies=read,
        summary="List the paths of a sample URL/query/JSON",
        openapi_extra=request_body(
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
            **ok(
                200,
                {
                    "type": "object",
                    "properties": {
                        "part": {"type": "string", "enum": ["query", "body"]},
                        "paths": {"type": "array", "items": {"type": "string"}},
                    },
                },
            ),
            **errors(400, 413, 415),
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
