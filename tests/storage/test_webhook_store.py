from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest

from airflow_webhook_trigger.core.auth import hash_password, password_matches_hash
from airflow_webhook_trigger.core.definition import BasicAuth, Webhook, parse_document
from airflow_webhook_trigger.core.errors import Conflict, NotFound

pytestmark = pytest.mark.airflow

SECRET = "s3cret-Pa55word"
PASSWORD_HASH = hash_password(SECRET)


def _webhook(webhook_id: str = "hook-0123456789", **doc: Any) -> Webhook:
    return parse_document({"id": webhook_id, "dag_id": "wt_plain", **doc}).webhook


FULL = _webhook(
    "hook-full-000001",
    mode="sync",
    enabled=False,
    request={
        "headers": [{"name": "X-Request-Id", "alias": "request_id"}, {"name": "Date"}],
        "query": [{"path": "query[0].a", "alias": "first_a"}],
        "body": [{"path": "a"}, {"path": 'b["c.d"]', "alias": "amount"}],
    },
    response={
        "status": 202,
        "headers": {"X-Handled-By": "airflow"},
        "body": {"accepted": True, "n": [1, 2.5]},
    },
    sync={"timeout_seconds": 12.5},
).with_changes(auth=BasicAuth("stripe", PASSWORD_HASH, "MY_PASSWORD"))


def _raw_rows() -> list[dict[str, Any]]:
    from sqlalchemy import select

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.webhook_store import webhooks_table

    with db_session() as session:
        return [dict(row._mapping) for row in session.execute(select(webhooks_table)).all()]


def test_store_create_then_get_same_webhook(store: Any) -> None:
    assert store.create(FULL) == FULL
    assert store.get(FULL.id) == FULL
    assert store.require(FULL.id) == FULL


def test_store_create_minimal_then_get_same_webhook(store: Any) -> None:
    webhook = _webhook()
    store.create(webhook)
    assert store.get(webhook.id) == webhook


@pytest.mark.parametrize(
    "webhook_id", ["hook-missing-01", "x", "", "a" * 65, "bad.id!", "abcdefgh\n", "a\x00bcdefgh"]
)
def test_store_get_unknown_or_malformed_id_none(store: Any, webhook_id: str) -> None:
    store.create(_webhook())
    assert store.get(webhook_id) is None


@pytest.mark.parametrize("webhook_id", ["hook-missing-01", "a\x00bcdefgh", "a" * 300])
def test_store_require_unknown_not_found(store: Any, webhook_id: str) -> None:
    with pytest.raises(NotFound, match="no webhook with id"):
        store.require(webhook_id)


def test_store_create_duplicate_id_conflict(store: Any) -> None:
    store.create(_webhook())
    with pytest.raises(Conflict, match="already exists"):
        store.create(_webhook(mode="sync"))
    assert store.get("hook-0123456789").mode == "async"  # the first one is untouched


def test_store_create_race_lost_conflict(store: Any) -> None:
    """Two replicas creating the same id at once: the loser gets Conflict, not a DB error."""
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.webhook_store import WebhookStore

    store.create(_webhook())

    class HidesExisting:
        """A session whose existence check misses the row, as a concurrent insert would."""

        def __init__(self, session: Any) -> None:
            self._session = session
            self._calls = 0

        def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
            self._calls += 1
            if self._calls == 1:
                return self._session.execute(statement.where(False), *args, **kwargs)
            return self._session.execute(statement, *args, **kwargs)

    @contextmanager
    def racing_sessions() -> Iterator[Any]:
        with db_session() as session:
            yield HidesExisting(session)

    with pytest.raises(Conflict, match="already exists"):
        WebhookStore(racing_sessions).create(_webhook(mode="sync"))
    assert store.get("hook-0123456789").mode == "async"


def test_store_list_sorted_by_dag_then_id(store: Any) -> None:
    for webhook_id, dag_id in [
        ("zz-000001", "wt_plain"),
        ("aa-000001", "wt_plain"),
        ("mm-000001", "wt_params"),
    ]:
        store.create(_webhook(webhook_id).with_changes(dag_id=dag_id))
    assert [(w.dag_id, w.id) for w in store.list()] == [
        ("wt_params", "mm-000001"),
        ("wt_plain", "aa-000001"),
        ("wt_plain", "zz-000001"),
    ]


def test_store_list_by_dag_id_filters(store: Any) -> None:
    store.create(_webhook("aa-000001"))
    store.create(_webhook("bb-000001").with_changes(dag_id="wt_params"))
    assert [w.id for w in store.list("wt_plain")] == ["aa-000001"]
    assert [w.id for w in store.list("wt_params")] == ["bb-000001"]
    assert store.list("no_such_dag") == []


def test_store_list_empty(store: Any) -> None:
    assert store.list() == []


def test_store_save_replaces_definition(store: Any) -> None:
    store.create(_webhook())
    changed = FULL.with_changes(id="hook-0123456789")
    assert store.save(changed) == changed
    assert store.get("hook-0123456789") == changed
    back = _webhook()
    store.save(back)
    assert store.get("hook-0123456789") == back  # auth and fields removed again


def test_store_save_unknown_not_found(store: Any) -> None:
    with pytest.raises(NotFound, match="no webhook with id 'hook-0123456789'"):
        store.save(_webhook())
    assert store.list() == []


def test_store_save_keeps_created_at_moves_updated_at(store: Any) -> None:
    store.create(_webhook())
    [before] = _raw_rows()
    store.save(_webhook(enabled=False))
    [after] = _raw_rows()
    assert after["created_at"] == before["created_at"]
    assert after["updated_at"] >= before["updated_at"]
    assert isinstance(after["created_at"], datetime)


def test_store_delete_removes(store: Any) -> None:
    store.create(_webhook())
    store.create(_webhook("hook-other-0001"))
    store.delete("hook-0123456789")
    assert store.get("hook-0123456789") is None
    assert [w.id for w in store.list()] == ["hook-other-0001"]


@pytest.mark.parametrize("webhook_id", ["hook-0123456789", "a\x00bcdefgh", "x"])
def test_store_delete_unknown_not_found(store: Any, webhook_id: str) -> None:
    if webhook_id == "hook-0123456789":
        store.create(_webhook())
        store.delete(webhook_id)
    with pytest.raises(NotFound, match="no webhook with id"):
        store.delete(webhook_id)


def test_store_row_holds_hash_never_password(store: Any) -> None:
    store.create(FULL)
    [row] = _raw_rows()
    assert row["auth_username"] == "stripe"
    assert row["auth_password_hash"] == PASSWORD_HASH
    assert row["auth_password_hash"].startswith("scrypt$")
    assert row["auth_password_env"] == "MY_PASSWORD"
    assert password_matches_hash(SECRET, row["auth_password_hash"])
    for value in row.values():
        assert SECRET not in str(value)
    assert "scrypt" not in row["definition"]  # the hash lives in its own column only


def test_store_row_columns(store: Any) -> None:
    store.create(FULL)
    [row] = _raw_rows()
    assert (row["id"], row["dag_id"], row["mode"], bool(row["enabled"])) == (
        "hook-full-000001",
        "wt_plain",
        "sync",
        False,
    )
    assert json.loads(row["definition"]) == {
        "request": {
            "headers": [{"name": "X-Request-Id", "alias": "request_id"}, {"name": "Date"}],
            "query": [{"path": "query[0].a", "alias": "first_a"}],
            "body": [{"path": "a"}, {"path": 'b["c.d"]', "alias": "amount"}],
        },
        "response": {
            "status": 202,
            "headers": {"X-Handled-By": "airflow"},
            "body": {"accepted": True, "n": [1, 2.5]},
        },
        "sync": {"timeout_seconds": 12.5},
    }


def test_store_without_auth_null_columns(store: Any) -> None:
    store.create(_webhook())
    [row] = _raw_rows()
    assert (row["auth_username"], row["auth_password_hash"], row["auth_password_env"]) == (None, None, None)


def test_store_sessions_see_each_other(store: Any) -> None:
    """State lives in the DB: a second store (another replica) sees what the first wrote."""
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.webhook_store import WebhookStore

    other = WebhookStore(db_session)
    store.create(FULL)
    assert other.get(FULL.id) == FULL
    other.delete(FULL.id)
    assert store.get(FULL.id) is None
