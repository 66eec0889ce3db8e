from __future__ import annotations

import base64
import contextlib
import json
import math
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_webhook_trigger.core.definition import (
    ID_RE,
    AsyncResponse,
    BasicAuth,
    HeaderField,
    PasswordInput,
    Webhook,
    default_password_env,
    generate_id,
    parse_document,
    to_document,
)
from airflow_webhook_trigger.core.errors import ConfigError
from airflow_webhook_trigger.core.paths import render_path
from airflow_webhook_trigger.core.response import response_header_allowed

SECRET = "s3cret-Pa55word"
HASH = "scrypt$16384$8$1$c2FsdA==$aGFzaA=="


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": "hook-0123456789", "dag_id": "dag_a"}
    doc.update(changes)
    return doc


def _basic(**basic: Any) -> dict[str, Any]:
    return {"basic": {"username": "stripe", **basic}}


def _request(**parts: Any) -> dict[str, Any]:
    return {"request": parts}


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
        (_doc(id="abcdefgh"), "id", "abcdefgh"),
        (_doc(id="A" * 64), "id", "A" * 64),
        (_doc(id="a-b_c-D_9"), "id", "a-b_c-D_9"),
        (_doc(dag_id="a.b-c_D9"), "dag_id", "a.b-c_D9"),
        (_doc(dag_id="d" * 250), "dag_id", "d" * 250),
        (_doc(mode="sync"), "mode", "sync"),
        (_doc(enabled=False), "enabled", False),
        (_doc(sync={"timeout_seconds": 0.5}), "sync_timeout_seconds", 0.5),
        (_doc(sync={"timeout_seconds": 3600}), "sync_timeout_seconds", 3600.0),
        (_doc(sync=None), "sync_timeout_seconds", None),
        (_doc(sync={}), "sync_timeout_seconds", None),
        (_doc(auth=None), "auth", None),
        (_doc(auth={"basic": None}), "auth", None),
        (_doc(request=None), "headers", ()),
        (_doc(request={"headers": None}), "headers", ()),
        (_doc(**_request(headers=[{"name": "x-request-id"}])), "headers", (HeaderField("x-request-id"),)),
        (_doc(**_request(headers=[{"name": "X-A", "alias": None}])), "headers", (HeaderField("X-A"),)),
        (_doc(response=None), "response", AsyncResponse()),
        (_doc(response={}), "response", AsyncResponse()),
        (_doc(response={"status": 202}), "response", AsyncResponse(202, (), "ok")),
        (_doc(response={"status": 299, "body": ""}), "response", AsyncResponse(299, (), "")),
        (_doc(response={"body": None}), "response", AsyncResponse(200, (), "")),
        (_doc(response={"body": {"accepted": True}}), "response", AsyncResponse(200, (), {"accepted": True})),
        (_doc(response={"body": [1, "two", None]}), "response", AsyncResponse(200, (), [1, "two", None])),
        (_doc(response={"body": {}}), "response", AsyncResponse(200, (), {})),
        # 204/205 have no body by default (was: "ok", then refused)
        (_doc(response={"status": 204}), "response", AsyncResponse(204, (), "")),
        (_doc(response={"status": 205, "body": None}), "response", AsyncResponse(205, (), "")),
        # header values are written as text
        (
            _doc(response={"headers": {"X-Retry": 5}}),
            "response",
            AsyncResponse(200, (("X-Retry", "5"),), "ok"),
        ),
        (
            _doc(response={"headers": {"X-Ratio": 1.5}}),
            "response",
            AsyncResponse(200, (("X-Ratio", "1.5"),), "ok"),
        ),
        (_doc(response={"headers": {}}), "response", AsyncResponse()),
        # a body keeps its JSON form: YAML's int keys become strings, as they are stored
        (_doc(response={"body": {200: "ok"}}), "response", AsyncResponse(200, (), {"200": "ok"})),
        (_doc(response={"body": [(1, 2)]}), "response", AsyncResponse(200, (), [[1, 2]])),
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
    parsed = parse_document(_doc(auth=_basic(**basic)))
    assert (parsed.username, parsed.password) == (username, password)
    assert parsed.webhook.auth is None


def test_password_input_repr_hides_literal() -> None:
    assert SECRET not in repr(PasswordInput(literal=SECRET))
    assert SECRET not in repr(parse_document(_doc(auth=_basic(password=SECRET))))


def test_basic_auth_repr_hides_hash() -> None:
    assert HASH not in repr(BasicAuth("stripe", HASH))


def test_parse_document_path_canonical_form() -> None:
    webhook = parse_document(
        _doc(**_request(body=[{"path": 'a["b"][0]'}], query=[{"path": '["x y"]'}]))
    ).webhook
    assert [(f.path, f.segments) for f in webhook.body] == [("a.b[0]", ("a", "b", 0))]
    assert [(f.path, f.segments) for f in webhook.query] == [('["x y"]', ("x y",))]


def test_parse_document_same_alias_name_as_path_allowed() -> None:
    webhook = parse_document(_doc(**_request(body=[{"path": "amount", "alias": "amount"}]))).webhook
    assert webhook.body[0].alias == "amount"


def test_parse_document_same_path_in_query_and_body_allowed() -> None:
    webhook = parse_document(_doc(**_request(query=[{"path": "a"}], body=[{"path": "a"}]))).webhook
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
        _doc(owner="me"),
        r"^webhook: unknown key\(s\) owner \(allowed: auth, body|allowed: .*dag_id",
    ),
    ("unknown keys sorted", _doc(zz=1, aa=2), r"unknown key\(s\) aa, zz"),
    # id
    ("id too short", _doc(id="abcdefg"), r"^webhook\.id: 'abcdefg' must match"),
    ("id too long", _doc(id="a" * 65), r"^webhook\.id: .* must match \[A-Za-z0-9_-\]\{8,64\}"),
    ("id with dot", _doc(id="abc.defgh"), r"^webhook\.id:"),
    ("id with slash", _doc(id="abc/defgh"), r"^webhook\.id:"),
    ("id with space", _doc(id="abc defgh"), r"^webhook\.id:"),
    ("id non-ascii", _doc(id="abcdéfgh"), r"^webhook\.id:"),
    ("id trailing newline", _doc(id="abcdefgh\n"), r"^webhook\.id:"),
    ("id empty", _doc(id=""), r"^webhook\.id:"),
    ("id not a string", _doc(id=12345678), r"^webhook\.id: must be a string"),
    # dag_id
    ("dag_id missing", {"id": "hook-0123456789"}, r"^webhook\.dag_id: must be a string"),
    ("dag_id null", _doc(dag_id=None), r"^webhook\.dag_id: must be a string"),
    ("dag_id not a string", _doc(dag_id=5), r"^webhook\.dag_id: must be a string"),
    ("dag_id empty", _doc(dag_id=""), r"^webhook\.dag_id: '' is not a valid DAG id"),
    ("dag_id with space", _doc(dag_id="my dag"), r"^webhook\.dag_id: 'my dag' is not a valid DAG id"),
    ("dag_id with slash", _doc(dag_id="a/b"), r"^webhook\.dag_id:"),
    ("dag_id too long", _doc(dag_id="d" * 251), r"^webhook\.dag_id:"),
    ("dag_id trailing newline", _doc(dag_id="dag_a\n"), r"^webhook\.dag_id:"),
    # mode
    ("mode unknown", _doc(mode="batch"), r"^webhook\.mode: 'batch' must be one of async, sync"),
    ("mode upper case", _doc(mode="ASYNC"), r"^webhook\.mode:"),
    ("mode null", _doc(mode=None), r"^webhook\.mode:"),
    ("mode list", _doc(mode=["async"]), r"^webhook\.mode:"),
    # enabled
    ("enabled string", _doc(enabled="yes"), r"^webhook\.enabled: must be true or false"),
    ("enabled int", _doc(enabled=1), r"^webhook\.enabled: must be true or false"),
    ("enabled null", _doc(enabled=None), r"^webhook\.enabled: must be true or false"),
    # auth
    ("auth not a mapping", _doc(auth="basic"), r"^webhook\.auth: must be a mapping"),
    ("auth unknown scheme", _doc(auth={"bearer": {}}), r"^webhook\.auth: unknown key\(s\) bearer"),
    ("basic not a mapping", _doc(auth={"basic": "u:p"}), r"^webhook\.auth\.basic: must be a mapping"),
    (
        "basic unknown key",
        _doc(auth=_basic(password="p", hash="x")),
        r"^webhook\.auth\.basic: unknown key\(s\) hash",
    ),
    (
        "password and password_env",
        _doc(auth=_basic(password="p", password_env="P")),
        r"^webhook\.auth\.basic: give exactly one of password, password_env",
    ),
    (
        "neither password",
        _doc(auth=_basic()),
        r"^webhook\.auth\.basic: give exactly one of password, password_env",
    ),
    ("password null", _doc(auth=_basic(password=None)), r"^webhook\.auth\.basic\.password: must be a string"),
    ("password int", _doc(auth=_basic(password=1234)), r"^webhook\.auth\.basic\.password: must be a string"),
    ("password empty", _doc(auth=_basic(password="")), r"^webhook\.auth\.basic\.password: must be 1-1024"),
    (
        "password too long",
        _doc(auth=_basic(password="p" * 1025)),
        r"^webhook\.auth\.basic\.password: must be 1-1024",
    ),
    (
        "password_env null",
        _doc(auth=_basic(password_env=None)),
        r"^webhook\.auth\.basic\.password_env: must be",
    ),
    (
        "password_env not a name",
        _doc(auth=_basic(password_env="MY-VAR")),
        r"^webhook\.auth\.basic\.password_env: 'MY-VAR' is not an environment variable name",
    ),
    ("password_env starts with digit", _doc(auth=_basic(password_env="1VAR")), r"password_env: '1VAR'"),
    ("password_env $", _doc(auth=_basic(password_env="$VAR")), r"password_env: '\$VAR'"),
    ("password_env newline", _doc(auth=_basic(password_env="VAR\n")), r"password_env:"),
    (
        "username missing",
        _doc(auth={"basic": {"password": "p"}}),
        r"^webhook\.auth\.basic\.username: must be a string",
    ),
    ("username int", _doc(auth={"basic": {"username": 7, "password": "p"}}), r"username: must be a string"),
    (
        "username empty",
        _doc(auth={"basic": {"username": "", "password": "p"}}),
        r"^webhook\.auth\.basic\.username: must be 1-128 characters, no ':' or control characters",
    ),
    (
        "username colon",
        _doc(auth={"basic": {"username": "a:b", "password": "p"}}),
        r"username: must be 1-128",
    ),
    ("username tab", _doc(auth={"basic": {"username": "a\tb", "password": "p"}}), r"username: must be 1-128"),
    (
        "username DEL",
        _doc(auth={"basic": {"username": "a\x7f", "password": "p"}}),
        r"username: must be 1-128",
    ),
    (
        "username NUL",
        _doc(auth={"basic": {"username": "a\x00", "password": "p"}}),
        r"username: must be 1-128",
    ),
    (
        "username trailing newline",
        _doc(auth={"basic": {"username": "stripe\n", "password": "p"}}),
        r"username: must be 1-128",
    ),
    (
        "username too long",
        _doc(auth={"basic": {"username": "u" * 129, "password": "p"}}),
        r"username: must be 1-128",
    ),
    # request
    ("request not a mapping", _doc(request=["a"]), r"^webhook\.request: must be a mapping"),
    ("request unknown part", _doc(request={"cookies": []}), r"^webhook\.request: unknown key\(s\) cookies"),
    (
        "headers not a list",
        _doc(**_request(headers={"name": "X"})),
        r"^webhook\.request\.headers: must be a list",
    ),
    (
        "headers item not a mapping",
        _doc(**_request(headers=["X-A"])),
        r"^webhook\.request\.headers\[0\]: must be a mapping",
    ),
    (
        "header unknown key",
        _doc(**_request(headers=[{"name": "X-A", "path": "a"}])),
        r"^webhook\.request\.headers\[0\]: unknown key\(s\) path",
    ),
    (
        "header name missing",
        _doc(**_request(headers=[{"alias": "a"}])),
        r"^webhook\.request\.headers\[0\]\.name: must be a string",
    ),
    (
        "header name empty",
        _doc(**_request(headers=[{"name": ""}])),
        r"headers\[0\]\.name: '' is not a valid header name",
    ),
    (
        "header name space",
        _doc(**_request(headers=[{"name": "X A"}])),
        r"headers\[0\]\.name: 'X A' is not a valid header name",
    ),
    ("header name colon", _doc(**_request(headers=[{"name": "X:A"}])), r"is not a valid header name"),
    ("header name non-ascii", _doc(**_request(headers=[{"name": "X-é"}])), r"is not a valid header name"),
    ("header name newline", _doc(**_request(headers=[{"name": "X-A\n"}])), r"is not a valid header name"),
    ("header name too long", _doc(**_request(headers=[{"name": "X" * 129}])), r"is not a valid header name"),
    (
        "header Authorization",
        _doc(**_request(headers=[{"name": "Authorization"}])),
        r"^webhook\.request\.headers\[0\]\.name: Authorization may never be passed to a run",
    ),
    (
        "header authorization lower",
        _doc(**_request(headers=[{"name": "authorization"}])),
        r"may never be passed to a run",
    ),
    (
        "header Proxy-Authorization",
        _doc(**_request(headers=[{"name": "Proxy-Authorization"}])),
        r"may never be passed",
    ),
    ("header Cookie", _doc(**_request(headers=[{"name": "Cookie"}])), r"Cookie may never be passed to a run"),
    ("header COOKIE", _doc(**_request(headers=[{"name": "COOKIE"}])), r"may never be passed to a run"),
    (
        "header Set-Cookie",
        _doc(**_request(headers=[{"name": "Set-Cookie"}])),
        r"may never be passed to a run",
    ),
    (
        "header twice",
        _doc(**_request(headers=[{"name": "X-A"}, {"name": "X-A"}])),
        r"^webhook\.request\.headers\[1\]\.name: header X-A is listed twice",
    ),
    (
        "header twice other case",
        _doc(**_request(headers=[{"name": "X-A"}, {"name": "x-a"}])),
        r"headers\[1\]\.name: header x-a is listed twice",
    ),
    ("body not a list", _doc(**_request(body="a")), r"^webhook\.request\.body: must be a list"),
    (
        "body item not a mapping",
        _doc(**_request(body=["a"])),
        r"^webhook\.request\.body\[0\]: must be a mapping",
    ),
    (
        "body unknown key",
        _doc(**_request(body=[{"path": "a", "name": "a"}])),
        r"^webhook\.request\.body\[0\]: unknown key\(s\) name",
    ),
    (
        "body path missing",
        _doc(**_request(body=[{"alias": "a"}])),
        r"^webhook\.request\.body\[0\]\.path: must be a string",
    ),
    ("body path int", _doc(**_request(body=[{"path": 0}])), r"body\[0\]\.path: must be a string"),
    (
        "body path empty",
        _doc(**_request(body=[{"path": ""}])),
        r"^webhook\.request\.body\[0\]\.path: path is empty",
    ),
    (
        "body path leading dot",
        _doc(**_request(body=[{"path": ".a"}])),
        r"^webhook\.request\.body\[0\]\.path: ",
    ),
    (
        "body path trailing dot",
        _doc(**_request(body=[{"path": "a."}])),
        r"body\[0\]\.path: .*expected a key after '\.'",
    ),
    ("body path double dot", _doc(**_request(body=[{"path": "a..b"}])), r"body\[0\]\.path: "),
    ("body path unclosed bracket", _doc(**_request(body=[{"path": "a[0"}])), r"body\[0\]\.path: "),
    ("body path negative index", _doc(**_request(body=[{"path": "a[-1]"}])), r"body\[0\]\.path: "),
    ("body path leading zero", _doc(**_request(body=[{"path": "a[01]"}])), r"body\[0\]\.path: "),
    ("body path space", _doc(**_request(body=[{"path": "a b"}])), r"body\[0\]\.path: "),
    (
        "body path too long",
        _doc(**_request(body=[{"path": "a" * 1025}])),
        r"body\[0\]\.path: path is longer than 1024",
    ),
    (
        "body path too many segments",
        _doc(**_request(body=[{"path": ".".join("a" * 65)}])),
        r"body\[0\]\.path: path has more than 64 segments",
    ),
    ("query path bad", _doc(**_request(query=[{"path": "q[x]"}])), r"^webhook\.request\.query\[0\]\.path: "),
    (
        "query path twice",
        _doc(**_request(query=[{"path": "a"}, {"path": "b"}, {"path": "a"}])),
        r"^webhook\.request\.query\[2\]\.path: path 'a' is listed twice",
    ),
    (
        "body path twice in two spellings",
        _doc(**_request(body=[{"path": "a.b"}, {"path": 'a["b"]'}])),
        r"^webhook\.request\.body\[1\]\.path: path 'a\[\"b\"\]' is listed twice",
    ),
    # aliases
    (
        "alias int",
        _doc(**_request(body=[{"path": "a", "alias": 1}])),
        r"^webhook\.request\.body\[0\]\.alias: must be a string",
    ),
    (
        "alias empty",
        _doc(**_request(body=[{"path": "a", "alias": ""}])),
        r"body\[0\]\.alias: alias '' must be an identifier",
    ),
    (
        "alias leading digit",
        _doc(**_request(body=[{"path": "a", "alias": "1a"}])),
        r"alias '1a' must be an identifier",
    ),
    (
        "alias dash",
        _doc(**_request(body=[{"path": "a", "alias": "first-a"}])),
        r"alias 'first-a' must be an identifier",
    ),
    ("alias dot", _doc(**_request(body=[{"path": "a", "alias": "a.b"}])), r"must be an identifier"),
    ("alias space", _doc(**_request(body=[{"path": "a", "alias": "a b"}])), r"must be an identifier"),
    (
        "alias non-ascii",
        _doc(**_request(body=[{"path": "a", "alias": "montant_é"}])),
        r"must be an identifier",
    ),
    (
        "alias trailing newline",
        _doc(**_request(body=[{"path": "a", "alias": "amount\n"}])),
        r"must be an identifier",
    ),
    ("alias too long", _doc(**_request(body=[{"path": "a", "alias": "a" * 65}])), r"must be an identifier"),
    (
        "alias headers",
        _doc(**_request(body=[{"path": "a", "alias": "headers"}])),
        r"^webhook\.request\.body\[0\]\.alias: alias 'headers' is reserved \(body, headers, query, webhook\)",
    ),
    (
        "alias query",
        _doc(**_request(query=[{"path": "a", "alias": "query"}])),
        r"query\[0\]\.alias: alias 'query' is reserved",
    ),
    (
        "alias body",
        _doc(**_request(headers=[{"name": "X-A", "alias": "body"}])),
        r"headers\[0\]\.alias: alias 'body' is reserved",
    ),
    (
        "alias webhook",
        _doc(**_request(body=[{"path": "a", "alias": "webhook"}])),
        r"alias 'webhook' is reserved",
    ),
    (
        "alias twice in body",
        _doc(**_request(body=[{"path": "a", "alias": "x"}, {"path": "b", "alias": "x"}])),
        r"^request: alias 'x' is used twice",
    ),
    (
        "alias in headers and query",
        _doc(**_request(headers=[{"name": "X-A", "alias": "x"}], query=[{"path": "a", "alias": "x"}])),
        r"alias 'x' is used twice",
    ),
    (
        "alias in query and body",
        _doc(**_request(query=[{"path": "a", "alias": "x"}], body=[{"path": "a", "alias": "x"}])),
        r"alias 'x' is used twice",
    ),
    (
        "alias in headers and body",
        _doc(**_request(headers=[{"name": "X-A", "alias": "x"}], body=[{"path": "b", "alias": "x"}])),
        r"alias 'x' is used twice",
    ),
    # response
    ("response not a mapping", _doc(response="ok"), r"^webhook\.response: must be a mapping"),
    ("response unknown key", _doc(response={"code": 200}), r"^webhook\.response: unknown key\(s\) code"),
    (
        "status 199",
        _doc(response={"status": 199}),
        r"^webhook\.response\.status: 199 must be an integer from 200 to 299",
    ),
    (
        "status 300",
        _doc(response={"status": 300}),
        r"^webhook\.response\.status: 300 must be an integer from 200 to 299",
    ),
    ("status 302", _doc(response={"status": 302}), r"response\.status: 302"),
    ("status 404", _doc(response={"status": 404}), r"response\.status: 404"),
    ("status 500", _doc(response={"status": 500}), r"response\.status: 500"),
    ("status string", _doc(response={"status": "200"}), r"response\.status: '200' must be an integer"),
    ("status float", _doc(response={"status": 200.0}), r"response\.status: 200\.0 must be an integer"),
    ("status bool", _doc(response={"status": True}), r"response\.status: True must be an integer"),
    ("status null", _doc(response={"status": None}), r"response\.status: None must be an integer"),
    (
        "response headers list",
        _doc(response={"headers": [["X-A", "1"]]}),
        r"^webhook\.response\.headers: must be a mapping",
    ),
    (
        "response header name bad",
        _doc(response={"headers": {"X A": "1"}}),
        r"^webhook\.response\.headers: 'X A' is not a valid header name",
    ),
    (
        "response header name newline",
        _doc(response={"headers": {"X-A\n": "1"}}),
        r"response\.headers: .* is not a valid header name",
    ),
    (
        "response header name non-string",
        _doc(response={"headers": {1: "1"}}),
        r"^webhook\.response\.headers: key 1 must be a string",
    ),
    (
        "response Content-Type",
        _doc(response={"headers": {"Content-Type": "text/html"}}),
        r"^webhook\.response\.headers: Content-Type is not allowed in a response",
    ),
    (
        "response content-length",
        _doc(response={"headers": {"content-length": "1"}}),
        r"content-length is not allowed",
    ),
    (
        "response Transfer-Encoding",
        _doc(response={"headers": {"Transfer-Encoding": "chunked"}}),
        r"is not allowed in a response",
    ),
    ("response Connection", _doc(response={"headers": {"Connection": "close"}}), r"not allowed"),
    (
        "response Set-Cookie",
        _doc(response={"headers": {"Set-Cookie": "a=b"}}),
        r"Set-Cookie is not allowed",
    ),
    (
        "response header value CR",
        _doc(response={"headers": {"X-A": "a\rb"}}),
        r"^webhook\.response\.headers\.X-A: must be one line of at most 4096 characters",
    ),
    (
        "response header value LF",
        _doc(response={"headers": {"X-A": "a\nSet-Cookie: x=1"}}),
        r"headers\.X-A: must be one line",
    ),
    (
        "response header value CRLF",
        _doc(response={"headers": {"X-A": "a\r\n"}}),
        r"headers\.X-A: must be one line",
    ),
    (
        "response header value NUL",
        _doc(response={"headers": {"X-A": "a\x00"}}),
        r"headers\.X-A: must be one line",
    ),
    (
        "response header value too long",
        _doc(response={"headers": {"X-A": "v" * 4097}}),
        r"headers\.X-A: must be one line",
    ),
    (
        "response header value null",
        _doc(response={"headers": {"X-A": None}}),
        r"^webhook\.response\.headers\.X-A: must be a string",
    ),
    (
        "response header value bool",
        _doc(response={"headers": {"X-A": True}}),
        r"headers\.X-A: must be a string",
    ),
    (
        "response header value list",
        _doc(response={"headers": {"X-A": ["a"]}}),
        r"headers\.X-A: must be a string",
    ),
    (
        "body int",
        _doc(response={"body": 1}),
        r"^webhook\.response\.body: must be a string, or a JSON object or array",
    ),
    (
        "body float",
        _doc(response={"body": 1.5}),
        r"response\.body: must be a string, or a JSON object or array",
    ),
    ("body bool", _doc(response={"body": True}), r"response\.body: must be a string"),
    (
        "body NaN inside",
        _doc(response={"body": {"a": math.nan}}),
        r"^webhook\.response\.body: is not JSON-serialisable",
    ),
    ("body set inside", _doc(response={"body": {"a": {1, 2}}}), r"response\.body: is not JSON-serialisable"),
    ("body bytes inside", _doc(response={"body": [b"x"]}), r"response\.body: is not JSON-serialisable"),
    (
        "body too large",
        _doc(response={"body": LONG_BODY}),
        r"^webhook\.response\.body: is larger than 64 KiB",
    ),
    (
        "204 with body",
        _doc(response={"status": 204, "body": "ok"}),
        r"^webhook\.response\.body: must be empty with status 204",
    ),
    (
        "204 with object body",
        _doc(response={"status": 204, "body": {}}),
        r"response\.body: must be empty with status 204",
    ),
    (
        "205 with body",
        _doc(response={"status": 205, "body": "x"}),
        r"response\.body: must be empty with status 205",
    ),
    # sync
    ("sync not a mapping", _doc(sync=25), r"^webhook\.sync: must be a mapping"),
    ("sync unknown key", _doc(sync={"timeout": 25}), r"^webhook\.sync: unknown key\(s\) timeout"),
    (
        "timeout zero",
        _doc(sync={"timeout_seconds": 0}),
        r"^webhook\.sync\.timeout_seconds: must be a number of seconds in \(0, 3600\]",
    ),
    ("timeout negative", _doc(sync={"timeout_seconds": -1}), r"sync\.timeout_seconds: must be a number"),
    ("timeout too large", _doc(sync={"timeout_seconds": 3601}), r"sync\.timeout_seconds: must be a number"),
    ("timeout string", _doc(sync={"timeout_seconds": "25"}), r"sync\.timeout_seconds: must be a number"),
    ("timeout bool", _doc(sync={"timeout_seconds": True}), r"sync\.timeout_seconds: must be a number"),
    ("timeout nan", _doc(sync={"timeout_seconds": math.nan}), r"sync\.timeout_seconds: must be a number"),
    (
        "timeout infinity",
        _doc(sync={"timeout_seconds": math.inf}),
        r"sync\.timeout_seconds: must be a number",
    ),
]


@pytest.mark.parametrize(("doc", "message"), [(d, m) for _, d, m in INVALID], ids=[n for n, _, _ in INVALID])
def test_parse_document_invalid_field_config_error(doc: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_document(doc)


def test_parse_document_where_prefixes_messages() -> None:
    with pytest.raises(ConfigError, match=r"^webhooks\[3\]\.mode: "):
        parse_document(_doc(mode="x"), where="webhooks[3]")


def test_parse_document_error_never_echoes_password() -> None:
    with pytest.raises(ConfigError) as info:
        parse_document(_doc(auth=_basic(password=SECRET, password_env="X")))
    assert SECRET not in str(info.value)
    with pytest.raises(ConfigError) as info:
        parse_document(_doc(auth=_basic(password=SECRET * 100)))
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


# -- to_document -----------------------------------------------------------------------


def _webhook_with_auth(password_env: str | None) -> Webhook:
    webhook = parse_document(
        _doc(
            request={"headers": [{"name": "X-A", "alias": "a"}], "body": [{"path": "b.c"}]},
            response={"status": 202, "headers": {"X-B": "1"}, "body": {"ok": True}},
            sync={"timeout_seconds": 2.5},
        )
    ).webhook
    return webhook.with_changes(auth=BasicAuth("stripe", HASH, password_env))


@pytest.mark.parametrize("password_env", [None, "MY_PASSWORD"])
def test_to_document_never_contains_password_or_hash(password_env: str | None) -> None:
    doc = to_document(_webhook_with_auth(password_env))
    text = json.dumps(doc)
    assert HASH not in text
    assert "scrypt" not in text
    assert "c2FsdA" not in text and "aGFzaA" not in text
    assert set(doc["auth"]["basic"]) == {"username", "password_env"}  # type: ignore[index]


def test_to_document_literal_password_written_as_conventional_env() -> None:
    doc = to_document(_webhook_with_auth(None))
    assert doc["auth"] == {
        "basic": {"username": "stripe", "password_env": "WEBHOOK_PASSWORD_HOOK_0123456789"}
    }


def test_to_document_password_env_kept() -> None:
    doc = to_document(_webhook_with_auth("MY_PASSWORD"))
    assert doc["auth"] == {"basic": {"username": "stripe", "password_env": "MY_PASSWORD"}}


@pytest.mark.parametrize(
    ("webhook_id", "name"),
    [
        ("pay-3f9c2a7d81e4b6a0", "WEBHOOK_PASSWORD_PAY_3F9C2A7D81E4B6A0"),
        ("a_b-c-DE", "WEBHOOK_PASSWORD_A_B_C_DE"),
        ("-leading", "WEBHOOK_PASSWORD__LEADING"),
    ],
)
def test_default_password_env_is_env_name(webhook_id: str, name: str) -> None:
    assert default_password_env(webhook_id) == name
    parse_document(_doc(auth=_basic(password_env=name)))  # a valid password_env


def test_to_document_full_shape() -> None:
    webhook = parse_document(
        {
            "id": "pay-3f9c2a7d81e4b6a0",
            "dag_id": "payment_callback",
            "mode": "sync",
            "enabled": False,
            "request": {
                "headers": [{"name": "X-Request-Id", "alias": "request_id"}, {"name": "Date"}],
                "query": [{"path": 'query[0]["a"]', "alias": "first_a"}],
                "body": [{"path": "a"}, {"path": "b.c", "alias": "amount"}],
            },
            "response": {"status": 201, "headers": {"X-Handled-By": "airflow"}, "body": "ok"},
            "sync": {"timeout_seconds": 25.0},
        }
    ).webhook
    assert to_document(webhook) == {
        "id": "pay-3f9c2a7d81e4b6a0",
        "dag_id": "payment_callback",
        "mode": "sync",
        "enabled": False,
        "request": {
            "headers": [{"name": "X-Request-Id", "alias": "request_id"}, {"name": "Date"}],
            "query": [{"path": "query[0].a", "alias": "first_a"}],
            "body": [{"path": "a"}, {"path": "b.c", "alias": "amount"}],
        },
        "response": {"status": 201, "headers": {"X-Handled-By": "airflow"}, "body": "ok"},
        "sync": {"timeout_seconds": 25},
    }


def test_to_document_minimal_shape() -> None:
    assert to_document(parse_document(_doc()).webhook) == {
        "id": "hook-0123456789",
        "dag_id": "dag_a",
        "mode": "async",
        "enabled": True,
        "response": {"status": 200, "body": "ok"},
    }


def test_to_document_fractional_timeout_kept() -> None:
    assert to_document(parse_document(_doc(sync={"timeout_seconds": 2.5})).webhook)["sync"] == {
        "timeout_seconds": 2.5
    }


def test_to_document_is_json_serialisable() -> None:
    json.dumps(to_document(_webhook_with_auth(None)), allow_nan=False)


# -- round trip ------------------------------------------------------------------------


@pytest.mark.parametrize("password_env", [None, "MY_PASSWORD"])
def test_parse_document_to_document_round_trip_with_auth(password_env: str | None) -> None:
    webhook = _webhook_with_auth(password_env)
    parsed = parse_document(to_document(webhook))
    assert parsed.webhook == webhook.with_changes(auth=None)
    assert parsed.username == "stripe"
    assert parsed.password == PasswordInput(env=password_env or "WEBHOOK_PASSWORD_HOOK_0123456789")
    assert parsed.id_given


def test_to_document_round_trip_204() -> None:
    webhook = parse_document(_doc(response={"status": 204})).webhook
    assert parse_document(to_document(webhook)).webhook == webhook


_IDENT = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True).filter(
    lambda a: a not in {"headers", "query", "body", "webhook"}
)
_HEADER_NAME = st.from_regex(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}", fullmatch=True).filter(
    lambda n: n.lower() not in {"authorization", "proxy-authorization", "cookie", "set-cookie"}
)
_SEGMENT = st.text(alphabet=st.characters(codec="utf-8"), max_size=6) | st.integers(0, 1000)
_PATH = st.lists(_SEGMENT, min_size=1, max_size=4).map(lambda segments: render_path(segments))
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)
_HEADER_VALUE = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=20)


@st.composite
def webhook_documents(draw: st.DrawFn) -> dict[str, Any]:
    aliases = draw(st.lists(_IDENT, unique=True, max_size=6))
    pool = iter(aliases)

    def alias() -> str | None:
        return next(pool, None) if draw(st.booleans()) else None

    doc: dict[str, Any] = {"dag_id": draw(st.from_regex(r"[A-Za-z0-9_.-]{1,30}", fullmatch=True))}
    if draw(st.booleans()):
        doc["id"] = draw(st.from_regex(r"[A-Za-z0-9_-]{8,64}", fullmatch=True))
    if draw(st.booleans()):
        doc["mode"] = draw(st.sampled_from(["async", "sync"]))
    if draw(st.booleans()):
        doc["enabled"] = draw(st.booleans())
    if draw(st.booleans()):
        doc["auth"] = {"basic": {"username": "u", "password_env": "SOME_VAR"}}
    request: dict[str, Any] = {}
    headers = draw(st.lists(_HEADER_NAME, unique_by=str.lower, max_size=3))
    if headers:
        request["headers"] = [{"name": h, **({"alias": a} if (a := alias()) else {})} for h in headers]
    for part in ("query", "body"):
        paths = draw(st.lists(_PATH, unique=True, max_size=3))
        if paths:
            request[part] = [{"path": p, **({"alias": a} if (a := alias()) else {})} for p in paths]
    if request:
        doc["request"] = request
    if draw(st.booleans()):
        status = draw(st.integers(200, 299))
        response: dict[str, Any] = {"status": status}
        if status not in (204, 205):
            response["body"] = draw(
                st.text(max_size=10)
                | st.lists(_JSON, max_size=3)
                | st.dictionaries(st.text(max_size=4), _JSON, max_size=3)
            )
        names = draw(st.lists(_HEADER_NAME, unique_by=str.lower, max_size=3))
        names = [n for n in names if response_header_allowed(n)]
        if names:
            response["headers"] = {n: draw(_HEADER_VALUE) for n in names}
        doc["response"] = response
    if draw(st.booleans()):
        doc["sync"] = {"timeout_seconds": draw(st.integers(1, 3600) | st.floats(0.001, 3600))}
    return doc


@given(webhook_documents())
def test_parse_document_to_document_round_trip_property(doc: dict[str, Any]) -> None:
    parsed = parse_document(doc)
    webhook = parsed.webhook
    if parsed.username is not None:  # as the registry stores it
        assert parsed.password is not None
        webhook = webhook.with_changes(auth=BasicAuth(parsed.username, HASH, parsed.password.env))
    again = parse_document(to_document(webhook))
    assert again.webhook == parsed.webhook
    assert (again.username, again.password) == (parsed.username, parsed.password)
    assert to_document(again.webhook) == to_document(parsed.webhook)
    # a document survives JSON (the stored form, the management API) unchanged
    assert parse_document(json.loads(json.dumps(to_document(webhook)))).webhook == parsed.webhook


@given(
    st.dictionaries(
        st.sampled_from(["id", "dag_id", "mode", "enabled", "auth", "request", "response", "sync", "x"]),
        st.none()
        | st.booleans()
        | st.integers()
        | st.text(max_size=8)
        | st.lists(st.text(max_size=3), max_size=2)
        | st.dictionaries(st.text(max_size=8), st.text(max_size=3) | st.integers(), max_size=2),
        max_size=8,
    )
)
def test_parse_document_arbitrary_input_only_config_error(doc: dict[str, Any]) -> None:
    with contextlib.suppress(ConfigError):  # anything else escaping is a bug
        parse_document(doc)


def test_dedupe_filter_and_ignored_response_round_trip() -> None:
    doc = {
        "id": "hook-model-dedupe1",
        "dag_id": "dag_a",
        "auth": {"signature": {"scheme": "github", "secret_env": "GH_SECRET"}},
        "dedupe": {"key": "auto"},
        "filter": [{"header": "X-GitHub-Event", "in": ["push", "release"]}, {"body": "ref", "exists": True}],
        "ignored_response": {"status": 202, "body": {"skipped": True}},
    }
    parsed = parse_document(doc)
    webhook = parsed.webhook
    assert webhook.dedupe is not None and webhook.dedupe.auto
    assert [c.op for c in webhook.filters] == ["in", "exists"]
    assert webhook.ignored_response is not None and webhook.ignored_response.status == 202
    out = to_document(webhook)
    assert out["dedupe"] == {"key": "auto"}
    assert out["filter"] == doc["filter"]
    assert out["ignored_response"] == {"status": 202, "body": {"skipped": True}}
    again = parse_document({**out, "auth": doc["auth"]}).webhook
    assert again == webhook


def test_dedupe_auto_needs_a_signature_unless_stored() -> None:
    doc = {"id": "hook-model-dedupe2", "dag_id": "dag_a", "dedupe": {"key": "auto"}}
    with pytest.raises(ConfigError, match=r"webhook.dedupe.key: auto takes the sender's delivery key"):
        parse_document(doc)
    # a stored row's definition has no auth (kept in columns of its own): checked when written
    assert parse_document(doc, stored=True).webhook.dedupe is not None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"dedupe": {"key": "header:"}}, "webhook.dedupe.key"),
        ({"filter": [{"body": "a", "equals": 1, "in": [1]}]}, "webhook.filter[0]"),
        ({"ignored_response": {"status": 500}}, "webhook.ignored_response.status"),
    ],
)
def test_dedupe_filter_ignored_response_errors_name_the_field(extra: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_document({"dag_id": "dag_a", **extra})


@pytest.mark.parametrize(
    "name",
    ["Refresh", "Clear-Site-Data", "Access-Control-Allow-Origin", "Content-Security-Policy", "Location"],
)
def test_parse_document_response_header_outside_allow_list_config_error(name: str) -> None:
    with pytest.raises(ConfigError, match=f"{name} is not allowed in a response"):
        parse_document(_doc(response={"headers": {name: "x"}}))


def test_parse_document_stored_refused_header_dropped() -> None:
    doc = _doc(response={"headers": {"Refresh": "0; url=https://evil", "X-Ok": "1"}})
    webhook = parse_document(doc, stored=True).webhook
    assert webhook.response.headers == (("X-Ok", "1"),)


def test_allow_empty_body_defaults_false_and_round_trips() -> None:
    assert parse_document({"dag_id": "d"}).webhook.allow_empty_body is False
    doc = {"id": "hook-empty-000001", "dag_id": "d", "request": {"allow_empty_body": True}}
    webhook = parse_document(doc).webhook
    assert webhook.allow_empty_body is True
    rendered = to_document(webhook)
    assert rendered["request"] == {"allow_empty_body": True}
    assert parse_document(rendered).webhook == webhook
    assert "request" not in to_document(parse_document({"dag_id": "d"}).webhook)


def test_allow_empty_body_not_a_bool_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"webhook\.request\.allow_empty_body: must be true or false"):
        parse_document({"dag_id": "d", "request": {"allow_empty_body": "yes"}})
