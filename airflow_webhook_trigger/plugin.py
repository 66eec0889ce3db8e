"""The Airflow plugin, found through the ``airflow.plugins`` entry point.

Importing this module stays light (Airflow imports plugins inside task processes
too): the FastAPI app and the Flask blueprint are built on first access of
``fastapi_apps`` / ``flask_blueprints``, which only the api-server asks for, and
that is when ``[webhook_trigger]`` is read; ``react_apps`` (the Webhooks page in the UI)
reads only the URL prefix and ``[api] base_url``.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Any

from airflow.plugins_manager import AirflowPlugin


def fab_provider_installed() -> bool:
    """Airflow 3 serves plugin blueprints only with the FAB provider (and refuses to start otherwise)."""
    try:
        return importlib.util.find_spec("airflow.providers.fab") is not None
    except (ImportError, ValueError):
        return False


@functools.cache
def _fastapi_apps() -> list[dict[str, Any]]:
    from airflow_webhook_trigger.airflow_seam.wiring import shared_runtime
    from airflow_webhook_trigger.web.fastapi_adapter import create_app

    settings = shared_runtime().settings
    return [
        {
            "app": create_app(shared_runtime),
            "url_prefix": settings.url_prefix,
            "name": "airflow-webhook-trigger",
        }
    ]


def _serves_blueprint() -> bool:
    """``[webhook_trigger] flask_blueprint`` is on (the default) and the FAB provider is there."""
    if not fab_provider_installed():
        return False
    from airflow_webhook_trigger.airflow_seam.wiring import shared_runtime

    return shared_runtime().settings.flask_blueprint


@functools.cache
def _flask_blueprints() -> list[Any]:
    if not _serves_blueprint():
        return []
    from airflow_webhook_trigger.airflow_seam.wiring import shared_runtime
    from airflow_webhook_trigger.web.flask_adapter import create_blueprint

    return [create_blueprint(shared_runtime, shared_runtime().settings.url_prefix)]


def _guard_limits() -> tuple[str, int, bool]:
    from airflow_webhook_trigger.airflow_seam.wiring import shared_runtime

    settings = shared_runtime().settings
    return settings.url_prefix, settings.max_body_bytes, _serves_blueprint()


def _trigger_fast_path() -> bool:
    from airflow_webhook_trigger.airflow_seam.wiring import shared_runtime

    return shared_runtime().settings.trigger_fast_path


@functools.cache
def _fastapi_root_middlewares() -> list[dict[str, Any]]:
    # In front of every mount: our error shape for paths no mount matches, (with the
    # blueprint) bounds on Airflow's WSGI mount, which reads any body whole before Flask
    # runs and drops chunked ones, and the trigger URL's fast path (see mount_guard).
    from airflow_webhook_trigger.web.mount_guard import MountGuard

    return [
        {
            "middleware": MountGuard,
            "args": [],
            "kwargs": {"limits": _guard_limits, "fast_path": _trigger_fast_path},
            "name": "airflow-webhook-trigger mount guard",
        }
    ]


@functools.cache
def _react_apps() -> list[dict[str, Any]]:
    # the Webhooks page: its bundle URL carries the base URL's path and the prefix
    from airflow_webhook_trigger.airflow_seam.airflow_config import base_url, read_settings
    from airflow_webhook_trigger.web.ui_page import react_apps

    return react_apps(base_url(), read_settings().url_prefix)


class WebhookTriggerPlugin(AirflowPlugin):
    """Webhook URLs that start DAG runs."""

    name = "webhook_trigger"

    @property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return _fastapi_apps()

    @property
    def flask_blueprints(self) -> list[Any]:  # type: ignore[override]
        return _flask_blueprints()

    @property
    def fastapi_root_middlewares(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return _fastapi_root_middlewares()

    @property
    def react_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return _react_apps()
