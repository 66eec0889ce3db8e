"""Airflow's config, as the plugin reads it: the [webhook_trigger] section, [api] base_url and secret_key."""

from __future__ import annotations

from airflow_webhook_trigger.core.settings import SECTION, Settings, settings_from_lookup


def read_settings() -> Settings:
    """The ``[webhook_trigger]`` section of the Airflow config, validated."""
    from airflow.configuration import conf

    return settings_from_lookup(lambda key: conf.get(SECTION, key, fallback=None))


def base_url() -> str:
    """``[api] base_url`` without a trailing slash (default ``http://localhost:8080``)."""
    from airflow.configuration import conf

    url = conf.get("api", "base_url", fallback="") or "http://localhost:8080"
    return url.rstrip("/")


def server_secret() -> bytes:
    """``[api] secret_key``: the secret every api-server replica shares (Airflow requires
    them to), keying run handles and status tokens (:mod:`run_tokens`). Never logged."""
    from airflow.configuration import conf

    return str(conf.get("api", "secret_key", fallback="")).encode("utf-8")


def base_url_configured() -> bool:
    """Whether ``[api] base_url`` is set (Airflow has no default: URLs would say localhost:8080)."""
    from airflow.configuration import conf

    return bool(conf.get("api", "base_url", fallback=""))
