"""Alembic environment for the plugin's own tables (version table: alembic_version_webhook_trigger)."""

from __future__ import annotations

import contextlib

from airflow import settings
from alembic import context

from airflow_webhook_trigger.storage.webhook_store import metadata

config = context.config
version_table = "alembic_version_webhook_trigger"
target_metadata = metadata


def include_object(_: object, name: str, type_: str, *args: object) -> bool:
    return not (type_ == "table" and name not in target_metadata.tables)


def run_migrations_offline() -> None:
    context.configure(
        url=settings.SQL_ALCHEMY_CONN,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        version_table=version_table,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with contextlib.ExitStack() as stack:
        connection = config.attributes.get("connection", None)
        if not connection:
            connection = stack.enter_context(settings.engine.connect())
        context.configure(
            connection=connection,
            transaction_per_migration=True,
            target_metadata=target_metadata,
            include_object=include_object,
            render_as_batch=True,
            version_table=version_table,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
