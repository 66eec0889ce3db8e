"""The management REST API under ``/webhook/api``, through the real api-server app."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_webhook_trigger.core.auth import password_matches_hash
from airflow_webhook_trigger.core.webhook_document import to_document
from tests.auth_manager import HIDDEN_DAG, READ_ONLY_DAG
from tests.integration import basic, jwt_for

pytestmark = [
    pytest.mark.airflow,
    # tests/airflow_env.py's JWT secret is 52 bytes; PyJWT wants 64 for HS512
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

API = "/webhook/api"
BASE = "http://localhost:8080/webhook/trigger/"
TEST_BASE = "http://localhost:8080/webhook/test/"
SECRET = "s3cret-Pa55word"
DOC: dict[str, Any] = {
    "id": "hook-api-0000001",
    "dag_id": "wt_plain",
    "auth": {"basic": {"username": "stripe", "password": SECRET}},
    "request": {"headers": [{"name": "X-Request-Id", "alias": "request_id"}], "body": [{"path": "b.c"}]},
    "response": {"status": 202, "headers": {"X-Handled-By": "airflow"}, "body": {"accepted": True}},
}

ROUTES = [
    ("GET", f"{API}/webhooks", None),
    ("POST", f"{API}/webhooks", {"dag_id": "wt_plain"}),
    ("GET", f"{API}/webhooks/hook-api-0000001", None),
    ("PUT", f"{API}/webhooks/hook-api-0000001", {"dag_id": "wt_plain"}),
    ("PATCH", f"{API}/webhooks/hook-api-0000001", {"enabled": False}),
    ("DELETE", f"{API}/webhooks/hook-api-0000001", None),
    ("GET", f"{API}/webhooks/hook-api-0000001/url", None),
    ("GET", f"{API}/schemes", None),
    ("POST", f"{API}/parse-sample", {"sample": "?a=1"}),
]
ROUTE_IDS = [f"{m} {p.removeprefix(API)}" for m, p, _ in ROUTES]
#: the delivery record's routes (tests/web/test_deliveries_api.py has what they answer)
GUARDED = [
    *ROUTES,
    ("GET", f"{API}/webhooks/hook-api-0000001/deliveries", None),
    ("GET", f"{API}/deliveries/{'0' * 32}", None),
    ("POST", f"{API}/deliveries/{'0' * 32}/replay", None),
    ("GET", f"{API}/webhooks/hook-api-0000001/sample", None),
]
GUARDED_IDS = [f"{m} {p.removeprefix(API)}" for m, p, _ in GUARDED]


def _view(webhook: Any) -> dict[str, Any]:
    """What the API shows of a webhook that has had no delivery."""
    return {
        **to_document(webhook),
        "url": BASE + webhook.id,
        "test_url": TEST_BASE + webhook.id,
        "last_delivery": None,
    }


@pytest.fixture(scope="module")
def tokens(api_app: Any) -> dict[str, dict[str, str]]:
    return {role: {"Authorization": f"Bearer {jwt_for(role)}"} for role in ("admin", "op", "viewer")}


@pytest.fixture
def admin(tokens: dict[str, dict[str, str]]) -> dict[str, str]:
    return tokens["admin"]


def _assert_no_secret(response: Any) -> None:
    assert SECRET not in response.text
    assert "scrypt" not in response.text
    assert "password_hash" not in response.text
    assert '"password"' not in response.text


def _create(client: Any, headers: dict[str, str], doc: dict[str, Any] | None = None) -> Any:
    response = client.post(f"{API}/webhooks", json=doc or DOC, headers=headers)
    assert response.status_code == 201, response.text
    return response


# -- authentication and permissions ----------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), GUARDED, ids=GUARDED_IDS)
def test_management_no_token_401(client: Any, store: Any, method: str, path: str, body: object) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == 401, response.text
    assert store.list() == []


@pytest.mark.parametrize(("method", "path", "body"), GUARDED, ids=GUARDED_IDS)
def test_management_invalid_token_403(client: Any, store: Any, method: str, path: str, body: object) -> None:
    # Airflow's own answer to a token it cannot decode (as on its REST API)
    response = client.request(method, path, json=body, headers={"Authorization": "Bearer not-a-jwt"})
    assert response.status_code == 403, response.text
    assert response.json() == {"error": "Invalid JWT token"}
    assert store.list() == []


@pytest.mark.parametrize(("method", "path", "body"), GUARDED, ids=GUARDED_IDS)
def test_management_basic_auth_of_a_webhook_401(
    client: Any, store: Any, method: str, path: str, body: object
) -> None:
    response = client.request(method, path, json=body, headers=basic("admin", "admin"))
    assert response.status_code == 401, response.text


@pytest.mark.parametrize(("method", "path", "body"), GUARDED, ids=GUARDED_IDS)
def test_management_viewer_403(
    client: Any, store: Any, tokens: dict[str, dict[str, str]], method: str, path: str, body: object
) -> None:
    _create(client, tokens["admin"])
    before = store.list()
    response = client.request(method, path, json=body, headers=tokens["viewer"])
    assert response.status_code == 403, response.text
    assert store.list() == before
    _assert_no_secret(response)


@pytest.mark.parametrize("role", ["op", "admin"])
@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=ROUTE_IDS)
def test_management_op_and_admin_allowed(
    client: Any,
    store: Any,
    tokens: dict[str, dict[str, str]],
    role: str,
    method: str,
    path: str,
    body: object,
) -> None:
    _create(client, tokens["admin"])
    response = client.request(method, path, json=body, headers=tokens[role])
    assert response.status_code in (200, 201, 204), response.text
    _assert_no_secret(response)


# -- CRUD ------------------------------------------------------------------------------


def test_management_create_returns_document_url_warnings(
    client: Any, store: Any, admin: dict[str, str]
) -> None:
    response = _create(client, admin)
    payload = response.json()
    webhook = store.require("hook-api-0000001")
    assert payload == {**_view(webhook), "warnings": []}
    assert payload["auth"] == {
        "basic": {"username": "stripe", "password_env": "WEBHOOK_PASSWORD_HOOK_API_0000001"}
    }
    assert password_matches_hash(SECRET, webhook.auth.password_hash)
    _assert_no_secret(response)


def test_management_create_without_id_generated(client: Any, store: Any, admin: dict[str, str]) -> None:
    payload = _create(client, admin, {"dag_id": "wt_plain"}).json()
    assert payload["url"] == BASE + payload["id"]
    assert [w.id for w in store.list()] == [payload["id"]]
    assert payload["warnings"] == []


def test_management_create_chosen_id_without_auth_warning(
    client: Any, store: Any, admin: dict[str, str]
) -> None:
    payload = _create(client, admin, {"id": "hook-open-000001", "dag_id": "wt_plain"}).json()
    [warning] = payload["warnings"]
    assert "guessable" in warning


def test_management_create_password_env_unset_422(client: Any, store: Any, admin: dict[str, str]) -> None:
    doc = {"dag_id": "wt_plain", "auth": {"basic": {"username": "u", "password_env": "UNSET_HOOK_PASSWORD"}}}
    response = client.post(f"{API}/webhooks", json=doc, headers=admin)
    assert response.status_code == 422
    assert response.json() == {
        "error": "webhook.auth.basic.password_env: environment variable UNSET_HOOK_PASSWORD is not set"
    }


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"dag_id": "wt_plain", "mode": "batch"}, "webhook.mode: 'batch' must be one of async, sync"),
        ({"dag_id": "wt plain"}, "webhook.dag_id: "),
        ({"id": "bad", "dag_id": "wt_plain"}, "webhook.id: "),
        ({}, "webhook.dag_id: must be a string"),
        ({"dag_id": "wt_plain", "extra": 1}, "webhook: unknown key(s) extra"),
        # issue #28: a lookahead with a fixed repeat is cubic on Python's re; RE2 refuses it
        (
            {"dag_id": "wt_plain", "filter": [{"body": "a", "matches": r".*.*(?=\w{300}\W)x"}]},
            "webhook.filter[0].matches: '.*.*(?=\\\\w{300}\\\\W)x' is not a regular expression RE2 accepts",
        ),
        (
            {"dag_id": "wt_plain", "filter": [{"header": "X-Ref", "matches": r"(a)\1"}]},
            "invalid escape sequence",
        ),
        (
            {"dag_id": "wt_plain", "request": {"headers": [{"name": "Authorization"}]}},
            "may never be passed to a run",
        ),
        ({"dag_id": "wt_plain", "response": {"status": 500}}, "webhook.response.status: 500"),
        (
            {
                "dag_id": "wt_plain",
                "auth": {"basic": {"username": "u", "password": SECRET, "password_env": "X"}},
            },
            "give exactly one of password, password_env",
        ),
    ],
)
def test_management_create_invalid_document_422(
    client: Any, store: Any, admin: dict[str, str], doc: dict[str, Any], message: str
) -> None:
    response = client.post(f"{API}/webhooks", json=doc, headers=admin)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    payload = response.json()
    assert set(payload) == {"error"}
    assert message in payload["error"]
    _assert_no_secret(response)
    assert store.list() == []


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"[1]", 422, "the body must be a JSON object"),
        (b'"x"', 422, "the body must be a JSON object"),
        (b"null", 422, "the body must be a JSON object"),
        (b"", 400, "JSON body is empty"),
        (b"{not json", 400, "JSON"),
        (b'{"dag_id": "a", "dag_id": "b"}', 400, "duplicate"),
    ],
)
def test_management_body_not_a_json_object_error(
    client: Any, store: Any, admin: dict[str, str], method: str, content: bytes, status: int, message: str
) -> None:
    _create(client, admin)
    before = store.list()
    path = f"{API}/webhooks" + ("" if method == "POST" else "/hook-api-0000001")
    response = client.request(
        method, path, content=content, headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    payload = response.json()
    assert set(payload) == {"error"}
    assert message in payload["error"]
    assert store.list() == before


def test_management_error_never_echoes_input(client: Any, store: Any, admin: dict[str, str]) -> None:
    body = [{"dag_id": "wt_plain", "auth": {"basic": {"username": "u", "password": SECRET}}}]
    response = client.post(f"{API}/webhooks", json=body, headers=admin)
    assert response.status_code == 422
    _assert_no_secret(response)


def test_management_create_duplicate_id_409(client: Any, store: Any, admin: dict[str, str]) -> None:
    _create(client, admin)
    response = client.post(f"{API}/webhooks", json={**DOC, "dag_id": "wt_params"}, headers=admin)
    assert response.status_code == 409
    assert response.json() == {"error": "a webhook with id 'hook-api-0000001' already exists"}
    assert store.require("hook-api-0000001").dag_id == "wt_plain"


def test_management_list_and_filter(client: Any, store: Any, admin: dict[str, str]) -> None:
    _create(client, admin)
    _create(client, admin, {"id": "hook-api-0000002", "dag_id": "wt_params"})
    response = client.get(f"{API}/webhooks", headers=admin)
    assert response.status_code == 200
    webhooks = response.json()["webhooks"]
    assert [w["id"] for w in webhooks] == ["hook-api-0000002", "hook-api-0000001"]  # by DAG, then id
    assert webhooks[1] == _view(store.require("hook-api-0000001"))
    _assert_no_secret(response)
    filtered = client.get(f"{API}/webhooks", params={"dag_id": "wt_plain"}, headers=admin).json()
    assert [w["id"] for w in filtered["webhooks"]] == ["hook-api-0000001"]


def test_management_list_empty(client: Any, store: Any, admin: dict[str, str]) -> None:
    assert client.get(f"{API}/webhooks", headers=admin).json() == {"webhooks": []}


def test_management_show(client: Any, store: Any, admin: dict[str, str]) -> None:
    _create(client, admin)
    response = client.get(f"{API}/webhooks/hook-api-0000001", headers=admin)
    assert response.status_code == 200
    assert response.json() == _view(store.require("hook-api-0000001"))
    _assert_no_secret(response)


@pytest.mark.parametrize("webhook_id", ["hook-missing-001", "bad.id!", "a%00bcdefgh", "x" * 300])
@pytest.mark.parametrize("suffix", ["", "/url"])
def test_management_show_unknown_404(
    client: Any, store: Any, admin: dict[str, str], webhook_id: str, suffix: str
) -> None:
    response = client.get(f"{API}/webhooks/{webhook_id}{suffix}", headers=admin)
    assert response.status_code == 404
    assert "error" in response.json()


def test_management_url(client: Any, store: Any, admin: dict[str, str]) -> None:
    _create(client, admin)
    response = client.get(f"{API}/webhooks/hook-api-0000001/url", headers=admin)
    assert response.status_code == 200
    assert response.json() == {
        "id": "hook-api-0000001",
        "url": "http://localhost:8080/webhook/trigger/hook-api-0000001",
    }


def test_management_put_replaces_definition(client: Any, store: Any, admin: dict[str, str]) -> None:
    _create(client, admin)
    doc = {"dag_id": "wt_plain", "mode": "sync", "sync": {"timeout_seconds": 5}}
    response = client.put(f"{API}/webhooks/hook-api-0000001", json=doc, headers=admin)
    assert response.status_code == 200, response.text
    webhook = store.require("hook-api-0000001")
    assert (webhook.mode, webhook.auth, webhook.headers, webhook.sync_timeout_seconds) == (
        "sync",
        None,
        (),
        5.0,
    )
    # auth removed from a chosen id: warned
    assert response.json() == {**_view(webhook), "warnings": [response.json()["warnings"][0]]}
    assert "guessable" in response.json()["warnings"][0]


def test_management_put_same_id_in_body_ok(client: Any, store: Any, admin: dict[str, str]) -> None:
    _create(client, admin)
    response = client.put(f"{API}/webhooks/hook-api-0000001", json=DOC, headers=admin)
    assert response.status_code == 200
    assert password_matches_hash(SECRET, store.require("hook-api-0000001").auth.password_hash)


def test_management_put_other_id_400(client: Any, store: Any, admin: dict[str, str]) -> None:
    _create(client, admin)
    response = client.put(
        f"{API}/webhooks/hook-api-0000001", json={**DOC, "id": "hook-other-00001"}, headers=admin
    )
    assert response.status_code == 400
    assert response.json() == {"error": "the id in the body differs from the id in the URL"}
    assert store.get("hook-other-00001") is None


def test_management_put_unknown_404(client: Any, store: Any, admin: dict[str, str]) -> None:
    response = client.put(f"{API}/webhooks/hook-missing-001", json={"dag_id": "wt_plain"}, headers=admin)
    assert response.status_code == 404
    assert store.list() == []


def test_management_put_invalid_422_unchanged(client: Any, store: Any, admin: dict[str, str]) -> None:
    _create(client, admin)
    before = store.require("hook-api-0000001")
    response = client.put(
        f"{API}/webhooks/hook-api-0000001", json={"dag_id": "wt_plain", "mode": 1}, headers=admin
    )
    assert response.status_code == 422
    assert "mode" in response.json()["error"]
    assert store.require("hook-api-0000001") == before


def test_management_patch_disable_then_trigger_404_enable_200(
    client: Any, store: Any, admin: dict[str, str]
) -> None:
    _create(client, admin)
    trigger = BASE.removeprefix("http://localhost:8080") + "hook-api-0000001"
    creds = basic("stripe", SECRET)
    assert client.post(trigger, headers=creds).status_code == 202

    response = client.patch(f"{API}/webhooks/hook-api-0000001", json={"enabled": False}, headers=admin)
    assert response.status_code == 200
    assert response.json()["enabled"] is False
    _assert_no_secret(response)
    assert store.require("hook-api-0000001").enabled is False
    answer = client.post(trigger, headers=creds)
    assert answer.status_code == 404
    assert answer.json() == {"error": "no such webhook"}

    assert (
        client.patch(f"{API}/webhooks/hook-api-0000001", json={"enabled": True}, headers=admin).status_code
        == 200
    )
    # the stored password survived both PATCHes (its conventional variable is unset)
    assert client.post(trigger, headers=creds).status_code == 202


def test_management_patch_keeps_other_fields(client: Any, store: Any, admin: dict[str, str]) -> None:
    _create(client, admin)
    before = store.require("hook-api-0000001")
    response = client.patch(f"{API}/webhooks/hook-api-0000001", json={"mode": "sync"}, headers=admin)
    assert response.status_code == 200
    assert response.json()["warnings"] == []
    assert store.require("hook-api-0000001") == before.with_changes(mode="sync")


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"id": "hook-other-00001"}, 400, "the id of a webhook cannot be changed"),
        ({"enabled": "no"}, 422, "webhook.enabled: must be true or false"),
        ({"unknown": 1}, 422, "unknown key(s) unknown"),
    ],
)
def test_management_patch_invalid(
    client: Any, store: Any, admin: dict[str, str], changes: dict[str, Any], status: int, message: str
) -> None:
    _create(client, admin)
    before = store.require("hook-api-0000001")
    response = client.patch(f"{API}/webhooks/hook-api-0000001", json=changes, headers=admin)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert store.require("hook-api-0000001") == before


def test_management_patch_unknown_404(client: Any, store: Any, admin: dict[str, str]) -> None:
    response = client.patch(f"{API}/webhooks/hook-missing-001", json={"enabled": False}, headers=admin)
    assert response.status_code == 404


def test_management_delete_then_404(client: Any, store: Any, admin: dict[str, str]) -> None:
    _create(client, admin)
    response = client.delete(f"{API}/webhooks/hook-api-0000001", headers=admin)
    assert (response.status_code, response.content) == (204, b"")
    assert store.list() == []
    assert (
        client.post("/webhook/trigger/hook-api-0000001", headers=basic("stripe", SECRET)).status_code == 404
    )
    again = client.delete(f"{API}/webhooks/hook-api-0000001", headers=admin)
    assert again.status_code == 404
    assert again.json() == {"error": "no webhook with id 'hook-api-0000001'"}


# -- schemes ---------------------------------------------------------------------------


def test_management_schemes_are_the_sender_records(client: Any, admin: dict[str, str]) -> None:
    from airflow_webhook_trigger.core.senders import SCHEMES, TIMESTAMPED

    response = client.get(f"{API}/schemes", headers=admin)
    assert response.status_code == 200, response.text
    schemes = response.json()["schemes"]
    assert [s["name"] for s in schemes] == list(SCHEMES)
    assert {s["name"] for s in schemes if s["timestamped"]} == TIMESTAMPED
    assert next(s for s in schemes if s["name"] == "hmac")["options"] == [
        "header",
        "algorithm",
        "encoding",
        "prefix",
    ]


# -- parse-sample ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (
            "http://localhost:13000/api/webhook:trigger/1hfmkioou0d?query=1",
            {"part": "query", "paths": ["query"]},
        ),
        ('{"a": 1, "b": {"c": 2}}', {"part": "body", "paths": ["a", "b", "b.c"]}),
        ("?query[0][a]=1", {"part": "query", "paths": ["query", "query[0]", "query[0].a"]}),
        ("a[b]=1&c=2", {"part": "query", "paths": ["a", "a.b", "c"]}),
    ],
)
def test_management_parse_sample_paths(
    client: Any, admin: dict[str, str], sample: str, expected: object
) -> None:
    response = client.post(f"{API}/parse-sample", json={"sample": sample}, headers=admin)
    assert response.status_code == 200
    assert response.json() == expected


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "'sample' must be a string"),
        ({"sample": 1}, "'sample' must be a string"),
        ({"sample": {"a": 1}}, "'sample' must be a string"),
        ({"sample": "  "}, "sample is empty"),
        ({"sample": '{"a": '}, "invalid JSON sample"),
        (["?a=1"], "'sample' must be a string"),
        ("?a=1", "'sample' must be a string"),
    ],
)
def test_management_parse_sample_invalid_400(
    client: Any, admin: dict[str, str], payload: dict[str, Any], message: str
) -> None:
    response = client.post(f"{API}/parse-sample", json=payload, headers=admin)
    assert response.status_code == 400
    assert message in response.json()["error"]


# -- secrets and the OpenAPI document --------------------------------------------------


def test_management_no_response_ever_holds_a_secret(
    client: Any, store: Any, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_HOOK_PASSWORD", "env-" + SECRET)
    env_doc = {"id": "hook-env-0000001", "dag_id": "wt_plain",
               "auth": {"basic": {"username": "u", "password_env": "API_HOOK_PASSWORD"}}}  # fmt: skip
    responses = [
        _create(client, admin),
        _create(client, admin, env_doc),
        client.get(f"{API}/webhooks", headers=admin),
        client.get(f"{API}/webhooks/hook-env-0000001", headers=admin),
        client.put(f"{API}/webhooks/hook-api-0000001", json=DOC, headers=admin),
        client.patch(f"{API}/webhooks/hook-env-0000001", json={"mode": "sync"}, headers=admin),
        client.post(f"{API}/webhooks", json={**DOC, "id": "x"}, headers=admin),
        client.post(f"{API}/webhooks", json=DOC, headers=admin),
    ]
    for response in responses:
        _assert_no_secret(response)
        assert "env-" + SECRET not in response.text
    assert json.loads(responses[3].text)["auth"]["basic"]["password_env"] == "API_HOOK_PASSWORD"


def test_management_openapi_lists_routes(client: Any) -> None:
    response = client.get("/webhook/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths["/api/webhooks"]) == {"get", "post"}
    assert set(paths["/api/webhooks/{webhook_id}"]) == {"get", "put", "patch", "delete"}
    assert set(paths["/api/webhooks/{webhook_id}/url"]) == {"get"}
    assert set(paths["/api/parse-sample"]) == {"post"}
    for path, method in [
        ("/api/webhooks", "post"),
        ("/api/webhooks/{webhook_id}", "put"),
        ("/api/webhooks/{webhook_id}", "patch"),
        ("/api/parse-sample", "post"),
    ]:
        assert "application/json" in paths[path][method]["requestBody"]["content"], (path, method)


def test_management_unknown_route_404_json(client: Any, admin: dict[str, str]) -> None:
    response = client.get(f"{API}/nope", headers=admin)
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}


def test_management_parse_sample_malformed_body_400(client: Any, admin: dict[str, str]) -> None:
    response = client.post(
        f"{API}/parse-sample", content=b"{", headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


# -- hostile input: cross-site writes, NUL bytes, sizes, unexpected errors ----------------

WRITES = [
    ("POST", f"{API}/webhooks"),
    ("PUT", f"{API}/webhooks/hook-api-0000001"),
    ("PATCH", f"{API}/webhooks/hook-api-0000001"),
    ("POST", f"{API}/parse-sample"),
]


@pytest.mark.parametrize(("method", "path"), WRITES, ids=[f"{m} {p.removeprefix(API)}" for m, p in WRITES])
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_management_write_not_json_415_changes_nothing(
    client: Any, store: Any, admin: dict[str, str], method: str, path: str, content_type: str | None
) -> None:
    # what a cross-site <form> can send with the Airflow UI's cookie: never JSON
    _create(client, admin)
    before = store.list()
    headers = dict(admin)
    if content_type is not None:
        headers["Content-Type"] = content_type
    body = json.dumps({"dag_id": "wt_params", "enabled": False, "sample": "?a=1"}).encode()
    response = client.request(method, path, content=body, headers=headers)
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/json"
    assert "application/json" in response.json()["error"]
    assert store.list() == before


def test_management_json_with_other_charset_415(client: Any, store: Any, admin: dict[str, str]) -> None:
    response = client.post(
        f"{API}/webhooks",
        content=b'{"dag_id": "wt_plain"}',
        headers={**admin, "Content-Type": "application/json; charset=latin-1"},
    )
    assert response.status_code == 415
    assert store.list() == []


@pytest.mark.parametrize("dag_id", ["\x00", "a\x00b", "bad dag", "x" * 251])
def test_management_list_invalid_dag_id_400(client: Any, admin: dict[str, str], dag_id: str) -> None:
    response = client.get(f"{API}/webhooks", params={"dag_id": dag_id}, headers=admin)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}
    assert dag_id not in response.text


@pytest.mark.parametrize("webhook_id", ["%00", "a%00bcdefgh", "hook-api-0000001%00"])
def test_management_nul_in_id_404(client: Any, store: Any, admin: dict[str, str], webhook_id: str) -> None:
    for method in ("GET", "DELETE"):
        response = client.request(method, f"{API}/webhooks/{webhook_id}", headers=admin)
        assert response.status_code == 404, (method, response.text)


def test_management_body_over_max_body_bytes_413(client: Any, store: Any, admin: dict[str, str]) -> None:
    big = json.dumps({"dag_id": "wt_plain", "pad": "x" * (1024 * 1024)}).encode()
    response = client.post(
        f"{API}/webhooks", content=big, headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "max_body_bytes" in response.json()["error"]
    assert store.list() == []


def test_management_unexpected_error_is_json_500(
    client: Any, store: Any, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    from airflow_webhook_trigger.airflow_seam.wiring import shared_runtime

    def broken(dag_id: str | None = None) -> list[Any]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(shared_runtime().store, "list", broken)
    response = client.get(f"{API}/webhooks", headers=admin)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "internal error"}
    assert "a bug" in caplog.text  # logged with its traceback, not sent


def test_management_db_unavailable_503_retry_after(
    client: Any, store: Any, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from sqlalchemy import create_engine

    from airflow_webhook_trigger.airflow_seam.wiring import shared_runtime
    from airflow_webhook_trigger.storage.engine import Database, DbLimits
    from airflow_webhook_trigger.storage.webhook_store import WebhookStore

    (tmp_path / "gone.db").mkdir()  # no database can be opened there
    down = WebhookStore(Database(create_engine(f"sqlite:///{tmp_path / 'gone.db'}"), DbLimits()).session)
    runtime = shared_runtime()
    for name in ("list", "get", "create", "save", "delete"):
        monkeypatch.setattr(runtime.store, name, getattr(down, name))
    for method, path, body in ROUTES[:-2]:  # schemes and parse-sample read no database
        response = client.request(method, path, json=body, headers=admin)
        assert response.status_code == 503, (method, path, response.text)
        assert response.headers["retry-after"] == "5"
        assert response.json() == {"error": "the metadata database is busy or unavailable; retry later"}


def test_management_openapi_documents_errors_and_bodies(client: Any) -> None:
    paths = client.get("/webhook/openapi.json").json()["paths"]
    expected = {
        ("/api/webhooks", "get"): {"400", "401", "403", "503"},
        ("/api/webhooks", "post"): {"400", "401", "403", "409", "413", "415", "422", "503"},
        ("/api/webhooks/{webhook_id}", "get"): {"401", "403", "404", "503"},
        ("/api/webhooks/{webhook_id}", "put"): {"400", "401", "403", "404", "413", "415", "422", "503"},
        ("/api/webhooks/{webhook_id}", "patch"): {"400", "401", "403", "404", "413", "415", "422", "503"},
        ("/api/webhooks/{webhook_id}", "delete"): {"401", "403", "404", "503"},
        ("/api/parse-sample", "post"): {"400", "401", "403", "413", "415", "503"},
    }
    for (path, method), codes in expected.items():
        responses = paths[path][method]["responses"]
        assert codes <= set(responses), (path, method, set(responses))
        for code in codes:
            schema = responses[code]["content"]["application/json"]["schema"]
            assert schema["required"] == ["error"], (path, method, code)
    create = paths["/api/webhooks"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"id", "dag_id", "mode", "auth", "request", "response", "sync"} <= set(create["properties"])


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        (f"{API}/webhooks", {"GET", "POST"}),
        (f"{API}/webhooks/hook-api-0000001", {"DELETE", "GET", "PATCH", "PUT"}),
    ],
)
def test_management_405_allow_names_every_method(client: Any, path: str, methods: set[str]) -> None:
    response = client.request("OPTIONS", path)
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == methods
    assert response.json() == {"error": "Method Not Allowed"}


def test_management_signed_webhook_literal_secret_never_returned_and_kept_on_patch(
    client: Any, store: Any, admin: dict[str, str]
) -> None:
    doc = {
        "id": "hook-api-signed01",
        "dag_id": "wt_plain",
        "auth": {
            "signature": {"scheme": "stripe", "secret": "whsec_api_literal_1", "tolerance_seconds": 120}
        },
    }
    created = client.post(f"{API}/webhooks", json=doc, headers=admin)
    assert created.status_code == 201, created.text
    signature = created.json()["auth"]["signature"]
    assert signature == {"scheme": "stripe", "secret_stored": True, "tolerance_seconds": 120}
    stored = store.require("hook-api-signed01").signature.secret.stored
    responses = [
        created,
        client.get(f"{API}/webhooks/hook-api-signed01", headers=admin),
        client.get(f"{API}/webhooks", headers=admin),
        client.patch(f"{API}/webhooks/hook-api-signed01", json={"enabled": False}, headers=admin),
    ]
    for response in responses:
        assert response.status_code in (200, 201)
        assert "whsec_api_literal_1" not in response.text
        assert stored not in response.text
    assert store.require("hook-api-signed01").signature.secret.stored == stored  # kept, not re-encrypted
    refused = client.put(
        f"{API}/webhooks/hook-api-signed01",
        json={"dag_id": "wt_plain", "auth": {"signature": {"scheme": "github", "secret_env": "UNSET_VAR_Q"}}},
        headers=admin,
    )
    assert refused.status_code == 422
    assert "UNSET_VAR_Q is not set" in refused.json()["error"]


# -- DAG-level permissions (tests/auth_manager.py: the limited user may not see wt_plain, and
#    may only read wt_shapes) -----------------------------------------------------------

HIDDEN = {"id": "hook-hidden-00001", "dag_id": HIDDEN_DAG}
READ_ONLY = {"id": "hook-readonly-001", "dag_id": READ_ONLY_DAG}
OWN = {"id": "hook-own-0000001", "dag_id": "payment_callback"}


@pytest.fixture
def limited(api_app: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt_for('op', 'limited')}"}


@pytest.fixture
def three(client: Any, store: Any, admin: dict[str, str]) -> None:
    for doc in (HIDDEN, READ_ONLY, OWN):
        _create(client, admin, doc)


def test_management_list_shows_only_readable_dags_webhooks(
    client: Any, three: None, admin: dict[str, str], limited: dict[str, str]
) -> None:
    def ids(headers: dict[str, str], **params: str) -> set[str]:
        response = client.get(f"{API}/webhooks", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return {w["id"] for w in response.json()["webhooks"]}

    assert ids(admin) == {HIDDEN["id"], READ_ONLY["id"], OWN["id"]}
    assert ids(limited) == {READ_ONLY["id"], OWN["id"]}
    assert ids(limited, dag_id=HIDDEN_DAG) == set()


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("GET", "/url", None),
        ("GET", "/deliveries", None),
        ("GET", "/sample", None),
        ("PUT", "", {"dag_id": "payment_callback"}),
        ("PATCH", "", {"enabled": False}),
        ("DELETE", "", None),
    ],
)
def test_management_hidden_dags_webhook_answers_as_unknown(
    client: Any, three: None, limited: dict[str, str], method: str, suffix: str, body: object
) -> None:
    hidden = client.request(method, f"{API}/webhooks/{HIDDEN['id']}{suffix}", json=body, headers=limited)
    unknown = client.request(method, f"{API}/webhooks/hook-nowhere-0001{suffix}", json=body, headers=limited)
    assert hidden.status_code == unknown.status_code == 404, hidden.text
    assert hidden.json()["error"] == unknown.json()["error"].replace("hook-nowhere-0001", HIDDEN["id"])
    assert HIDDEN_DAG not in hidden.text


def test_management_read_only_dag_is_shown_but_not_written(
    client: Any, three: None, store: Any, limited: dict[str, str]
) -> None:
    url = f"{API}/webhooks/{READ_ONLY['id']}"
    assert client.get(url, headers=limited).status_code == 200
    assert client.get(f"{url}/url", headers=limited).status_code == 200
    for method, body in (("PUT", READ_ONLY), ("PATCH", {"enabled": False}), ("DELETE", None)):
        refused = client.request(method, url, json=body, headers=limited)
        assert refused.status_code == 403, (method, refused.text)
        assert READ_ONLY_DAG in refused.json()["error"]
    assert store.require(READ_ONLY["id"]).enabled


def test_management_write_needs_the_right_to_trigger_both_dags(
    client: Any, three: None, store: Any, limited: dict[str, str]
) -> None:
    create = client.post(f"{API}/webhooks", json={"dag_id": READ_ONLY_DAG}, headers=limited)
    assert create.status_code == 403, create.text
    create = client.post(f"{API}/webhooks", json={"dag_id": HIDDEN_DAG}, headers=limited)
    assert create.status_code == 403, create.text
    own = f"{API}/webhooks/{OWN['id']}"
    for method in ("PUT", "PATCH"):
        repointed = client.request(method, own, json={"dag_id": READ_ONLY_DAG}, headers=limited)
        assert repointed.status_code == 403, (method, repointed.text)
    assert store.require(OWN["id"]).dag_id == "payment_callback"
    assert client.patch(own, json={"enabled": False}, headers=limited).status_code == 200
    made = client.post(f"{API}/webhooks", json={"dag_id": "payment_callback"}, headers=limited)
    assert made.status_code == 201, made.text
    assert client.delete(own, headers=limited).status_code == 204


def test_management_admin_still_manages_every_dag(client: Any, three: None, admin: dict[str, str]) -> None:
    for doc in (HIDDEN, READ_ONLY):
        assert (
            client.patch(f"{API}/webhooks/{doc['id']}", json={"enabled": False}, headers=admin).status_code
            == 200
        )


def test_management_bodyless_writes_with_the_cookie_need_the_script_header(
    client: Any, store: Any, admin: dict[str, str]
) -> None:
    # a cross-site form can POST with the UI's cookie but cannot add a header: delete and
    # replay, which have no JSON body to prove a script sent them, need X-Requested-With
    _create(client, admin)
    cookie = {"Cookie": f"_token={jwt_for('admin')}"}
    url = f"{API}/webhooks/{DOC['id']}"
    forged = client.delete(url, headers=cookie)
    assert forged.status_code == 403, forged.text
    assert "X-Requested-With" in forged.json()["error"]
    forged = client.post(f"{API}/deliveries/{'0' * 32}/replay", headers=cookie)
    assert forged.status_code == 403, forged.text
    assert store.get(DOC["id"]) is not None
    assert client.get(url, headers=cookie).status_code == 200  # reads need nothing more
    assert (
        client.delete(url, headers={**cookie, "X-Requested-With": "airflow-webhook-trigger"}).status_code
        == 204
    )
    _create(client, admin)
    assert client.delete(url, headers=admin).status_code == 204  # a token header cannot be forged


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"{API}/webhooks", None),
        ("GET", f"{API}/webhooks/hook-nowhere-0001", None),  # 404
        ("POST", f"{API}/webhooks", {"dag_id": "wt_plain", "mode": "sometimes"}),  # 422
        ("POST", f"{API}/parse-sample", {"sample": "?a=1"}),
        ("GET", f"{API}/nowhere", None),  # no route
    ],
)
def test_management_answers_carry_the_sandboxing_headers(
    client: Any, store: Any, admin: dict[str, str], method: str, path: str, body: object
) -> None:
    # JSON, but on Airflow's origin: a browser that opens one neither sniffs it into a page nor runs it
    for headers in (admin, {}):  # and the 401 of Airflow's own check
        response = client.request(method, path, json=body, headers=headers)
        assert response.headers["x-content-type-options"] == "nosniff", response.status_code
        assert response.headers["content-security-policy"].startswith("sandbox;"), response.status_code
