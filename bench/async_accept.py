"""Accepted webhooks per second through a real ``airflow api-server``, next to Airflow's REST trigger.

Run: ``.venv/bin/python bench/async_accept.py [--db sqlite|postgres|both] [--seconds 10]
[--clients 1,8,32] [--repeats 1] [--json PATH|-] [--profile] [--profile-only]
[--plugin-src DIR] [--against DIR] [--no-rest] [--no-ceiling]``

``--plugin-src DIR`` serves the plugin from another checkout (``git worktree add DIR
COMMIT``) with this venv's Airflow. ``--against DIR`` compares two commits in one run: a
second api-server (same home, database, webhook and core) serves the plugin from DIR, and
every point of the webhook is measured on both servers back to back, in alternating order,
so the report's ``webhook/base`` ratio (of the medians, then of each repeat's adjacent pair)
is as little exposed to this machine's drift as a ratio can be.

For each database the script, in one run (the lifecycle, the client and the percentiles are
``bench/harness.py``'s, shared with ``sync_wait.py`` and ``burst.py``):

1. makes a throw-away ``AIRFLOW_HOME`` (and, for PostgreSQL, its own database
   ``webhook_bench`` on 127.0.0.1:5432, dropped at the end), runs ``airflow db migrate`` with
   the plugin's DB manager, serializes the example DAGs (``harness.sync_dags``: ``DagBag`` +
   ``sync_bag_to_db``, as in ``tests/integration.py``) and creates a webhook for
   ``payment_callback`` with Basic auth and the body fields of ``dags_examples/webhooks.yaml``;
2. starts ``airflow api-server -w 1`` on a free loopback port (SimpleAuthManager with an
   ``admin`` user, LocalExecutor, no scheduler), pinned with ``taskset`` to core 0;
3. for each number of concurrent clients, alternating the order of the two paths, drives
   ``POST /webhook/trigger/{id}`` (Basic auth, a ~1 KiB Stripe-like event) and
   ``POST /api/v2/dags/payment_callback/dagRuns`` (a JWT from ``POST /auth/token``, body
   ``{"logical_date": null, "conf": ...}`` where conf is exactly what the webhook builds from
   the same event) with a closed-loop asyncio HTTP/1.1 keep-alive client
   (``harness.closed_loop``) in a separate process pinned to core 1; after each point it
   waits until the server is idle again and checks the number of runs created against the
   number of 2xx answers.

Counting: 2xx = accepted; 503 with ``Retry-After`` = deliberate back-pressure; any other
4xx/5xx (and 503 without ``Retry-After``) = unplanned error; connection errors and requests
over ``--timeout`` = socket errors/timeouts (also unplanned). Requests still in flight when
the point ends are "cut" (neither). Latency percentiles (nearest rank, ``harness.percentile``)
are over the accepted (2xx) responses of the measured window; the warm-up (``--warmup`` s per
point) is discarded.

Why a JWT and not ``[core] simple_auth_manager_all_admins``: in Airflow 3.3.2 that option
does not skip auth, it installs a ``BaseHTTPMiddleware`` on the whole api-server that signs
a fresh JWT for every request (then verified as usual) -- the plugin's mounted app pays for
it too. ``--rest-auth all-admins`` measures that variant anyway.

``--profile`` (or ``--profile-only``): in a configured process, calls
``runtime.endpoint.locate`` + ``runtime.endpoint.accept`` many times (timed, then under
cProfile) and prints where the time of one webhook goes.

Targets: webhook >= 2x REST at 1 client; zero unplanned errors at 8 and 32 clients. The exit
code is 0 unless the benchmark itself could not run (targets are reported, not gated).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
# bench/ last on the path: harness.py is found, and no bench/*.py shadows a module Airflow imports
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH] + [str(BENCH)]
import harness  # noqa: E402

ROOT = harness.ROOT
EXAMPLES = harness.EXAMPLES
SCRIPT = Path(__file__).resolve()
DAG_ID = "payment_callback"
WEBHOOK_ID = "pay-3f9c2a7d81e4b6a0"
HOOK_USER = "stripe"
#: the same webhook, GitHub-signed instead of Basic auth (its secret in the env var below)
SIGNED_ID = "pay-signed-github-0001"
SIGNED_SECRET_ENV = "BENCH_GITHUB_SECRET"
SIGNED_SECRET = "bench-github-secret-0123456789"
#: what the deployment's environment adds to harness.airflow_env
SETTINGS = {SIGNED_SECRET_ENV: SIGNED_SECRET}
PG_DB = "webhook_bench"
RID_PLACEHOLDER = harness.RID_PLACEHOLDER
DATE_HEADER = "Tue, 01 Dec 2026 10:00:00 GMT"
WEBHOOK_TARGET_1 = 2.0

# --------------------------------------------------------------------------- the request


def stripe_event() -> dict[str, Any]:
    """A realistic Stripe ``payment_intent.succeeded`` event, about 1 KiB once encoded."""
    return {
        "id": "evt_3PqRsT2eZvKYlo2C1a2b3c4d",
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1796119200,
        "type": "payment_intent.succeeded",
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": RID_PLACEHOLDER, "idempotency_key": "9f1c7a2e-5b3d-4e8f-a6c1-2d7e9b0f4a13"},
        "data": {
            "object": {
                "id": "pi_3PqRsT2eZvKYlo2C0x9y8z7w",
                "object": "payment_intent",
                "amount": 2000,
                "amount_received": 2000,
                "currency": "EUR",
                "status": "succeeded",
                "capture_method": "automatic",
                "confirmation_method": "automatic",
                "created": 1796119195,
                "customer": "cus_Q1w2E3r4T5y6U7",
                "description": "Order #10423 - 2 items",
                "latest_charge": "ch_3PqRsT2eZvKYlo2C0m1n2b3v",
                "payment_method": "pm_1PqRsS2eZvKYlo2Cq1w2e3r4",
                "payment_method_types": ["card"],
                "receipt_email": "zoe.martin@example.com",
                "metadata": {"order_id": "10423", "cart_id": "c_88af2", "channel": "web"},
                "shipping": {
                    "name": "Zoë Martin",
                    "address": {
                        "line1": "12 rue de la Paix",
                        "line2": None,
                        "city": "Paris",
                        "postal_code": "75002",
                        "country": "FR",
                    },
                },
                "amount_details": {"tip": {}},
                "statement_descriptor": None,
            },
            "previous_attributes": None,
        },
    }


def event_bytes() -> bytes:
    return json.dumps(stripe_event(), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def webhook_headers(password: str) -> list[tuple[str, str]]:
    token = base64.b64encode(f"{HOOK_USER}:{password}".encode()).decode()
    return [
        ("Authorization", f"Basic {token}"),
        ("X-Request-Id", RID_PLACEHOLDER),
        ("Date", DATE_HEADER),
        (
            "Stripe-Signature",
            "t=1796119200,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
        ),
        ("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"),
    ]


def webhook_document(password: str) -> dict[str, Any]:
    """The ``payment_callback`` entry of dags_examples/webhooks.yaml, with a literal password."""
    return {
        "id": WEBHOOK_ID,
        "dag_id": DAG_ID,
        "mode": "async",
        "enabled": True,
        "auth": {"basic": {"username": HOOK_USER, "password": password}},
        "request": {
            "headers": [{"name": "X-Request-Id", "alias": "request_id"}, {"name": "Date"}],
            "body": [
                {"path": "data.object.amount", "alias": "amount"},
                {"path": "data.object.currency", "alias": "currency"},
                {"path": "type"},
            ],
        },
        "response": {"status": 200, "headers": {"X-Handled-By": "airflow"}, "body": "ok"},
    }


# --------------------------------------------------------------------------- the deployment


#: the HTTP ceiling of one worker: an Airflow plugin whose route reads the body and answers
#: "ok", mounted by the same api-server next to ours (same middlewares, same mount machinery)
CEILING_PLUGIN = """
from airflow.plugins_manager import AirflowPlugin
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route


async def empty(request):
    await request.body()
    return Response(b"ok", media_type="text/plain")


class BenchCeiling(AirflowPlugin):
    name = "bench_ceiling"
    fastapi_apps = [
        {"app": Starlette(routes=[Route("/empty", empty, methods=["POST"])]),
         "url_prefix": "/bench-ceiling", "name": "bench ceiling"}
    ]
"""
CEILING = "empty route"
#: the webhook served by the --against checkout's api-server
AGAINST = "webhook, base"


def write_ceiling_plugin(home: Path) -> None:
    plugins = home / "plugins"  # [core] plugins_folder's default
    plugins.mkdir(exist_ok=True)
    (plugins / "bench_ceiling.py").write_text(CEILING_PLUGIN)


def prepare(dep: harness.Deployment, history: int) -> dict[str, Any]:
    """Migrate, serialize the example DAGs, create the webhooks and seed ``history`` runs
    (``child_prepare``): its answer."""
    harness.log(f"{dep.db}: migrating ({dep.home})")
    took = dep.migrate()
    harness.log(f"{dep.db}: migrated in {took:.0f}s; serializing DAGs and creating the webhook")
    out = dep.run([sys.executable, str(SCRIPT), "--_prepare", str(history)])
    prep = dict(json.loads(out.strip().splitlines()[-1]))
    if history:
        harness.log(
            f"{dep.db}: {history} runs of history seeded and the DB analyzed in {prep['history_s']:.1f}s"
        )
    return prep


# --------------------------------------------------------------------------- in-Airflow helpers
# (run as ``--_prepare`` / ``--_profile`` in a child whose environment configures Airflow)


def _webhook_request(password: str) -> Any:
    from airflow_webhook_trigger.core.request import Headers, WebhookRequest

    headers = [("Host", "127.0.0.1"), ("Content-Type", "application/json"), *webhook_headers(password)]
    return WebhookRequest(method="POST", headers=Headers(headers), query_string=b"", body=event_bytes())


def child_prepare(history: int) -> None:
    """Serialize the example DAGs, create the webhook, seed ``history`` runs of the DAG
    (``harness.seed_history``), print the REST conf the webhook implies."""
    from datetime import datetime, timezone

    from airflow_webhook_trigger.airflow_seam.airflow_config import read_settings, server_secret
    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.core.jsonbody import read_body
    from airflow_webhook_trigger.core.run_tokens import RunTokens
    from airflow_webhook_trigger.core.trigger_variables import build_conf
    from airflow_webhook_trigger.storage.webhook_changes import upsert
    from airflow_webhook_trigger.storage.webhook_store import WebhookStore

    harness.sync_dags()

    password = secrets.token_urlsafe(18)
    applied = upsert(WebhookStore(db_session), webhook_document(password), env={})
    signed = {**webhook_document(password), "id": SIGNED_ID}
    signed["auth"] = {"signature": {"scheme": "github", "secret_env": SIGNED_SECRET_ENV}}
    upsert(WebhookStore(db_session), signed, env=os.environ)
    webhook = applied.webhook
    settings = read_settings()
    request = _webhook_request(password)
    body = read_body("application/json", request.body, max_depth=settings.json_max_depth)
    conf = build_conf(
        webhook,
        headers=request.headers,
        query={},
        body=body,
        received_at=datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=timezone.utc),
        max_conf_bytes=settings.max_conf_bytes,
        handle=RunTokens(server_secret() or None).handle(webhook.id),
    )
    history_s = harness.seed_history(DAG_ID, history)
    print(
        json.dumps(
            {
                "password": password,
                "conf": conf,
                "action": applied.action,
                "settings": vars(settings),
                "history_s": history_s,
            }
        )
    )


# Rough groups of the webhook request path: (label, file suffix, function name); a group's time
# is the cumulative time of its function (all callers) per request.
PROFILE_GROUPS: list[tuple[str, str, str]] = [
    ("locate (method, registry lookup via TTL cache)", "airflow_webhook_trigger/core/endpoint.py", "locate"),
    ("accept: whole", "airflow_webhook_trigger/core/endpoint.py", "accept"),
    ("  auth: Basic check (HMAC after first scrypt)", "airflow_webhook_trigger/core/auth.py", "check"),
    ("  auth: signature check (no signature here)", "airflow_webhook_trigger/core/signatures.py", "verify"),
    ("  parsing: JSON body", "airflow_webhook_trigger/core/jsonbody.py", "read_body"),
    ("  parsing: query string", "airflow_webhook_trigger/core/query_string.py", "parse_query"),
    (
        "  conf: build_conf (incl. size check)",
        "airflow_webhook_trigger/core/trigger_variables.py",
        "build_conf",
    ),
    ("  run gateway: trigger (whole)", "airflow_webhook_trigger/airflow_seam/run_gateway.py", "trigger"),
    (
        "    SET LOCAL lock/statement timeouts (PostgreSQL)",
        "airflow_webhook_trigger/storage/engine.py",
        "bound_writes",
    ),
    (
        "    latest DAG version (one select)",
        "airflow_webhook_trigger/airflow_seam/run_factory.py",
        "latest_version",
    ),
    (
        "    run template (cached per DAG version)",
        "airflow_webhook_trigger/airflow_seam/run_factory.py",
        "template",
    ),
    (
        "    param validation (compiled per version)",
        "airflow_webhook_trigger/airflow_seam/run_factory.py",
        "check_params",
    ),
    (
        "    lean insert: dag_run + task_instance rows",
        "airflow_webhook_trigger/airflow_seam/lean_insert.py",
        "insert_runs",
    ),
    ("      trace carriers (Airflow's helpers)", "observability/traces/__init__.py", "new_task_run_carrier"),
    ("      bulk_insert_mappings (task instances)", "sqlalchemy/orm/session.py", "bulk_insert_mappings"),
    # the accept path after issue #13 (group commit; older commits show 0 here)
    (
        "    lean rows built (outside the transaction)",
        "airflow_webhook_trigger/airflow_seam/run_factory.py",
        "prepare",
    ),
    (
        "    group commit: submit (waiting and writing)",
        "airflow_webhook_trigger/core/group_commit.py",
        "submit",
    ),
    (
        "      the group's inserts (runs, TIs, deliveries)",
        "airflow_webhook_trigger/airflow_seam/run_gateway.py",
        "_write_group",
    ),
    ("    Airflow's _trigger_dag (fallback DAGs only)", "airflow/api/common/trigger_dag.py", "_trigger_dag"),
    (
        "    Database.session (calls = 2 x sessions: enter+exit)",
        "airflow_webhook_trigger/storage/engine.py",
        "session",
    ),
    ("    Session.commit (all commits)", "sqlalchemy/orm/session.py", "commit"),
    ("    Session.flush (all flushes, incl. inside commit)", "sqlalchemy/orm/session.py", "flush"),
    ("    pool checkout (connect/ping)", "sqlalchemy/pool/base.py", "_checkout"),
    ("  response: body_response", "airflow_webhook_trigger/core/response.py", "body_response"),
]


def _asgi_compare(password: str, conf: dict[str, Any], iterations: int) -> dict[str, Any]:
    """Both paths through Airflow's real ASGI app (all middlewares, the plugin mount, auth) in
    this process, one request at a time: wall and process-CPU ms per request, in alternating
    blocks. CPU time is much less sensitive than throughput to other load on the machine."""
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    app = create_app(apps="all")
    body = event_bytes()
    with TestClient(app, base_url="http://localhost:8080") as client:
        token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
        calls = {
            "webhook": (
                f"/webhook/trigger/{WEBHOOK_ID}",
                {"Content-Type": "application/json", **dict(webhook_headers(password))},
                body,
            ),
            "airflow REST": (
                f"/api/v2/dags/{DAG_ID}/dagRuns",
                {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
                json.dumps({"logical_date": None, "conf": conf}).encode(),
            ),
            "webhook, GitHub-signed": (
                f"/webhook/trigger/{SIGNED_ID}",
                {
                    "Content-Type": "application/json",
                    **{k: v for k, v in webhook_headers(password) if k != "Authorization"},
                    "X-Hub-Signature-256": "sha256="
                    + hmac.new(SIGNED_SECRET.encode(), body, hashlib.sha256).hexdigest(),
                },
                body,
            ),
        }
        for name, (url, headers, data) in calls.items():
            for _ in range(10):  # warm: scrypt, DAG caches, JWT key
                r = client.post(url, headers=headers, content=data)
                if not 200 <= r.status_code < 300:
                    raise SystemExit(f"{name}: {r.status_code} {r.text[:300]}")
        block = 20
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in calls}
        for i in range(max(1, iterations // block)):
            for name in calls if i % 2 == 0 else reversed(list(calls)):
                url, headers, data = calls[name]
                w0, c0 = time.perf_counter(), time.process_time()
                for _ in range(block):
                    r = client.post(url, headers=headers, content=data)
                    if not 200 <= r.status_code < 300:
                        raise SystemExit(f"{name}: {r.status_code} {r.text[:300]}")
                samples[name].append(
                    ((time.perf_counter() - w0) / block * 1000, (time.process_time() - c0) / block * 1000)
                )
    out: dict[str, Any] = {}
    for name, vals in samples.items():
        out[name] = {
            "wall_ms": statistics.median(v[0] for v in vals),
            "cpu_ms": statistics.median(v[1] for v in vals),
            "requests": len(vals) * block,
        }
    out["ratio_rest_over_webhook_wall"] = out["airflow REST"]["wall_ms"] / out["webhook"]["wall_ms"]
    out["ratio_rest_over_webhook_cpu"] = out["airflow REST"]["cpu_ms"] / out["webhook"]["cpu_ms"]
    signed = out["webhook, GitHub-signed"]
    out["ratio_signed_over_basic_wall"] = signed["wall_ms"] / out["webhook"]["wall_ms"]
    out["ratio_signed_over_basic_cpu"] = signed["cpu_ms"] / out["webhook"]["cpu_ms"]
    return out


def _micro_timings(endpoint: Any, conf: dict[str, Any], iterations: int) -> dict[str, float | None]:
    """Some parts of the request timed alone, without the profiler's distortion."""
    out: dict[str, float | None] = {}
    try:
        from jsonschema import FormatChecker, validate

        from airflow_webhook_trigger.airflow_seam import run_factory as airflow_runs
        from airflow_webhook_trigger.airflow_seam.metadata_db import db_session

        gateway = endpoint._runs
        with db_session() as session:
            latest = airflow_runs.latest_version(DAG_ID, session)
            dag = gateway._runs.template(latest, session).dag

        def timed(fn: Any) -> float:
            t0 = time.perf_counter()
            for _ in range(iterations):
                fn()
            return (time.perf_counter() - t0) / iterations * 1000

        checks = airflow_runs.compile_param_checks(dag)
        out["plugin param check (compiled validators)"] = timed(
            lambda: airflow_runs.check_params(checks, conf)
        )
        out["Airflow params.deep_merge(conf).validate() (as create_dagrun does)"] = timed(
            lambda: dag.params.deep_merge(conf).validate()
        )
        schema = {"type": "integer", "minimum": 1}
        out["one jsonschema.validate() of an integer param"] = timed(
            lambda: validate(2000, schema, format_checker=FormatChecker())
        )
    except Exception as exc:  # the plugin's internals may change; the profile still stands
        out["error"] = None
        print(f"micro timings skipped: {exc!r}", file=sys.stderr)
    return out


def _concurrent_in_process(once: Any, runtime: Any, iterations: int, threads: int = 8) -> dict[str, Any]:
    """``once`` from ``threads`` threads at a time, no HTTP: what group commit makes of
    concurrent requests (wall and CPU per request, and how many writes a transaction held)."""
    import threading

    writes = getattr(runtime.gateway, "writes", None)  # GroupCommit, since issue #13
    before = (writes.groups, writes.items) if writes is not None else None
    per_thread = max(1, iterations // threads)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(per_thread):
                once()
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    cpu, wall = time.process_time(), time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if errors:
        raise SystemExit(f"concurrent in-process requests failed: {errors[0]!r}")
    n = per_thread * threads
    out: dict[str, Any] = {
        "threads": threads,
        "requests": n,
        "wall_ms": wall / n * 1000,
        "cpu_ms": cpu / n * 1000,
    }
    if writes is not None and before is not None:
        groups, items = writes.groups - before[0], writes.items - before[1]
        out["writes_per_transaction"] = items / groups if groups else None
    return out


def child_profile(spec_file: str) -> None:
    import cProfile
    import io
    import pstats

    from airflow_webhook_trigger.airflow_seam.wiring import build_runtime

    spec = json.loads(Path(spec_file).read_text())
    iterations, password, top = int(spec["iterations"]), str(spec["password"]), int(spec["top"])
    asgi = _asgi_compare(password, spec["conf"], iterations)

    runtime = build_runtime()
    endpoint = runtime.endpoint
    request = _webhook_request(password)
    length = str(len(request.body))

    def once() -> None:
        webhook = endpoint.locate("POST", WEBHOOK_ID, length)
        response = endpoint.accept(webhook, request)
        if response.status != 200:
            raise SystemExit(f"unexpected status {response.status}: {response.body[:300]!r}")

    for _ in range(20):  # first call pays scrypt and the DAG deserialization
        once()
    t0 = time.perf_counter()
    for _ in range(iterations):
        once()
    plain = (time.perf_counter() - t0) / iterations
    micro = _micro_timings(endpoint, spec["conf"], iterations)

    concurrent = _concurrent_in_process(once, runtime, iterations)

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(iterations):
        once()
    prof.disable()
    stats = pstats.Stats(prof)
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]

    def cumulative(suffix: str, name: str) -> tuple[float, int]:
        """Cumulative seconds and calls of a function (the largest match: nested same-name
        functions of one file, e.g. Session.commit -> SessionTransaction.commit, are not summed)."""
        best = (0.0, 0)
        for (filename, _line, func), (_cc, nc, _tt, ct, _callers) in raw.items():
            path = filename.replace("\\", "/")
            if func != name or (suffix and not path.endswith(suffix)):
                continue
            if not suffix and "airflow" not in path:
                continue
            best = (max(best[0], ct), min(best[1], nc) if best[1] else nc)
        return best

    groups = []
    for label, suffix, name in PROFILE_GROUPS:
        seconds, calls = cumulative(suffix, name)
        groups.append(
            {
                "group": label,
                "function": f"{suffix}:{name}",
                "ms_per_request": seconds / iterations * 1000,
                "calls_per_request": calls / iterations,
            }
        )
    whole = sum(g["ms_per_request"] for g in groups[:2])
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("cumulative").print_stats(top)
    print(
        json.dumps(
            {
                "iterations": iterations,
                "wall_ms_per_request_unprofiled": plain * 1000,
                "in_process_requests_per_second": 1 / plain,
                "profiled_ms_per_request": whole,
                "asgi_in_process": asgi,
                "concurrent_in_process": concurrent,
                "unprofiled_parts_ms": micro,
                "groups": groups,
                "top_cumulative": buf.getvalue(),
            }
        )
    )


# --------------------------------------------------------------------------- one database


def bench_db(db: str, args: argparse.Namespace, keep: list[Path]) -> dict[str, Any]:
    dep = harness.Deployment(
        db,
        prefix="webhook-bench",
        pg_db=PG_DB,
        log_level=args.log_level,
        all_admins=args.rest_auth == "all-admins",
        plugin_src=args.plugin_src,
        settings=harness.plugin_settings(SETTINGS, args),
    )
    keep.append(dep.home)
    home, port = dep.home, dep.port
    result: dict[str, Any] = {"db": db, "airflow_home": str(home), "port": port, "points": []}
    try:
        prep = prepare(dep, args.history)
        password, conf = prep["password"], prep["conf"]
        result["plugin_settings"] = prep["settings"]
        counter = dep.run_counter(DAG_ID)
        if args.clients:  # not --profile-only
            # one worker on core 0, the clients on core 1; several workers are not pinned
            server_core, client_core = harness.cores(not args.no_pin and args.workers == 1)
            write_ceiling_plugin(home)
            server = dep.server(core=server_core, workers=args.workers)
            harness.log(f"{db}: starting airflow api-server on 127.0.0.1:{port}")
            result["server_start_s"] = server.start()
            servers = {}  # the paths another server answers
            if args.against:  # same home, database and webhook; its own port, plugin and log
                (home / "base").mkdir(exist_ok=True)
                servers[AGAINST] = dep.server(
                    plugin_src=args.against,
                    port=harness.free_port(),
                    core=server_core,
                    workers=args.workers,
                    log_dir=home / "base",
                )
                harness.log(f"{db}: starting the base api-server ({args.against}) on {servers[AGAINST].base}")
                result["base_server_start_s"] = servers[AGAINST].start()
                result["base_code"] = harness.code_version(Path(args.against))

            paths: dict[str, dict[str, Any]] = {}
            body = event_bytes().decode("utf-8")
            paths["webhook"] = {
                "path": f"/webhook/trigger/{WEBHOOK_ID}",
                "headers": [("Content-Type", "application/json"), *webhook_headers(password)],
                "body": body,
            }
            if args.against:
                paths[AGAINST] = dict(paths["webhook"])
            rest_headers = [("Content-Type", "application/json")]
            if args.rest_auth == "jwt" and not args.no_rest:
                admin_pw = json.loads((home / "passwords.json").read_text())["admin"]
                status, _, raw = harness.call(
                    server.base,
                    "POST",
                    "/auth/token",
                    body=json.dumps({"username": "admin", "password": admin_pw}).encode(),
                    headers={"Content-Type": "application/json"},
                )
                if status not in (200, 201):
                    raise RuntimeError(f"POST /auth/token -> {status}: {raw[:300]!r}")
                rest_headers.append(("Authorization", f"Bearer {json.loads(raw)['access_token']}"))
            if not args.no_rest:
                paths["airflow REST"] = {
                    "path": f"/api/v2/dags/{DAG_ID}/dagRuns",
                    "headers": rest_headers,
                    "body": json.dumps(
                        {"logical_date": None, "conf": conf}, separators=(",", ":"), ensure_ascii=False
                    ),
                }
            if not args.no_ceiling:
                paths[CEILING] = {
                    "path": "/bench-ceiling/empty",
                    "headers": [("Content-Type", "application/json")],
                    "body": body,
                }
            result["request_bytes"] = {name: len(p["body"].encode()) for name, p in paths.items()}

            # sanity: one request each, shown verbatim
            for name, p in paths.items():
                status, _, raw = harness.call(
                    servers.get(name, server).base,
                    "POST",
                    p["path"],
                    body=p["body"].encode(),
                    headers=p["headers"],
                    timeout=60,
                )
                harness.log(f"{db}: sanity {name}: {status} {raw[:160]!r}")
                if not 200 <= status < 300:
                    raise RuntimeError(f"{name} sanity request failed: {status} {raw[:500]!r}")
            result["conf_keys"] = sorted(conf)

            restarts = 0
            for rep in range(args.repeats):
                for clients in args.clients:
                    order = list(paths)
                    if (rep + args.clients.index(clients)) % 2:
                        order.reverse()
                    for name in order:
                        srv = servers.get(name, server)
                        # every server idle first: the other one may still be finishing its point
                        others = [o for o in (server, *servers.values()) if o is not srv]
                        for other in others:
                            restarts += other.settle(f"{db}: the other server still busy/unhealthy")[1]
                        idle, restarted_before = srv.settle(f"{db}: server still busy/unhealthy")
                        restarts += restarted_before
                        before = counter.count()
                        spec = {
                            "port": srv.port,
                            "clients": clients,
                            "seconds": args.seconds,
                            "warmup": args.warmup,
                            "timeout": args.timeout,
                            **paths[name],
                        }
                        harness.log(f"{db}: {name} x{clients} (repeat {rep + 1}/{args.repeats})")
                        cpu0, wait0, wall0 = srv.cpu_seconds(), srv.runqueue_waits(), time.time()
                        others_cpu0 = sum(o.cpu_seconds() for o in others)
                        bound = args.seconds + args.warmup + args.timeout + 60
                        point = harness.run_client("closed-loop", spec, client_core, bound)
                        cpu1, wall1 = srv.cpu_seconds(), time.time()
                        waited = srv.runqueue_wait_between(wait0, srv.runqueue_waits())
                        others_cpu = sum(o.cpu_seconds() for o in others) - others_cpu0
                        settle, restarted = srv.settle(f"{db}: server did not settle,")
                        restarts += restarted
                        after = counter.count()
                        kind = {"webhook": "webhook", AGAINST: "webhook", "airflow REST": "rest"}.get(name)
                        runs = 0 if kind is None else after[kind] - before[kind]
                        point.update(
                            {
                                "db": db,
                                "path": name,
                                "clients": clients,
                                "repeat": rep,
                                "idle_wait_before_s": idle,
                                "settle_after_s": settle,
                                "server_cpu_s": cpu1 - cpu0,
                                "server_runqueue_wait_s": waited,
                                "other_servers_cpu_s": others_cpu,
                                "point_wall_s": wall1 - wall0,
                                "load_average": os.getloadavg(),
                                "server_restarted_after": restarted,
                                "runs_created": runs,
                            }
                        )
                        lo = point["accepted_all_phases"]
                        hi = point["sent_all_phases"] - (point["responses_all_phases"] - lo)
                        if kind is None:  # the ceiling starts no run: none may appear meanwhile
                            extra = sum(after.values()) - sum(before.values())
                            point["runs_check"] = "ok" if extra == 0 else f"MISMATCH: {extra} runs"
                        else:
                            point["runs_check"] = (
                                "ok"
                                if lo <= runs <= hi
                                else f"MISMATCH: {runs} runs, {lo} acked, <= {hi} possible"
                            )
                        result["points"].append(point)
                        harness.log(
                            f"    {point['accepted_per_s']:.1f} acc/s p50 {harness.fmt(point['p50_ms'])} "
                            f"p99 {harness.fmt(point['p99_ms'])} ms status {point['status']} "
                            f"sock/timeout {point['socket_or_timeout']} cut {point['cut_at_end']} "
                            f"runs {runs} ({point['runs_check']}) "
                            f"server cpu {cpu1 - cpu0:.1f}s, its threads waited for a cpu {waited:.1f}s in all "
                            f"in {wall1 - wall0:.1f}s, settle {settle:.1f}s, load {os.getloadavg()[0]:.1f}"
                            + (f", the other server's cpu {others_cpu:.1f}s" if others else "")
                        )
            result["server_restarts"] = restarts
            for running in (server, *servers.values()):
                running.stop()
            result["server_log_errors"] = harness.server_log_errors(home / "api-server.log")
        if args.profile:
            harness.log(
                f"{db}: profiling the webhook request path in-process ({args.profile_iterations} requests)"
            )
            spec_file = home / "profile-spec.json"
            spec_file.write_text(
                json.dumps(
                    {
                        "iterations": args.profile_iterations,
                        "password": password,
                        "conf": conf,
                        "top": args.profile_top,
                    }
                )
            )
            out = harness.run(
                harness.pinned(
                    0 if not args.no_pin else None,
                    [
                        sys.executable,
                        str(SCRIPT),
                        "--_profile",
                        str(spec_file),
                    ],
                ),
                dep.env,
                home,
                900,
                home / "profile.log",
            )
            result["profile"] = json.loads(out.strip().splitlines()[-1])
    finally:
        dep.close(keep=args.keep)
    return result


# --------------------------------------------------------------------------- report


def _median_or_none(values: Any) -> float | None:
    vals = list(values)
    return statistics.median(vals) if vals else None


def summarize(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for res in results:
        by: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for p in res["points"]:
            by.setdefault((p["path"], p["clients"]), []).append(p)
        for (path, clients), pts in by.items():

            def med(key: str, pts: list[dict[str, Any]] = pts) -> float | None:
                vals = [p[key] for p in pts if p[key] is not None]
                return statistics.median(vals) if vals else None

            statuses: dict[str, int] = {}
            for p in pts:
                for k, v in p["status"].items():
                    statuses[k] = statuses.get(k, 0) + v
            rows.append(
                {
                    "db": res["db"],
                    "path": path,
                    "clients": clients,
                    "repeats": len(pts),
                    "accepted_per_s": med("accepted_per_s"),
                    "accepted_per_s_each": [round(p["accepted_per_s"], 1) for p in pts],
                    "p50_ms": med("p50_ms"),
                    "p99_ms": med("p99_ms"),
                    "server_cpu_share": _median_or_none(
                        p["server_cpu_s"] / p["point_wall_s"] for p in pts if "point_wall_s" in p
                    ),
                    "load_average": _median_or_none(p["load_average"][0] for p in pts if "load_average" in p),
                    "server_cpu_ms_per_response": statistics.median(
                        p["server_cpu_s"] * 1000 / max(1, p["responses_all_phases"]) for p in pts
                    ),
                    "deliberate_503": sum(p["deliberate_503"] for p in pts),
                    "unplanned_http": sum(p["unplanned_http"] for p in pts),
                    "socket_or_timeout": sum(p["socket_or_timeout"] for p in pts),
                    "cut_at_end": sum(p["cut_at_end"] for p in pts),
                    "status": statuses,
                    "runs_check": sorted({p["runs_check"] for p in pts}),
                    "stalled_restarts": sum(bool(p.get("server_restarted_after")) for p in pts),
                }
            )
    return rows


def _per_repeat_ratios(
    results: list[dict[str, Any]], db: str, clients: int, baseline: str = "airflow REST"
) -> list[float]:
    """webhook/baseline accepted rates of the adjacent points of each repeat."""
    ratios = []
    for res in results:
        if res["db"] != db:
            continue
        by_rep: dict[int, dict[str, float]] = {}
        for p in res["points"]:
            if p["clients"] == clients:
                by_rep.setdefault(p["repeat"], {})[p["path"]] = p["accepted_per_s"]
        for rep in sorted(by_rep):
            pair = by_rep[rep]
            if "webhook" in pair and baseline in pair:
                rest = pair[baseline]
                ratios.append(pair["webhook"] / rest if rest else float("inf"))
    return ratios


def _ratio_text(
    results: list[dict[str, Any]],
    db: str,
    clients: int,
    hook: dict[str, Any],
    base: dict[str, Any] | None,
    baseline: str,
) -> str:
    """``webhook/baseline`` of the medians, then the per-repeat ratios when there are several."""
    if base is None:
        return "-"
    if not base["accepted_per_s"]:
        return "inf"
    text = f"{hook['accepted_per_s'] / base['accepted_per_s']:.2f}x"
    per = _per_repeat_ratios(results, db, clients, baseline)
    if len(per) > 1:
        text += " [" + "/".join(f"{x:.2f}" if x != float("inf") else "inf" for x in per) + "]"
    return text


def report(results: list[dict[str, Any]], args: argparse.Namespace, out: Any) -> dict[str, Any]:
    rows = summarize(results)
    targets: list[dict[str, Any]] = []
    w = out.write
    hdr = (
        f"{'db':<9}{'path':<14}{'clients':>8}{'acc req/s':>11}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'503':>7}{'unplanned':>11}{'sock/tmo':>10}{'cut':>5}{'CPU ms/resp':>12}{'CPU%':>6}{'load':>6}"
        f"  {'webhook/REST':>12}  {'webhook/ceiling':>15}"
        "  statuses"
    )
    w(
        f"\nAccepted webhooks through `airflow api-server -w {args.workers}`: {args.seconds:g} s per point "
        f"(+{args.warmup:g} s warm-up), medians of {args.repeats} repeat(s); "
        "error counts summed over repeats.\n"
        "503 = deliberate (with Retry-After); unplanned = other 4xx/5xx (or 503 without Retry-After); "
        "sock/tmo = socket errors + timeouts; latency over 2xx only; cut = in flight when the point ended.\n"
        "CPU ms/resp = api-server CPU (all its threads, warm-up included) per response; on PostgreSQL it\n"
        "excludes the database's own processes. CPU% = api-server CPU time / wall time of the point (a\n"
        "GIL-bound worker cannot pass ~100%); load = 1-min load average of the machine (2 cores) at the end\n"
        "of the point: above ~2, other work was competing with the server (medians over repeats).\n"
        "webhook/REST = ratio of the medians [per-repeat ratios]; webhook/ceiling = the same against an\n"
        "empty route (a plugin route that reads the body and answers 'ok') in the same server: the HTTP\n"
        "ceiling of one worker, so 1 - webhook/ceiling is the share of the cost that is the webhook's own.\n\n"
    )
    if rows:
        w(hdr + "\n" + "-" * len(hdr) + "\n")
    for db in dict.fromkeys(r["db"] for r in rows):
        for clients in args.clients:
            pair = {r["path"]: r for r in rows if r["db"] == db and r["clients"] == clients}
            hook, rest, ceiling = pair.get("webhook"), pair.get("airflow REST"), pair.get(CEILING)
            base = pair.get(AGAINST)
            ratio = None
            if hook and rest and rest["accepted_per_s"]:
                ratio = hook["accepted_per_s"] / rest["accepted_per_s"]
            for r in (hook, base, rest, ceiling):
                if r is None:
                    continue
                statuses = ",".join(f"{k}:{v}" for k, v in sorted(r["status"].items()))
                if r["stalled_restarts"]:
                    statuses += f" (server stuck afterwards, restarted x{r['stalled_restarts']})"
                ratio_txt = ceiling_txt = base_txt = ""
                if r is hook:
                    ratio_txt = _ratio_text(results, db, clients, hook, rest, "airflow REST")
                    ceiling_txt = _ratio_text(results, db, clients, hook, ceiling, CEILING)
                    base_txt = _ratio_text(results, db, clients, hook, base, AGAINST) if args.against else ""
                w(
                    f"{db:<9}{r['path']:<14}{clients:>8}{harness.fmt(r['accepted_per_s']):>11}{harness.fmt(r['p50_ms']):>9}"
                    f"{harness.fmt(r['p99_ms']):>9}{r['deliberate_503']:>7}{r['unplanned_http']:>11}"
                    f"{r['socket_or_timeout']:>10}{r['cut_at_end']:>5}{harness.fmt(r['server_cpu_ms_per_response']):>12}"
                    f"{harness.fmt(r['server_cpu_share'] and 100 * r['server_cpu_share'], 0):>6}"
                    f"{harness.fmt(r['load_average']):>6}"
                    f"  {ratio_txt:>12}  {ceiling_txt:>15}  {statuses}"
                    + (f"  webhook/base {base_txt}" if base_txt else "")
                    + "\n"
                )
            if hook and clients == 1:
                ok = (ratio is None and rest is not None) or (ratio is not None and ratio >= WEBHOOK_TARGET_1)
                targets.append(
                    {"db": db, "clients": 1, "target": "webhook >= 2x REST", "value": ratio, "pass": bool(ok)}
                )
            if hook and clients in (8, 32):
                bad = hook["unplanned_http"] + hook["socket_or_timeout"]
                targets.append(
                    {
                        "db": db,
                        "clients": clients,
                        "target": "zero unplanned errors",
                        "value": bad,
                        "pass": bad == 0,
                    }
                )
        w("\n")
    w("Targets (webhook path):\n")
    for t in targets:
        value = harness.fmt(t["value"], 2) + "x" if t["target"].startswith("webhook") else str(t["value"])
        verdict = "PASS" if t["pass"] else "FAIL"
        w(f"  {t['db']:<9} {t['clients']:>2} clients  {t['target']:<22} {value:>8}  {verdict}\n")

    mism = [
        (p["db"], p["path"], p["clients"], p["runs_check"])
        for res in results
        for p in res["points"]
        if p["runs_check"] != "ok"
    ]
    w("\nRuns created vs 2xx answered: " + ("consistent at every point\n" if not mism else "\n"))
    for m in mism:
        w(f"  {m}\n")

    samples: dict[tuple[str, str], dict[str, list[str]]] = {}
    for res in results:
        for p in res["points"]:
            for k, v in p["samples"].items():
                bucket = samples.setdefault((p["db"], p["path"]), {}).setdefault(k, [])
                for s in v:
                    if s not in bucket and len(bucket) < 3:
                        bucket.append(s)
    if samples:
        w("\nNon-2xx responses seen (status: body samples):\n")
        for (db, path), by_status in samples.items():
            for k, bodies in sorted(by_status.items()):
                for b in bodies:
                    w(f"  {db:<9}{path:<14}{k:>6}  {b[:300]}\n")
    for res in results:
        harness.write_server_log_errors(res, w)
    for res in results:
        prof = res.get("profile")
        if prof:
            w(
                f"\nProfile of one webhook request, in-process ({res['db']}, {prof['iterations']} requests): "
                f"{prof['wall_ms_per_request_unprofiled']:.2f} ms unprofiled "
                f"(= {prof['in_process_requests_per_second']:.0f}/s), "
                f"{prof['profiled_ms_per_request']:.2f} ms under cProfile\n"
            )
            asgi = prof.get("asgi_in_process")
            if asgi:
                w(
                    "  Through Airflow's ASGI app in-process, 1 request at a time (median of blocks): "
                    f"webhook {asgi['webhook']['wall_ms']:.2f} ms wall / "
                    f"{asgi['webhook']['cpu_ms']:.2f} ms CPU, "
                    f"REST {asgi['airflow REST']['wall_ms']:.2f} ms wall / "
                    f"{asgi['airflow REST']['cpu_ms']:.2f} ms CPU -> REST/webhook "
                    f"{asgi['ratio_rest_over_webhook_wall']:.2f}x wall, "
                    f"{asgi['ratio_rest_over_webhook_cpu']:.2f}x CPU\n"
                    f"  GitHub-signed webhook {asgi['webhook, GitHub-signed']['wall_ms']:.2f} ms wall / "
                    f"{asgi['webhook, GitHub-signed']['cpu_ms']:.2f} ms CPU -> signed/Basic "
                    f"{asgi['ratio_signed_over_basic_wall']:.2f}x wall, "
                    f"{asgi['ratio_signed_over_basic_cpu']:.2f}x CPU\n"
                )
            conc = prof.get("concurrent_in_process")
            if conc:
                per_tx = conc.get("writes_per_transaction")
                w(
                    f"  {conc['threads']} threads at once, in-process (no HTTP): {conc['wall_ms']:.2f} ms wall / "
                    f"{conc['cpu_ms']:.2f} ms CPU per request (= {1000 / conc['wall_ms']:.0f}/s)"
                    + (f", {per_tx:.1f} writes per transaction" if per_tx else "")
                    + "\n"
                )
            for label, ms in (prof.get("unprofiled_parts_ms") or {}).items():
                if ms is not None:
                    w(f"  Timed alone, unprofiled: {label}: {ms:.2f} ms\n")
            w("  Groups (cumulative time under cProfile, per request; nested groups overlap):\n")
            total = prof["profiled_ms_per_request"] or 1
            for g in prof["groups"]:
                share = 100 * g["ms_per_request"] / total
                calls = g.get("calls_per_request", 0)
                w(f"  {g['group']:<56}{g['ms_per_request']:>8.3f} ms {share:>5.1f}%  {calls:>6.1f} calls\n")
            if args.profile_verbose:
                w(prof["top_cumulative"])
    return {"rows": rows, "targets": targets}


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=10.0, help="measured seconds per point")
    p.add_argument("--warmup", type=float, default=1.0, help="discarded seconds before each point")
    p.add_argument("--clients", default="1,8,32", help="comma-separated concurrency levels")
    p.add_argument("--repeats", type=int, default=1, help="repeat every point; report medians")
    p.add_argument("--timeout", type=float, default=10.0, help="per-request timeout (s)")
    p.add_argument("--profile", action="store_true", help="also profile one webhook request in-process")
    p.add_argument("--profile-only", action="store_true", help="only the in-process profile (no load)")
    p.add_argument("--profile-iterations", type=int, default=300)
    p.add_argument("--profile-top", type=int, default=40)
    p.add_argument("--profile-verbose", action="store_true", help="print pstats' top cumulative entries")
    p.add_argument("--rest-auth", choices=("jwt", "all-admins"), default="jwt")
    p.add_argument(
        "--no-rest",
        action="store_true",
        help="leave Airflow's REST trigger out (webhook and empty route only: comparing commits or settings)",
    )
    p.add_argument("--no-ceiling", action="store_true", help="leave the empty route (the HTTP ceiling) out")
    p.add_argument(
        "--against",
        metavar="DIR",
        help="also serve the plugin from this checkout, on a second api-server, and measure the webhook "
        "on both back to back at every point (webhook/base: this code against DIR's)",
    )
    p.add_argument(
        "-w", "--workers", type=int, default=1, help="api-server workers (more than 1: nothing is pinned)"
    )
    harness.add_history_argument(p)
    harness.add_run_arguments(p)
    args = p.parse_args(argv)
    args.clients = [int(c) for c in str(args.clients).split(",") if c.strip()]
    if not args.clients or min(args.clients) < 1 or max(args.clients) > 512:
        p.error("--clients: 1..512")
    if args.seconds <= 0 or args.seconds > 600 or args.repeats < 1 or args.repeats > 20:
        p.error("--seconds must be in (0, 600], --repeats in [1, 20]")
    if args.profile_only:
        args.profile = True
        args.clients_backup = args.clients
        args.clients = []
    return args


def main(argv: list[str]) -> int:
    if argv[:1] == ["--_prepare"]:
        child_prepare(int(argv[1]))
        return 0
    if argv[:1] == ["--_profile"]:
        child_profile(argv[1])
        return 0
    args = parse_args(argv)
    if args.report_from:
        report(
            harness.saved_results(args, ("seconds", "warmup", "repeats", "clients", "profile_verbose")),
            args,
            sys.stdout,
        )
        return 0
    harness.log(f"plugin code: {harness.code_version(Path(args.plugin_src) if args.plugin_src else ROOT)}")
    started = time.time()
    results = harness.each_database(
        args.db,
        lambda db, homes: bench_db(db, args, homes),
        keep=args.keep,
        **harness.pg_placement(args, not args.no_pin and args.workers == 1),  # as bench_db pins
    )
    if results is None:
        return 130
    summary = report(results, args, sys.stderr if args.json == "-" else sys.stdout)
    settings = {k: v for k, v in vars(args).items() if k != "clients_backup"}
    harness.write_json(args.json, started, settings, summary=summary, results=results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
