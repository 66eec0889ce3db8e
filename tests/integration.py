"""Fixtures for tests against a real Airflow: migrated DB, serialized DAGs, app clients."""

from __future__ import annotations

import base64
import inspect
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine

from tests.airflow_env import BUNDLES


def _migrate_and_sync() -> None:
    from airflow.utils import db

    try:
        from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    except ImportError:  # Airflow 3.1: DagBag lives in airflow.models and has no bundle_name
        from airflow.models.dagbag import DagBag, sync_bag_to_db

    db.resetdb()  # drops and migrates Airflow's tables and, via external_db_managers, ours
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    DagBundlesManager().sync_bundles_to_db()
    for name, folder in BUNDLES.items():
        extra = {"bundle_name": name} if "bundle_name" in inspect.signature(DagBag).parameters else {}
        bag = DagBag(dag_folder=folder, bundle_path=folder, **extra)
        assert not bag.import_errors, bag.import_errors
        sync_bag_to_db(bag, bundle_name=name, bundle_version=None)


def dags_can_refuse_manual_runs() -> bool:
    """Whether DAGs take ``allowed_run_types`` (Airflow 3.2+; tests/dags has no such DAG on 3.1)."""
    from airflow.sdk import DAG

    return "allowed_run_types" in inspect.signature(DAG).parameters


refusing_manual_runs = pytest.mark.skipif(
    not dags_can_refuse_manual_runs(), reason="this Airflow's DAGs have no allowed_run_types"
)

_READY: list[bool] = []


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.airflow)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A plain SQLAlchemy engine (no Airflow): a SQLite file, and on the PostgreSQL pass
    (``WEBHOOK_TEST_DATABASE``) its server, through psycopg2."""
    url = os.environ.get("WEBHOOK_TEST_DATABASE", "")
    if request.param == "sqlite":
        made = create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    elif url.startswith("postgresql"):
        made = create_engine(url)
    else:
        pytest.skip("needs the PostgreSQL pass (WEBHOOK_TEST_DATABASE)")
    yield made
    made.dispose()


@pytest.fixture(scope="session")
def airflow_db() -> None:
    if not _READY:
        _migrate_and_sync()
        _READY.append(True)


@pytest.fixture
def store(airflow_db: None) -> Iterator[Any]:
    from sqlalchemy import delete

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.webhook_store import WebhookStore, webhooks_table

    with db_session() as session:
        session.execute(delete(webhooks_table))
    yield WebhookStore(db_session)


@pytest.fixture(scope="session")
def api_app(airflow_db: None) -> Any:
    from airflow.api_fastapi.app import create_app

    return create_app(apps="all")


@pytest.fixture
def client(api_app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(api_app, base_url="http://localhost:8080") as c:
        yield c


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def run_tokens() -> Any:
    """Run handles and status tokens as every api-server under the tests' Airflow config
    makes them (``[api] secret_key`` is fixed in :mod:`tests.airflow_env`)."""
    from airflow_webhook_trigger.airflow_seam.airflow_config import server_secret
    from airflow_webhook_trigger.core.run_tokens import RunTokens

    return RunTokens(server_secret())


def runs_of(dag_id: str) -> list[Any]:
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        runs = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id)).all()
        session.expunge_all()
    return list(runs)


def jwt_for(role: str, username: str | None = None) -> str:
    """A token of the user ``username`` (default: named as its role) with this SimpleAuthManager role;
    users named ``limited*`` meet tests/auth_manager.py's DAG-level refusals."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    user = SimpleAuthManagerUser(username=username or role, role=role)
    return str(get_auth_manager().generate_jwt(user))


@pytest.fixture(scope="session")
def airflow_server(airflow_db: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real api-server, scheduler and dag-processor on the test DB; yields the base URL."""
    from pathlib import Path

    from tests.processes import airflow_processes

    log_dir = tmp_path_factory.mktemp("airflow-logs")
    try:
        with airflow_processes(log_dir) as base:
            yield base
    except Exception:
        for log in Path(log_dir).glob("*.log"):
            print(f"==== {log.name}\n{log.read_text()[-4000:]}")
        raise


def apply_example_webhooks(env: dict[str, str]) -> None:
    """``apply -f dags_examples/webhooks.yaml`` (idempotent) with these passwords."""
    import yaml

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.webhook_changes import apply_documents, load_file_documents
    from airflow_webhook_trigger.storage.webhook_store import WebhookStore
    from tests.airflow_env import EXAMPLES

    docs = load_file_documents(yaml.safe_load((EXAMPLES / "webhooks.yaml").read_text()))
    apply_documents(WebhookStore(db_session), docs, env=env)


def wait_for_run(dag_id: str, run_id: str, timeout: float = 120) -> Any:
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with create_session() as session:
            run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
            if run is not None and run.state in ("success", "failed"):
                session.expunge(run)
                return run
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} of {dag_id} did not finish in {timeout}s")


def xcom_value(dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
    """An XCom as the task pushed it (the column's JSON type decodes it on every DB)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        value = session.scalar(
            select(XComModel.value).where(
                XComModel.dag_id == dag_id,
                XComModel.run_id == run_id,
                XComModel.task_id == task_id,
                XComModel.key == key,
            )
        )
    return value
