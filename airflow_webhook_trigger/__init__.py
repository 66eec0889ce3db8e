"""airflow-webhook-trigger: webhook URLs that start Apache Airflow DAG runs."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
