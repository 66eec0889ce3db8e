"""The management API against its own OpenAPI schema, with schemathesis (property-based).

Every generated request, valid or not, to every operation gets a documented status, with
a body of the documented schema and content type, and never a 5xx. (The server is
stricter than the schema where a schema cannot say it, e.g. path syntax and alias rules:
a schema-valid document may still be a 422, which is documented.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = [
    pytest.mark.airflow,
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def operations(api_app: Any) -> dict[str, Any]:
    schema = schemathesis.openapi.from_asgi("/webhook/openapi.json", api_app)
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        found[f"{operation.method.upper()} {operation.path}"] = operation
    return found


OPERATIONS = [
    "GET /api/webhooks",
    "POST /api/webhooks",
    "GET /api/webhooks/{webhook_id}",
    "PUT /api/webhooks/{webhook_id}",
    "PATCH /api/webhooks/{webhook_id}",
    "DELETE /api/webhooks/{webhook_id}",
    "GET /api/webhooks/{webhook_id}/url",
    "POST /api/parse-sample",
    "GET /api/schemes",
    "GET /api/webhooks/{webhook_id}/deliveries",
    "GET /api/deliveries/{delivery_id}",
    "POST /api/deliveries/{delivery_id}/replay",
    "GET /api/webhooks/{webhook_id}/sample",
]


def test_management_schema_lists_every_operation(operations: dict[str, Any]) -> None:
    assert sorted(operations) == sorted(OPERATIONS)


@pytest.mark.parametrize("name", OPERATIONS)
def test_management_operation_conforms_to_its_schema(
    operations: dict[str, Any], store: Any, name: str
) -> None:
    from tests.integration import jwt_for

    auth = {"Authorization": f"Bearer {jwt_for('admin')}"}
    operation = operations[name]

    @given(case=operation.as_strategy())
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def conforms(case: Any) -> None:
        case.call_and_validate(headers=auth, checks=CHECKS)

    conforms()
