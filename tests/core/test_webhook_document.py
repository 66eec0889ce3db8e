"""A webhook definition written back as its declarative document, and read again."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_webhook_trigger.core.definition import (
    BasicAuth,
    PasswordInput,
    Webhook,
    parse_document,
)
from airflow_webhook_trigger.core.errors import ConfigError
from airflow_webhook_trigger.core.paths import render_path
from airflow_webhook_trigger.core.response import response_header_allowed
from airflow_webhook_trigger.core.webhook_document import default_password_env, to_document
from tests.core.documents import HASH, auth_basic, doc_of

# -- to_document -----------------------------------------------------------------------


def _webhook_with_auth(password_env: str | None) -> Webhook:
    webhook = parse_document(
        doc_of(
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
    parse_document(doc_of(auth=auth_basic(password_env=name)))  # a valid password_env


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
    assert to_document(parse_document(doc_of()).webhook) == {
        "id": "hook-0123456789",
        "dag_id": "dag_a",
        "mode": "async",
        "enabled": True,
        "response": {"status": 200, "body": "ok"},
    }


def test_to_document_fractional_timeout_kept() -> None:
    assert to_document(parse_document(doc_of(sync={"timeout_seconds": 2.5})).webhook)["sync"] == {
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
    webhook = parse_document(doc_of(response={"status": 204})).webhook
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
        parse_document(doc_of(response={"headers": {name: "x"}}))


def test_parse_document_stored_refused_header_dropped() -> None:
    doc = doc_of(response={"headers": {"Refresh": "0; url=https://evil", "X-Ok": "1"}})
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
