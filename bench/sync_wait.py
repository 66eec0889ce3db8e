"""Sync webhooks: how fast the waiting caller is answered, and what waiting costs.

Run: ``PYTHONPATH=. .venv/bin/python bench/sync_wait.py [--quick] [--json PATH|-]
[--db sqlite|postgres|both] [--parts a,b,c,d] [--calls 40] [--waiters 1000]``

One run, against a real Airflow 3.3.2 (a fresh ``AIRFLOW_HOME`` and metadata DB made, migrated
and served by ``bench/harness.py``, as for the other benchmarks; the example DAGs and
``tests/dags`` serialized, the example webhooks applied with ``tests.integration``), measures
what a sync caller waits for:

(a) delivery delay: ``xcom.timestamp`` of the run's ``webhook_response`` row (set when the
    ``WebhookResponseOperator`` pushes it, a few ms before the execution API commits) to the
    wall-clock time the client had the whole HTTP answer (same machine clock), over
    ``--calls`` sequential sync calls of ``order_validation`` (accepted branch), both adapters
    alternating; default tick 0.05 s, then 0.01 s. Target: p99 <= tick + 20 ms.
(b) queries made by waiting: in-process ``RunWaiter(gateway.fetch_settled, tick)`` with
    0/1/100/1000 waiters (``wait_async``) on distinct queued runs of the paused DAG ``wt_plain``
    (they never settle), SQL statements counted with a ``before_cursor_execute`` listener on
    every SQLAlchemy ``Engine`` (the waiter reads through the plugin's own) over a window; fetch calls/s, statements/s, time per fetch.
    Target: flat in the number of waiters.
(c) concurrency: a real ``airflow api-server`` (no scheduler), ``--waiters`` concurrent POSTs
    (harness.py's HTTP client, one connection each) to a sync webhook on ``wt_plain`` that times
    out; RSS of the uvicorn worker before / while all wait / after, CPU of the worker while
    they only wait, every answer checked (202 at the timeout). Target >= 1,000 held.
    The Flask adapter (``/pluginsv2/...``) under the same api-server: 100 concurrent calls
    to a 5 s sync webhook; the way the 202s arrive in batches gives the number of calls it
    holds at once (``flask_sync_max_waiting``, default 8: the calls past it get their 202 at
    once, the others at the 5 s timeout); meanwhile health / FastAPI-webhook / sync-order probes show what else
    waits for the same threads. The FastAPI adapter on the same 100 calls for comparison.
(d) end-to-end time of ``order_validation`` (accepted branch) as the caller sees it against
    the run's own time in the metadata DB (``dag_run.queued_at`` -> ``accept_order`` end),
    with ``[scheduler] scheduler_idle_sleep_time`` 0.1 and then the default 1.0.

Latency percentiles are harness.percentile's (nearest rank) over the calls after the warm-up.
Exit code 0 unless the benchmark itself could not run; targets are reported, not gated.
Every subprocess (api-server, scheduler, dag-processor) runs in its own process group and is
killed at the end of its phase (``harness.Server``). PostgreSQL: own database ``webhook_sync_bench`` on
127.0.0.1:5432 (user postgres, trust), dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
# bench/ last on the path: harness.py is found, and no bench/*.py shadows a module Airflow imports
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH] + [str(BENCH)]
import harness  # noqa: E402

ROOT = harness.ROOT
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.* helpers

SCRIPT = Path(__file__).resolve()
PG_DB = "webhook_sync_bench"
PASSWORDS = {
    "PAYMENT_HOOK_PASSWORD": "pay-secret-123",
    "GITHUB_WEBHOOK_SECRET": "gh-secret-456",
    "ORDER_HOOK_PASSWORD": "order-secret-789",
}
ORDER = "order-sync-5d2a9c81f04b7e63"
ORDER_DAG = "order_validation"
PLAIN_DAG = "wt_plain"  # paused at creation (tests/dags): its runs stay queued forever
HOOK_LONG = "syncbench-long-0001"  # sync, timeout set per run (part c)
HOOK_5S = "syncbench-5s-00001"  # sync, 5 s (Flask batches)
HOOK_1S = "syncbench-1s-00001"  # sync, 1 s (warm-up, probes)
PREFIXES = ("/webhook", "/pluginsv2/webhook")
OTHER_LOADS = ("async_accept", "wrk")
BUNDLES = {**harness.EXAMPLE_BUNDLES, "test-dags": ROOT / "tests" / "dags"}
#: over harness.airflow_env, what the sync measurements need (as tests/airflow_env.py has it)
SETTINGS = {
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",  # order_validation runs; wt_plain's file pauses it
    "AIRFLOW__CORE__PARALLELISM": "8",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
    # the documented default (tests use 0 to see changes at once); hooks are created before start
    "AIRFLOW__WEBHOOK_TRIGGER__REGISTRY_CACHE_SECONDS": "1",
    # the example GitHub webhook's signing secret, read by the api-server per request
    "GITHUB_WEBHOOK_SECRET": PASSWORDS["GITHUB_WEBHOOK_SECRET"],
}


def fmt(v: Any, nd: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def table(headers: list[str], rows: list[list[Any]], nd: int = 1) -> str:
    cells = [[fmt(c, nd) for c in r] for r in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(r) + " |" for r in cells]
    return "\n".join(lines)


# --------------------------------------------------------------------------- other loads


def other_loads() -> list[str]:
    import psutil

    found = []
    me = os.getpid()
    for p in psutil.process_iter(["pid", "cmdline"]):
        if p.info["pid"] == me:
            continue
        cmd = " ".join(p.info["cmdline"] or [])
        if any(
            f"bench/{name}" in cmd or cmd.split(" ")[0].endswith("/" + name) or cmd.startswith(name + " ")
            for name in OTHER_LOADS
        ):
            found.append(f"{p.info['pid']}: {cmd[:120]}")
    return found


def wait_quiet(limit: float, notes: list[str], what: str) -> None:
    """Wait (bounded) until no other load test runs on this machine; note any interference."""
    deadline = time.monotonic() + limit
    seen = other_loads()
    if seen:
        harness.log(f"{what}: another load test is running ({seen[0]}); waiting up to {limit:.0f}s")
    while seen and time.monotonic() < deadline:
        time.sleep(10)
        seen = other_loads()
    if seen:
        notes.append(f"{what}: measured while another load test ran: {seen}")
        harness.log(f"{what}: still running, measuring anyway (noted)")
    notes.append(
        f"{what}: load average at start {os.getloadavg()[0]:.2f} (2 cores; other engineers' tests may run)"
    )


# --------------------------------------------------------------------------- environment


def setup_airflow(db: str) -> harness.Deployment:
    """Make the deployment, configure this process with it (before importing airflow), migrate,
    serialize DAGs, create the webhooks."""
    dep = harness.Deployment(
        db, prefix="webhook-sync-bench", pg_db=PG_DB, bundles=BUNDLES, log_level="WARNING", settings=SETTINGS
    )
    t0 = time.monotonic()
    dep.migrate()
    os.environ.update(dep.env)  # this process reads and writes the DB too (parts a, b, d)
    if dep.extra_path:
        sys.path.insert(0, dep.extra_path)
    harness.sync_dags(BUNDLES)
    harness.log(
        f"DB migrated and DAGs serialized in {time.monotonic() - t0:.1f}s ({dep.env['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN'].split('://')[0]})"
    )
    from tests.integration import apply_example_webhooks

    apply_example_webhooks(PASSWORDS)
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.webhook_store import WebhookStore

    store = WebhookStore(db_session)
    store.save(store.require(ORDER).with_changes(sync_timeout_seconds=110.0))
    ensure_plain_paused()
    return dep


def upsert_hook(webhook_id: str, timeout: float) -> None:
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.webhook_changes import upsert
    from airflow_webhook_trigger.storage.webhook_store import WebhookStore

    doc = {"id": webhook_id, "dag_id": PLAIN_DAG, "mode": "sync", "sync": {"timeout_seconds": timeout}}
    upsert(WebhookStore(db_session), doc, env={})


def ensure_plain_paused() -> None:
    from airflow.models import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        session.execute(update(DagModel).where(DagModel.dag_id == PLAIN_DAG).values(is_paused=True))


def basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


ORDER_AUTH = basic("shop", PASSWORDS["ORDER_HOOK_PASSWORD"])
JSON = {"Content-Type": "application/json"}
ORDER_HEADERS = {**JSON, "Authorization": ORDER_AUTH}


@contextlib.contextmanager
def processes(
    dep: harness.Deployment, log_dir: Path, name: str, *, scheduler: bool, tick: float, idle_sleep: float
) -> Any:
    """The phase's ``harness.Server`` (api-server; scheduler + dag-processor) with its settings; logs kept per phase."""
    env = {
        **dep.env,
        "AIRFLOW__WEBHOOK_TRIGGER__WAITER_TICK_SECONDS": str(tick),
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": str(idle_sleep),
    }
    phase_dir = log_dir / name
    phase_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with harness.Server(env, dep.home, harness.free_port(), scheduler=scheduler, log_dir=phase_dir) as server:
        harness.log(
            f"{name}: processes up in {time.monotonic() - t0:.1f}s at {server.base} (tick {tick}, idle sleep {idle_sleep})"
        )
        yield server.base
    harness.log(f"{name}: processes stopped")


def server_pid(base: str) -> int | None:
    """The pid listening on the api-server port (uvicorn, one worker, in-process)."""
    import psutil

    port = int(base.rsplit(":", 1)[1])
    for c in psutil.net_connections(kind="tcp"):
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid:
            return int(c.pid)
    return None


def log_problems(log_dir: Path) -> dict[str, Any]:
    """Tracebacks / ERROR lines in an api-server log (first excerpts)."""
    out: dict[str, Any] = {}
    for path in sorted(log_dir.glob("*.log")):
        text = path.read_text(errors="replace")
        lines = text.splitlines()
        tb = [i for i, ln in enumerate(lines) if ln.startswith("Traceback")]
        err = [ln for ln in lines if " ERROR " in ln or "[error" in ln.lower() or "error    " in ln]
        if tb or err:
            excerpt = "\n".join(lines[tb[0] : tb[0] + 30]) if tb else "\n".join(err[:5])
            out[path.name] = {"tracebacks": len(tb), "error_lines": len(err), "excerpt": excerpt[-3000:]}
    return out


# --------------------------------------------------------------------------- DB readers


def run_timings(
    dag_id: str, run_ids: list[str], wait_task: str | None, limit: float = 40.0
) -> dict[str, dict[str, Any]]:
    """Per run: queued_at, start_date, response xcom timestamp, task start/end (epoch seconds)."""
    from airflow.models import DagRun, TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    def ts(v: Any) -> float | None:
        return v.timestamp() if v is not None else None

    deadline = time.monotonic() + limit
    while True:
        out: dict[str, dict[str, Any]] = {}
        with create_session() as s:
            runs = s.execute(
                select(DagRun.id, DagRun.run_id, DagRun.queued_at, DagRun.start_date).where(
                    DagRun.dag_id == dag_id, DagRun.run_id.in_(run_ids)
                )
            ).all()
            for r in runs:
                out[r.run_id] = {
                    "id": r.id,
                    "queued_at": ts(r.queued_at),
                    "start_date": ts(r.start_date),
                    "tasks": {},
                }
            for ti in s.execute(
                select(
                    TaskInstance.run_id,
                    TaskInstance.task_id,
                    TaskInstance.queued_dttm,
                    TaskInstance.start_date,
                    TaskInstance.end_date,
                    TaskInstance.state,
                ).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id.in_(run_ids))
            ).all():
                out[ti.run_id]["tasks"][ti.task_id] = {
                    "queued": ts(ti.queued_dttm),
                    "start": ts(ti.start_date),
                    "end": ts(ti.end_date),
                    "state": str(getattr(ti.state, "value", ti.state)),
                }
            for x in s.execute(
                select(XComModel.run_id, XComModel.task_id, XComModel.timestamp)
                .where(
                    XComModel.dag_id == dag_id,
                    XComModel.run_id.in_(run_ids),
                    XComModel.key == "webhook_response",
                )
                .order_by(XComModel.timestamp)
            ).all():
                out[x.run_id].setdefault("xcom_ts", ts(x.timestamp))
        pending = [
            rid for rid, r in out.items() if wait_task and (r["tasks"].get(wait_task, {}).get("end") is None)
        ]
        if not pending or time.monotonic() > deadline:
            return out
        time.sleep(0.5)


def count_runs(prefix: str) -> int:
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as s:
        return int(
            s.scalar(select(func.count()).select_from(DagRun).where(DagRun.run_id.like(f"{prefix}%"))) or 0
        )


# --------------------------------------------------------------------------- (a) + (d)


async def send_orders(port: int, calls: int, warmup: int, label: str) -> tuple[list[Any], list[Any]]:
    """Sequential sync calls of order_validation (accepted branch), adapters alternating."""
    rows: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    for i in range(warmup + calls):
        prefix = PREFIXES[i % 2]
        order = {"id": f"{label}-{i}", "sku": "SKU-2", "quantity": 3}
        body = json.dumps({"order": order}).encode()
        t_send = time.time()
        try:
            r = await harness.request_once(
                port, "POST", f"{prefix}/trigger/{ORDER}", ORDER_HEADERS, body, 150
            )
        except harness.HTTP_ERRORS as exc:
            bad.append({"i": i, "prefix": prefix, "error": repr(exc)})
            continue
        t_recv = time.time()
        answer: Any = None
        with contextlib.suppress(ValueError):
            answer = json.loads(r.body)
        ok = (
            r.status == 200
            and isinstance(answer, dict)
            and answer.get("total") == 2970
            and answer.get("order_id") == order["id"]
        )
        if not ok:
            bad.append(
                {
                    "i": i,
                    "prefix": prefix,
                    "status": r.status,
                    "body": r.body[:300].decode(errors="replace"),
                    "run_id": r.header("x-airflow-run-id"),
                    "warmup": i < warmup,
                }
            )
            continue
        if i >= warmup:
            rows.append(
                {"prefix": prefix, "run_id": r.header("x-airflow-run-id"), "t_send": t_send, "t_recv": t_recv}
            )
    return rows, bad


def order_calls(base: str, calls: int, warmup: int, label: str) -> dict[str, Any]:
    """``send_orders``, then each call's run timings from the DB."""
    rows, bad = asyncio.run(send_orders(harness.port_of(base), calls, warmup, label))
    timings = run_timings(ORDER_DAG, [r["run_id"] for r in rows], "accept_order")
    # let the last runs end (fulfil_order sleeps 5 s) so that stopping the processes kills no task
    run_timings(ORDER_DAG, [r["run_id"] for r in rows[-3:]], "fulfil_order", limit=30)
    for r in rows:
        t = timings.get(r["run_id"], {})
        acc = t.get("tasks", {}).get("accept_order", {})
        chk = t.get("tasks", {}).get("check_order", {})
        r["e2e_ms"] = (r["t_recv"] - r["t_send"]) * 1000
        x = t.get("xcom_ts")
        r["delivery_ms"] = (r["t_recv"] - x) * 1000 if x else None
        q, st, end = t.get("queued_at"), t.get("start_date"), acc.get("end")
        r["accept_ms"] = (q - r["t_send"]) * 1000 if q else None  # request sent -> run row created
        r["run_queued_to_accept_end_ms"] = (end - q) * 1000 if q and end else None
        r["run_start_to_accept_end_ms"] = (end - st) * 1000 if st and end else None
        r["queued_to_xcom_ms"] = (x - q) * 1000 if q and x else None
        r["xcom_to_accept_end_ms"] = (end - x) * 1000 if end and x else None
        r["check_start_ms"] = (chk.get("start") - q) * 1000 if q and chk.get("start") else None
        r["overhead_ms"] = (
            r["e2e_ms"] - r["run_queued_to_accept_end_ms"] if r["run_queued_to_accept_end_ms"] else None
        )

    def col(key: str, prefix: str | None = None) -> list[float]:
        return [r[key] for r in rows if r.get(key) is not None and (prefix is None or r["prefix"] == prefix)]

    keys = [
        "delivery_ms",
        "e2e_ms",
        "accept_ms",
        "run_queued_to_accept_end_ms",
        "run_start_to_accept_end_ms",
        "queued_to_xcom_ms",
        "xcom_to_accept_end_ms",
        "check_start_ms",
        "overhead_ms",
    ]
    return {
        "calls": len(rows),
        "failures": bad,
        "all": {k: harness.summary(col(k)) for k in keys},
        "by_adapter": {p: {k: harness.summary(col(k, p)) for k in keys} for p in PREFIXES},
        "rows": rows,
    }


# --------------------------------------------------------------------------- (c) Flask batches


def batches(times: list[float], gap: float = 1.0) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for t in sorted(times):
        if out and t - out[-1]["last"] <= gap:
            out[-1]["n"] += 1
            out[-1]["last"] = t
        else:
            out.append({"n": 1, "first": t, "last": t})
    return out


async def post_sync_1s(port: int) -> harness.Response:
    """One call to the FastAPI sync webhook that times out after 1 s (answered 202)."""
    return await harness.request_once(port, "POST", f"/webhook/trigger/{HOOK_1S}", JSON, b"{}", 60)


async def concurrent_burst(
    base: str, prefix: str, hook: str, n: int, timeout: float, probes: bool
) -> dict[str, Any]:
    """n concurrent sync calls at once; completion times; optional probes of other routes."""
    port = harness.port_of(base)
    t0 = time.monotonic()
    results: list[dict[str, Any]] = []

    async def one(i: int) -> None:
        try:
            status, _, body = await harness.request_once(
                port, "POST", f"{prefix}/trigger/{hook}", JSON, b'{"i": %d}' % i, timeout
            )
            results.append(
                {"t": time.monotonic() - t0, "status": status, "body": body[:200].decode(errors="replace")}
            )
        except Exception as exc:
            results.append({"t": time.monotonic() - t0, "status": None, "error": type(exc).__name__})

    probe_out: dict[str, list[Any]] = {"health": [], "fastapi_sync_1s": [], "order_sync": []}
    stop = asyncio.Event()

    async def probe(name: str, send: Any, pause: float | None, delay: float = 0.0) -> None:
        """``send()`` every ``pause`` s until the burst is answered (``None``: once, after ``delay``)."""
        await asyncio.sleep(delay)
        while not stop.is_set():
            s = time.monotonic()
            try:
                st: int | str = (await send()).status
            except Exception as exc:
                st = type(exc).__name__
            probe_out[name].append({"at": s - t0, "ms": (time.monotonic() - s) * 1000, "status": st})
            if pause is None:
                return
            await asyncio.sleep(pause)

    order = json.dumps({"order": {"id": "probe-1", "sku": "SKU-2", "quantity": 3}}).encode()
    probe_calls = (
        [
            probe("health", lambda: harness.request_once(port, "GET", harness.HEALTH, timeout=60), 0.5),
            probe("fastapi_sync_1s", lambda: post_sync_1s(port), 1.0),
            probe(
                "order_sync",
                lambda: harness.request_once(
                    port, "POST", f"/webhook/trigger/{ORDER}", ORDER_HEADERS, order, 150
                ),
                None,
                delay=1.0,
            ),
        ]
        if probes
        else []
    )
    extra = [asyncio.create_task(c) for c in probe_calls]
    await asyncio.gather(*(one(i) for i in range(n)))
    stop.set()
    if extra:
        await asyncio.gather(*extra)
    ok_times = [r["t"] for r in results if r["status"] == 202]
    return {
        "prefix": prefix,
        "n": n,
        "hook_timeout_s": 5.0,
        "statuses": dict(
            Counter(str(r["status"]) if r["status"] is not None else r.get("error") for r in results)
        ),
        "completion_s": harness.summary([r["t"] for r in results]),
        "batches": [
            {"n": b["n"], "first_s": round(b["first"], 2), "last_s": round(b["last"], 2)}
            for b in batches(ok_times)
        ],
        "non_202_examples": [r for r in results if r["status"] != 202][:3],
        "probes": {k: v for k, v in probe_out.items() if v} if probes else {},
    }


# --------------------------------------------------------------------------- (c) 1,000 waiting


async def many_waiting(base: str, n: int, timeout: float, notes: list[str]) -> dict[str, Any]:
    import psutil

    port = harness.port_of(base)
    pid = server_pid(base)
    if pid is None:
        raise RuntimeError("api-server pid not found")
    proc = psutil.Process(pid)

    def conns() -> int:
        return sum(
            1
            for c in proc.net_connections(kind="tcp")
            if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port
        )

    # warm-up: the trigger path, the waiter thread, the DAG cache, a few thread-pool threads
    await asyncio.gather(*(post_sync_1s(port) for _ in range(40)))
    await asyncio.sleep(2.0)
    rss_before = proc.memory_info().rss
    threads_before = proc.num_threads()
    from airflow_webhook_trigger.airflow_seam.airflow_config import server_secret
    from airflow_webhook_trigger.core.run_tokens import RunTokens

    prefix = RunTokens(server_secret() or None).run_prefix(HOOK_LONG)  # the api-server's secret
    runs_before = await asyncio.to_thread(count_runs, prefix)

    t0 = time.monotonic()
    results: list[dict[str, Any]] = []
    answers_503 = [0, 0]  # first attempts answered 503, all 503 answers

    async def one(i: int) -> None:
        attempts = 0
        while True:
            attempts += 1
            ts = time.monotonic() - t0
            try:
                response = await harness.request_once(
                    port, "POST", f"/webhook/trigger/{HOOK_LONG}", JSON, b'{"i": %d}' % i, timeout + 180
                )
            except Exception as exc:
                results.append(
                    {
                        "start": ts,
                        "t": time.monotonic() - t0,
                        "status": None,
                        "attempts": attempts,
                        "error": f"{type(exc).__name__}: {exc}"[:200],
                    }
                )
                return
            status, body, retry_after = response.status, response.body, response.header("retry-after")
            if status == 503:
                answers_503[1] += 1
                answers_503[0] += attempts == 1
                # a well-behaved sender: come back after Retry-After (bounded)
                if retry_after and attempts < 20 and time.monotonic() - t0 < timeout - 10:
                    await asyncio.sleep(float(retry_after))
                    continue
            results.append(
                {
                    "start": ts,
                    "t": time.monotonic() - t0,
                    "status": status,
                    "attempts": attempts,
                    "body": body[:300].decode(errors="replace"),
                    "location": response.header("location"),
                    "retry_after": retry_after,
                }
            )
            return

    tasks = [asyncio.create_task(one(i)) for i in range(n)]
    samples: list[dict[str, Any]] = []
    all_waiting_at = None
    while time.monotonic() - t0 < timeout - 1:
        await asyncio.sleep(1.0)
        created = await asyncio.to_thread(count_runs, prefix) - runs_before
        early = sum(1 for r in results if r["status"] != 202 or r["t"] - r["start"] < timeout)
        samples.append(
            {
                "t": round(time.monotonic() - t0, 1),
                "runs": created,
                "conns": conns(),
                "rss_mb": round(proc.memory_info().rss / 2**20, 1),
                "answered_early": early,
                "answers_503": answers_503[1],
            }
        )
        if created + early >= n:
            all_waiting_at = time.monotonic() - t0
            break
    during: dict[str, Any] = {}
    if all_waiting_at is not None and timeout - all_waiting_at > 4:
        await asyncio.sleep(0.5)
        c0, w0 = proc.cpu_times(), time.monotonic()
        await asyncio.sleep(min(5.0, timeout - all_waiting_at - 2.5))
        c1, w1 = proc.cpu_times(), time.monotonic()
        during = {
            "rss": proc.memory_info().rss,
            "threads": proc.num_threads(),
            "conns": conns(),
            "cpu_pct_one_core": 100 * ((c1.user + c1.system) - (c0.user + c0.system)) / (w1 - w0),
            "window_s": w1 - w0,
        }
    else:
        notes.append(f"(c) not all {n} were waiting before the timeout: waiting measurement partial")
        during = {"rss": proc.memory_info().rss, "threads": proc.num_threads(), "conns": conns()}
    await asyncio.gather(*tasks)
    await asyncio.sleep(1.0)
    rss_after = proc.memory_info().rss
    runs_created = await asyncio.to_thread(count_runs, prefix) - runs_before
    ok = [r for r in results if r["status"] == 202]
    on_time = [r for r in ok if r["t"] - r["start"] >= timeout - 0.05]
    bad = [r for r in results if r["status"] != 202]
    accept_s = all_waiting_at or 0.0
    return {
        "n": n,
        "hook_timeout_s": timeout,
        "statuses": dict(Counter(str(r["status"]) if r["status"] is not None else "error" for r in results)),
        "answered_202_after_timeout": len(on_time),
        "errors_or_early": len(bad) + (len(ok) - len(on_time)),
        "bad_examples": bad[:5],
        "first_attempt_503": answers_503[0],
        "all_503_answers": answers_503[1],
        "attempts": dict(Counter(r["attempts"] for r in results)),
        "runs_created": runs_created,
        "answer_time_s": harness.summary([r["t"] - r["start"] for r in results]),
        # a 202 comes `timeout` after the run exists: the rest is queueing before/while accepting
        "accept_latency_s": harness.summary([r["t"] - r["start"] - timeout for r in ok]),
        "all_waiting_after_s": all_waiting_at,
        "accept_rate_per_s": (n / accept_s) if accept_s else None,
        "rss_before_mb": rss_before / 2**20,
        "rss_during_mb": during.get("rss", 0) / 2**20,
        "rss_after_mb": rss_after / 2**20,
        "kib_per_waiting_call": (during.get("rss", 0) - rss_before) / 1024 / n,
        "threads_before": threads_before,
        "threads_during": during.get("threads"),
        "conns_during": during.get("conns"),
        "cpu_pct_while_waiting": during.get("cpu_pct_one_core"),
        "samples": samples,
        "example_202_body": ok[0]["body"] if ok else None,
    }


# --------------------------------------------------------------------------- (b) in-process


def part_b(ns: list[int], ticks: list[float], window: float, notes: list[str]) -> dict[str, Any]:
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import event, select
    from sqlalchemy.engine import Engine

    from airflow_webhook_trigger.airflow_seam.airflow_config import read_settings
    from airflow_webhook_trigger.airflow_seam.run_gateway import AirflowRunGateway
    from airflow_webhook_trigger.core.runs import RunOrder
    from airflow_webhook_trigger.core.waiter import RunWaiter

    gw = AirflowRunGateway(read_settings())
    fetch_runs = gw.fetch_settled  # what runtime.py gives the waiter

    need = max(ns)
    with create_session() as s:
        keys = list(
            s.scalars(
                select(DagRun.id)
                .where(DagRun.dag_id == PLAIN_DAG, DagRun.state == "queued")
                .order_by(DagRun.id)
            ).all()
        )
    if len(keys) < need:
        t0 = time.monotonic()
        tag = secrets.token_hex(3)
        missing = need - len(keys)
        for i in range(missing):
            keys.append(gw.trigger(RunOrder(PLAIN_DAG, f"syncbench_b_{tag}_{i:05d}", {})).row_id)
        harness.log(f"(b) created {missing} queued runs of {PLAIN_DAG} in {time.monotonic() - t0:.1f}s")
    keys = keys[:need]
    with create_session() as s:
        states = Counter(
            str(getattr(x, "value", x)) for x in s.scalars(select(DagRun.state).where(DagRun.id.in_(keys)))
        )
    if set(states) != {"queued"}:
        notes.append(f"(b) the runs waited on are not all queued: {dict(states)}")

    count = [0]
    stmts: list[str] = []

    def on_exec(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        count[0] += 1
        if len(stmts) < 3:
            stmts.append(statement)

    fetch_times: list[float] = []

    def timed_fetch(ks: Any) -> Any:
        s = time.perf_counter()
        try:
            return fetch_runs(ks)
        finally:
            fetch_times.append(time.perf_counter() - s)

    # one fetch alone, N keys: median of 15
    single: dict[int, float] = {}
    for n in ns:
        if n == 0:
            continue
        fetch_runs(keys[:n])
        ts = []
        for _ in range(15):
            s = time.perf_counter()
            snaps = fetch_runs(keys[:n])
            ts.append(time.perf_counter() - s)
        # fetch_runs returns only settled runs: none of these queued runs may come back
        assert not snaps, "runs unexpectedly settled"
        single[n] = (harness.percentile(ts, 50) or 0.0) * 1000

    event.listen(Engine, "before_cursor_execute", on_exec)
    rows = []
    try:
        for tick in ticks:
            for n in ns:
                waiter = RunWaiter(timed_fetch, tick)

                async def measure() -> dict[str, Any]:
                    tasks = [asyncio.create_task(waiter.wait_async(k, window + 30)) for k in keys[:n]]
                    await asyncio.sleep(0.6)  # all registered, the poller in its stride
                    c0, f0, ft0 = count[0], waiter.fetches, len(fetch_times)
                    p0, w0 = time.process_time(), time.monotonic()
                    await asyncio.sleep(window)
                    c1, f1, ft1 = count[0], waiter.fetches, len(fetch_times)
                    p1, w1 = time.process_time(), time.monotonic()
                    waiting = waiter.waiting
                    for t in tasks:
                        t.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
                    el = w1 - w0
                    ft = fetch_times[ft0:ft1]
                    return {
                        "tick": tick,
                        "waiters": n,
                        "waiting_seen": waiting,
                        "window_s": el,
                        "fetches_per_s": (f1 - f0) / el,
                        "statements_per_s": (c1 - c0) / el,
                        "statements_per_fetch": ((c1 - c0) / (f1 - f0)) if f1 > f0 else None,
                        "fetch_ms_p50": (harness.percentile(ft, 50) or 0.0) * 1000 if ft else None,
                        "fetch_ms_max": (max(ft) * 1000) if ft else None,
                        "single_fetch_ms": single.get(n),
                        "cpu_pct_one_core": 100 * (p1 - p0) / el,
                    }

                row = asyncio.run(measure())
                time.sleep(tick * 3)  # let the poller go idle
                rows.append(row)
                harness.log(
                    f"(b) tick {tick} waiters {n}: {row['fetches_per_s']:.1f} fetch/s, "
                    f"{row['statements_per_s']:.1f} stmt/s, fetch {fmt(row['fetch_ms_p50'], 2)} ms"
                )
    finally:
        event.remove(Engine, "before_cursor_execute", on_exec)
    delivery = delivery_inprocess(keys, ticks, 10 if window < 5 else 30, [0, max(ns)])
    return {"rows": rows, "example_statement": stmts[0] if stmts else None, "delivery": delivery}


def delivery_inprocess(
    keys: list[int], ticks: list[float], samples: int, backgrounds: list[int]
) -> list[dict[str, Any]]:
    """The waiter alone: our own commit of a response row -> ``wait_async`` returns, in-process."""
    import random

    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from airflow_webhook_trigger.airflow_seam.airflow_config import read_settings
    from airflow_webhook_trigger.airflow_seam.run_gateway import AirflowRunGateway
    from airflow_webhook_trigger.core.runs import RunOrder
    from airflow_webhook_trigger.core.waiter import RESPONSE_KEY, RunWaiter

    gw = AirflowRunGateway(read_settings())
    fetch_runs = gw.fetch_settled
    tag = secrets.token_hex(3)
    rows = []
    for tick in ticks:
        for nbg in backgrounds:
            waiter = RunWaiter(fetch_runs, tick)

            async def go() -> list[float]:
                bg = [asyncio.create_task(waiter.wait_async(k, 600)) for k in keys[:nbg]]
                await asyncio.sleep(0.5)
                delays: list[float] = []
                for i in range(samples):
                    run = await asyncio.to_thread(
                        gw.trigger, RunOrder(PLAIN_DAG, f"syncbench_w_{tag}_{tick:g}_{nbg}_{i}", {})
                    )
                    fut = asyncio.create_task(waiter.wait_async(run.row_id, 30))
                    await asyncio.sleep(0.05 + random.uniform(0, tick))  # a random phase of the tick

                    def commit(run_id: str = run.run_id) -> float:
                        with create_session() as session:
                            XComModel.set(
                                RESPONSE_KEY,
                                {"status": 200, "headers": {}, "body": "ok", "task_id": "echo"},
                                dag_id=PLAIN_DAG,
                                task_id="echo",
                                run_id=run_id,
                                session=session,
                            )
                        return time.time()  # committed when create_session's block has left

                    t_commit = await asyncio.to_thread(commit)
                    snap = await fut
                    t_wake = time.time()
                    if snap is None or snap.response is None:
                        raise RuntimeError(f"waiter did not see the response of {run.run_id}: {snap}")
                    delays.append((t_wake - t_commit) * 1000)
                for t in bg:
                    t.cancel()
                await asyncio.gather(*bg, return_exceptions=True)
                return delays

            d = asyncio.run(go())
            time.sleep(tick * 3)
            rows.append({"tick": tick, "other_waiters": nbg, **harness.summary(d)})
            harness.log(
                f"(a') in-process tick {tick} +{nbg} waiters: commit->wake p50 {fmt(rows[-1]['p50'])} p99 {fmt(rows[-1]['p99'])} ms"
            )
    return rows


# --------------------------------------------------------------------------- report


def report(res: dict[str, Any]) -> str:
    out: list[str] = []
    db = res["db"]
    out.append(f"\n## sync_wait on {db} ({res['when']}, {res['mode']})\n")
    a = res.get("a", {})
    if a:
        out.append("### (a) response committed (xcom.timestamp) -> caller has the answer, ms")
        rows = []
        for label, r in a.items():
            tick = r["tick"]
            for name, s in [
                ("both", r["result"]["all"]["delivery_ms"]),
                ("FastAPI", r["result"]["by_adapter"]["/webhook"]["delivery_ms"]),
                ("Flask", r["result"]["by_adapter"]["/pluginsv2/webhook"]["delivery_ms"]),
            ]:
                target = tick * 1000 + 20
                rows.append(
                    [
                        label,
                        f"{tick:g}",
                        name,
                        s["n"],
                        s["min"],
                        s["p50"],
                        s["p90"],
                        s["p99"],
                        s["max"],
                        target,
                        "yes" if s["p99"] is not None and s["p99"] <= target else "NO",
                    ]
                )
        out.append(
            table(
                [
                    "phase",
                    "tick s",
                    "adapter",
                    "n",
                    "min",
                    "p50",
                    "p90",
                    "p99",
                    "max",
                    "target p99 <=",
                    "met",
                ],
                rows,
            )
        )
        fails = {k: v["result"]["failures"] for k, v in a.items() if v["result"]["failures"]}
        if fails:
            out.append(f"\nfailed calls: {json.dumps(fails)[:1500]}")
    b = res.get("b", {})
    if b:
        out.append(
            "\n### (b) queries made by waiting (in-process RunWaiter, real DB, runs that never settle)"
        )
        rows = [
            [
                f"{r['tick']:g}",
                r["waiters"],
                r["waiting_seen"],
                r["fetches_per_s"],
                r["statements_per_s"],
                r["statements_per_fetch"],
                r["fetch_ms_p50"],
                r["fetch_ms_max"],
                r["single_fetch_ms"],
                r["cpu_pct_one_core"],
            ]
            for r in b["rows"]
        ]
        out.append(
            table(
                [
                    "tick s",
                    "waiters",
                    "registered",
                    "fetch/s",
                    "SQL stmt/s",
                    "stmt/fetch",
                    "fetch ms p50 (in loop)",
                    "fetch ms max",
                    "one fetch alone ms",
                    "CPU % of a core",
                ],
                rows,
                2,
            )
        )
        if b.get("delivery"):
            out.append(
                "\n(a') the waiter alone, in-process: our commit of a response row -> wait_async returns, ms"
            )
            out.append(
                table(
                    ["tick s", "other waiters", "n", "min", "p50", "p90", "p99", "max", "target p99 <="],
                    [
                        [
                            f"{r['tick']:g}",
                            r["other_waiters"],
                            r["n"],
                            r["min"],
                            r["p50"],
                            r["p90"],
                            r["p99"],
                            r["max"],
                            r["tick"] * 1000 + 20,
                        ]
                        for r in b["delivery"]
                    ],
                )
            )
        out.append(f"\nthe statement: `{(b.get('example_statement') or '').split(chr(10))[0][:160]}...`")
    c = res.get("c", {})
    if c.get("many"):
        m = c["many"]
        out.append(f"\n### (c) FastAPI adapter: {m['n']:,} concurrent waiting calls, one uvicorn worker")
        rows = [
            ["statuses", json.dumps(m["statuses"])],
            ["answered 202 at/after the timeout", f"{m['answered_202_after_timeout']:,} / {m['n']:,}"],
            ["errors or early answers", m["errors_or_early"]],
            ["503 + Retry-After on first attempt (then retried after Retry-After)", m["first_attempt_503"]],
            ["all 503 answers / attempts per call", f"{m['all_503_answers']} / {json.dumps(m['attempts'])}"],
            ["runs created (must equal the 202s)", m["runs_created"]],
            ["all accepted and waiting after (s)", m["all_waiting_after_s"]],
            ["accept rate while ramping (runs/s)", m["accept_rate_per_s"]],
            [
                "answer time s, last attempt sent -> 202 (min / p50 / max)",
                f"{fmt(m['answer_time_s']['min'], 2)} / {fmt(m['answer_time_s']['p50'], 2)} / {fmt(m['answer_time_s']['max'], 2)} (timeout {m['hook_timeout_s']})",
            ],
            [
                "accept latency s = answer time - timeout (p50 / p90 / max)",
                f"{fmt(m['accept_latency_s']['p50'], 2)} / {fmt(m['accept_latency_s']['p90'], 2)} / {fmt(m['accept_latency_s']['max'], 2)}",
            ],
            [
                "worker RSS MiB before (warm) / all waiting / after",
                f"{m['rss_before_mb']:.1f} / {m['rss_during_mb']:.1f} / {m['rss_after_mb']:.1f}",
            ],
            ["RSS per waiting call (KiB)", f"{m['kib_per_waiting_call']:.1f}"],
            ["worker threads before / while waiting", f"{m['threads_before']} / {m['threads_during']}"],
            ["open connections while waiting", m["conns_during"]],
            ["worker CPU while they only wait (% of one core)", m["cpu_pct_while_waiting"]],
        ]
        out.append(table(["", "value"], rows))
    if c.get("bursts"):
        out.append("\n### (c) 100 concurrent sync calls, 5 s sync timeout: when the 202s arrive")
        rows = []
        for bst in c["bursts"]:
            bt = ", ".join(f"{x['n']} at {x['first_s']}-{x['last_s']} s" for x in bst["batches"])
            rows.append(
                [bst["prefix"], bst["n"], json.dumps(bst["statuses"]), bst["completion_s"]["max"], bt]
            )
        out.append(
            table(["adapter prefix", "calls", "statuses", "last answer s", "batches of 202s"], rows, 2)
        )
        for bst in c["bursts"]:
            pr = bst.get("probes") or {}
            if pr:
                out.append(f"\nprobes during the {bst['prefix']} burst (same api-server):")
                prow = []
                for k, v in pr.items():
                    ms = [x["ms"] for x in v]
                    prow.append(
                        [
                            k,
                            len(v),
                            harness.percentile(ms, 50),
                            max(ms),
                            json.dumps(dict(Counter(str(x["status"]) for x in v))),
                        ]
                    )
                out.append(table(["probe", "n", "ms p50", "ms max", "statuses"], prow, 0))
    d = res.get("d", {})
    if d:
        out.append(
            "\n### (d) order_validation accepted branch: caller's end-to-end vs the run's own time, ms (p50 / p90 / max)"
        )
        rows = []
        names = [
            ("e2e_ms", "caller e2e (send -> answer)"),
            ("accept_ms", "send -> dag_run.queued_at"),
            ("check_start_ms", "queued_at -> check_order start"),
            ("queued_to_xcom_ms", "queued_at -> response xcom"),
            ("run_queued_to_accept_end_ms", "run: queued_at -> accept_order end"),
            ("run_start_to_accept_end_ms", "run: start_date -> accept_order end"),
            ("xcom_to_accept_end_ms", "response xcom -> accept_order end"),
            ("delivery_ms", "response xcom -> caller"),
            ("overhead_ms", "overhead = e2e - (queued_at -> accept_order end)"),
        ]
        for key, nm in names:
            row = [nm]
            for label, r in d.items():
                s = r["result"]["all"][key]
                row.append(f"{fmt(s['p50'], 0)} / {fmt(s['p90'], 0)} / {fmt(s['max'], 0)}")
            rows.append(row)
        out.append(
            table(
                [
                    "",
                    *[f"{k} (idle sleep {v['idle_sleep']}, n={v['result']['calls']})" for k, v in d.items()],
                ],
                rows,
            )
        )
    if res.get("problems"):
        out.append("\n### api-server / scheduler log problems")
        for phase, probs in res["problems"].items():
            for f, p in probs.items():
                out.append(
                    f"- {phase}/{f}: {p['tracebacks']} tracebacks, {p['error_lines']} ERROR lines; first:\n```\n{p['excerpt'][:1500]}\n```"
                )
    if res.get("notes"):
        out.append("\nNotes:\n" + "\n".join(f"- {n}" for n in res["notes"]))
    out.append(f"\nlogs: {res['log_dir']}")
    return "\n".join(out)


# --------------------------------------------------------------------------- main


def run_db(args: argparse.Namespace) -> dict[str, Any]:
    parts = set(args.parts.split(","))
    quick = args.quick
    calls = args.calls or (8 if quick else 40)
    warmup = 1 if quick else 2
    waiters = args.waiters or (200 if quick else 1000)
    long_timeout = args.long_timeout or (30.0 if quick else 90.0)
    notes: list[str] = []
    log_dir = Path(tempfile.mkdtemp(prefix=f"sync_wait_{args.db}_"))
    res: dict[str, Any] = {
        "db": args.db,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "mode": "quick" if quick else "full",
        "notes": notes,
        "log_dir": str(log_dir),
        "problems": {},
    }
    dep = setup_airflow(args.db)
    res["airflow_env"] = {
        k: v
        for k, v in dep.env.items()
        if k.startswith("AIRFLOW") and "SECRET" not in k and "PASSWORD" not in k
    }
    upsert_hook(HOOK_LONG, long_timeout)
    upsert_hook(HOOK_5S, 5)
    upsert_hook(HOOK_1S, 1)

    def problems(name: str) -> None:
        p = log_problems(log_dir / name)
        if p:
            res["problems"][name] = p

    if parts & {"a", "c", "d"}:
        res["a"], res["d"], res["c"] = {}, {}, {}
        # Phase A: default tick, fast scheduler: (a) + (d), then the Flask / FastAPI bursts (c)
        wait_quiet(args.wait_other, notes, "phase A")
        with processes(dep, log_dir, "A_tick0.05_idle0.1", scheduler=True, tick=0.05, idle_sleep=0.1) as base:
            if parts & {"a", "d"}:
                r = order_calls(base, calls, warmup, "a1")
                res["a"]["tick 0.05"] = {"tick": 0.05, "result": r}
                res["d"]["idle 0.1"] = {"idle_sleep": 0.1, "result": r}
                harness.log(
                    f"(a) tick 0.05: delivery p50 {fmt(r['all']['delivery_ms']['p50'])} p99 {fmt(r['all']['delivery_ms']['p99'])} ms; "
                    f"e2e p50 {fmt(r['all']['e2e_ms']['p50'], 0)} ms"
                )
            if "c" in parts:
                time.sleep(6)  # let the fulfil_order tasks of the last calls end
                bursts = []
                for prefix in ("/webhook", "/pluginsv2/webhook"):
                    bst = asyncio.run(
                        concurrent_burst(base, prefix, HOOK_5S, 60 if quick else 100, 200, probes=True)
                    )
                    bursts.append(bst)
                    harness.log(f"(c) burst {prefix}: {bst['statuses']} batches {bst['batches']}")
                    time.sleep(3)
                res["c"]["bursts"] = bursts
        problems("A_tick0.05_idle0.1")
        if "a" in parts:
            wait_quiet(args.wait_other, notes, "phase B")
            with processes(
                dep, log_dir, "B_tick0.01_idle0.1", scheduler=True, tick=0.01, idle_sleep=0.1
            ) as base:
                r = order_calls(base, calls, warmup, "a2")
                res["a"]["tick 0.01"] = {"tick": 0.01, "result": r}
                harness.log(
                    f"(a) tick 0.01: delivery p50 {fmt(r['all']['delivery_ms']['p50'])} p99 {fmt(r['all']['delivery_ms']['p99'])} ms"
                )
            problems("B_tick0.01_idle0.1")
        if "d" in parts and not quick:
            wait_quiet(args.wait_other, notes, "phase C")
            with processes(
                dep, log_dir, "C_tick0.05_idle1.0", scheduler=True, tick=0.05, idle_sleep=1.0
            ) as base:
                r = order_calls(base, max(10, calls // 2), warmup, "d2")
                res["d"]["idle 1.0"] = {"idle_sleep": 1.0, "result": r}
                res["a"]["tick 0.05 (idle 1.0)"] = {"tick": 0.05, "result": r}
                harness.log(f"(d) idle 1.0: e2e p50 {fmt(r['all']['e2e_ms']['p50'], 0)} ms")
            problems("C_tick0.05_idle1.0")
        if "c" in parts:
            wait_quiet(args.wait_other, notes, "phase D")
            with processes(
                dep, log_dir, "D_apiserver_only", scheduler=False, tick=0.05, idle_sleep=0.1
            ) as base:
                m = asyncio.run(many_waiting(base, waiters, long_timeout, notes))
                res["c"]["many"] = m
                harness.log(
                    f"(c) {waiters} waiting: {m['statuses']}, RSS {m['rss_before_mb']:.0f} -> {m['rss_during_mb']:.0f} MiB"
                )
            problems("D_apiserver_only")
        for k in ("a", "d", "c"):
            if not res[k]:
                del res[k]
    if "b" in parts:
        wait_quiet(args.wait_other, notes, "part b")
        ns = [0, 1, 100, 200] if quick else [0, 1, 100, 1000]
        ticks = [0.05] if quick else [0.05, 0.01]
        res["b"] = part_b(ns, ticks, 2.0 if quick else 5.0, notes)
    from airflow import settings

    settings.dispose_orm()
    dep.close()
    shutil.rmtree(dep.home, ignore_errors=True)  # the logs stay in log_dir
    return res


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="short run (8 calls, 200 waiters, 2 s windows)")
    p.add_argument(
        "--json", help="write the results as JSON to PATH (- for stdout, report then goes to stderr)"
    )
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    p.add_argument("--parts", default="a,b,c,d", help="subset of a,b,c,d")
    p.add_argument(
        "--calls", type=int, default=0, help="sync calls per phase for (a)/(d) (default 40; quick 8)"
    )
    p.add_argument(
        "--waiters", type=int, default=0, help="concurrent waiting calls for (c) (default 1000; quick 200)"
    )
    p.add_argument(
        "--long-timeout",
        type=float,
        default=0.0,
        help="sync timeout of the (c) webhook (default 90; quick 30)",
    )
    p.add_argument(
        "--wait-other", type=float, default=1800.0, help="max seconds to wait for another load test to end"
    )
    args = p.parse_args(argv)

    signal.signal(signal.SIGTERM, harness.on_sigterm)
    report_out = sys.stderr if args.json == "-" else sys.stdout

    def dump(obj: Any) -> None:
        if args.json:
            text = json.dumps(obj, indent=1, default=str)
            if args.json == "-":
                sys.stdout.write(text + "\n")
            else:
                Path(args.json).write_text(text)

    if args.db == "both":
        results = []
        for db in ("sqlite", "postgres"):
            with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
                path = tmp.name
            child = [
                sys.executable,
                str(SCRIPT),
                *argv,
                "--db",
                db,
                "--json",
                path,
            ]  # the last --db/--json win
            proc = subprocess.run(child, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=report_out)
            if proc.returncode != 0:
                harness.log(f"{db}: child failed ({proc.returncode})")
                continue
            results.append(json.loads(Path(path).read_text()))
        dump(results)
        return 0 if results else 1
    try:
        res = run_db(args)
    except KeyboardInterrupt:
        harness.log("interrupted")
        return 130
    print(report(res), file=report_out, flush=True)
    dump(res)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
