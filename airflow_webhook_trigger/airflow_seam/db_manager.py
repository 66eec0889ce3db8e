"""Plugin-owned tables, migrated by ``airflow db migrate``.

Add one line to the Airflow config::

    [database]
    external_db_managers = airflow_webhook_trigger.db_manager.WebhookDBManager

or run ``airflow-webhooks db migrate``.
"""

from __future__ import annotations

from pathlib import Path

from airflow.utils.db_manager import BaseDBManager

from airflow_webhook_trigger.airflow_seam import version_compat
from airflow_webhook_trigger.storage.webhook_store import metadata

STORAGE_DIR = Path(__file__).resolve().parent.parent / "storage"


class WebhookDBManager(BaseDBManager):
    """Alembic migrations of the ``webhook_trigger_*`` tables (own version table)."""

    metadata = metadata
    version_table_name = "alembic_version_webhook_trigger"
    migration_dir = (STORAGE_DIR / "migrations").as_posix()
    alembic_file = (STORAGE_DIR / "alembic.ini").as_posix()
    supports_table_dropping = True


def migrate() -> None:
    """Bring the plugin's tables to the latest revision (always through the migration files)."""
    from airflow.utils.session import create_session

    with create_session() as session:
        manager = WebhookDBManager(session)  # type: ignore[no-untyped-call]
        if version_compat.db_manager_takes_use_migration_files():
            manager.upgradedb(use_migration_files=True)  # type: ignore[no-untyped-call]
        else:
            manager.upgradedb()  # type: ignore[no-untyped-call]
