from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.airflow

TABLE = "webhook_trigger_webhook"
VERSION_TABLE = "alembic_version_webhook_trigger"
HEAD = "wt0003"


def _engine() -> Any:
    from airflow import settings

    return settings.engine


def _revision() -> str | None:
    from sqlalchemy import text

    with _engine().connect() as connection:
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


def test_db_manager_migrate_idempotent_at_head(airflow_db: None) -> None:
    from sqlalchemy import inspect

    from airflow_webhook_trigger.db_manager import migrate

    migrate()
    migrate()
    inspector = inspect(_engine())
    assert inspector.has_table(TABLE)
    assert inspector.has_table(VERSION_TABLE)
    assert _revision() == HEAD
    assert "ix_webhook_trigger_webhook_dag_id" in {i["name"] for i in inspector.get_indexes(TABLE)}


def test_db_manager_check_migration_true(airflow_db: None) -> None:
    from airflow.utils.session import create_session

    from airflow_webhook_trigger.db_manager import WebhookDBManager

    with create_session() as session:
        manager = WebhookDBManager(session)
        assert manager.check_migration() is True
        assert manager.get_current_revision() == HEAD


def test_db_manager_head_is_the_only_head() -> None:
    from airflow.utils.session import create_session

    from airflow_webhook_trigger.db_manager import WebhookDBManager

    with create_session() as session:
        assert WebhookDBManager(session).get_script_object().get_heads() == [HEAD]


def test_db_manager_declares_own_tables_only() -> None:
    from airflow_webhook_trigger.db_manager import WebhookDBManager

    assert WebhookDBManager.version_table_name == VERSION_TABLE
    assert set(WebhookDBManager.metadata.tables) == {
        TABLE,
        "webhook_trigger_delivery",
        "webhook_trigger_delivery_key",
        "webhook_trigger_sample",
    }
    assert Path(WebhookDBManager.migration_dir, "env.py").is_file()
    assert Path(WebhookDBManager.alembic_file).is_file()


def test_db_manager_migrations_match_table_definition(airflow_db: None) -> None:
    """The table the migrations build is the one the store declares (no autogenerate diff)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from airflow_webhook_trigger.storage.webhook_store import metadata

    def ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table == TABLE

    with _engine().connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": ours, "compare_type": True, "version_table": VERSION_TABLE}
        )
        assert compare_metadata(context, metadata) == []


def test_db_manager_migrate_keeps_webhooks(store: Any) -> None:
    from airflow_webhook_trigger.core.definition import parse_document
    from airflow_webhook_trigger.db_manager import migrate

    webhook = parse_document({"id": "hook-keep-000001", "dag_id": "wt_plain"}).webhook
    store.create(webhook)
    migrate()
    assert store.get("hook-keep-000001") == webhook


def test_db_manager_upgrade_from_0001_keeps_every_webhook(store: Any) -> None:
    """A table at the first revision, with webhooks, upgraded: every webhook as it was."""
    from airflow.utils.session import create_session

    from airflow_webhook_trigger.core.definition import parse_document
    from airflow_webhook_trigger.db_manager import WebhookDBManager, migrate
    from airflow_webhook_trigger.storage.webhook_changes import upsert

    upsert(store, {"id": "hook-old-0000001", "dag_id": "wt_plain",
                   "auth": {"basic": {"username": "u", "password": "pw-1"}}}, env={})  # fmt: skip
    store.create(parse_document({"id": "hook-old-0000002", "dag_id": "wt_params", "mode": "sync"}).webhook)
    before = store.list()
    from alembic import command

    with create_session() as session:
        command.downgrade(WebhookDBManager(session).get_alembic_config(), "wt0001")
    assert _revision() == "wt0001"
    migrate()
    assert _revision() == HEAD
    assert store.list() == before


def test_db_manager_external_db_managers_configured() -> None:
    from airflow.configuration import conf

    managers = conf.get("database", "external_db_managers")
    assert "airflow_webhook_trigger.db_manager.WebhookDBManager" in managers


def test_db_manager_airflow_db_migrate_on_fresh_sqlite_creates_table(tmp_path: Path) -> None:
    db_file = tmp_path / "fresh.db"
    env = dict(os.environ)  # the test session's AIRFLOW_* settings, on another database
    env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC", None)
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{db_file}"
    env["AIRFLOW_HOME"] = str(tmp_path / "home")
    assert (
        env["AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS"]
        == "airflow_webhook_trigger.db_manager.WebhookDBManager"
    )
    airflow = Path(sys.executable).parent / "airflow"
    for _ in range(2):  # the second run finds everything at head
        result = subprocess.run(
            [str(airflow), "db", "migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    with sqlite3.connect(db_file) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {TABLE, VERSION_TABLE, "dag_run"} <= tables
        assert connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall() == [(HEAD,)]
        columns = {row[1] for row in connection.execute(f"PRAGMA table_info({TABLE})")}
    assert columns == {
        "id", "dag_id", "mode", "enabled", "definition", "auth_username", "auth_password_hash",
        "auth_password_env", "signature", "signature_secret", "signature_previous_secret",
        "created_at", "updated_at",
    }  # fmt: skip
