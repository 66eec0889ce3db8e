"""The delivery record's API: deliveries, replay, the latest test capture.

Routes of the management API (same permissions: reading needs ``GET`` on connections
and read access to the webhook's DAG, replaying ``POST`` and the right to trigger the
DAG; see :mod:`~airflow_webhook_trigger.core.access`), and the replay the CLI shares.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response

from airflow_webhook_trigger.airflow_seam.replay import replay_delivery, visible_delivery
from airflow_webhook_trigger.airflow_seam.wiring import Runtime
from airflow_webhook_trigger.core.access import (
    DagAccess,
    check_read,
    unknown_delivery,
    unknown_webhook,
)
from airflow_webhook_trigger.core.definition import ID_RE
from airflow_webhook_trigger.core.delivery import MAX_LIMIT, OUTCOMES, as_utc
from airflow_webhook_trigger.core.errors import BadRequest, Forbidden, NotFound
from airflow_webhook_trigger.core.sample import sample_paths

SCRIPT_HEADER = "X-Requested-With"


def not_cross_site(request: Request) -> None:
    """A dependency of the writes that take no body (delete, replay): proof of a script.

    A JSON write proves it came from a script of a page allowed to send it (a cross-site
    HTML form cannot send ``application/json`` without a CORS preflight); a body-less one
    has no body to prove it. A write authenticated by a header (``Authorization``) cannot
    be forged across sites: the browser never adds one. One authenticated by the UI's
    cookie must carry ``X-Requested-With`` (any value), which a form cannot send either.

    :raises Forbidden: a cookie-authenticated body-less write without the header
    """
    if "authorization" in request.headers or SCRIPT_HEADER.lower() in request.headers:
        return
    raise Forbidden(
        f"send the {SCRIPT_HEADER} header with this request (a write with no body, authenticated "
        "by a cookie, needs it: a cross-site form cannot send it)"
    )


#: ``GET .../sample?since=``: a page listening for the next capture polls with it
_SINCE = Query(default=None, description="answer 204 unless a capture is newer than this")


def _delivery_id(value: str) -> str:
    if len(value) != 32 or any(c not in "0123456789abcdef" for c in value):
        raise unknown_delivery(value)
    return value


_DELIVERY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "webhook_id": {"type": "string"},
        "received_at": {"type": "string", "format": "date-time"},
        "outcome": {"type": "string", "enum": list(OUTCOMES)},
        "status": {"type": ["integer", "null"]},
        "error": {"type": ["string", "null"]},
        "dag_id": {"type": ["string", "null"]},
        "run_id": {"type": ["string", "null"]},
        "delivery_key": {"type": ["string", "null"]},
        "duration_ms": {"type": ["number", "null"]},
        "replay_of": {"type": ["string", "null"]},
    },
    "required": ["id", "webhook_id", "received_at", "outcome"],
}


def deliveries_router(
    runtime: Callable[[], Runtime],
    route_class: type,
    requires_permission: Callable[[str], Any],
    caller: Any,
    errors: Callable[..., dict[int | str, dict[str, Any]]],
) -> APIRouter:
    """:param caller: a FastAPI dependency giving the caller's :class:`DagAccess`"""
    router = APIRouter(tags=["deliveries"], route_class=route_class)
    read = [Depends(requires_permission("GET"))]

    def ok(schema: dict[str, Any], status: int = 200) -> dict[int | str, dict[str, Any]]:
        return {status: {"description": "OK", "content": {"application/json": {"schema": schema}}}}

    @router.get(
        "/webhooks/{webhook_id}/deliveries",
        dependencies=read,
        summary="The webhook's deliveries, newest first",
        responses={
            **ok({"type": "object", "properties": {"deliveries": {"type": "array", "items": _DELIVERY}}}),
            **errors(400, 404),
        },
    )
    def list_deliveries(
        webhook_id: str,
        outcome: str | None = Query(default=None, pattern="^(accepted|duplicate|filtered|rejected)$"),
        limit: int = Query(default=50, ge=1, le=MAX_LIMIT),
        access: DagAccess = caller,
    ) -> Any:
        if not ID_RE.match(webhook_id):
            raise unknown_webhook(webhook_id)
        if outcome is not None and outcome not in OUTCOMES:
            raise BadRequest(f"outcome must be one of {', '.join(OUTCOMES)}")
        current = runtime()
        check_read(access, webhook_id, [current.store.require(webhook_id).dag_id])
        rows = current.deliveries.list(webhook_id, outcome, limit)
        # deliveries from before a re-point name the DAG they started: that DAG's to show
        shown = access.readable({r.dag_id for r in rows if r.dag_id is not None})
        return {"deliveries": [r.as_json() for r in rows if r.dag_id is None or r.dag_id in shown]}

    @router.get(
        "/deliveries/{delivery_id}",
        dependencies=read,
        summary="One delivery",
        responses={**ok(_DELIVERY), **errors(404)},
    )
    def show_delivery(delivery_id: str, access: DagAccess = caller) -> Any:
        return visible_delivery(runtime(), _delivery_id(delivery_id), access).as_json()

    @router.post(
        "/deliveries/{delivery_id}/replay",
        dependencies=[Depends(requires_permission("POST")), Depends(not_cross_site)],
        status_code=201,
        summary="Start a new run with the trigger variables of an accepted delivery",
        responses={**ok(_DELIVERY, 201), **errors(404, 409, 422)},
    )
    def replay(delivery_id: str, access: DagAccess = caller) -> Any:
        return replay_delivery(runtime(), _delivery_id(delivery_id), access).as_json()

    @router.get(
        "/webhooks/{webhook_id}/sample",
        dependencies=read,
        summary="The webhook's latest test capture (POST {prefix}/test/{id}) and its paths",
        responses={
            204: {"description": "No capture newer than `since`"},
            **ok(
                {
                    "type": "object",
                    "properties": {
                        "captured_at": {"type": "string", "format": "date-time"},
                        "sample": {"type": "object"},
                        "paths": {"type": "object"},
                        "dropped_headers": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "Names (lower case) of the headers the capture did not "
                            "keep because they may carry a credential; empty for a capture stored "
                            "before the plugin listed them",
                        },
                    },
                }
            ),
            **errors(404),
        },
    )
    def sample(
        webhook_id: str,
        since: datetime | None = _SINCE,
        access: DagAccess = caller,
    ) -> Any:
        current = runtime()
        check_read(access, webhook_id, [current.store.require(webhook_id).dag_id])
        found = current.deliveries.sample(webhook_id)
        if since is not None and (found is None or found[0] <= as_utc(since)):
            return Response(status_code=204)
        if found is None:
            raise NotFound(f"webhook {webhook_id} has no test capture yet: POST one to its test URL")
        captured_at, captured = found
        dropped = captured.pop("dropped_headers", [])
        return {
            "captured_at": captured_at.isoformat(),
            "sample": captured,
            "paths": sample_paths(captured),
            "dropped_headers": dropped,
        }

    return router
