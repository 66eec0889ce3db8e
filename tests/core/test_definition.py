from __future__ import annotations

import base64
import math
import re
from typing import Any

import pytest

from airflow_webhook_trigger.core.definition import (
    ID_RE,
    AsyncResponse,
    BasicAuth,
    HeaderField,
    PasswordInput,
    generate_id,
    parse_document,
)
from airflow_webhook_trigger.core.errors import ConfigError
from tests.core.documents import HASH, SECRET, auth_basic, doc_of, request_of

# -- parse_document: valid documents ---------------------------------------------------


def test_parse_document_minimal_defaults() -> None:
    parsed = parse_document({"dag_id": "dag_a"})
    webhook = parsed.webhook
    assert (webhook.dag_id, webhook.mode, webhook.enabled, webhook.auth) == ("dag_a", "async", True, None)
    assert (webhook.headers, webhook.query, webhook.body) == ((), (), ())
    assert webhook.response == AsyncResponse(status=200, headers=(), body="ok")
    assert webhook.sync_timeout_seconds is None
    assert parsed.id_given is False
    assert (parsed.username, parsed.password) == (None, None)
    assert ID_RE.match(webhook.id)


def test_parse_document_product_example_full() -> None:
    parsed = parse_document(
        {
            "id": "pay-3f9c2a7d81e4b6a0",
            "dag_id": "payment_callback",
            "mode": "async",
            "enabled": True,
            "auth": {"basic": {"username": "stripe", "password_env": "PAYMENT_HOOK_PASSWORD"}},
            "request": {
                "headers": [{"name": "X-Request-Id", "alias": "request_id"}, {"name": "Date"}],
                "query": [{"path": "query[0].a", "alias": "first_a"}],
                "body": [{"path": "a"}, {"path": "b.c", "alias": "amount"}],
            },
            "response": {"status": 200, "headers": {"X-Handled-By": "airflow"}, "body": "ok"},
            "sync": {"timeout_seconds": 25},
        }
    )
    webhook = parsed.webhook
    assert parsed.id_given is True
    assert webhook.id == "pay-3f9c2a7d81e4b6a0"
    assert webhook.auth is None  # resolved and hashed by the registry, not here
    assert parsed.username == "stripe"
    assert parsed.password == PasswordInput(env="PAYMENT_HOOK_PASSWORD")
    assert webhook.headers == (HeaderField("X-Request-Id", "request_id"), HeaderField("Date"))
    assert [(f.path, f.segments, f.alias) for f in webhook.query] == [
        ("query[0].a", ("query", 0, "a"), "first_a")
    ]
    assert [(f.path, f.segments, f.alias) for f in webhook.body] == [
        ("a", ("a",), None),
        ("b.c", ("b", "c"), "amount"),
    ]
    assert webhook.response == AsyncResponse(200, (("X-Handled-By", "airflow"),), "ok")
    assert webhook.sync_timeout_seconds == 25.0


@pytest.mark.parametrize(
    ("doc", "attribute", "expected"),
    [
        (doc_of(id="abcdefgh"), "id", "abcdefgh"),
        (doc_of(id="A" * 64), "id", "A" * 64),
        (doc_of(id="a-b_c-D_9"), "id", "a-b_c-D_9"),
        (doc_of(dag_id="a.b-c_D9"), "dag_id", "a.b-c_D9"),
        (doc_of(dag_id="d" * 250), "dag_id", "d" * 250),
        (doc_of(mode="sync"), "mode", "sync"),
        (doc_of(enabled=False), "enabled", False),
        (doc_of(sync={"timeout_seconds": 0.5}), "sync_timeout_seconds", 0.5),
        (doc_of(sync={"timeout_seconds": 3600}), "sync_timeout_seconds", 3600.0),
        (doc_of(sync=None), "sync_timeout_seconds", None),
        (doc_of(sync={}), "sync_timeout_seconds", None),
        (doc_of(auth=None), "auth", None),
        (doc_of(auth={"basic": None}), "auth", None),
        (doc_of(request=None), "headers", ()),
        (doc_of(request={"headers": None}), "headers", ()),
        (doc_of(**request_of(headers=[{"name": "x-request-id"}])), "headers", (HeaderField("x-request-id"),)),
        (doc_of(**request_of(headers=[{"name": "X-A", "alias": None}])), "headers", (HeaderField("X-A"),)),
        (doc_of(response=None), "response", AsyncResponse()),
        (doc_of(response={}), "response", AsyncResponse()),
        (doc_of(response={"status": 202}), "response", AsyncResponse(202, (), "ok")),
        (doc_of(response={"status": 299, "body": ""}), "response", AsyncResponse(299, (), "")),
        (doc_of(response={"body": None}), "response", AsyncResponse(200, (), "")),
        (
            doc_of(response={"body": {"accepted": True}}),
            "response",
            AsyncResponse(200, (), {"accepted": True}),
        ),
        (doc_of(response={"body": [1, "two", None]}), "response", AsyncResponse(200, (), [1, "two", None])),
        (doc_of(response={"body": {}}), "response", AsyncResponse(200, (), {})),
        # 204/205 have no body by default (was: "ok", then refused)
        (doc_of(response={"status": 204}), "response", AsyncResponse(204, (), "")),
        (doc_of(response={"status": 205, "body": None}), "response", AsyncResponse(205, (), "")),
        # header values are written as text
        (
            doc_of(response={"headers": {"X-Retry": 5}}),
            "response",
            AsyncResponse(200, (("X-Retry", "5"),), "ok"),
        ),
        (
            doc_of(response={"headers": {"X-Ratio": 1.5}}),
            "response",
            AsyncResponse(200, (("X-Ratio", "1.5"),), "ok"),
        ),
        (doc_of(response={"headers": {}}), "response", AsyncResponse()),
        # a body keeps its JSON form: YAML's int keys become strings, as they are stored
        (doc_of(response={"body": {200: "ok"}}), "response", AsyncResponse(200, (), {"200": "ok"})),
        (doc_of(response={"body": [(1, 2)]}), "response", AsyncResponse(200, (), [[1, 2]])),
    ],
)
def test_parse_document_valid_field_value(doc: dict[str, Any], attribute: str, expected: object) -> None:
    assert getattr(parse_document(doc).webhook, attribute) == expected


@pytest.mark.parametrize(
    ("basic", "username", "password"),
    [
        ({"password": SECRET}, "stripe", PasswordInput(literal=SECRET)),
        ({"password": "x"}, "stripe", PasswordInput(literal="x")),
        ({"password": "p" * 1024}, "stripe", PasswordInput(literal="p" * 1024)),
        ({"password_env": "PAYMENT_HOOK_PASSWORD"}, "stripe", PasswordInput(env="PAYMENT_HOOK_PASSWORD")),
        ({"password_env": "_x1"}, "stripe", PasswordInput(env="_x1")),
        ({"username": "ü ser@example.com", "password": "p"}, "ü ser@example.com", PasswordInput(literal="p")),
        ({"username": "u" * 128, "password": "p"}, "u" * 128, PasswordInput(literal="p")),
    ],
)
def test_parse_document_basic_auth_valid(
    basic: dict[str, Any], username: str, password: PasswordInput
) -> None:
    parsed = parse_document(doc_of(auth=auth_basic(**basic)))
    assert (parsed.username, parsed.password) == (username, password)
    assert parsed.webhook.auth is None


def test_password_input_repr_hides_literal() -> None:
    assert SECRET not in repr(PasswordInput(literal=SECRET))
    assert SECRET not in repr(parse_document(doc_of(auth=auth_basic(password=SECRET))))


def test_basic_auth_repr_hides_hash() -> None:
    assert HASH not in repr(BasicAuth("stripe", HASH))


def test_parse_document_path_canonical_form() -> None:
    webhook = parse_document(
        doc_of(**request_of(body=[{"path": 'a["b"][0]'}], query=[{"path": '["x y"]'}]))
    ).webhook
    assert [(f.path, f.segments) for f in webhook.body] == [("a.b[0]", ("a", "b", 0))]
    assert [(f.path, f.segments) for f in webhook.query] == [('["x y"]', ("x y",))]


def test_parse_document_same_alias_name_as_path_allowed() -> None:
    webhook = parse_document(doc_of(**request_of(body=[{"path": "amount", "alias": "amount"}]))).webhook
    assert webhook.body[0].alias == "amount"


def test_parse_document_same_path_in_query_and_body_allowed() -> None:
    webhook = parse_document(doc_of(**request_of(query=[{"path": "a"}], body=[{"path": "a"}]))).webhook
    assert (webhook.query[0].path, webhook.body[0].path) == ("a", "a")


# -- parse_document: every validation error --------------------------------------------

LONG_BODY = "x" * 65536

INVALID: list[tuple[str, object, str]] = [
    # the document itself
    ("not a mapping", ["dag_id"], r"^webhook: must be a mapping"),
    ("none", None, r"^webhook: must be a mapping"),
    ("non-string key", {"dag_id": "d", 1: "x"}, r"^webhook: key 1 must be a string"),
    (
        "unknown key",
        doc_of(owner="me"),
        r"^webhook: unknown key\(s\) owner \(allowed: auth, body|allowed: .*dag_id",
    ),
    ("unknown keys sorted", doc_of(zz=1, aa=2), r"unknown key\(s\) aa, zz"),
    # id
    ("id too short", doc_of(id="abcdefg"), r"^webhook\.id: 'abcdefg' must match"),
    ("id too long", doc_of(id="a" * 65), r"^webhook\.id: .* must match \[A-Za-z0-9_-\]\{8,64\}"),
    ("id with dot", doc_of(id="abc.defgh"), r"^webhook\.id:"),
    ("id with slash", doc_of(id="abc/defgh"), r"^webhook\.id:"),
    ("id with space", doc_of(id="abc defgh"), r"^webhook\.id:"),
    ("id non-ascii", doc_of(id="abcdéfgh"), r"^webhook\.id:"),
    ("id trailing newline", doc_of(id="abcdefgh\n"), r"^webhook\.id:"),
    ("id empty", doc_of(id=""), r"^webhook\.id:"),
    ("id not a string", doc_of(id=12345678), r"^webhook\.id: must be a string"),
    # dag_id
    ("dag_id missing", {"id": "hook-0123456789"}, r"^webhook\.dag_id: must be a string"),
    ("dag_id null", doc_of(dag_id=None), r"^webhook\.dag_id: must be a string"),
    ("dag_id not a string", doc_of(dag_id=5), r"^webhook\.dag_id: must be a string"),
    ("dag_id empty", doc_of(dag_id=""), r"^webhook\.dag_id: '' is not a valid DAG id"),
    ("dag_id with space", doc_of(dag_id="my dag"), r"^webhook\.dag_id: 'my dag' is not a valid DAG id"),
    ("dag_id with slash", doc_of(dag_id="a/b"), r"^webhook\.dag_id:"),
    ("dag_id too long", doc_of(dag_id="d" * 251), r"^webhook\.dag_id:"),
    ("dag_id trailing newline", doc_of(dag_id="dag_a\n"), r"^webhook\.dag_id:"),
    # mode
    ("mode unknown", doc_of(mode="batch"), r"^webhook\.mode: 'batch' must be one of async, sync"),
    ("mode upper case", doc_of(mode="ASYNC"), r"^webhook\.mode:"),
    ("mode null", doc_of(mode=None), r"^webhook\.mode:"),
    ("mode list", doc_of(mode=["async"]), r"^webhook\.mode:"),
    # enabled
    ("enabled string", doc_of(enabled="yes"), r"^webhook\.enabled: must be true or false"),
    ("enabled int", doc_of(enabled=1), r"^webhook\.enabled: must be true or false"),
    ("enabled null", doc_of(enabled=None), r"^webhook\.enabled: must be true or false"),
    # auth
    ("auth not a mapping", doc_of(auth="basic"), r"^webhook\.auth: must be a mapping"),
    ("auth unknown scheme", doc_of(auth={"bearer": {}}), r"^webhook\.auth: unknown key\(s\) bearer"),
    ("basic not a mapping", doc_of(auth={"basic": "u:p"}), r"^webhook\.auth\.basic: must be a mapping"),
    (
        "basic unknown key",
        doc_of(auth=auth_basic(password="p", hash="x")),
        r"^webhook\.auth\.basic: unknown key\(s\) hash",
    ),
    (
        "password and password_env",
        doc_of(auth=auth_basic(password="p", password_env="P")),
        r"^webhook\.auth\.basic: give exactly one of password, password_env",
    ),
    (
        "neither password",
        doc_of(auth=auth_basic()),
        r"^webhook\.auth\.basic: give exactly one of password, password_env",
    ),
    (
        "password null",
        doc_of(auth=auth_basic(password=None)),
        r"^webhook\.auth\.basic\.password: must be a string",
    ),
    (
        "password int",
        doc_of(auth=auth_basic(password=1234)),
        r"^webhook\.auth\.basic\.password: must be a string",
    ),
    (
        "password empty",
        doc_of(auth=auth_basic(password="")),
        r"^webhook\.auth\.basic\.password: must be 1-1024",
    ),
    (
        "password too long",
        doc_of(auth=auth_basic(password="p" * 1025)),
        r"^webhook\.auth\.basic\.password: must be 1-1024",
    ),
    (
        "password_env null",
        doc_of(auth=auth_basic(password_env=None)),
        r"^webhook\.auth\.basic\.password_env: must be",
    ),
    (
        "password_env not a name",
        doc_of(auth=auth_basic(password_env="MY-VAR")),
        r"^webhook\.auth\.basic\.password_env: 'MY-VAR' is not an environment variable name",
    ),
    ("password_env starts with digit", doc_of(auth=auth_basic(password_env="1VAR")), r"password_env: '1VAR'"),
    ("password_env $", doc_of(auth=auth_basic(password_env="$VAR")), r"password_env: '\$VAR'"),
    ("password_env newline", doc_of(auth=auth_basic(password_env="VAR\n")), r"password_env:"),
    (
        "username missing",
        doc_of(auth={"basic": {"password": "p"}}),
        r"^webhook\.auth\.basic\.username: must be a string",
    ),
    ("username int", doc_of(auth={"basic": {"username": 7, "password": "p"}}), r"username: must be a string"),
    (
        "username empty",
        doc_of(auth={"basic": {"username": "", "password": "p"}}),
        r"^webhook\.auth\.basic\.username: must be 1-128 characters, no ':' or control characters",
    ),
    (
        "username colon",
        doc_of(auth={"basic": {"username": "a:b", "password": "p"}}),
        r"username: must be 1-128",
    ),
    (
        "username tab",
        doc_of(auth={"basic": {"username": "a\tb", "password": "p"}}),
        r"username: must be 1-128",
    ),
    (
        "username DEL",
        doc_of(auth={"basic": {"username": "a\x7f", "password": "p"}}),
        r"username: must be 1-128",
    ),
    (
        "username NUL",
        doc_of(auth={"basic": {"username": "a\x00", "password": "p"}}),
        r"username: must be 1-128",
    ),
    (
        "username trailing newline",
        doc_of(auth={"basic": {"username": "stripe\n", "password": "p"}}),
        r"username: must be 1-128",
    ),
    (
        "username too long",
        doc_of(auth={"basic": {"username": "u" * 129, "password": "p"}}),
        r"username: must be 1-128",
    ),
    # request
    ("request not a mapping", doc_of(request=["a"]), r"^webhook\.request: must be a mapping"),
    ("request unknown part", doc_of(request={"cookies": []}), r"^webhook\.request: unknown key\(s\) cookies"),
    (
        "headers not a list",
        doc_of(**request_of(headers={"name": "X"})),
        r"^webhook\.request\.headers: must be a list",
    ),
    (
        "headers item not a mapping",
        doc_of(**request_of(headers=["X-A"])),
        r"^webhook\.request\.headers\[0\]: must be a mapping",
    ),
    (
        "header unknown key",
        doc_of(**request_of(headers=[{"name": "X-A", "path": "a"}])),
        r"^webhook\.request\.headers\[0\]: unknown key\(s\) path",
    ),
    (
        "header name missing",
        doc_of(**request_of(headers=[{"alias": "a"}])),
        r"^webhook\.request\.headers\[0\]\.name: must be a string",
    ),
    (
        "header name empty",
        doc_of(**request_of(headers=[{"name": ""}])),
        r"headers\[0\]\.name: '' is not a valid header name",
    ),
    (
        "header name space",
        doc_of(**request_of(headers=[{"name": "X A"}])),
        r"headers\[0\]\.name: 'X A' is not a valid header name",
    ),
    ("header name colon", doc_of(**request_of(headers=[{"name": "X:A"}])), r"is not a valid header name"),
    ("header name non-ascii", doc_of(**request_of(headers=[{"name": "X-é"}])), r"is not a valid header name"),
    ("header name newline", doc_of(**request_of(headers=[{"name": "X-A\n"}])), r"is not a valid header name"),
    (
        "header name too long",
        doc_of(**request_of(headers=[{"name": "X" * 129}])),
        r"is not a valid header name",
    ),
    (
        "header Authorization",
        doc_of(**request_of(headers=[{"name": "Authorization"}])),
        r"^webhook\.request\.headers\[0\]\.name: Authorization may never be passed to a run",
    ),
    (
        "header authorization lower",
        doc_of(**request_of(headers=[{"name": "authorization"}])),
        r"may never be passed to a run",
    ),
    (
        "header Proxy-Authorization",
        doc_of(**request_of(headers=[{"name": "Proxy-Authorization"}])),
        r"may never be passed",
    ),
    (
        "header Cookie",
        doc_of(**request_of(headers=[{"name": "Cookie"}])),
        r"Cookie may never be passed to a run",
    ),
    ("header COOKIE", doc_of(**request_of(headers=[{"name": "COOKIE"}])), r"may never be passed to a run"),
    (
        "header Set-Cookie",
        doc_of(**request_of(headers=[{"name": "Set-Cookie"}])),
        r"may never be passed to a run",
    ),
    (
        "header twice",
        doc_of(**request_of(headers=[{"name": "X-A"}, {"name": "X-A"}])),
        r"^webhook\.request\.headers\[1\]\.name: header X-A is listed twice",
    ),
    (
        "header twice other case",
        doc_of(**request_of(headers=[{"name": "X-A"}, {"name": "x-a"}])),
        r"headers\[1\]\.name: header x-a is listed twice",
    ),
    ("body not a list", doc_of(**request_of(body="a")), r"^webhook\.request\.body: must be a list"),
    (
        "body item not a mapping",
        doc_of(**request_of(body=["a"])),
        r"^webhook\.request\.body\[0\]: must be a mapping",
    ),
    (
        "body unknown key",
        doc_of(**request_of(body=[{"path": "a", "name": "a"}])),
        r"^webhook\.request\.body\[0\]: unknown key\(s\) name",
    ),
    (
        "body path missing",
        doc_of(**request_of(body=[{"alias": "a"}])),
        r"^webhook\.request\.body\[0\]\.path: must be a string",
    ),
    ("body path int", doc_of(**request_of(body=[{"path": 0}])), r"body\[0\]\.path: must be a string"),
    (
        "body path empty",
        doc_of(**request_of(body=[{"path": ""}])),
        r"^webhook\.request\.body\[0\]\.path: path is empty",
    ),
    (
        "body path leading dot",
        doc_of(**request_of(body=[{"path": ".a"}])),
        r"^webhook\.request\.body\[0\]\.path: ",
    ),
    (
        "body path trailing dot",
        doc_of(**request_of(body=[{"path": "a."}])),
        r"body\[0\]\.path: .*expected a key after '\.'",
    ),
    ("body path double dot", doc_of(**request_of(body=[{"path": "a..b"}])), r"body\[0\]\.path: "),
    ("body path unclosed bracket", doc_of(**request_of(body=[{"path": "a[0"}])), r"body\[0\]\.path: "),
    ("body path negative index", doc_of(**request_of(body=[{"path": "a[-1]"}])), r"body\[0\]\.path: "),
    ("body path leading zero", doc_of(**request_of(body=[{"path": "a[01]"}])), r"body\[0\]\.path: "),
    ("body path space", doc_of(**request_of(body=[{"path": "a b"}])), r"body\[0\]\.path: "),
    (
        "body path too long",
        doc_of(**request_of(body=[{"path": "a" * 1025}])),
        r"body\[0\]\.path: path is longer than 1024",
    ),
    (
        "body path too many segments",
        doc_of(**request_of(body=[{"path": ".".join("a" * 65)}])),
        r"body\[0\]\.path: path has more than 64 segments",
    ),
    (
        "query path bad",
        doc_of(**request_of(query=[{"path": "q[x]"}])),
        r"^webhook\.request\.query\[0\]\.path: ",
    ),
    (
        "query path twice",
        doc_of(**request_of(query=[{"path": "a"}, {"path": "b"}, {"path": "a"}])),
        r"^webhook\.request\.query\[2\]\.path: path 'a' is listed twice",
    ),
    (
        "body path twice in two spellings",
        doc_of(**request_of(body=[{"path": "a.b"}, {"path": 'a["b"]'}])),
        r"^webhook\.request\.body\[1\]\.path: path 'a\[\"b\"\]' is listed twice",
    ),
    # aliases
    (
        "alias int",
        doc_of(**request_of(body=[{"path": "a", "alias": 1}])),
        r"^webhook\.request\.body\[0\]\.alias: must be a string",
    ),
    (
        "alias empty",
        doc_of(**request_of(body=[{"path": "a", "alias": ""}])),
        r"body\[0\]\.alias: alias '' must be an identifier",
    ),
    (
        "alias leading digit",
        doc_of(**request_of(body=[{"path": "a", "alias": "1a"}])),
        r"alias '1a' must be an identifier",
    ),
    (
        "alias dash",
        doc_of(**request_of(body=[{"path": "a", "alias": "first-a"}])),
        r"alias 'first-a' must be an identifier",
    ),
    ("alias dot", doc_of(**request_of(body=[{"path": "a", "alias": "a.b"}])), r"must be an identifier"),
    ("alias space", doc_of(**request_of(body=[{"path": "a", "alias": "a b"}])), r"must be an identifier"),
    (
        "alias non-ascii",
        doc_of(**request_of(body=[{"path": "a", "alias": "montant_é"}])),
        r"must be an identifier",
    ),
    (
        "alias trailing newline",
        doc_of(**request_of(body=[{"path": "a", "alias": "amount\n"}])),
        r"must be an identifier",
    ),
    (
        "alias too long",
        doc_of(**request_of(body=[{"path": "a", "alias": "a" * 65}])),
        r"must be an identifier",
    ),
    (
        "alias headers",
        doc_of(**request_of(body=[{"path": "a", "alias": "headers"}])),
        r"^webhook\.request\.body\[0\]\.alias: alias 'headers' is reserved \(body, headers, query, webhook\)",
    ),
    (
        "alias query",
        doc_of(**request_of(query=[{"path": "a", "alias": "query"}])),
        r"query\[0\]\.alias: alias 'query' is reserved",
    ),
    (
        "alias body",
        doc_of(**request_of(headers=[{"name": "X-A", "alias": "body"}])),
        r"headers\[0\]\.alias: alias 'body' is reserved",
    ),
    (
        "alias webhook",
        doc_of(**request_of(body=[{"path": "a", "alias": "webhook"}])),
        r"alias 'webhook' is reserved",
    ),
    (
        "alias twice in body",
        doc_of(**request_of(body=[{"path": "a", "alias": "x"}, {"path": "b", "alias": "x"}])),
        r"^request: alias 'x' is used twice",
    ),
    (
        "alias in headers and query",
        doc_of(**request_of(headers=[{"name": "X-A", "alias": "x"}], query=[{"path": "a", "alias": "x"}])),
        r"alias 'x' is used twice",
    ),
    (
        "alias in query and body",
        doc_of(**request_of(query=[{"path": "a", "alias": "x"}], body=[{"path": "a", "alias": "x"}])),
        r"alias 'x' is used twice",
    ),
    (
        "alias in headers and body",
        doc_of(**request_of(headers=[{"name": "X-A", "alias": "x"}], body=[{"path": "b", "alias": "x"}])),
        r"alias 'x' is used twice",
    ),
    # response
    ("response not a mapping", doc_of(response="ok"), r"^webhook\.response: must be a mapping"),
    ("response unknown key", doc_of(response={"code": 200}), r"^webhook\.response: unknown key\(s\) code"),
    (
        "status 199",
        doc_of(response={"status": 199}),
        r"^webhook\.response\.status: 199 must be an integer from 200 to 299",
    ),
    (
        "status 300",
        doc_of(response={"status": 300}),
        r"^webhook\.response\.status: 300 must be an integer from 200 to 299",
    ),
    ("status 302", doc_of(response={"status": 302}), r"response\.status: 302"),
    ("status 404", doc_of(response={"status": 404}), r"response\.status: 404"),
    ("status 500", doc_of(response={"status": 500}), r"response\.status: 500"),
    ("status string", doc_of(response={"status": "200"}), r"response\.status: '200' must be an integer"),
    ("status float", doc_of(response={"status": 200.0}), r"response\.status: 200\.0 must be an integer"),
    ("status bool", doc_of(response={"status": True}), r"response\.status: True must be an integer"),
    ("status null", doc_of(response={"status": None}), r"response\.status: None must be an integer"),
    (
        "response headers list",
        doc_of(response={"headers": [["X-A", "1"]]}),
        r"^webhook\.response\.headers: must be a mapping",
    ),
    (
        "response header name bad",
        doc_of(response={"headers": {"X A": "1"}}),
        r"^webhook\.response\.headers: 'X A' is not a valid header name",
    ),
    (
        "response header name newline",
        doc_of(response={"headers": {"X-A\n": "1"}}),
        r"response\.headers: .* is not a valid header name",
    ),
    (
        "response header name non-string",
        doc_of(response={"headers": {1: "1"}}),
        r"^webhook\.response\.headers: key 1 must be a string",
    ),
    (
        "response Content-Type",
        doc_of(response={"headers": {"Content-Type": "text/html"}}),
        r"^webhook\.response\.headers: Content-Type is not allowed in a response",
    ),
    (
        "response content-length",
        doc_of(response={"headers": {"content-length": "1"}}),
        r"content-length is not allowed",
    ),
    (
        "response Transfer-Encoding",
        doc_of(response={"headers": {"Transfer-Encoding": "chunked"}}),
        r"is not allowed in a response",
    ),
    ("response Connection", doc_of(response={"headers": {"Connection": "close"}}), r"not allowed"),
    (
        "response Set-Cookie",
        doc_of(response={"headers": {"Set-Cookie": "a=b"}}),
        r"Set-Cookie is not allowed",
    ),
    (
        "response header value CR",
        doc_of(response={"headers": {"X-A": "a\rb"}}),
        r"^webhook\.response\.headers\.X-A: must be one line of at most 4096 characters",
    ),
    (
        "response header value LF",
        doc_of(response={"headers": {"X-A": "a\nSet-Cookie: x=1"}}),
        r"headers\.X-A: must be one line",
    ),
    (
        "response header value CRLF",
        doc_of(response={"headers": {"X-A": "a\r\n"}}),
        r"headers\.X-A: must be one line",
    ),
    (
        "response header value NUL",
        doc_of(response={"headers": {"X-A": "a\x00"}}),
        r"headers\.X-A: must be one line",
    ),
    (
        "response header value too long",
        doc_of(response={"headers": {"X-A": "v" * 4097}}),
        r"headers\.X-A: must be one line",
    ),
    (
        "response header value null",
        doc_of(response={"headers": {"X-A": None}}),
        r"^webhook\.response\.headers\.X-A: must be a string",
    ),
    (
        "response header value bool",
        doc_of(response={"headers": {"X-A": True}}),
        r"headers\.X-A: must be a string",
    ),
    (
        "response header value list",
        doc_of(response={"headers": {"X-A": ["a"]}}),
        r"headers\.X-A: must be a string",
    ),
    (
        "body int",
        doc_of(response={"body": 1}),
        r"^webhook\.response\.body: must be a string, or a JSON object or array",
    ),
    (
        "body float",
        doc_of(response={"body": 1.5}),
        r"response\.body: must be a string, or a JSON object or array",
    ),
    ("body bool", doc_of(response={"body": True}), r"response\.body: must be a string"),
    (
        "body NaN inside",
        doc_of(response={"body": {"a": math.nan}}),
        r"^webhook\.response\.body: is not JSON-serialisable",
    ),
    (
        "body set inside",
        doc_of(response={"body": {"a": {1, 2}}}),
        r"response\.body: is not JSON-serialisable",
    ),
    ("body bytes inside", doc_of(response={"body": [b"x"]}), r"response\.body: is not JSON-serialisable"),
    (
        "body too large",
        doc_of(response={"body": LONG_BODY}),
        r"^webhook\.response\.body: is larger than 64 KiB",
    ),
    (
        "204 with body",
        doc_of(response={"status": 204, "body": "ok"}),
        r"^webhook\.response\.body: must be empty with status 204",
    ),
    (
        "204 with object body",
        doc_of(response={"status": 204, "body": {}}),
        r"response\.body: must be empty with status 204",
    ),
    (
        "205 with body",
        doc_of(response={"status": 205, "body": "x"}),
        r"response\.body: must be empty with status 205",
    ),
    # sync
    ("sync not a mapping", doc_of(sync=25), r"^webhook\.sync: must be a mapping"),
    ("sync unknown key", doc_of(sync={"timeout": 25}), r"^webhook\.sync: unknown key\(s\) timeout"),
    (
        "timeout zero",
        doc_of(sync={"timeout_seconds": 0}),
        r"^webhook\.sync\.timeout_seconds: must be a number of seconds in \(0, 3600\]",
    ),
    ("timeout negative", doc_of(sync={"timeout_seconds": -1}), r"sync\.timeout_seconds: must be a number"),
    ("timeout too large", doc_of(sync={"timeout_seconds": 3601}), r"sync\.timeout_seconds: must be a number"),
    ("timeout string", doc_of(sync={"timeout_seconds": "25"}), r"sync\.timeout_seconds: must be a number"),
    ("timeout bool", doc_of(sync={"timeout_seconds": True}), r"sync\.timeout_seconds: must be a number"),
    ("timeout nan", doc_of(sync={"timeout_seconds": math.nan}), r"sync\.timeout_seconds: must be a number"),
    (
        "timeout infinity",
        doc_of(sync={"timeout_seconds": math.inf}),
        r"sync\.timeout_seconds: must be a number",
    ),
]


@pytest.mark.parametrize(("doc", "message"), [(d, m) for _, d, m in INVALID], ids=[n for n, _, _ in INVALID])
def test_parse_document_invalid_field_config_error(doc: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_document(doc)


def test_parse_document_where_prefixes_messages() -> None:
    with pytest.raises(ConfigError, match=r"^webhooks\[3\]\.mode: "):
        parse_document(doc_of(mode="x"), where="webhooks[3]")


def test_parse_document_error_never_echoes_password() -> None:
    with pytest.raises(ConfigError) as info:
        parse_document(doc_of(auth=auth_basic(password=SECRET, password_env="X")))
    assert SECRET not in str(info.value)
    with pytest.raises(ConfigError) as info:
        parse_document(doc_of(auth=auth_basic(password=SECRET * 100)))
    assert SECRET not in str(info.value)


# -- generated ids ---------------------------------------------------------------------


def test_generate_id_at_least_96_random_bits() -> None:
    webhook_id = generate_id()
    # token_urlsafe: 6 bits per character, no padding
    assert len(webhook_id) * 6 >= 96
    assert len(base64.urlsafe_b64decode(webhook_id + "=" * (-len(webhook_id) % 4))) * 8 >= 96


def test_generate_id_url_safe_and_valid_id() -> None:
    for _ in range(2000):
        webhook_id = generate_id()
        assert re.fullmatch(r"[A-Za-z0-9_-]+", webhook_id)
        assert ID_RE.match(webhook_id)
        assert not webhook_id.startswith("-")  # would read as an option on a command line


def test_generate_id_unique() -> None:
    ids = {generate_id() for _ in range(10_000)}
    assert len(ids) == 10_000


def test_generate_id_characters_spread() -> None:
    # every one of the 64 URL-safe characters shows up: it is random, not a counter
    seen = set("".join(generate_id()[1:] for _ in range(500)))
    assert len(seen) == 64


def test_parse_document_without_id_generates_fresh_ids() -> None:
    ids = {parse_document({"dag_id": "dag_a"}).webhook.id for _ in range(100)}
    assert len(ids) == 100


@pytest.mark.parametrize(
    "scheme, header", [("gitlab", "X-Gitlab-Token"), ("telegram", "X-Telegram-Bot-Api-Secret-Token")]
)
@pytest.mark.parametrize(
    "where, part",
    [
        ("request.headers", lambda h: {"request": {"headers": [{"name": h.upper()}]}}),
        ("filter", lambda h: {"filter": [{"header": h.lower(), "exists": True}]}),
        ("dedupe.key", lambda h: {"dedupe": {"key": f"header:{h}"}}),
    ],
)
def test_a_header_that_carries_the_secret_token_is_read_nowhere(
    scheme: str, header: str, where: str, part: Any
) -> None:
    auth = {"signature": {"scheme": scheme, "secret_env": "TOKEN_VAR"}}
    with pytest.raises(
        ConfigError, match=rf"^webhook\.{re.escape(where)}: .* carries the {scheme} secret token"
    ):
        parse_document(doc_of(auth=auth, **part(header)))
    parse_document(
        doc_of(auth=auth, request={"headers": [{"name": "X-Gitlab-Event"}]})
    )  # another header: fine
