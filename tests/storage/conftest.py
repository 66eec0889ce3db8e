"""The storage tests' fixtures: the plugin's delivery tables, emptied around a test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def tables(airflow_db: None) -> Iterator[None]:
    from sqlalchemy import delete

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.webhook_store import (
        deliveries_table,
        delivery_keys_table,
        samples_table,
    )

    def clear() -> None:
        with db_session() as session:
            for table in (deliveries_table, delivery_keys_table, samples_table):
                session.execute(delete(table))

    clear()
    yield
    clear()
