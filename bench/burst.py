"""A burst of webhook POSTs arriving at once at one ``airflow api-server`` worker.

Run: ``flock /tmp/bench.lock .venv/bin/python bench/burst.py [--db sqlite|postgres|both]
[--requests 1000] [--flask/--no-flask] [--timeout 60] [--json PATH|-]``

For each database the script, in one run:

1. sets up a throw-away ``AIRFLOW_HOME`` exactly as ``bench/async_accept.py`` does (its
   helpers are imported, not copied): ``airflow db migrate``, the example DAGs serialized,
   the ``payment_callback`` webhook with Basic auth (PostgreSQL: database ``webhook_bench``
   on 127.0.0.1:5432, dropped at the end);
2. starts ``airflow api-server -w 1`` pinned to core 0 and warms both trigger URLs with a
   few sequential requests;
3. per path -- the FastAPI adapter ``POST /webhook/trigger/{id}`` first, then (``--flask``)
   the Flask blueprint ``POST /pluginsv2/webhook/trigger/{id}`` behind Airflow's WSGI
   bridge -- waits until the server is idle, starts a probe process that sends
   ``GET /api/v2/monitor/health`` every ``--probe-interval`` s (a new connection each,
   fired on schedule whether or not the previous one was answered), lets it measure the
   idle server for ``--idle-seconds``, then a client process opens ``--requests``
   connections, and once all are open writes one POST (a ~1 KiB Stripe-like event, unique
   ``X-Request-Id``) on each in the same event-loop turn and reads every answer (at most
   ``--timeout`` s each). Client and probe run pinned to core 1. When every request is
   answered the probe stops, the server is left to go idle, and the runs created in the
   DB are counted.

Reading it: 2xx = accepted (the run is committed); 503 with ``Retry-After`` = deliberate
back-pressure (no run started); unplanned = any other status, or 503 without Retry-After;
sock/tmo = connection errors and requests over ``--timeout``. Latency is from the moment
a request was written to its complete answer, in ms, per class (2xx, 503). "all answered"
is the time from the burst until the last answer (or timeout). ``runs == 2xx``: the DAG
runs created during the point must equal the 2xx answers; when requests timed out their
fate is unknown, so ``2xx <= runs <= 2xx + timed-out`` is all that can be checked (shown
as a range). The health probe is the point of the FastAPI admission: webhooks beyond
``[webhook_trigger] max_concurrent_triggers`` wait in the event loop (no thread) for at
most ``trigger_slot_wait_seconds`` and get 503, so the api-server's own endpoints (health
runs in anyio's shared 40-thread pool, like Airflow's execution API) should answer during
the burst about as fast as when idle. The Flask path has no admission: each request takes
one of those shared threads, so the same burst shows what queueing on the pool costs.
"answers per second" is the number of answers (2xx/503/other) completed in each second
after the burst. Server CPU = CPU time of the api-server's processes over the point;
load = 1-min load average (2 cores) at its end: above ~2, other work was competing.

The exit code is 0 unless the benchmark itself could not run (no targets are gated).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0]).resolve() == BENCH:
    del sys.path[0]  # never let bench/*.py shadow a module Airflow imports
sys.path.insert(0, str(BENCH))
try:
    import async_accept as aa
finally:
    with contextlib.suppress(ValueError):
        sys.path.remove(str(BENCH))

SCRIPT = Path(__file__).resolve()
HEALTH = "/api/v2/monitor/health"
PATHS = {
    "fastapi": f"/webhook/trigger/{aa.WEBHOOK_ID}",
    "flask": f"/pluginsv2/webhook/trigger/{aa.WEBHOOK_ID}",
}
WARM_REQUESTS = 10
HOST = "127.0.0.1"

# --------------------------------------------------------------------------- client side
# (``--_client`` and ``--_probe`` run in their own processes, pinned to another core)


def _raise_nofile(need: int) -> dict[str, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return {"soft": soft, "hard": hard}


def _sample(samples: dict[str, list[str]], key: str, text: str) -> None:
    bucket = samples.setdefault(key, [])
    if len(bucket) < 3 and text not in bucket:
        bucket.append(text)


async def _burst(spec: dict[str, Any]) -> dict[str, Any]:
    """Open n connections, then write one POST on each at once and read every answer."""
    port, n, timeout = int(spec["port"]), int(spec["requests"]), float(spec["timeout"])
    nofile = _raise_nofile(n + 64)
    head = f"POST {spec['path']} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in spec["headers"])
    body = spec["body"].encode("utf-8")
    template = (head + f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1") + body
    placeholder = aa.RID_PLACEHOLDER.encode()

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | BaseException:
        try:
            return await asyncio.wait_for(asyncio.open_connection(HOST, port), timeout)
        except (OSError, TimeoutError, asyncio.TimeoutError) as exc:
            return exc

    t_connect = time.monotonic()
    conns = await asyncio.gather(*(connect() for _ in range(n)))
    t_fire = time.monotonic()
    answers: list[dict[str, Any]] = []
    samples: dict[str, list[str]] = {}

    async def one(i: int, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | BaseException) -> None:
        if isinstance(conn, BaseException):
            name = f"connect:{type(conn).__name__}"
            answers.append({"kind": "socket", "error": name, "done": time.monotonic()})
            _sample(samples, name, str(conn)[:200])
            return
        reader, writer = conn
        rid = f"req_b{i:0{len(aa.RID_PLACEHOLDER) - 5}d}".encode()  # same length: Content-Length holds
        t0 = time.monotonic()
        try:
            writer.write(template.replace(placeholder, rid))
            status, headers, rbody = await asyncio.wait_for(aa._read_response(reader), timeout)
        except (TimeoutError, asyncio.TimeoutError):
            answers.append({"kind": "timeout", "sent": t0, "done": time.monotonic()})
            return
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            name = type(exc).__name__
            answers.append({"kind": "socket", "error": name, "sent": t0, "done": time.monotonic()})
            _sample(samples, name, str(exc)[:200])
            return
        finally:
            writer.close()
        done = time.monotonic()
        retry = headers.get(b"retry-after")
        if 200 <= status < 300:
            kind = "2xx"
        elif status == 503 and retry is not None:
            kind = "503"
        else:
            kind = "unplanned"
        if kind != "2xx":
            extra = f" [Retry-After: {retry.decode()}]" if retry is not None else " [no Retry-After]"
            _sample(samples, str(status), rbody[:300].decode("utf-8", "replace") + extra)
        answers.append({"kind": kind, "status": status, "sent": t0, "done": done, "lat": done - t0})

    await asyncio.gather(*(one(i, c) for i, c in enumerate(conns)))
    statuses: dict[str, int] = {}
    for a in answers:
        key = str(a["status"]) if "status" in a else a.get("error", a["kind"])
        statuses[key] = statuses.get(key, 0) + 1
    return {
        "requests": n,
        "nofile": nofile,
        "t_connect": t_connect,
        "t_fire": t_fire,
        "connect_s": t_fire - t_connect,
        "t_last": max(a["done"] for a in answers),
        "answers": answers,
        "statuses": statuses,
        "samples": samples,
    }


async def _probe(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """``GET /health`` every ``interval`` s, each on a new connection, until stdin says stop."""
    port, interval, timeout = int(spec["port"]), float(spec["interval"]), float(spec["timeout"])
    request = f"GET {HEALTH} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode()
    samples: list[dict[str, Any]] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.run_in_executor(None, sys.stdin.readline).add_done_callback(lambda _: stop.set())

    async def get() -> int:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            writer.write(request)
            status, _, _ = await aa._read_response(reader)
            return status
        finally:
            writer.close()

    async def one() -> None:
        t0 = time.monotonic()
        try:
            result: int | str = await asyncio.wait_for(get(), timeout)
        except (TimeoutError, asyncio.TimeoutError):
            result = "timeout"
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            result = type(exc).__name__
        samples.append({"sent": t0, "lat": time.monotonic() - t0, "status": result})

    tasks: set[asyncio.Task[None]] = set()
    next_at = time.monotonic()
    while not stop.is_set():
        task = asyncio.create_task(one())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        next_at += interval
        with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, next_at - time.monotonic()))
    if tasks:
        await asyncio.gather(*tasks)
    return samples


def child_client() -> None:
    spec = json.loads(sys.stdin.readline())
    print(json.dumps(asyncio.run(_burst(spec))))


def child_probe() -> None:
    spec = json.loads(sys.stdin.readline())
    print(json.dumps(asyncio.run(_probe(spec))))


# --------------------------------------------------------------------------- one burst


def _child(flag: str, core: int | None) -> subprocess.Popen[bytes]:
    cmd = aa._pinned(core, [sys.executable, str(SCRIPT), flag])
    return aa._spawn(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(proc: subprocess.Popen[bytes], data: bytes, bound: float, what: str) -> Any:
    try:
        out, err = proc.communicate(data, timeout=bound)
    except subprocess.TimeoutExpired:
        aa._stop(proc)
        raise RuntimeError(f"{what} did not finish within {bound:.0f}s") from None
    finally:
        if proc in aa._CHILDREN and proc.poll() is not None:
            aa._CHILDREN.remove(proc)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return json.loads(out)


def _lat(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_ms": aa._pct(values, 50),
        "p90_ms": aa._pct(values, 90),
        "p99_ms": aa._pct(values, 99),
        "max_ms": aa._pct(values, 100),
    }


def _probe_stats(samples: list[dict[str, Any]]) -> dict[str, Any]:
    out = _lat([s["lat"] for s in samples])
    out["failed"] = sum(1 for s in samples if s["status"] != 200)
    return out


def burst_point(
    server: aa.Server,
    counter: aa.RunCounter,
    name: str,
    request: dict[str, Any],
    cores: tuple[int | None, int | None],
    args: argparse.Namespace,
) -> dict[str, Any]:
    idle_wait, restarted_before = server.settle("  server still busy after the previous step,")
    before = counter.count()["webhook"]
    cpu0 = server.cpu_seconds()
    probe = _child("--_probe", cores[1])
    assert probe.stdin is not None
    probe.stdin.write(
        json.dumps({"port": server.port, "interval": args.probe_interval, "timeout": args.timeout}).encode()
        + b"\n"
    )
    probe.stdin.flush()
    time.sleep(args.idle_seconds)
    aa.log(f"  {name}: {args.requests} POSTs at once")
    try:
        client = _child("--_client", cores[1])
        spec = {"port": server.port, "requests": args.requests, "timeout": args.timeout, **request}
        burst = _finish(client, json.dumps(spec).encode() + b"\n", 2 * args.timeout + 120, "burst client")
    finally:
        samples = _finish(probe, b"stop\n", args.timeout + 60, "health probe")
    cpu1 = server.cpu_seconds()
    load = os.getloadavg()
    settle, restarted_after = server.settle("  server did not settle,")
    runs = counter.count()["webhook"] - before

    answers = burst["answers"]
    t_fire, t_last = burst["t_fire"], burst["t_last"]
    kinds: dict[str, int] = {"2xx": 0, "503": 0, "unplanned": 0, "socket": 0, "timeout": 0}
    for a in answers:
        kinds[a["kind"]] += 1
    timeline: list[dict[str, int]] = []
    for a in answers:
        if a["kind"] in ("2xx", "503", "unplanned"):
            sec = int(a["done"] - t_fire)
            while len(timeline) <= sec:
                timeline.append({"2xx": 0, "503": 0, "unplanned": 0})
            timeline[sec][a["kind"]] += 1
    ok = kinds["2xx"]
    # requests whose answer never came may or may not have started a run
    unknown = kinds["timeout"] + sum(1 for a in answers if a["kind"] == "socket" and "sent" in a)
    if runs == ok:
        check = "ok"
    elif ok <= runs <= ok + unknown:
        check = f"ok within {ok}..{ok + unknown} (timed-out requests)"
    else:
        check = f"MISMATCH: {runs} runs, {ok} 2xx answered, at most {ok + unknown} possible"
    idle_samples = [s for s in samples if s["sent"] < burst["t_connect"]]
    burst_samples = [s for s in samples if t_fire <= s["sent"] <= t_last]
    probe_timeline: list[dict[str, Any]] = []  # by the second (after the burst) a probe was sent
    for s in burst_samples:
        sec = int(s["sent"] - t_fire)
        while len(probe_timeline) <= sec:
            probe_timeline.append({"n": 0, "max_ms": 0.0})
        probe_timeline[sec]["n"] += 1
        probe_timeline[sec]["max_ms"] = max(probe_timeline[sec]["max_ms"], s["lat"] * 1000)
    return {
        "path": name,
        "url": request["path"],
        "requests": args.requests,
        "statuses": burst["statuses"],
        "accepted_2xx": ok,
        "deliberate_503": kinds["503"],
        "unplanned_http": kinds["unplanned"],
        "socket_errors": kinds["socket"],
        "timeouts": kinds["timeout"],
        "connect_s": burst["connect_s"],
        "all_answered_s": t_last - t_fire,
        "lat_2xx": _lat([a["lat"] for a in answers if a["kind"] == "2xx"]),
        "lat_503": _lat([a["lat"] for a in answers if a["kind"] == "503"]),
        "answers_per_second": timeline,
        "probe_idle": _probe_stats(idle_samples),
        "probe_burst": _probe_stats(burst_samples),
        "probe_burst_failures": sorted({str(s["status"]) for s in burst_samples if s["status"] != 200}),
        "probe_per_second": probe_timeline,
        "probe_burst_samples": [
            {"sent_s": round(s["sent"] - t_fire, 3), "ms": round(s["lat"] * 1000, 1), "status": s["status"]}
            for s in burst_samples
        ],
        "runs_created": runs,
        "runs_check": check,
        "server_cpu_s": cpu1 - cpu0,
        "load_average": load,
        "idle_wait_before_s": idle_wait,
        "settle_after_s": settle,
        "server_restarted_before": restarted_before,
        "server_restarted_after": restarted_after,
        "client_nofile": burst["nofile"],
        "samples": burst["samples"],
    }


# --------------------------------------------------------------------------- one database


def bench_db(db: str, args: argparse.Namespace, keep: list[Path]) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix=f"webhook-burst-{db}-"))
    keep.append(home)
    port = aa._free_port()
    sqlite_path = home / "airflow.db"
    extra_path: str | None = None
    if db == "postgres":
        aa.pg_admin(f"DROP DATABASE IF EXISTS {aa.PG_DB} WITH (FORCE)")
        aa.pg_admin(f"CREATE DATABASE {aa.PG_DB}")
        url = aa.pg_url()
        extra_path = aa.async_driver_path()
    else:
        url = f"sqlite:///{sqlite_path}"
    env = aa.airflow_env(home, url, port, all_admins=False, log_level=args.log_level)
    if extra_path:
        env["PYTHONPATH"] = extra_path
    setup_log = home / "setup.log"
    result: dict[str, Any] = {"db": db, "airflow_home": str(home), "port": port, "points": []}
    server: aa.Server | None = None
    try:
        aa.log(f"{db}: migrating ({home})")
        aa._run([str(aa.BIN / "airflow"), "db", "migrate"], env, home, 900, setup_log)
        aa.log(f"{db}: serializing DAGs and creating the webhook")
        prep = json.loads(
            aa._run([sys.executable, str(aa.SCRIPT), "--_prepare"], env, home, 600, setup_log)
            .strip()
            .splitlines()[-1]
        )
        result["plugin_settings"] = prep["settings"]
        cores = (os.cpu_count() or 1) >= 2 and not args.no_pin
        pins = (0, 1) if cores else (None, None)
        server = aa.Server(env, home, port, pins[0])
        aa.log(f"{db}: starting airflow api-server on 127.0.0.1:{port}")
        result["server_start_s"] = server.start()
        headers = [("Content-Type", "application/json"), *aa.webhook_headers(prep["password"])]
        body = aa.event_bytes().decode("utf-8")
        names = ["fastapi", "flask"] if args.flask else ["fastapi"]
        for name in names:  # warm: scrypt, DAG caches, both adapters; shown once
            for i in range(WARM_REQUESTS):
                status, _, raw = aa.http(
                    "POST", server.base + PATHS[name], body=body.encode(), headers=dict(headers), timeout=60
                )
                if i == 0:
                    aa.log(f"{db}: sanity {name}: {status} {raw[:120]!r}")
                if not 200 <= status < 300:
                    raise RuntimeError(f"{name} warm-up request failed: {status} {raw[:500]!r}")
        counter = aa.RunCounter(db, sqlite_path if db == "sqlite" else None)
        for name in names:
            request = {"path": PATHS[name], "headers": headers, "body": body}
            point = burst_point(server, counter, name, request, pins, args)
            point["db"] = db
            result["points"].append(point)
            aa.log(
                f"  {name}: {point['statuses']} all answered {point['all_answered_s']:.1f}s, "
                f"runs {point['runs_created']} ({point['runs_check']}), health during burst "
                f"p50 {aa._fmt(point['probe_burst']['p50_ms'])} max {aa._fmt(point['probe_burst']['max_ms'])} ms"
            )
        server.stop()
        server = None
        result["server_log_errors"] = aa._log_errors(home / "api-server.log")
    finally:
        if server is not None:
            server.stop()
        if db == "postgres" and not args.keep:
            with contextlib.suppress(Exception):
                aa.pg_admin(f"DROP DATABASE IF EXISTS {aa.PG_DB} WITH (FORCE)")
    return result


# --------------------------------------------------------------------------- report


def _row(cols: list[tuple[Any, int]]) -> str:
    return "".join(f"{v!s:<{w}}" if i < 2 else f"{v!s:>{w}}" for i, (v, w) in enumerate(cols)) + "\n"


def _l4(lat: dict[str, Any]) -> list[str]:
    return [str(lat["n"])] + [aa._fmt(lat[k], 0) for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms")]


def report(results: list[dict[str, Any]], args: argparse.Namespace, out: Any) -> None:
    w = out.write
    points = [p for r in results for p in r["points"]]
    settings = next((r["plugin_settings"] for r in results if r.get("plugin_settings")), {})
    w(
        f"\nBurst of {args.requests} webhook POSTs sent at once (one connection each) to one "
        "`airflow api-server -w 1` worker; client timeout "
        f"{args.timeout:g} s per request.\n"
        f"[webhook_trigger] max_concurrent_triggers={settings.get('max_concurrent_triggers')}, "
        f"trigger_slot_wait_seconds={settings.get('trigger_slot_wait_seconds')}, "
        f"retry_after_seconds={settings.get('retry_after_seconds')}. fastapi = "
        f"{PATHS['fastapi']}, flask = {PATHS['flask']}.\n"
        "503 = deliberate (with Retry-After); unplanned = other status or 503 without Retry-After; "
        "sock/tmo = socket errors + client timeouts.\n\n"
    )
    widths = [9, 9, 7, 7, 7, 11, 10, 12, 7, 11, 8, 6]
    hdr = _row(
        list(
            zip(
                [
                    "db",
                    "path",
                    "sent",
                    "2xx",
                    "503",
                    "unplanned",
                    "sock/tmo",
                    "answered s",
                    "runs",
                    "runs==2xx",
                    "CPU s",
                    "load",
                ],
                widths,
                strict=True,
            )
        )
    )
    w(hdr + "-" * (len(hdr) - 1) + "\n")
    for p in points:
        check = "yes" if p["runs_check"] == "ok" else ("range" if p["runs_check"].startswith("ok") else "NO")
        vals = [
            p["db"],
            p["path"],
            p["requests"],
            p["accepted_2xx"],
            p["deliberate_503"],
            p["unplanned_http"],
            p["socket_errors"] + p["timeouts"],
            aa._fmt(p["all_answered_s"], 2),
            p["runs_created"],
            check,
            aa._fmt(p["server_cpu_s"]),
            aa._fmt(p["load_average"][0], 2),
        ]
        w(_row(list(zip(vals, widths, strict=True))))

    w("\nLatency of the answers, ms from the request's send (n, p50, p90, p99, max):\n")
    widths = [9, 9, 6, 8, 8, 8, 8, 4, 6, 8, 8, 8, 8]
    hdr = _row(
        list(
            zip(
                ["db", "path", "2xx n", "p50", "p90", "p99", "max", "", "503 n", "p50", "p90", "p99", "max"],
                widths,
                strict=True,
            )
        )
    )
    w(hdr + "-" * (len(hdr) - 1) + "\n")
    for p in points:
        vals = [p["db"], p["path"], *_l4(p["lat_2xx"]), "", *_l4(p["lat_503"])]
        w(_row(list(zip(vals, widths, strict=True))))

    w(
        f"\nHealth probe GET {HEALTH}, one every {args.probe_interval * 1000:g} ms on a new connection "
        f"(ms): idle = the {args.idle_seconds:g} s before the burst, burst = sent until the last answer:\n"
    )
    widths = [9, 9, 7, 8, 8, 8, 4, 8, 8, 8, 9, 8]
    hdr = _row(
        list(
            zip(
                ["db", "path", "idle n", "p50", "p99", "max", "", "burst n", "p50", "p99", "max", "failed"],
                widths,
                strict=True,
            )
        )
    )
    w(hdr + "-" * (len(hdr) - 1) + "\n")
    for p in points:
        i, b = p["probe_idle"], p["probe_burst"]
        failed = str(b["failed"]) + (f" {','.join(p['probe_burst_failures'])}" if b["failed"] else "")
        vals = [
            p["db"],
            p["path"],
            i["n"],
            aa._fmt(i["p50_ms"]),
            aa._fmt(i["p99_ms"]),
            aa._fmt(i["max_ms"]),
            "",
            b["n"],
            aa._fmt(b["p50_ms"]),
            aa._fmt(b["p99_ms"]),
            aa._fmt(b["max_ms"]),
            failed,
        ]
        w(_row(list(zip(vals, widths, strict=True))))

    w("\nAnswers completed per second after the burst (second: 2xx/503[/unplanned]):\n")
    for p in points:
        cells = []
        for sec, c in enumerate(p["answers_per_second"]):
            if any(c.values()):
                cell = f"{sec}s:{c['2xx']}/{c['503']}" + (f"/{c['unplanned']}" if c["unplanned"] else "")
                cells.append(cell)
        w(f"  {p['db']:<9}{p['path']:<9}{'  '.join(cells)}\n")

    w("\nHealth probe during the burst, slowest answer (ms) of the probes sent in each second after it:\n")
    for p in points:
        cells = [f"{sec}s:{c['max_ms']:.0f}" for sec, c in enumerate(p.get("probe_per_second", [])) if c["n"]]
        w(f"  {p['db']:<9}{p['path']:<9}{'  '.join(cells)}\n")

    w("\nRuns created vs 2xx answered:\n")
    for p in points:
        extra = ""
        if p["server_restarted_before"] or p["server_restarted_after"]:
            extra = (
                " (server stuck: restarted " + ("before" if p["server_restarted_before"] else "after") + ")"
            )
        w(
            f"  {p['db']:<9}{p['path']:<9}runs {p['runs_created']}, 2xx {p['accepted_2xx']}: {p['runs_check']}{extra}\n"
        )
        w(
            f"  {'':<18}all {p['requests']} connections open in {p['connect_s'] * 1000:.0f} ms before the burst; "
            f"server idle again {aa._fmt(p['settle_after_s'])} s after the last answer\n"
        )
    seen = [(p["db"], p["path"], k, s) for p in points for k, v in p["samples"].items() for s in v]
    if seen:
        w("\nNon-2xx answers and socket errors seen (status: body samples):\n")
        for db, path, k, s in seen:
            w(f"  {db:<9}{path:<9}{k:>16}  {s[:240]}\n")
    for r in results:
        aa.write_server_log_errors(r, w)
        if r.get("error"):
            w(f"\n{r['db']}: benchmark failed: {r['error']}\n")


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--requests", type=int, default=1000, help="POSTs in the burst")
    p.add_argument(
        "--flask", action=argparse.BooleanOptionalAction, default=True, help="also burst the Flask URL"
    )
    p.add_argument("--timeout", type=float, default=60.0, help="client timeout per request (s)")
    p.add_argument("--probe-interval", type=float, default=0.1, help="seconds between health probes")
    p.add_argument("--idle-seconds", type=float, default=3.0, help="health probes before the burst")
    p.add_argument("--json", metavar="PATH", help="write machine-readable results (- for stdout)")
    p.add_argument("--log-level", default="INFO", help="[logging] logging_level of the api-server")
    p.add_argument("--no-pin", action="store_true", help="do not pin server/client with taskset")
    p.add_argument("--keep", action="store_true", help="keep the temp AIRFLOW_HOME and the PG database")
    p.add_argument("--report-from", metavar="JSON", help="only print the report of an earlier --json file")
    args = p.parse_args(argv)
    if not 1 <= args.requests <= 10000:
        p.error("--requests: 1..10000")
    if args.timeout <= 0 or args.probe_interval <= 0 or args.idle_seconds < 0:
        p.error("--timeout and --probe-interval must be > 0, --idle-seconds >= 0")
    return args


def main(argv: list[str]) -> int:
    if argv[:1] == ["--_client"]:
        child_client()
        return 0
    if argv[:1] == ["--_probe"]:
        child_probe()
        return 0
    args = parse_args(argv)
    if args.report_from:
        saved = json.loads(Path(args.report_from).read_text())
        for key in ("requests", "timeout", "probe_interval", "idle_seconds"):
            setattr(args, key, saved["settings"][key])
        report(saved["results"], args, sys.stdout)
        return 0
    signal.signal(signal.SIGTERM, aa._on_sigterm)
    aa.log(f"plugin code: {aa._code_version()}")
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    homes: list[Path] = []
    results: list[dict[str, Any]] = []
    started = time.time()
    failed = False
    try:
        for db in dbs:
            try:
                results.append(bench_db(db, args, homes))
            except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
                aa.log(f"{db}: benchmark failed: {exc}")
                results.append({"db": db, "points": [], "error": str(exc)[:2000]})
                failed = True
    except KeyboardInterrupt:
        aa.log("interrupted; stopping children")
        return 130
    finally:
        aa._stop_all()
        if not args.keep:
            for home in homes:
                shutil.rmtree(home, ignore_errors=True)
        else:
            aa.log(f"kept: {', '.join(map(str, homes))}")
    out = sys.stderr if args.json == "-" else sys.stdout
    report(results, args, out)
    payload = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
        "duration_s": round(time.time() - started, 1),
        "cpu_count": os.cpu_count(),
        "code_version": aa._code_version(),
        "settings": vars(args),
        "results": results,
    }
    if args.json == "-":
        json.dump(payload, sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    elif args.json:
        Path(args.json).write_text(json.dumps(payload, indent=1, default=str) + "\n")
        aa.log(f"wrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
