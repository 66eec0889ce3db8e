"""The ``airflow-webhooks`` command (see README.md)."""
