"""Trigger variables: the run's ``conf`` built from one request."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from airflow_webhook_trigger.core.definition import Webhook
from airflow_webhook_trigger.core.errors import PayloadTooLarge
from airflow_webhook_trigger.core.jsonbody import NO_BODY
from airflow_webhook_trigger.core.paths import ABSENT, extract, lookup
from airflow_webhook_trigger.core.selectors import select


def build_conf(
    webhook: Webhook,
    *,
    headers: Mapping[str, str],
    query: dict[str, object],
    body: object,
    received_at: datetime,
    max_conf_bytes: int,
    handle: str,
    signed: tuple[str, ...] | None = None,
    delivery: str | None = None,
) -> dict[str, object]:
    """Map the parsed parts of a request to the run's conf.

    Headers: only the configured ones (matched case-insensitively, stored under the
    configured name); never all of them. Query and body: the configured paths only,
    or the whole parsed part when none is configured. Aliases are copied to the top
    level. Absent paths are simply absent.

    :param headers: case-insensitive view of the request headers
    :param query: the parsed query string
    :param body: the parsed JSON body, or ``NO_BODY``
    :param handle: the webhook's handle (``conf.webhook.handle``; its id is never in conf)
    :param signed: what the verified signature covered (``conf.webhook.signed``), if any
    :param delivery: the delivery key, with ``dedupe`` (``conf.webhook.delivery``)
    :raises PayloadTooLarge: the encoded conf exceeds ``max_conf_bytes``
    """
    conf: dict[str, object] = {}
    aliases: dict[str, object] = {}

    header_values: dict[str, object] = {}
    for header in webhook.headers:
        value = select("header", header.name, (), headers=headers, query=query, body=body)
        if value is ABSENT:
            continue
        header_values[header.name] = value
        if header.alias is not None:
            aliases[header.alias] = value
    conf["headers"] = header_values

    if webhook.query:
        conf["query"] = extract(query, [f.segments for f in webhook.query])
        _collect_aliases(query, webhook.query, aliases)
    else:
        conf["query"] = query

    if body is not NO_BODY:
        if webhook.body:
            conf["body"] = extract(body, [f.segments for f in webhook.body])
            _collect_aliases(body, webhook.body, aliases)
        else:
            conf["body"] = body

    conf.update(aliases)
    meta: dict[str, object] = {"handle": handle, "mode": webhook.mode, "received_at": received_at.isoformat()}
    if signed is not None:
        meta["signed"] = list(signed)
    if delivery is not None:
        meta["delivery"] = delivery
    conf["webhook"] = meta

    size = len(json.dumps(conf, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > max_conf_bytes:
        raise PayloadTooLarge(
            f"trigger variables take {size} bytes once encoded, over the limit of "
            f"{max_conf_bytes} (webhook_trigger.max_conf_bytes); configure fewer fields"
        )
    return conf


def _collect_aliases(tree: object, fields: tuple, aliases: dict[str, object]) -> None:  # type: ignore[type-arg]
    for f in fields:
        if f.alias is None:
            continue
        value = lookup(tree, f.segments)
        if value is not ABSENT:
            aliases[f.alias] = value
