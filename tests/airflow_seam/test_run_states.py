"""Runs' states as a sync caller and a status poll read them."""

from __future__ import annotations

from airflow_webhook_trigger.airflow_seam.run_states import recorded_response


def test_recorded_html_content_type_treated_as_no_answer() -> None:
    value = {"status": 200, "headers": {"Content-Type": "text/html"}, "body": "<script>x</script>"}
    assert recorded_response(value, "t") is None
    assert recorded_response({"status": 99, "headers": {}, "body": ""}, "t") is None
    assert recorded_response({"status": 200, "headers": {"X-A": "1"}, "body": "ok"}, "t") is not None
