"""The wheel `make dist` builds: the package, its data files, its entry points, its metadata."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.airflow_env import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("dist")
    # a copy: building in the checkout leaves an egg-info there, and with the checkout on
    # sys.path Airflow would then load the plugin twice
    source = tmp_path_factory.mktemp("source") / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".venv*", ".git", ".demo", "build", "dist", "*.egg-info", "__pycache__", "node_modules"
        ),
    )
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "License classifiers are deprecated" not in done.stderr
    [path] = list(Path(out).glob("airflow_webhook_trigger-*.whl"))
    return zipfile.ZipFile(path)


def test_wheel_holds_the_migrations_and_data_files(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for needed in (
        "airflow_webhook_trigger/py.typed",
        "airflow_webhook_trigger/storage/alembic.ini",
        "airflow_webhook_trigger/storage/migrations/env.py",
        "airflow_webhook_trigger/storage/migrations/script.py.mako",
        "airflow_webhook_trigger/storage/migrations/versions/0001_create_webhook_table.py",
        "airflow_webhook_trigger/storage/migrations/versions/0002_add_signature_columns.py",
        # the Webhooks page, built: installing needs no Node
        "airflow_webhook_trigger/web/ui/webhooks.js",
    ):
        assert needed in names, needed
    page = wheel.read("airflow_webhook_trigger/web/ui/webhooks.js")
    assert page == (ROOT / "airflow_webhook_trigger/web/ui/webhooks.js").read_bytes()
    assert not [n for n in names if n.startswith("ui/") or "node_modules" in n]
    assert not [n for n in names if n.startswith(("tests/", "bench/", "dags_examples/"))]


def test_wheel_metadata_entry_points_and_license(wheel: zipfile.ZipFile) -> None:
    [metadata] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    text = wheel.read(metadata).decode()
    assert "License-Expression: Apache-2.0" in text
    [airflow] = [
        line
        for line in text.splitlines()
        if line.startswith("Requires-Dist: apache-airflow")
        and "extra" not in line
        and "providers" not in line
    ]
    assert set(airflow.removeprefix("Requires-Dist: apache-airflow").split(",")) == {">=3.1", "<3.4"}
    [entry_points] = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    points = wheel.read(entry_points).decode()
    assert "webhook_trigger = airflow_webhook_trigger.plugin:WebhookTriggerPlugin" in points
    assert "airflow-webhooks = airflow_webhook_trigger.cli.commands:main" in points
