"""The plugin's metrics, through Airflow's own ``Stats``."""

from __future__ import annotations


class AirflowStats:
    """Metrics through Airflow's own ``Stats`` (StatsD or OpenTelemetry, as Airflow is set up)."""

    def incr(self, name: str) -> None:
        from airflow.stats import Stats

        Stats.incr(name)

    def timing(self, name: str, milliseconds: float) -> None:
        from airflow.stats import Stats

        Stats.timing(name, milliseconds)
