from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any

import pytest

from airflow_webhook_trigger import plugin
from airflow_webhook_trigger.plugin import WebhookTriggerPlugin, fab_provider_installed
from tests.airflow_env import ROOT
from tests.processes import imported_after

WEB_FRAMEWORKS = ("flask", "fastapi", "starlette")


# -- import weight ---------------------------------------------------------------------


def test_plugin_import_no_web_framework() -> None:
    loaded = imported_after(["airflow_webhook_trigger", "airflow_webhook_trigger.plugin"])
    assert "airflow_webhook_trigger" in loaded
    assert loaded.isdisjoint(WEB_FRAMEWORKS), loaded & set(WEB_FRAMEWORKS)


def test_plugin_package_import_no_airflow() -> None:
    assert imported_after(["airflow_webhook_trigger"]).isdisjoint({"airflow", *WEB_FRAMEWORKS})


# -- discovery -------------------------------------------------------------------------


def test_plugin_entry_point_names_plugin_class() -> None:
    [entry] = [e for e in entry_points(group="airflow.plugins") if e.name == "webhook_trigger"]
    assert entry.value == "airflow_webhook_trigger.plugin:WebhookTriggerPlugin"
    assert entry.load() is WebhookTriggerPlugin
    assert WebhookTriggerPlugin.name == "webhook_trigger"


@pytest.mark.airflow
def test_plugin_found_by_airflow_plugins_manager() -> None:
    from airflow import plugins_manager

    if hasattr(plugins_manager, "_get_plugins"):
        plugins, errors = plugins_manager._get_plugins()
    else:  # Airflow 3.1: module-level state
        plugins_manager.ensure_plugins_loaded()
        plugins, errors = plugins_manager.plugins or [], plugins_manager.import_errors
    assert not errors, errors
    ours = [p for p in plugins if p.name == "webhook_trigger"]
    assert len(ours) == 1  # found once: through the entry point, not a plugins/ folder
    assert isinstance(ours[0], WebhookTriggerPlugin)
    assert "webhook_trigger" in str(ours[0].source)


@pytest.mark.airflow
def test_plugin_fastapi_app_mounted_at_prefix() -> None:
    from fastapi import FastAPI

    [app] = WebhookTriggerPlugin().fastapi_apps
    assert set(app) == {"app", "url_prefix", "name"}
    assert isinstance(app["app"], FastAPI)
    assert app["url_prefix"] == "/webhook"
    assert app["name"] == "airflow-webhook-trigger"
    assert WebhookTriggerPlugin().fastapi_apps[0]["app"] is app["app"]  # built once per process


# -- the Flask blueprint only with the FAB provider ------------------------------------


@pytest.fixture
def fresh_blueprints() -> Iterator[None]:
    plugin._flask_blueprints.cache_clear()
    plugin._fastapi_root_middlewares.cache_clear()
    yield
    plugin._flask_blueprints.cache_clear()
    plugin._fastapi_root_middlewares.cache_clear()


def test_plugin_fab_provider_installed_in_dev_env() -> None:
    # the dev extra pins apache-airflow-providers-fab: the blueprint is served in tests
    assert fab_provider_installed() is True


@pytest.mark.parametrize(
    "find_spec",
    [
        lambda name, *a: None,
        lambda name, *a: (_ for _ in ()).throw(ModuleNotFoundError("No module named 'airflow.providers'")),
        lambda name, *a: (_ for _ in ()).throw(ValueError("airflow.providers.fab.__spec__ is None")),
    ],
    ids=["absent", "parent missing", "no spec"],
)
def test_plugin_fab_provider_not_importable_false(monkeypatch: pytest.MonkeyPatch, find_spec: Any) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert fab_provider_installed() is False


def test_plugin_without_fab_no_flask_blueprints(
    monkeypatch: pytest.MonkeyPatch, fresh_blueprints: None
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    assert WebhookTriggerPlugin().flask_blueprints == []


def test_plugin_without_fab_flag_no_flask_blueprints(
    monkeypatch: pytest.MonkeyPatch, fresh_blueprints: None
) -> None:
    monkeypatch.setattr(plugin, "fab_provider_installed", lambda: False)
    assert WebhookTriggerPlugin().flask_blueprints == []


def test_plugin_without_fab_flask_never_imported() -> None:
    code = (
        "import importlib.util, sys\n"
        "from airflow_webhook_trigger import plugin\n"
        "importlib.util.find_spec = lambda name, *a: None\n"
        "assert plugin.WebhookTriggerPlugin().flask_blueprints == []\n"
        "print('flask' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "False"


@pytest.mark.airflow
def test_plugin_with_fab_one_csrf_exempt_blueprint(
    monkeypatch: pytest.MonkeyPatch, fresh_blueprints: None
) -> None:
    from flask import Blueprint

    monkeypatch.setattr(plugin, "fab_provider_installed", lambda: True)
    [blueprint] = WebhookTriggerPlugin().flask_blueprints
    assert isinstance(blueprint, Blueprint)
    assert blueprint.url_prefix == "/webhook"
    assert blueprint.name == "webhook_trigger"


@pytest.mark.airflow
@pytest.mark.parametrize("fab", [True, False])
def test_plugin_guards_its_mounts(monkeypatch: pytest.MonkeyPatch, fresh_blueprints: None, fab: bool) -> None:
    from airflow_webhook_trigger.web.mount_guard import MountGuard

    monkeypatch.setattr(plugin, "fab_provider_installed", lambda: fab)
    [middleware] = WebhookTriggerPlugin().fastapi_root_middlewares
    assert middleware["middleware"] is MountGuard
    assert middleware["kwargs"]["limits"]() == ("/webhook", 1024 * 1024, fab)


@pytest.mark.airflow
def test_plugin_flask_blueprint_off_in_config_no_blueprint() -> None:
    code = (
        "from airflow_webhook_trigger.plugin import WebhookTriggerPlugin\n"
        "p = WebhookTriggerPlugin()\n"
        "print(len(p.flask_blueprints), len(p.fastapi_root_middlewares), len(p.fastapi_apps))\n"
    )
    env = {**os.environ, "AIRFLOW__WEBHOOK_TRIGGER__FLASK_BLUEPRINT": "false"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "0 1 1"
