"""Environment for a real Airflow in tests; must run before ``airflow`` is imported.

``WEBHOOK_TEST_DATABASE`` selects the metadata DB (a SQLAlchemy URL, e.g.
``postgresql+psycopg2://postgres@127.0.0.1:5432/webhook_trigger_test``); the
default is a fresh SQLite file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "dags_examples"
TEST_DAGS = Path(__file__).resolve().parent / "dags"
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
BUNDLES = {"examples": EXAMPLES, "test-dags": TEST_DAGS}
JWT_SECRET = "test-jwt-secret-for-webhook-trigger-tests-" + "0123456789abcdef" * 3


def configure() -> dict[str, str]:
    """Set (once) and return the Airflow environment variables of this test session."""
    if os.environ.get("WEBHOOK_TEST_CONFIGURED") == "1":
        return {k: v for k, v in os.environ.items() if k.startswith("AIRFLOW")}
    home = Path(tempfile.mkdtemp(prefix="webhook-trigger-airflow-"))
    db = os.environ.get("WEBHOOK_TEST_DATABASE") or f"sqlite:///{home / 'airflow.db'}"
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db,
        "AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS": "airflow_webhook_trigger.db_manager.WebhookDBManager",
        "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLES),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
            [
                {"name": name, "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(path)}}
                for name, path in BUNDLES.items()
            ]
        ),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        # SimpleAuthManager with a DAG-level refusal for the users named limited* (tests/auth_manager.py)
        "AIRFLOW__CORE__AUTH_MANAGER": "tests.auth_manager.DagRefusingAuthManager",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer,op:op,limited:op",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": JWT_SECRET,
        "AIRFLOW__API__SECRET_KEY": "test-secret-key",
        "AIRFLOW__API__BASE_URL": "http://localhost:8080",
        # a fixed test key: signing secrets given literally are stored encrypted with it
        "AIRFLOW__CORE__FERNET_KEY": "Ju09R5iut-8bxnB9vCRTbQk9Z_6WHII1Mv59UjGxl-Y=",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__WEBHOOK_TRIGGER__REGISTRY_CACHE_SECONDS": "0",
        # the example GitHub webhook's signing secret, read by the api-server per request
        "GITHUB_WEBHOOK_SECRET": "gh-secret-456",
        "WEBHOOK_TEST_CONFIGURED": "1",
    }
    os.environ.update(env)
    return env
