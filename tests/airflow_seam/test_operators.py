from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_webhook_trigger.airflow_seam.operators import WebhookResponseOperator, _response_value
from airflow_webhook_trigger.core.waiter import RESPONSE_KEY


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [
        (200, None, None, {"status": 200, "headers": {}, "body": "", "task_id": "t"}),
        (
            "422",
            {"X-A": 1},
            {"e": [1]},
            {"status": 422, "headers": {"X-A": "1"}, "body": {"e": [1]}, "task_id": "t"},
        ),
        (500, {}, "text", {"status": 500, "headers": {}, "body": "text", "task_id": "t"}),
    ],
)
def test_response_value_valid_table(status: Any, headers: Any, body: Any, expected: dict[str, Any]) -> None:
    assert _response_value(status, headers, body, "t") == expected


@pytest.mark.parametrize(
    ("status", "headers", "body", "message"),
    [
        ("abc", None, None, "not an integer"),
        (199, None, None, "between 200 and 599"),
        (600, None, None, "between 200 and 599"),
        (200, {"Bad Name": "x"}, None, "not valid"),
        (200, {"Content-Type": "x"}, None, "not allowed"),
        (200, {"X-A": "a\r\nSet-Cookie: x"}, None, "one line"),
        (200, None, {"x": object()}, "JSON-serialisable"),
        (200, None, {"x": float("nan")}, "JSON-serialisable"),
    ],
)
def test_response_value_invalid_raises_value_error(
    status: Any, headers: Any, body: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _response_value(status, headers, body, "t")


@dataclass
class FakeTI:
    previous: list[Any] = field(default_factory=list)
    pushed: list[tuple[str, Any]] = field(default_factory=list)
    pulled: list[Any] = field(default_factory=list)

    def xcom_pull(self, task_ids: Any, key: str) -> Any:
        self.pulled.append((task_ids, key))
        return self.previous

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed.append((key, value))


@dataclass
class FakeRun:
    conf: dict[str, Any]


def _dag_with_two_responses() -> tuple[Any, Any]:
    from airflow.sdk import DAG

    with DAG(dag_id="op_test", schedule=None):
        first = WebhookResponseOperator(task_id="first", status_code=201, body={"a": 1})
        second = WebhookResponseOperator(task_id="second", status_code=202)
    return first, second


SYNC = {"webhook": {"id": "h", "mode": "sync", "received_at": "x"}}


def test_execute_sync_run_records_response() -> None:
    first, _ = _dag_with_two_responses()
    ti = FakeTI()
    first.execute({"dag_run": FakeRun(SYNC), "ti": ti})
    assert ti.pulled == [(["second"], RESPONSE_KEY)]
    assert ti.pushed == [(RESPONSE_KEY, {"status": 201, "headers": {}, "body": {"a": 1}, "task_id": "first"})]


class FakeLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str, *args: Any) -> None:
        self.lines.append(msg % args)

    warning = info


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch) -> FakeLog:
    fake = FakeLog()
    monkeypatch.setattr(WebhookResponseOperator, "log", property(lambda self: fake))
    return fake


def test_execute_later_response_is_ignored_and_says_so(log: FakeLog) -> None:
    _, second = _dag_with_two_responses()
    ti = FakeTI(previous=[{"status": 201, "task_id": "first"}])
    second.execute({"dag_run": FakeRun(SYNC), "ti": ti})
    assert ti.pushed == []
    assert "already recorded in this run by task first" in " ".join(log.lines)


@pytest.mark.parametrize(
    "conf",
    [{}, {"webhook": {"id": "h", "mode": "async"}}, {"webhook": "x"}, {"a": 1}],
)
def test_execute_no_sync_caller_logs_and_records_nothing(conf: dict[str, Any], log: FakeLog) -> None:
    first, _ = _dag_with_two_responses()
    ti = FakeTI()
    first.execute({"dag_run": FakeRun(conf), "ti": ti})
    assert ti.pushed == [] and ti.pulled == []
    assert "No caller is waiting" in " ".join(log.lines)


def test_operator_template_fields_and_lazy_package_export() -> None:
    import airflow_webhook_trigger

    assert airflow_webhook_trigger.WebhookResponseOperator is WebhookResponseOperator
    assert tuple(WebhookResponseOperator.template_fields) == ("status_code", "headers", "body")
    with pytest.raises(AttributeError):
        airflow_webhook_trigger.Nope  # noqa: B018


def test_http_response_always_carries_security_headers() -> None:
    from airflow_webhook_trigger.core.response import body_response, json_response

    for response in (body_response(200, "<b>x</b>", (("X-A", "1"),)), json_response(404, {"error": "x"})):
        headers = dict(response.headers)
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Content-Security-Policy"].startswith("sandbox; default-src 'none'")
