"""The management REST API: CRUD, URLs and sample parsing, under the plugin prefix.

Protected by Airflow's auth manager with the *connection* permissions (a webhook's
configuration is as sensitive as a connection): reading needs ``GET`` on
connections, changing needs ``POST``/``PUT``/``DELETE``. No token -> 401; a user
without the permission -> 403. Responses never include a password or its hash.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from airflow_webhook_trigger.errors import BadRequest, ConfigError, NotFound, WebhookError
from airflow_webhook_trigger.jsonbody import parse_json
from airflow_webhook_trigger.model import Webhook, to_document
from airflow_webhook_trigger.registry import upsert
from airflow_webhook_trigger.runtime import Runtime
from airflow_webhook_trigger.sample import paths_from_sample


def webhook_url(base_url: str, prefix: str, webhook_id: str) -> str:
    return f"{base_url}{prefix}/trigger/{webhook_id}"


async def _json_body(request: Request) -> object:
    """The body parsed by the core, or the :class:`BadRequest` saying why it is not JSON.

    Not FastAPI's ``Body()``: its validation errors are ``{"detail": [...]}`` echoing the
    input back, where every error of this API is ``{"error": "..."}``.
    """
    try:
        return parse_json(await request.body())
    except BadRequest as exc:
        return exc


def _json_object(value: object) -> dict[str, Any]:
    if isinstance(value, WebhookError):
        raise value
    if not isinstance(value, dict):
        raise ConfigError("the body must be a JSON object")
    return value


_OBJECT_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
}


def _error(exc: Exception) -> JSONResponse:
    if isinstance(exc, WebhookError):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    return JSONResponse({"error": str(exc)}, status_code=422)


def management_router(runtime: Callable[[], Runtime]) -> APIRouter:
    from airflow_webhook_trigger.airflow_compat import base_url, requires_permission

    router = APIRouter(prefix="/api", tags=["webhooks"])
    read = [Depends(requires_permission("GET"))]

    def view(webhook: Webhook) -> dict[str, object]:
        doc = to_document(webhook)
        doc["url"] = webhook_url(base_url(), runtime().settings.url_prefix, webhook.id)
        return doc

    def changed(webhook: Webhook, status: int, warnings: tuple[str, ...] = ()) -> JSONResponse:
        runtime().source.invalidate()
        return JSONResponse({**view(webhook), "warnings": list(warnings)}, status_code=status)

    @router.get("/webhooks", dependencies=read, summary="List webhooks")
    def list_webhooks(dag_id: str | None = Query(default=None)) -> Any:
        return {"webhooks": [view(w) for w in runtime().store.list(dag_id)]}

    @router.post(
        "/webhooks",
        dependencies=[Depends(requires_permission("POST"))],
        status_code=201,
        summary="Create a webhook from its declarative document",
        openapi_extra=_OBJECT_BODY,
    )
    def create_webhook(body: object = Depends(_json_body)) -> Any:
        try:
            document = _json_object(body)
            applied = upsert(runtime().store, document, env=os.environ, create_only=True)
        except (WebhookError, ConfigError) as exc:
            return _error(exc)
        return changed(applied.webhook, 201, applied.warnings)

    @router.get("/webhooks/{webhook_id}", dependencies=read, summary="Show a webhook")
    def show_webhook(webhook_id: str) -> Any:
        try:
            return view(runtime().store.require(webhook_id))
        except WebhookError as exc:
            return _error(exc)

    @router.put(
        "/webhooks/{webhook_id}",
        dependencies=[Depends(requires_permission("PUT"))],
        summary="Replace a webhook's definition",
        openapi_extra=_OBJECT_BODY,
    )
    def replace_webhook(webhook_id: str, body: object = Depends(_json_body)) -> Any:
        store = runtime().store
        try:
            document = _json_object(body)
            store.require(webhook_id)
            if document.get("id", webhook_id) != webhook_id:
                raise BadRequest("the id in the body differs from the id in the URL")
            applied = upsert(store, {**document, "id": webhook_id}, env=os.environ)
        except (WebhookError, ConfigError) as exc:
            return _error(exc)
        return changed(applied.webhook, 200, applied.warnings)

    @router.patch(
        "/webhooks/{webhook_id}",
        dependencies=[Depends(requires_permission("PUT"))],
        summary="Change some top-level fields of a webhook (e.g. enabled)",
        openapi_extra=_OBJECT_BODY,
    )
    def patch_webhook(webhook_id: str, body: object = Depends(_json_body)) -> Any:
        store = runtime().store
        try:
            changes = _json_object(body)
            current = to_document(store.require(webhook_id))
            if "id" in changes and changes["id"] != webhook_id:
                raise BadRequest("the id of a webhook cannot be changed")
            applied = upsert(store, {**current, **changes, "id": webhook_id}, env=os.environ)
        except (WebhookError, ConfigError) as exc:
            return _error(exc)
        return changed(applied.webhook, 200, applied.warnings)

    @router.delete(
        "/webhooks/{webhook_id}",
        dependencies=[Depends(requires_permission("DELETE"))],
        status_code=204,
        response_class=Response,
        summary="Delete a webhook",
    )
    def delete_webhook(webhook_id: str) -> Response:
        try:
            runtime().store.delete(webhook_id)
        except WebhookError as exc:
            return _error(exc)
        runtime().source.invalidate()
        return Response(status_code=204)

    @router.get("/webhooks/{webhook_id}/url", dependencies=read, summary="The webhook's full URL")
    def url_of_webhook(webhook_id: str) -> Any:
        try:
            webhook = runtime().store.require(webhook_id)
        except NotFound as exc:
            return _error(exc)
        return {"id": webhook.id, "url": view(webhook)["url"]}

    @router.post(
        "/parse-sample",
        dependencies=read,
        summary="List the paths of a sample URL/query/JSON",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"type": "object", "properties": {"sample": {"type": "string"}}},
                        "example": {"sample": "?a=1&b[c]=2"},
                    }
                },
            }
        },
    )
    def parse_sample(body: object = Depends(_json_body)) -> Any:
        if isinstance(body, WebhookError):
            return _error(body)
        sample = body.get("sample") if isinstance(body, dict) else None
        if not isinstance(sample, str):
            return _error(BadRequest("'sample' must be a string"))
        try:
            parsed = paths_from_sample(sample)
        except WebhookError as exc:
            return _error(exc)
        return {"part": parsed.part, "paths": list(parsed.paths)}

    return router
