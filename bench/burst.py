"""A burst of webhook POSTs arriving at once at one ``airflow api-server`` worker.

Run: ``flock /tmp/bench.lock .venv/bin/python bench/burst.py [--db sqlite|postgres|both]
[--requests 1000] [--flask/--no-flask] [--timeout 60] [--json PATH|-]``

For each database the script, in one run:

1. sets up a throw-away ``AIRFLOW_HOME`` exactly as ``bench/async_accept.py`` does (the
   lifecycle of ``bench/harness.py``, and async_accept's webhook and event, imported, not
   copied): ``airflow db migrate``, the example DAGs serialized, the ``payment_callback``
   webhook with Basic auth (PostgreSQL: database ``webhook_bench`` on 127.0.0.1:5432, dropped
   at the end);
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
a request was written to its complete answer, in ms, per class (2xx, 503; percentiles by
nearest rank, ``harness.percentile``). "all answered"
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
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
# bench/ last on the path: harness.py is found, and no bench/*.py shadows a module Airflow imports
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH] + [str(BENCH)]
import async_accept as aa  # noqa: E402
import harness  # noqa: E402

SCRIPT = Path(__file__).resolve()
HEALTH = harness.HEALTH
PATHS = {
    "fastapi": f"/webhook/trigger/{aa.WEBHOOK_ID}",
    "flask": f"/pluginsv2/webhook/trigger/{aa.WEBHOOK_ID}",
}
WARM_REQUESTS = 10

# --------------------------------------------------------------------------- the health probe
# (``--_probe`` runs in its own process, pinned to another core; the burst client is harness.burst)


async def _probe(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """``GET /health`` every ``interval`` s, each on a new connection, until stdin says stop."""
    port, interval, timeout = int(spec["port"]), float(spec["interval"]), float(spec["timeout"])
    samples: list[dict[str, Any]] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.run_in_executor(None, sys.stdin.readline).add_done_callback(lambda _: stop.set())

    async def one() -> None:
        t0 = time.monotonic()
        try:
            result: int | str = (await harness.request_once(port, "GET", HEALTH, timeout=timeout)).status
        except (TimeoutError, asyncio.TimeoutError):
            result = "timeout"
        except harness.HTTP_ERRORS as exc:
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


def child_probe() -> None:
    spec = json.loads(sys.stdin.readline())
    print(json.dumps(asyncio.run(_probe(spec))))


# --------------------------------------------------------------------------- one burst


def _lat(values: list[float]) -> dict[str, Any]:
    s = harness.summary(values, 1000)
    return {"n": s["n"], "p50_ms": s["p50"], "p90_ms": s["p90"], "p99_ms": s["p99"], "max_ms": s["max"]}


def _probe_stats(samples: list[dict[str, Any]]) -> dict[str, Any]:
    out = _lat([s["lat"] for s in samples])
    out["failed"] = sum(1 for s in samples if s["status"] != 200)
    return out


def burst_point(
    server: harness.Server,
    counter: harness.RunCounter,
    name: str,
    request: dict[str, Any],
    cores: tuple[int | None, int | None],
    args: argparse.Namespace,
) -> dict[str, Any]:
    idle_wait, restarted_before = server.settle("  server still busy after the previous step,")
    before = counter.count()["webhook"]
    cpu0 = server.cpu_seconds()
    probe = harness.start_child(harness.pinned(cores[1], [sys.executable, str(SCRIPT), "--_probe"]))
    assert probe.stdin is not None
    probe.stdin.write(
        json.dumps({"port": server.port, "interval": args.probe_interval, "timeout": args.timeout}).encode()
        + b"\n"
    )
    probe.stdin.flush()
    time.sleep(args.idle_seconds)
    harness.log(f"  {name}: {args.requests} POSTs at once")
    try:
        spec = {"port": server.port, "requests": args.requests, "timeout": args.timeout, **request}
        burst = harness.run_client("burst", spec, cores[1], 2 * args.timeout + 120)
    finally:
        samples = harness.finish_child(probe, b"stop\n", args.timeout + 60, "health probe")
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
    dep = harness.Deployment(
        db,
        prefix="webhook-burst",
        pg_db=aa.PG_DB,
        log_level=args.log_level,
        settings=harness.plugin_settings(aa.SETTINGS, args),
        plugin_src=args.plugin_src,
    )
    keep.append(dep.home)
    result: dict[str, Any] = {"db": db, "airflow_home": str(dep.home), "port": dep.port, "points": []}
    try:
        prep = aa.prepare(dep, args.history)
        result["plugin_settings"] = prep["settings"]
        pins = harness.cores(not args.no_pin)
        server = dep.server(core=pins[0])
        harness.log(f"{db}: starting airflow api-server on 127.0.0.1:{dep.port}")
        result["server_start_s"] = server.start()
        headers = [("Content-Type", "application/json"), *aa.webhook_headers(prep["password"])]
        body = aa.event_bytes().decode("utf-8")
        names = ["fastapi", "flask"] if args.flask else ["fastapi"]
        for name in names:  # warm: scrypt, DAG caches, both adapters; shown once
            for i in range(WARM_REQUESTS):
                status, _, raw = harness.call(
                    server.base, "POST", PATHS[name], body=body.encode(), headers=headers, timeout=60
                )
                if i == 0:
                    harness.log(f"{db}: sanity {name}: {status} {raw[:120]!r}")
                if not 200 <= status < 300:
                    raise RuntimeError(f"{name} warm-up request failed: {status} {raw[:500]!r}")
        counter = dep.run_counter(aa.DAG_ID)
        for name in names:
            request = {"path": PATHS[name], "headers": headers, "body": body}
            point = burst_point(server, counter, name, request, pins, args)
            point["db"] = db
            result["points"].append(point)
            harness.log(
                f"  {name}: {point['statuses']} all answered {point['all_answered_s']:.1f}s, "
                f"runs {point['runs_created']} ({point['runs_check']}), health during burst "
                f"p50 {harness.fmt(point['probe_burst']['p50_ms'])} max {harness.fmt(point['probe_burst']['max_ms'])} ms"
            )
        server.stop()
        result["server_log_errors"] = harness.server_log_errors(dep.home / "api-server.log")
    finally:
        dep.close(keep=args.keep)
    return result


# --------------------------------------------------------------------------- report


def _row(values: list[Any], widths: list[int]) -> str:
    cols = zip(values, widths, strict=True)
    return "".join(f"{v!s:<{w}}" if i < 2 else f"{v!s:>{w}}" for i, (v, w) in enumerate(cols)) + "\n"


def _head(names: list[str], widths: list[int]) -> str:
    hdr = _row(names, widths)
    return hdr + "-" * (len(hdr) - 1) + "\n"


def _l4(lat: dict[str, Any]) -> list[str]:
    return [str(lat["n"])] + [harness.fmt(lat[k], 0) for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms")]


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
    w(
        _head(
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
        )
    )
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
            harness.fmt(p["all_answered_s"], 2),
            p["runs_created"],
            check,
            harness.fmt(p["server_cpu_s"]),
            harness.fmt(p["load_average"][0], 2),
        ]
        w(_row(vals, widths))

    w("\nLatency of the answers, ms from the request's send (n, p50, p90, p99, max):\n")
    widths = [9, 9, 6, 8, 8, 8, 8, 4, 6, 8, 8, 8, 8]
    w(
        _head(
            ["db", "path", "2xx n", "p50", "p90", "p99", "max", "", "503 n", "p50", "p90", "p99", "max"],
            widths,
        )
    )
    for p in points:
        vals = [p["db"], p["path"], *_l4(p["lat_2xx"]), "", *_l4(p["lat_503"])]
        w(_row(vals, widths))

    w(
        f"\nHealth probe GET {HEALTH}, one every {args.probe_interval * 1000:g} ms on a new connection "
        f"(ms): idle = the {args.idle_seconds:g} s before the burst, burst = sent until the last answer:\n"
    )
    widths = [9, 9, 7, 8, 8, 8, 4, 8, 8, 8, 9, 8]
    w(
        _head(
            ["db", "path", "idle n", "p50", "p99", "max", "", "burst n", "p50", "p99", "max", "failed"],
            widths,
        )
    )
    for p in points:
        i, b = p["probe_idle"], p["probe_burst"]
        failed = str(b["failed"]) + (f" {','.join(p['probe_burst_failures'])}" if b["failed"] else "")
        vals = [
            p["db"],
            p["path"],
            i["n"],
            harness.fmt(i["p50_ms"]),
            harness.fmt(i["p99_ms"]),
            harness.fmt(i["max_ms"]),
            "",
            b["n"],
            harness.fmt(b["p50_ms"]),
            harness.fmt(b["p99_ms"]),
            harness.fmt(b["max_ms"]),
            failed,
        ]
        w(_row(vals, widths))

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
            f"server idle again {harness.fmt(p['settle_after_s'])} s after the last answer\n"
        )
    seen = [(p["db"], p["path"], k, s) for p in points for k, v in p["samples"].items() for s in v]
    if seen:
        w("\nNon-2xx answers and socket errors seen (status: body samples):\n")
        for db, path, k, s in seen:
            w(f"  {db:<9}{path:<9}{k:>16}  {s[:240]}\n")
    for r in results:
        harness.write_server_log_errors(r, w)
        if r.get("error"):
            w(f"\n{r['db']}: benchmark failed: {r['error']}\n")


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=1000, help="POSTs in the burst")
    p.add_argument(
        "--flask", action=argparse.BooleanOptionalAction, default=True, help="also burst the Flask URL"
    )
    p.add_argument("--timeout", type=float, default=60.0, help="client timeout per request (s)")
    p.add_argument("--probe-interval", type=float, default=0.1, help="seconds between health probes")
    p.add_argument("--idle-seconds", type=float, default=3.0, help="health probes before the burst")
    harness.add_run_arguments(p)
    harness.add_history_argument(p)
    args = p.parse_args(argv)
    if not 1 <= args.requests <= 10000:
        p.error("--requests: 1..10000")
    if args.timeout <= 0 or args.probe_interval <= 0 or args.idle_seconds < 0:
        p.error("--timeout and --probe-interval must be > 0, --idle-seconds >= 0")
    return args


def main(argv: list[str]) -> int:
    if argv[:1] == ["--_probe"]:
        child_probe()
        return 0
    args = parse_args(argv)
    if args.report_from:
        report(
            harness.saved_results(args, ("requests", "timeout", "probe_interval", "idle_seconds")),
            args,
            sys.stdout,
        )
        return 0
    harness.log(
        f"plugin code: {harness.code_version(Path(args.plugin_src) if args.plugin_src else harness.ROOT)}"
    )
    started = time.time()
    errors = (RuntimeError, OSError, subprocess.SubprocessError, ValueError)
    bench = lambda db, homes: bench_db(db, args, homes)  # noqa: E731
    results = harness.each_database(
        args.db, bench, keep=args.keep, errors=errors, **harness.pg_placement(args, not args.no_pin)
    )
    if results is None:
        return 130
    report(results, args, sys.stderr if args.json == "-" else sys.stdout)
    harness.write_json(args.json, started, vars(args), results=results)
    return 1 if any(r.get("error") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
