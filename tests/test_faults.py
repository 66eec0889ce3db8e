"""Faults against a real api-server on a PostgreSQL cluster of the test's own.

While a trickle of webhooks (both adapters), status-URL reads and management-API reads
goes on, the database is stopped, restarted, frozen (SIGSTOP: TCP up, nothing
answers) and thawed; then slow clients hold connections open; then the api-server is
killed with SIGKILL mid-trickle and restarted. Throughout:

- every answer is a 2xx or a 503 with ``Retry-After``: never a 500, never another status;
- while the database is away requests are answered 503, within a bound while it hangs;
- 2xx comes back within seconds once it is back, with no restart;
- every acknowledged webhook has its run (the DB is read at the end);
- the server log holds no traceback of ours and a few outage lines, not one per request.

The measured figures are written to ``$WEBHOOK_FAULT_REPORT`` when set (docs/reliability.md
quotes them).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import pg_cluster
from tests.airflow_env import ROOT
from tests.integration import run_tokens
from tests.processes import _airflow, free_port

pytestmark = [
    pytest.mark.fault,
    pytest.mark.skipif(not pg_cluster.available(), reason="needs PostgreSQL server binaries"),
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

HOOK = "hook-fault-000001"
#: the longest any request may take while the DB hangs, with the default settings:
#: trigger_slot_wait_seconds (2) + db_pool_timeout_seconds (1) + db_timeout_seconds (5),
#: plus scheduling slack on a loaded 2-core machine
HUNG_BOUND_SECONDS = 11.0
FREEZE_SECONDS = 15.0


@dataclass
class Answer:
    kind: str
    started: float
    ended: float
    status: int | None  # None: no answer (connection refused or reset)
    retry_after: str | None
    run_id: str | None

    @property
    def took(self) -> float:
        return self.ended - self.started


def _last_tracebacks(log_path: Path, keep: int = 3) -> str:
    """The server log's last tracebacks (a 500's cause), for a failure message."""
    blocks = log_path.read_text(errors="replace").split("Traceback")[1:]
    return "".join(f"Traceback{block[:2000]}" for block in blocks[-keep:]) or "(no traceback in the log)"


class ApiServer:
    """``airflow api-server`` on a fixed port, to kill -9 and start again."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **env,
            "AIRFLOW__API__BASE_URL": self.base,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base}/execution/",
        }
        self.log_path = log_dir / "api-server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 (owned by the process)
        command = [
            _airflow(),
            "api-server",
            "--port",
            str(self.port),
            "--host",
            "127.0.0.1",
            "--workers",
            "1",
        ]
        self.proc = subprocess.Popen(
            command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/api/v2/monitor/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.3)
        raise RuntimeError("api-server did not start: " + self.log_path.read_text()[-3000:])

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def fault_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[pg_cluster.PgCluster, ApiServer]]:
    root = tmp_path_factory.mktemp("fault")
    with pg_cluster.pg_cluster() as cluster:
        cluster.create_database("airflow")
        home = root / "airflow-home"
        home.mkdir()
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": cluster.url("airflow"),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            # the defaults, but for the registry cache (1 s: lookups reach the DB often)
            "AIRFLOW__WEBHOOK_TRIGGER__REGISTRY_CACHE_SECONDS": "1",
        }
        setup = (
            "from tests.integration import _migrate_and_sync\n"
            "_migrate_and_sync()\n"
            "from airflow_webhook_trigger.airflow_seam.metadata_db import db_session\n"
            "from airflow_webhook_trigger.storage.webhook_changes import upsert\n"
            "from airflow_webhook_trigger.storage.webhook_store import WebhookStore\n"
            f"upsert(WebhookStore(db_session), {{'id': {HOOK!r}, 'dag_id': 'wt_plain'}}, env={{}})\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", setup], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-3000:]
        server = ApiServer(env, root)
        server.start()
        try:
            yield cluster, server
        finally:
            server.kill(signal.SIGTERM)


class Trickle:
    """Four threads sending webhooks (both adapters), status reads and management reads."""

    def __init__(self, server: ApiServer, token: str) -> None:
        self.server = server
        self.token = token
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._known_run: str | None = None
        #: False: no management reads. Airflow's token check queries the DB inside the
        #: event loop, so one request with a token while the DB hangs stalls every
        #: endpoint of the process (Airflow's own behaviour, see the README)
        self.manage = True

    def _one(self, client: httpx.Client, kind: str, n: int) -> None:
        base = self.server.base
        started = time.monotonic()
        try:
            if kind == "fastapi" or kind == "flask":
                prefix = "/webhook" if kind == "fastapi" else "/pluginsv2/webhook"
                response = client.post(
                    f"{base}{prefix}/trigger/{HOOK}", json={"n": n}, headers={"X-Request-Id": f"r-{n}"}
                )
            elif kind == "status":
                run_id = self._known_run or ""
                token = run_tokens().status_query(HOOK, run_id)  # the same secret as the server's
                response = client.get(f"{base}/webhook/trigger/{HOOK}/runs/{run_id}?{token}")
            else:
                response = client.get(
                    f"{base}/webhook/api/webhooks", headers={"Authorization": f"Bearer {self.token}"}
                )
            status, retry_after = response.status_code, response.headers.get("retry-after")
            run_id = response.headers.get("x-airflow-run-id") if kind in ("fastapi", "flask") else None
        except httpx.HTTPError:
            status, retry_after, run_id = None, None, None
        if run_id and status is not None and 200 <= status < 300:
            self._known_run = run_id
        with self._lock:
            self.answers.append(Answer(kind, started, time.monotonic(), status, retry_after, run_id))

    def _loop(self, worker: int) -> None:
        kinds = ["fastapi", "flask", "fastapi", "status", "fastapi", "manage"]
        n = worker * 1_000_000
        with httpx.Client(timeout=60) as client:
            while not self._stop.is_set():
                n += 1
                kind = kinds[n % len(kinds)]
                if kind == "status" and self._known_run is None:
                    kind = "fastapi"  # no run to ask about yet
                if kind == "manage" and not self.manage:
                    kind = "flask"
                self._one(client, kind, n)
                time.sleep(0.05)

    def __enter__(self) -> Trickle:
        self._threads = [threading.Thread(target=self._loop, args=(i,), daemon=True) for i in range(4)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=90)

    def between(self, start: float, end: float) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if start <= a.started < end]

    def first_2xx_after(self, moment: float, kind: str = "fastapi") -> float | None:
        with self._lock:
            times = [a.ended for a in self.answers if a.kind == kind and a.started >= moment and _ok(a)]
        return min(times) - moment if times else None


def _timeline(answers: list[Answer], origin: float) -> list[str]:
    return [
        f"{a.kind} +{a.started - origin:.2f}s took {a.took:.2f}s -> {a.status}"
        for a in sorted(answers, key=lambda a: a.started)
    ]


def _ok(answer: Answer) -> bool:
    return answer.status is not None and 200 <= answer.status < 300


def _wait_for(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the server to recover")
        time.sleep(0.1)


def _stored_runs(cluster: pg_cluster.PgCluster) -> set[str]:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="airflow")
    try:
        cur = conn.cursor()
        cur.execute("SELECT run_id FROM dag_run WHERE dag_id = 'wt_plain'")
        return {row[0] for row in cur.fetchall()}
    finally:
        conn.close()


def _slow_clients(server: ApiServer, count: int) -> list[socket.socket]:
    """Connections that send their headers and then one body byte now and then."""
    sockets = []
    for path in ("/webhook", "/pluginsv2/webhook") * (count // 2):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(
            f"POST {path}/trigger/{HOOK} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 1000\r\n\r\n{".encode()
        )
        sockets.append(sock)
    return sockets


def _report(figures: dict[str, Any]) -> None:
    target = os.environ.get("WEBHOOK_FAULT_REPORT")
    if target:
        Path(target).write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))


def test_faults_db_down_hung_slow_clients_and_kill9(
    fault_env: tuple[pg_cluster.PgCluster, ApiServer], api_app: Any
) -> None:
    from tests.integration import jwt_for

    cluster, server = fault_env
    figures: dict[str, Any] = {}
    with Trickle(server, jwt_for("admin")) as trickle:
        time.sleep(3)  # healthy
        healthy = trickle.between(0, time.monotonic())
        assert healthy and all(_ok(a) for a in healthy), [a for a in healthy if not _ok(a)][:5]

        # 1. the database stops (immediate shutdown: connections drop, nothing listens)
        stopped = time.monotonic()
        cluster.stop("immediate")
        time.sleep(6)
        restarting = time.monotonic()
        cluster.start()
        restarted = time.monotonic()
        _wait_for(lambda: trickle.first_2xx_after(restarted) is not None, 30)
        down = [a for a in trickle.between(stopped + 0.5, restarting) if a.ended <= restarting]
        figures["down"] = {
            "answers while down": len(down),
            "503 while down": sum(1 for a in down if a.status == 503),
            "median answer while down (ms)": round(statistics.median(a.took for a in down) * 1000, 1),
            "slowest answer while down (ms)": round(max(a.took for a in down) * 1000, 1),
            "first 2xx after restart (s)": round(trickle.first_2xx_after(restarted) or -1, 2),
        }
        assert all(a.status == 503 for a in down), _timeline(down, stopped)

        # 2. the database hangs: every server process stopped, TCP still up
        time.sleep(2)
        trickle.manage = False
        time.sleep(0.5)
        frozen_at = time.monotonic()
        pids = cluster.freeze()
        time.sleep(FREEZE_SECONDS)
        cluster.thaw(pids)
        thawed = time.monotonic()
        trickle.manage = True
        _wait_for(lambda: trickle.first_2xx_after(thawed) is not None, 30)
        # every request in flight during the freeze, wherever it started
        hung = [a for a in trickle.between(frozen_at - 30, thawed) if a.ended > frozen_at]
        hung_db = [a for a in hung if a.ended <= thawed]  # answered while still frozen
        assert any(a.status == 503 for a in hung_db), _timeline(hung, frozen_at)
        slowest = max(a.took for a in hung_db)
        figures["hung"] = {
            "freeze (s)": FREEZE_SECONDS,
            "answers while hung": len(hung_db),
            "503 while hung": sum(1 for a in hung_db if a.status == 503),
            "slowest answer while hung (s)": round(slowest, 2),
            "median answer while hung (s)": round(statistics.median(a.took for a in hung_db), 2),
            "first 2xx after thaw (s)": round(trickle.first_2xx_after(thawed) or -1, 2),
        }
        assert slowest < HUNG_BOUND_SECONDS, (figures["hung"], _timeline(hung, frozen_at))

        # 3. slow clients: 40 connections sending a body at a byte a second
        time.sleep(2)
        calm = [
            a.took for a in trickle.between(thawed + 2, time.monotonic()) if a.kind == "fastapi" and _ok(a)
        ]
        slow_from = time.monotonic()
        sockets = _slow_clients(server, 40)
        for _ in range(5):
            time.sleep(1)
            for sock in sockets:
                sock.sendall(b" ")
        slow_until = time.monotonic()
        for sock in sockets:
            sock.close()
        during = trickle.between(slow_from, slow_until)
        assert during and all(_ok(a) for a in during), [a for a in during if not _ok(a)][:5]
        figures["slow clients"] = {
            "slow connections": len(sockets),
            "webhook median before (ms)": round(statistics.median(calm) * 1000, 1) if calm else None,
            "webhook median during (ms)": round(
                statistics.median(a.took for a in during if a.kind == "fastapi") * 1000, 1
            ),
        }

        # 4. the api-server is killed mid-trickle and started again
        time.sleep(1)
        killed = time.monotonic()
        server.kill(signal.SIGKILL)
        server.start()
        back = time.monotonic()
        _wait_for(lambda: trickle.first_2xx_after(back) is not None, 30)
        figures["kill -9"] = {"restart (s)": round(back - killed, 1)}
        time.sleep(2)

    answers = trickle.answers
    # what a failure message needs to tell which phase went wrong, and why
    phases = {
        name: round(at, 3)
        for name, at in (
            ("db stopped", stopped),
            ("db restarting", restarting),
            ("db restarted", restarted),
            ("db frozen", frozen_at),
            ("db thawed", thawed),
            ("slow clients from", slow_from),
            ("slow clients until", slow_until),
            ("server killed", killed),
            ("server back", back),
        )
    }
    for answer in answers:
        if answer.status is None:
            continue  # no answer at all (the kill): not acknowledged
        assert _ok(answer) or answer.status == 503, (answer, phases, _last_tracebacks(server.log_path))
        if answer.status == 503:
            assert answer.retry_after is not None, answer
    acknowledged = {a.run_id for a in answers if a.kind in ("fastapi", "flask") and _ok(a) and a.run_id}
    missing = acknowledged - _stored_runs(cluster)
    span = max(a.ended for a in answers) - min(a.started for a in answers)
    figures["totals"] = {
        "requests": len(answers),
        "requests per second": round(len(answers) / span, 1),
        "2xx": sum(1 for a in answers if _ok(a)),
        "503": sum(1 for a in answers if a.status == 503),
        "no answer": sum(1 for a in answers if a.status is None),
        "acknowledged webhooks": len(acknowledged),
        "acknowledged without a run": len(missing),
    }
    log = server.log_path.read_text(errors="replace")
    figures["log"] = {
        "bytes": len(log),
        "outage lines": log.count("metadata database unavailable"),
        "tracebacks": log.count("Traceback"),
    }
    _report(figures)
    assert not missing
    assert "airflow_webhook_trigger" not in "".join(block for block in log.split("Traceback")[1:]), (
        "a traceback of ours in the server log"
    )
    assert log.count("metadata database unavailable") <= 6  # per outage, not per request
