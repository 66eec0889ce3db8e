"""The public name Airflow's config points at: ``[database] external_db_managers =
airflow_webhook_trigger.db_manager.WebhookDBManager``."""

from airflow_webhook_trigger.airflow_seam.db_manager import WebhookDBManager, migrate

__all__ = ["WebhookDBManager", "migrate"]
