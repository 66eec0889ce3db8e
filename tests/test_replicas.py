"""Two api-server processes on one PostgreSQL database (the docs: replicas are fine).

Repeats of one delivery, split across both, make exactly one run; a sync caller waiting
on one process gets its answer while the other serves the repeats.
"""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration import runs_of

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.environ.get("WEBHOOK_TEST_DATABASE", "").startswith("postgresql"),
        reason="replicas share a PostgreSQL database (SQLite is one file of one host)",
    ),
]

ASYNC = {"id": "hook-replica-async", "dag_id": "wt_plain", "dedupe": {"key": "header:X-Delivery"}}
SYNC = {
    "id": "hook-replica-sync1",
    "dag_id": "wt_sync_two",
    "mode": "sync",
    "sync": {"timeout_seconds": 110},
    "dedupe": {"key": "body:event.id"},
}


@pytest.fixture(scope="module")
def replicas(airflow_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.webhook_changes import upsert
    from airflow_webhook_trigger.storage.webhook_store import WebhookStore
    from tests.processes import airflow_processes

    store = WebhookStore(db_session)
    for doc in (ASYNC, SYNC):
        upsert(store, doc, env={})
    # the second replica: an api-server only (the first one's scheduler runs the DAGs)
    with airflow_processes(tmp_path_factory.mktemp("replica-b"), scheduler=False) as second:
        yield [airflow_server, second]


def _post(base: str, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{base}{path}", content=body, headers=headers, timeout=150)


@pytest.mark.parametrize("prefix", ["/webhook", "/pluginsv2/webhook"])
def test_repeats_across_two_replicas_make_one_run(replicas: list[str], prefix: str) -> None:
    before = len(runs_of("wt_plain"))
    headers = {"Content-Type": "application/json", "X-Delivery": f"replicas-{prefix}"}
    path = f"{prefix}/trigger/{ASYNC['id']}"
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda i: _post(replicas[i % 2], path, b'{"k": 1}', headers), range(20)))
    assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers]
    assert len({a.headers["x-airflow-run-id"] for a in answers}) == 1
    assert len(runs_of("wt_plain")) == before + 1


def test_sync_caller_on_one_replica_answered_while_the_other_serves_repeats(replicas: list[str]) -> None:
    before = len(runs_of("wt_sync_two"))
    body = b'{"event": {"id": "evt-replicas-1"}}'
    headers = {"Content-Type": "application/json"}
    path = f"/webhook/trigger/{SYNC['id']}"
    with concurrent.futures.ThreadPoolExecutor(max_workers=21) as pool:
        first = pool.submit(_post, replicas[0], path, body, headers)
        repeats: list[Any] = [pool.submit(_post, replicas[1 - i % 2], path, body, headers) for i in range(20)]
        answer = first.result()
        others = [f.result() for f in repeats]
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"which": "first"}  # the first response the DAG recorded
    run_id = answer.headers["x-airflow-run-id"]
    assert all(o.status_code == 201 and o.headers["x-airflow-run-id"] == run_id for o in others), [
        (o.status_code, o.text) for o in others
    ]
    assert len(runs_of("wt_sync_two")) == before + 1
