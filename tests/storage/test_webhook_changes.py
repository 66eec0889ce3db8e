from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from airflow_webhook_trigger.core.auth import password_matches_hash
from airflow_webhook_trigger.core.errors import ConfigError, Conflict
from airflow_webhook_trigger.core.webhook_document import to_document
from airflow_webhook_trigger.storage.webhook_changes import apply_documents, load_file_documents, upsert

pytestmark = pytest.mark.airflow

SECRET = "s3cret-Pa55word"
OTHER_SECRET = "another-Pa55word"
ENV = {"HOOK_PASSWORD": SECRET}


def _doc(webhook_id: str | None = "hook-0123456789", **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"dag_id": "wt_plain"}
    if webhook_id is not None:
        doc["id"] = webhook_id
    doc.update(changes)
    return doc


def _env_auth(var: str = "HOOK_PASSWORD", username: str = "stripe") -> dict[str, Any]:
    return {"basic": {"username": username, "password_env": var}}


def _literal_auth(password: str = SECRET, username: str = "stripe") -> dict[str, Any]:
    return {"basic": {"username": username, "password": password}}


FIELDS = {
    "request": {
        "headers": [{"name": "X-Request-Id", "alias": "request_id"}],
        "query": [{"path": "query[0].a", "alias": "first_a"}],
        "body": [{"path": "b.c", "alias": "amount"}],
    },
    "response": {"status": 202, "headers": {"X-Handled-By": "airflow"}, "body": {"accepted": True}},
    "sync": {"timeout_seconds": 25},
}


def _raw_rows() -> list[dict[str, Any]]:
    from sqlalchemy import select

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.webhook_store import webhooks_table

    with db_session() as session:
        return [dict(row._mapping) for row in session.execute(select(webhooks_table)).all()]


# -- upsert ----------------------------------------------------------------------------


def test_upsert_new_id_created(store: Any) -> None:
    applied = upsert(store, _doc(**FIELDS), env={})
    assert applied.action == "created"
    assert store.get("hook-0123456789") == applied.webhook


def test_upsert_without_id_generated_id(store: Any) -> None:
    applied = upsert(store, _doc(None), env={})
    assert applied.action == "created"
    assert applied.webhook.id != "hook-0123456789"
    assert len(applied.webhook.id) >= 16
    assert [w.id for w in store.list()] == [applied.webhook.id]


def test_upsert_create_only_existing_id_conflict(store: Any) -> None:
    upsert(store, _doc(), env={})
    with pytest.raises(Conflict, match="already exists"):
        upsert(store, _doc(mode="sync"), env={}, create_only=True)
    assert store.require("hook-0123456789").mode == "async"


def test_upsert_create_only_without_id_always_new(store: Any) -> None:
    first = upsert(store, _doc(None), env={}, create_only=True)
    second = upsert(store, _doc(None), env={}, create_only=True)
    assert first.webhook.id != second.webhook.id
    assert len(store.list()) == 2


def test_upsert_same_document_unchanged(store: Any) -> None:
    upsert(store, _doc(**FIELDS), env={})
    assert upsert(store, _doc(**FIELDS), env={}).action == "unchanged"


def test_upsert_invalid_document_config_error(store: Any) -> None:
    with pytest.raises(ConfigError, match=r"^webhook\.mode: "):
        upsert(store, _doc(mode="nope"), env={})
    assert store.list() == []


def test_upsert_password_env_unset_new_webhook_config_error(store: Any) -> None:
    with pytest.raises(ConfigError, match=r"password_env: environment variable HOOK_PASSWORD is not set"):
        upsert(store, _doc(auth=_env_auth()), env={})
    assert store.list() == []


def test_upsert_password_env_empty_config_error(store: Any) -> None:
    with pytest.raises(ConfigError, match="HOOK_PASSWORD is not set"):
        upsert(store, _doc(auth=_env_auth()), env={"HOOK_PASSWORD": ""})


@pytest.mark.parametrize(
    ("auth", "env"),
    [(_env_auth(), ENV), (_literal_auth(), {})],
    ids=["password_env", "literal"],
)
def test_upsert_password_stored_as_hash(store: Any, auth: dict[str, Any], env: dict[str, str]) -> None:
    webhook = upsert(store, _doc(auth=auth), env=env).webhook
    assert webhook.auth is not None
    assert webhook.auth.password_hash.startswith("scrypt$")
    assert password_matches_hash(SECRET, webhook.auth.password_hash)
    [row] = _raw_rows()
    assert password_matches_hash(SECRET, row["auth_password_hash"])
    assert SECRET not in json.dumps({k: str(v) for k, v in row.items()})


def test_upsert_password_env_name_recorded(store: Any) -> None:
    webhook = upsert(store, _doc(auth=_env_auth()), env=ENV).webhook
    assert webhook.auth is not None
    assert webhook.auth.password_env == "HOOK_PASSWORD"
    literal = upsert(store, _doc("hook-literal-001", auth=_literal_auth()), env={}).webhook
    assert literal.auth is not None and literal.auth.password_env is None


def test_upsert_new_password_from_env_updated(store: Any) -> None:
    old = upsert(store, _doc(auth=_env_auth()), env=ENV).webhook
    applied = upsert(store, _doc(auth=_env_auth()), env={"HOOK_PASSWORD": OTHER_SECRET})
    assert applied.action == "updated"
    assert applied.webhook.auth is not None and old.auth is not None
    assert applied.webhook.auth.password_hash != old.auth.password_hash
    assert password_matches_hash(OTHER_SECRET, store.require(old.id).auth.password_hash)


def test_upsert_new_literal_password_updated(store: Any) -> None:
    upsert(store, _doc(auth=_literal_auth()), env={})
    applied = upsert(store, _doc(auth=_literal_auth(OTHER_SECRET)), env={})
    assert applied.action == "updated"
    assert password_matches_hash(OTHER_SECRET, store.require("hook-0123456789").auth.password_hash)


def test_upsert_same_literal_password_keeps_hash(store: Any) -> None:
    first = upsert(store, _doc(auth=_literal_auth()), env={}).webhook
    second = upsert(store, _doc(auth=_literal_auth()), env={})
    assert second.action == "unchanged"
    assert second.webhook.auth == first.auth


def test_upsert_username_changed_with_env_unset_config_error(store: Any) -> None:
    upsert(store, _doc(auth=_env_auth()), env=ENV)
    with pytest.raises(ConfigError, match="HOOK_PASSWORD is not set"):
        upsert(store, _doc(auth=_env_auth(username="someone-else")), env={})
    assert store.require("hook-0123456789").auth.username == "stripe"


def test_upsert_auth_removed_updated(store: Any) -> None:
    upsert(store, _doc(auth=_env_auth()), env=ENV)
    applied = upsert(store, _doc(), env={})
    assert applied.action == "updated"
    assert store.require("hook-0123456789").auth is None
    [row] = _raw_rows()
    assert row["auth_password_hash"] is None


@pytest.mark.parametrize(
    ("change", "value"),
    [
        ("mode", "sync"),
        ("enabled", False),
        ("dag_id", "wt_params"),
        ("request", {"headers": [{"name": "X-Request-Id", "alias": "rid"}]}),
        ("request", {"headers": [{"name": "X-Request-Id", "alias": "request_id"}, {"name": "Date"}]}),
        ("request", {"query": [{"path": "query[1].a", "alias": "first_a"}]}),
        ("request", {"body": [{"path": "b.c"}]}),
        ("request", {}),
        ("response", {"status": 200, "headers": {"X-Handled-By": "airflow"}, "body": {"accepted": True}}),
        ("response", {"status": 202, "headers": {"X-Handled-By": "me"}, "body": {"accepted": True}}),
        ("response", {"status": 202, "body": {"accepted": True}}),
        ("response", {"status": 202, "headers": {"X-Handled-By": "airflow"}, "body": "ok"}),
        ("sync", {"timeout_seconds": 26}),
        ("sync", None),
        ("auth", _literal_auth()),
    ],
)
def test_upsert_changed_field_updated(store: Any, change: str, value: object) -> None:
    upsert(store, _doc(**FIELDS), env={})
    doc = {**_doc(**FIELDS), change: value}
    applied = upsert(store, doc, env={})
    assert applied.action == "updated"
    stored = store.require("hook-0123456789")
    assert stored == applied.webhook
    assert upsert(store, doc, env={}).action == "unchanged"


# -- warnings --------------------------------------------------------------------------


def test_upsert_chosen_id_without_auth_warns(store: Any) -> None:
    applied = upsert(store, _doc(), env={})
    [warning] = applied.warnings
    assert "hook-0123456789" in warning
    assert "guessable" in warning and "no auth" in warning


@pytest.mark.parametrize(
    ("doc", "env"),
    [
        (_doc(auth=_env_auth()), ENV),
        (_doc(auth=_literal_auth()), {}),
        (_doc(None), {}),
    ],
    ids=["chosen id, env password", "chosen id, literal password", "generated id"],
)
def test_upsert_no_warning(store: Any, doc: dict[str, Any], env: dict[str, str]) -> None:
    assert upsert(store, doc, env=env).warnings == ()


def test_upsert_update_of_stored_no_auth_webhook_no_warning(store: Any) -> None:
    """Export/update/PATCH carry the stored id: that is no newly chosen id."""
    created = upsert(store, _doc(None), env={}).webhook
    document = {**to_document(created), "mode": "sync"}
    applied = upsert(store, document, env={})
    assert applied.action == "updated"
    assert applied.warnings == ()


def test_upsert_auth_removed_from_chosen_id_warns(store: Any) -> None:
    upsert(store, _doc(auth=_env_auth()), env=ENV)
    assert upsert(store, _doc(), env={}).warnings != ()


# -- apply_documents -------------------------------------------------------------------

WITH_IDS = [
    _doc("hook-env-000001", auth=_env_auth(), **FIELDS),
    _doc("hook-literal-001", auth=_literal_auth()),
    _doc("hook-open-000001", dag_id="wt_params"),
]
WITHOUT_IDS = [
    _doc(None, auth=_env_auth(), **FIELDS),
    _doc(None, auth=_literal_auth()),
    _doc(None, dag_id="wt_params"),
    _doc(None, mode="sync"),
]


@pytest.mark.parametrize("documents", [WITH_IDS, WITHOUT_IDS], ids=["with ids", "without ids"])
def test_apply_documents_twice_second_all_unchanged(store: Any, documents: list[dict[str, Any]]) -> None:
    first = apply_documents(store, copy.deepcopy(documents), env=ENV)
    assert [a.action for a in first] == ["created"] * len(documents)
    stored = store.list()
    second = apply_documents(store, copy.deepcopy(documents), env=ENV)
    assert [a.action for a in second] == ["unchanged"] * len(documents)
    assert [a.webhook.id for a in second] == [a.webhook.id for a in first]
    assert store.list() == stored  # same rows, same hashes


def test_apply_documents_without_ids_env_unset_second_run_unchanged(store: Any) -> None:
    """The password variable is not set on the second run: the stored password is kept.

    The DAG has another webhook, sorted first, that is not this one.
    """
    upsert(store, _doc("00-other-webhook", auth=_literal_auth(username="other")), env={})
    doc = _doc(None, auth=_env_auth(), **FIELDS)
    [created] = apply_documents(store, [copy.deepcopy(doc)], env=ENV)
    [again] = apply_documents(store, [copy.deepcopy(doc)], env={})
    assert again.action == "unchanged"
    assert again.webhook == created.webhook
    assert len(store.list()) == 2


def test_apply_documents_with_id_env_unset_keeps_stored_password(store: Any) -> None:
    [created] = apply_documents(store, [_doc(auth=_env_auth())], env=ENV)
    [again] = apply_documents(store, [_doc(auth=_env_auth())], env={})
    assert again.action == "unchanged"
    assert again.webhook.auth == created.webhook.auth
    assert password_matches_hash(SECRET, store.require("hook-0123456789").auth.password_hash)


@pytest.mark.parametrize("documents", [WITH_IDS, WITHOUT_IDS], ids=["with ids", "without ids"])
def test_apply_documents_export_then_apply_env_unset_unchanged(
    store: Any, documents: list[dict[str, Any]]
) -> None:
    apply_documents(store, copy.deepcopy(documents), env=ENV)
    before = store.list()
    exported = [to_document(w) for w in before]
    text = json.dumps(exported)
    assert SECRET not in text and "scrypt" not in text
    results = apply_documents(store, exported, env={})
    assert [a.action for a in results] == ["unchanged"] * len(before)
    assert store.list() == before
    for webhook in store.list():
        if webhook.auth is not None:
            assert password_matches_hash(SECRET, webhook.auth.password_hash)


def test_apply_documents_export_of_literal_names_conventional_env(store: Any) -> None:
    apply_documents(store, [_doc(auth=_literal_auth())], env={})
    [exported] = [to_document(w) for w in store.list()]
    assert exported["auth"] == {
        "basic": {"username": "stripe", "password_env": "WEBHOOK_PASSWORD_HOOK_0123456789"}
    }
    # with that variable set to the same password the hash is kept
    [applied] = apply_documents(store, [exported], env={"WEBHOOK_PASSWORD_HOOK_0123456789": SECRET})
    assert password_matches_hash(SECRET, applied.webhook.auth.password_hash)


def test_apply_documents_changed_field_updated_others_unchanged(store: Any) -> None:
    apply_documents(store, copy.deepcopy(WITH_IDS), env=ENV)
    documents = copy.deepcopy(WITH_IDS)
    documents[1]["enabled"] = False
    results = apply_documents(store, documents, env=ENV)
    assert [a.action for a in results] == ["unchanged", "updated", "unchanged"]
    assert store.require("hook-literal-001").enabled is False


def test_apply_documents_new_document_created_others_unchanged(store: Any) -> None:
    apply_documents(store, copy.deepcopy(WITH_IDS), env=ENV)
    documents = [*copy.deepcopy(WITH_IDS), _doc("hook-new-0000001")]
    results = apply_documents(store, documents, env=ENV)
    assert [a.action for a in results] == ["unchanged", "unchanged", "unchanged", "created"]


def test_apply_documents_keeps_webhooks_not_in_file(store: Any) -> None:
    upsert(store, _doc("hook-manual-0001"), env={})
    apply_documents(store, [_doc()], env={})
    assert {w.id for w in store.list()} == {"hook-manual-0001", "hook-0123456789"}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (_doc("hook-bad-0000001", mode="x"), r"^webhooks\[2\]\.mode: "),
        (_doc("bad!"), r"^webhooks\[2\]\.id: "),
        ("not a mapping", r"^webhooks\[2\]: must be a mapping"),
        (
            _doc("hook-bad-0000001", auth=_env_auth("UNSET_PASSWORD")),
            r"^webhooks\[2\]\.auth\.basic\.password_env: environment variable UNSET_PASSWORD is not set",
        ),
        (_doc(None, auth=_env_auth("UNSET_PASSWORD")), r"UNSET_PASSWORD is not set"),
        (_doc("hook-env-000001"), r"^webhooks\[2\]\.id: 'hook-env-000001' is also the id of webhooks\[0\]"),
    ],
    ids=[
        "invalid field",
        "invalid id",
        "not a mapping",
        "password unset",
        "password unset no id",
        "same id twice",
    ],
)
def test_apply_documents_one_invalid_writes_nothing(store: Any, bad: object, message: str) -> None:
    documents = [_doc("hook-env-000001", auth=_env_auth()), _doc("hook-two-0000001"), bad]
    with pytest.raises(ConfigError, match=message):
        apply_documents(store, documents, env=ENV)
    assert store.list() == []


def test_apply_documents_invalid_leaves_existing_untouched(store: Any) -> None:
    apply_documents(store, copy.deepcopy(WITH_IDS), env=ENV)
    before = store.list()
    documents = copy.deepcopy(WITH_IDS)
    documents[0]["mode"] = "sync"
    documents[2]["response"] = {"status": 404}
    with pytest.raises(ConfigError, match=r"webhooks\[2\]\.response\.status"):
        apply_documents(store, documents, env=ENV)
    assert store.list() == before


def test_apply_documents_empty_list_nothing(store: Any) -> None:
    assert apply_documents(store, [], env={}) == []


def test_apply_documents_warnings_for_chosen_ids_without_auth(store: Any) -> None:
    results = apply_documents(store, copy.deepcopy(WITH_IDS), env=ENV)
    assert [bool(a.warnings) for a in results] == [False, False, True]
    assert "hook-open-000001" in results[2].warnings[0]


# -- load_file_documents ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "documents"),
    [
        ({"webhooks": [{"dag_id": "a"}]}, [{"dag_id": "a"}]),
        ({"webhooks": []}, []),
        ({"webhooks": None}, []),
        ({}, []),
    ],
)
def test_load_file_documents_valid(data: object, documents: list[object]) -> None:
    assert load_file_documents(data) == documents


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "must be a mapping with one key, 'webhooks'"),
        ([{"dag_id": "a"}], "must be a mapping with one key"),
        ("webhooks", "must be a mapping with one key"),
        ({"webhooks": [], "other": 1}, "must be a mapping with one key"),
        ({"webhooks": {"dag_id": "a"}}, r"^webhooks: must be a list"),
        ({"webhooks": "a"}, r"^webhooks: must be a list"),
    ],
)
def test_load_file_documents_invalid_config_error(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_file_documents(data)


def test_upsert_signature_removed_from_chosen_id_warns(store: Any) -> None:
    signed = {"signature": {"scheme": "github", "secret_env": "GH_TEST_SECRET"}}
    upsert(store, _doc(auth=signed), env={"GH_TEST_SECRET": "s"})
    [warning] = upsert(store, _doc(), env={}).warnings
    assert "guessable" in warning and "no auth" in warning
