"""The public home of :class:`WebhookResponseOperator` (DAGs import it from here)."""

from airflow_webhook_trigger.airflow_seam.operators import WebhookResponseOperator

__all__ = ["WebhookResponseOperator"]
