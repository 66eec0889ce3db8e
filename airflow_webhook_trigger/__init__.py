"""airflow-webhook-trigger: webhook URLs that start Apache Airflow DAG runs.

Importing the package stays light (Airflow imports plugins inside task processes):
``WebhookResponseOperator`` is loaded on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["WebhookResponseOperator", "__version__"]

if TYPE_CHECKING:
    from airflow_webhook_trigger.airflow_seam.operators import WebhookResponseOperator


def __getattr__(name: str) -> Any:
    if name == "WebhookResponseOperator":
        from airflow_webhook_trigger.airflow_seam.operators import WebhookResponseOperator

        return WebhookResponseOperator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
