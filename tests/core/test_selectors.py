"""One reading of a request's values: filters, delivery keys and trigger variables agree."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow_webhook_trigger.core.dedupe import delivery_key, parse_key_text
from airflow_webhook_trigger.core.definition import parse_document
from airflow_webhook_trigger.core.filters import first_failure, parse_filter
from airflow_webhook_trigger.core.jsonbody import NO_BODY
from airflow_webhook_trigger.core.paths import ABSENT
from airflow_webhook_trigger.core.request import Headers
from airflow_webhook_trigger.core.selectors import select
from airflow_webhook_trigger.core.trigger_variables import build_conf

REPEATED = Headers([("X-Event", "push"), ("x-event", "ping")])


def test_repeated_header_is_read_combined_by_all_three() -> None:
    combined = "push, ping"  # RFC 9110 §5.3
    assert select("header", "X-EVENT", (), headers=REPEATED, query={}, body=NO_BODY) == combined
    condition = parse_filter([{"header": "x-event", "equals": combined}])
    assert first_failure(condition, REPEATED, {}, None) is None
    key = delivery_key(
        parse_key_text("header:X-Event"), None, headers=REPEATED, query={}, body=NO_BODY, raw_body=b""
    )
    assert key is not None and key.value == combined
    webhook = parse_document(
        {"id": "hook-0123456789", "dag_id": "d", "request": {"headers": [{"name": "X-Event"}]}}
    ).webhook
    conf = build_conf(
        webhook,
        headers=REPEATED,
        query={},
        body=NO_BODY,
        received_at=datetime(2026, 1, 1, tzinfo=UTC),
        max_conf_bytes=10_000,
        handle="h",
    )
    assert conf["headers"] == {"X-Event": combined}


def test_absent_and_paths() -> None:
    assert select("header", "X-Nope", (), headers=REPEATED, query={}, body=NO_BODY) is ABSENT
    assert select("query", "a", ("a",), headers=REPEATED, query={"a": "1"}, body={"a": 2}) == "1"
    assert select("body", "a", ("a",), headers=REPEATED, query={"a": "1"}, body={"a": 2}) == 2
    assert select("body", "b", ("b",), headers=REPEATED, query={}, body={"a": 2}) is ABSENT
