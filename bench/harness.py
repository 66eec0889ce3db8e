"""The benchmark harness of ``bench/``: what async_accept.py, sync_wait.py and burst.py share, so that
the figures they print are measured one way and can be quoted side by side.

It owns:

1. The HTTP/1.1 client, on raw asyncio streams. ``encode_request`` builds a request and
   ``read_response`` is the one response parser (status line, headers, a body by Content-Length,
   chunked, or up to the close); ``classify`` sorts an answer into accepted (2xx), deliberate
   back-pressure (503 with ``Retry-After``) and unplanned. On top of them: ``closed_loop`` (N
   keep-alive clients, each sending its next request as soon as the last is answered, over a
   timed window), ``burst`` (N connections opened first, then one request written on each in
   the same event-loop turn), ``request_once`` (one request on a connection of its own) and
   ``call`` (the same from blocking code: set-up requests, health checks). The two load clients
   run in a process of their own, pinned apart from the server: ``run_client`` starts
   ``python bench/harness.py --_closed-loop|--_burst`` (JSON spec on stdin, JSON result on
   stdout).
2. Percentiles: ``percentile`` (nearest rank) and ``summary`` (n, min, p50, p90, p99, max, mean);
   every report computes its latencies with them.
3. The server lifecycle: ``Deployment`` (a throw-away ``AIRFLOW_HOME``, a SQLite file or a
   PostgreSQL database of its own on 127.0.0.1:5432 (user postgres, trust auth), its
   environment, ``airflow db migrate``, ``drop``), ``sync_dags`` (serialize DAG bundles, in a
   process configured by that environment), ``Server`` (``airflow api-server -w N``, pinned with
   ``taskset`` when given a core, optionally with a scheduler and a dag-processor, each in a
   process group of its own; ready, idle, CPU used, stopped and its group killed), the child
   processes (``spawn``, ``stop``, ``stop_all``, ``run``), the pinning (``cores``: server on core
   0, clients on core 1), ``each_database`` (the run over sqlite/postgres that ends every child
   and removes the homes), ``RunCounter``, the summary of the server log, and the flags and JSON
   file of a run (``add_run_arguments``, ``write_json``).

Creating the webhooks stays with each script: what they are is what each one measures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

Headers = Iterable[tuple[str, str]] | Mapping[str, str]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "dags_examples"
HARNESS = Path(__file__).resolve()
BIN = Path(sys.executable).parent
EXAMPLE_BUNDLES = {"examples": EXAMPLES}
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
SIMPLE_AUTH = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
PG_HOST = "127.0.0.1"
#: the port of the PostgreSQL the run's databases are made on (the machine's; ``own_postgres``
#: points it at a cluster of the run's own)
_pg = {"port": 5432}
HEALTH = "/api/v2/monitor/health"
HOST = "127.0.0.1"
#: in a request body or header: replaced per request by a same-length unique id
RID_PLACEHOLDER = "req_000000000000"
QUIESCE_LIMIT = 60.0  # seconds to wait for the server to go idle after a point, else restart it
DEPS_DIR = Path(tempfile.gettempdir()) / "webhook-bench-pydeps"
#: what a request can fail with on the client side (connection, parse, timeout)
HTTP_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    IndexError,
    asyncio.TimeoutError,
)  # EOFError: IncompleteReadError


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def fmt(v: float | None, nd: int = 1) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


# --------------------------------------------------------------------------- percentiles


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0 < q <= 100) of ``values`` by the nearest-rank method.

    The smallest sample with at least ``q`` % of the samples at or below it (rank
    ``ceil(q/100 * n)``), so always a value one request had, never an interpolation; ``q=100``
    is the maximum. ``None`` when there are no samples.

    Over exactly the samples given. Every report passes one class of one measured window:
    async_accept.py the 2xx answers completed inside the window (warm-up discarded), and apart
    the 503s and all answers; burst.py the 2xx and the 503 answers of the burst, the health
    probes before and during it; sync_wait.py the calls after its warm-up.
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered) / 100))
    return ordered[min(rank, len(ordered)) - 1]


def summary(values: Iterable[float], scale: float = 1.0) -> dict[str, Any]:
    """n, min, p50, p90, p99, max (``percentile``) and mean of ``values`` times ``scale`` (1000: s to ms)."""
    vals = [v * scale for v in values]
    return {
        "n": len(vals),
        "min": min(vals) if vals else None,
        "p50": percentile(vals, 50),
        "p90": percentile(vals, 90),
        "p99": percentile(vals, 99),
        "max": max(vals) if vals else None,
        "mean": statistics.fmean(vals) if vals else None,
    }


# --------------------------------------------------------------------------- HTTP client


class Response(NamedTuple):
    status: int
    headers: dict[bytes, bytes]  # names lower-cased
    body: bytes

    def header(self, name: str) -> str | None:
        value = self.headers.get(name.lower().encode("latin-1"))
        return None if value is None else value.decode("latin-1")


def port_of(base: str) -> int:
    """The port of ``http://127.0.0.1:PORT``."""
    return int(base.rsplit(":", 1)[1])


def encode_request(
    method: str, path: str, port: int, headers: Headers = (), body: bytes = b"", *, close: bool = False
) -> bytes:
    items = headers.items() if isinstance(headers, Mapping) else headers
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    if close:
        lines.append("Connection: close")
    lines += [f"{k}: {v}" for k, v in items]
    if body or method not in ("GET", "HEAD"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def read_response(reader: asyncio.StreamReader) -> Response:
    line = await reader.readline()
    if not line:
        raise ConnectionResetError("connection closed by the server")
    status = int(line.split(None, 2)[1])
    headers: dict[bytes, bytes] = {}
    while True:
        h = await reader.readline()
        if h in (b"\r\n", b"\n"):
            break
        if not h:
            raise ConnectionResetError("connection closed inside the headers")
        k, _, v = h.partition(b":")
        headers[k.strip().lower()] = v.strip()
    if b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        chunks = []
        while True:
            size = int((await reader.readline()).split(b";")[0].strip(), 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                break
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(chunks)
    elif status in (204, 304) or 100 <= status < 200:
        body = b""
    else:
        body = await reader.read()  # close-delimited
        headers[b"connection"] = b"close"
    return Response(status, headers, body)


def classify(status: int, headers: Mapping[bytes, bytes]) -> str:
    """``2xx`` accepted, ``503`` deliberate back-pressure (with Retry-After), else ``unplanned``."""
    if 200 <= status < 300:
        return "2xx"
    if status == 503 and b"retry-after" in headers:
        return "503"
    return "unplanned"


def keep_sample(samples: dict[str, list[str]], key: str, text: str) -> None:
    bucket = samples.setdefault(key, [])
    if len(bucket) < 3 and text not in bucket:
        bucket.append(text)


async def request_once(
    port: int, method: str, path: str, headers: Headers = (), body: bytes = b"", timeout: float = 60.0
) -> Response:
    """One request on a connection of its own (``Connection: close``), ``timeout`` bounding it whole."""

    async def go() -> Response:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            writer.write(encode_request(method, path, port, headers, body, close=True))
            await writer.drain()
            return await read_response(reader)
        finally:
            writer.close()

    return await asyncio.wait_for(go(), timeout)


def call(
    base: str, method: str, path: str, *, body: bytes = b"", headers: Headers = (), timeout: float = 10.0
) -> Response:
    """``request_once`` from blocking code, to ``base`` (``http://127.0.0.1:PORT``)."""
    return asyncio.run(request_once(port_of(base), method, path, headers, body, timeout))


async def closed_loop(spec: dict[str, Any]) -> dict[str, Any]:
    """``clients`` keep-alive connections, each sending its next request when the last is answered.

    Responses are counted by completion time inside ``[warmup, warmup + seconds]``, as wrk does;
    a timeout when it fires inside the window; requests in flight at its end are ``cut``.
    """
    port = int(spec["port"])
    clients, seconds, warmup = int(spec["clients"]), float(spec["seconds"]), float(spec["warmup"])
    req_timeout = float(spec["timeout"])
    template = encode_request("POST", spec["path"], port, spec["headers"], spec["body"].encode("utf-8"))
    placeholder = RID_PLACEHOLDER.encode()

    t_begin = time.perf_counter()
    m_start = t_begin + warmup
    m_end = m_start + seconds
    st: dict[str, Any] = {k: {} for k in ("status", "status_all_phases", "kinds", "socket_errors", "samples")}
    st.update({k: [] for k in ("lat_2xx", "lat_503", "lat_all")})
    st.update({k: 0 for k in ("timeouts", "cut", "sent")})
    counter = [0]

    async def worker(idx: int) -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None

        def drop() -> None:
            nonlocal reader, writer
            if writer is not None:
                writer.close()
            reader = writer = None

        while time.perf_counter() < m_end:
            t0 = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(HOST, port), timeout=max(0.01, min(req_timeout, m_end - t0))
                    )
                counter[0] += 1
                rid = f"req_{idx:03d}{counter[0]:09d}"[-len(RID_PLACEHOLDER) :].encode()
                writer.write(template.replace(placeholder, rid))
                st["sent"] += 1
                assert reader is not None
                limit = min(t0 + req_timeout, m_end) - time.perf_counter()
                response = await asyncio.wait_for(read_response(reader), timeout=max(0.001, limit))
            except HTTP_ERRORS as exc:
                drop()
                now = time.perf_counter()
                timed_out = isinstance(exc, (TimeoutError, asyncio.TimeoutError))
                if timed_out and now - t0 >= req_timeout - 1e-3 and now < m_end + 1e-3:
                    if now >= m_start:  # a timeout is counted when it fires inside the window
                        st["timeouts"] += 1
                    continue
                if now >= m_end:
                    st["cut"] += 1
                    break
                if now >= m_start:
                    name = type(exc).__name__
                    st["socket_errors"][name] = st["socket_errors"].get(name, 0) + 1
                    keep_sample(st["samples"], f"socket:{name}", str(exc)[:200])
                await asyncio.sleep(0.01)
                continue
            done = time.perf_counter()
            lat = done - t0
            status = response.status
            key = str(status)
            st["status_all_phases"][key] = st["status_all_phases"].get(key, 0) + 1
            if done >= m_start:
                st["status"][key] = st["status"].get(key, 0) + 1
                kind = classify(status, response.headers)
                st["kinds"][kind] = st["kinds"].get(kind, 0) + 1
                st["lat_all"].append(lat)
                if kind == "2xx":
                    st["lat_2xx"].append(lat)
                else:
                    if status == 503:
                        st["lat_503"].append(lat)
                    retry = response.headers.get(b"retry-after")
                    extra = f" [Retry-After: {retry.decode()}]" if retry else ""
                    keep_sample(st["samples"], key, response.body[:400].decode("utf-8", "replace") + extra)
            if response.headers.get(b"connection", b"").lower() == b"close":
                drop()
        drop()

    await asyncio.gather(*(worker(i) for i in range(clients)))
    accepted = st["kinds"].get("2xx", 0)
    all_phases = st["status_all_phases"]
    ok, every, r503 = (summary(st[k], 1000) for k in ("lat_2xx", "lat_all", "lat_503"))
    return {
        "seconds": seconds,
        "accepted": accepted,
        "accepted_per_s": accepted / seconds,
        "p50_ms": ok["p50"],
        "p90_ms": ok["p90"],
        "p99_ms": ok["p99"],
        "max_ms": ok["max"],
        "p50_all_ms": every["p50"],
        "p99_all_ms": every["p99"],
        "p50_503_ms": r503["p50"],
        "status": st["status"],
        "deliberate_503": st["kinds"].get("503", 0),
        "unplanned_http": st["kinds"].get("unplanned", 0),
        "timeouts": st["timeouts"],
        "socket_errors": st["socket_errors"],
        "socket_or_timeout": sum(st["socket_errors"].values()) + st["timeouts"],
        "cut_at_end": st["cut"],
        "samples": st["samples"],
        "accepted_all_phases": sum(v for k, v in all_phases.items() if k.startswith("2")),
        "responses_all_phases": sum(all_phases.values()),
        "sent_all_phases": st["sent"],
    }


def _raise_nofile(need: int) -> dict[str, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return {"soft": soft, "hard": hard}


async def burst(spec: dict[str, Any]) -> dict[str, Any]:
    """Open ``requests`` connections, then write one POST on each at once and read every answer."""
    port, n, timeout = int(spec["port"]), int(spec["requests"]), float(spec["timeout"])
    nofile = _raise_nofile(n + 64)
    template = encode_request(
        "POST", spec["path"], port, spec["headers"], spec["body"].encode("utf-8"), close=True
    )
    placeholder = RID_PLACEHOLDER.encode()

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
            keep_sample(samples, name, str(conn)[:200])
            return
        reader, writer = conn
        rid = f"req_b{i:0{len(RID_PLACEHOLDER) - 5}d}".encode()  # same length: Content-Length holds
        t0 = time.monotonic()
        try:
            writer.write(template.replace(placeholder, rid))
            response = await asyncio.wait_for(read_response(reader), timeout)
        except (TimeoutError, asyncio.TimeoutError):
            answers.append({"kind": "timeout", "sent": t0, "done": time.monotonic()})
            return
        except HTTP_ERRORS as exc:
            name = type(exc).__name__
            answers.append({"kind": "socket", "error": name, "sent": t0, "done": time.monotonic()})
            keep_sample(samples, name, str(exc)[:200])
            return
        finally:
            writer.close()
        done = time.monotonic()
        kind = classify(response.status, response.headers)
        if kind != "2xx":
            retry = response.header("retry-after")
            extra = f" [Retry-After: {retry}]" if retry is not None else " [no Retry-After]"
            keep_sample(samples, str(response.status), response.body[:300].decode("utf-8", "replace") + extra)
        answers.append({"kind": kind, "status": response.status, "sent": t0, "done": done, "lat": done - t0})

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


CLIENTS: dict[str, Callable[[dict[str, Any]], Any]] = {"closed-loop": closed_loop, "burst": burst}


def run_client(kind: str, spec: dict[str, Any], core: int | None, bound: float) -> dict[str, Any]:
    """Run a load client (``CLIENTS``) in a process of its own, pinned to ``core``."""
    proc = start_child(pinned(core, [sys.executable, str(HARNESS), f"--_{kind}"]))
    return dict(finish_child(proc, json.dumps(spec).encode() + b"\n", bound, f"{kind} client"))


# --------------------------------------------------------------------------- child processes

_CHILDREN: list[subprocess.Popen[Any]] = []


def spawn(cmd: list[str], **kw: Any) -> subprocess.Popen[Any]:
    proc = subprocess.Popen(cmd, start_new_session=True, **kw)
    _CHILDREN.append(proc)
    return proc


def _forget(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is not None and proc in _CHILDREN:
        _CHILDREN.remove(proc)


def stop(proc: subprocess.Popen[Any], grace: float = 10.0) -> None:
    """Stop a child and everything in its process group (its own session)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    # the group may outlive its leader (uvicorn/gunicorn workers, task runners)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    if proc in _CHILDREN:
        _CHILDREN.remove(proc)


def stop_all() -> None:
    for proc in list(_CHILDREN):
        stop(proc, grace=5.0)


def on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _communicate(proc: subprocess.Popen[bytes], data: bytes | None, bound: float, what: str) -> bytes:
    """Wait (bounded) for a child, killing its group on timeout; its stdout, or why it failed."""
    try:
        out, err = proc.communicate(data, timeout=bound)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise RuntimeError(f"{what} did not finish within {bound:.0f}s") from None
    finally:
        _forget(proc)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}): {(err or b'').decode()[-2000:]}")
    return bytes(out)


def run(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float, log_path: Path) -> str:
    """Run a child to completion (bounded, its stderr in ``log_path``); its stdout."""
    with open(log_path, "ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        proc = spawn(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=out)
        try:
            return _communicate(proc, None, timeout, " ".join(cmd)).decode()
        except RuntimeError as exc:
            raise RuntimeError(f"{exc} (log: {log_path})\n{tail(log_path)}") from None


def start_child(cmd: list[str]) -> subprocess.Popen[bytes]:
    return spawn(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish_child(proc: subprocess.Popen[bytes], data: bytes, bound: float, what: str) -> Any:
    """Send ``data`` to a ``start_child`` process, wait (bounded) and decode its JSON answer."""
    return json.loads(_communicate(proc, data, bound, what))


def pinned(core: int | None, cmd: list[str]) -> list[str]:
    if core is None or shutil.which("taskset") is None:
        return cmd
    return ["taskset", "-c", str(core), *cmd]


def cores(pin: bool) -> tuple[int | None, int | None]:
    """(server core, client core) for ``pinned``: 0 and 1 when ``pin`` on 2+ cores, else unpinned."""
    return (0, 1) if pin and (os.cpu_count() or 1) >= 2 else (None, None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- a throw-away Airflow


def airflow_env(
    home: Path,
    db_url: str,
    port: int,
    *,
    bundles: Mapping[str, Path],
    log_level: str,
    all_admins: bool = False,
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW") and k != "PYTHONPATH"}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
            "AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS": "airflow_webhook_trigger.db_manager.WebhookDBManager",
            "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLES),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
                [
                    {"name": name, "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(path)}}
                    for name, path in bundles.items()
                ]
            ),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True" if all_admins else "False",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API__BASE_URL": f"http://{HOST}:{port}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": log_level,
        }
    )
    return env


def async_driver_path() -> str | None:
    """Airflow 3.3 also builds an async engine (``postgresql+asyncpg``) at import time.

    A venv with only psycopg2 cannot ``import airflow`` on PostgreSQL. A real deployment
    installs ``apache-airflow[postgres]`` (which brings asyncpg); here asyncpg is installed
    once into a private directory outside the venv and put on the children's PYTHONPATH.
    """
    check = subprocess.run([sys.executable, "-c", "import asyncpg"], capture_output=True, check=False)
    if check.returncode == 0:
        return None
    code = "import sys; sys.path.insert(0, sys.argv[1]); import asyncpg"
    probe = [sys.executable, "-c", code, str(DEPS_DIR)]
    if subprocess.run(probe, capture_output=True, check=False).returncode != 0:
        log(f"asyncpg missing from the venv: installing it into {DEPS_DIR} (not into the venv)")
        subprocess.run(
            [str(BIN / "pip"), "install", "-q", "--target", str(DEPS_DIR), "asyncpg"], check=True, timeout=300
        )
    return str(DEPS_DIR)


def pg_admin(sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(
        host=PG_HOST, port=_pg["port"], user="postgres", dbname="postgres", connect_timeout=10
    )
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


class Deployment:
    """A throw-away Airflow: ``AIRFLOW_HOME``, its metadata DB and the environment that configures it.

    :param db: ``sqlite`` (a file in the home) or ``postgres`` (database ``pg_db``, created anew)
    :param bundles: the DAG bundles (name -> folder) the dag-processor and ``sync_dags`` read
    :param settings: more environment variables, over the defaults of ``airflow_env``
    :param plugin_src: a checkout whose ``airflow_webhook_trigger`` shadows the venv's
    """

    def __init__(
        self,
        db: str,
        *,
        prefix: str,
        pg_db: str,
        bundles: Mapping[str, Path] = EXAMPLE_BUNDLES,
        log_level: str = "INFO",
        all_admins: bool = False,
        plugin_src: str | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.db, self.pg_db = db, pg_db
        self.home = Path(tempfile.mkdtemp(prefix=f"{prefix}-{db}-"))
        self.port = free_port()
        self.sqlite_path = self.home / "airflow.db"
        self.setup_log = self.home / "setup.log"
        self.extra_path: str | None = None
        self.servers: list[Server] = []
        if db == "postgres":
            pg_admin(f"DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)")
            pg_admin(f"CREATE DATABASE {pg_db}")
            url = f"postgresql+psycopg2://postgres@{PG_HOST}:{_pg['port']}/{pg_db}"
            self.extra_path = async_driver_path()
        else:
            url = f"sqlite:///{self.sqlite_path}"
        self.env = airflow_env(
            self.home, url, self.port, bundles=bundles, log_level=log_level, all_admins=all_admins
        )
        self.env.update(settings or {})
        self.env.update(self._serving(plugin_src))

    def _serving(self, plugin_src: str | None) -> dict[str, str]:
        """The ``PYTHONPATH`` that serves the plugin from ``plugin_src`` (none: the venv's)."""
        paths = [p for p in (plugin_src, self.extra_path) if p]
        # plugin_src first: that checkout's package shadows the venv's editable one
        return {"PYTHONPATH": os.pathsep.join(paths)} if paths else {}

    def run(self, cmd: list[str], timeout: float = 600) -> str:
        """Run a command in this deployment's environment (output in ``setup.log``); its stdout."""
        return run(cmd, self.env, self.home, timeout, self.setup_log)

    def migrate(self) -> float:
        """``airflow db migrate`` (with the plugin's DB manager); the seconds it took."""
        t0 = time.monotonic()
        self.run([str(BIN / "airflow"), "db", "migrate"], timeout=900)
        return time.monotonic() - t0

    def server(self, *, plugin_src: str | None = None, **kw: Any) -> Server:
        """A ``Server`` of this deployment (not started), stopped by ``close``; with
        ``plugin_src``, serving the plugin from that checkout instead of the deployment's."""
        env = self.env if plugin_src is None else {**self.env, **self._serving(plugin_src)}
        self.servers.append(Server(env, self.home, kw.pop("port", self.port), **kw))
        return self.servers[-1]

    def run_counter(self, dag_id: str) -> RunCounter:
        return RunCounter(self.db, dag_id, self.sqlite_path if self.db == "sqlite" else None, self.pg_db)

    def close(self, *, keep: bool = False) -> None:
        """Stop its servers; drop the PostgreSQL database unless ``keep`` (the home is the caller's)."""
        for server in self.servers:
            server.stop()
        if self.db == "postgres" and not keep:
            with contextlib.suppress(Exception):
                pg_admin(f"DROP DATABASE IF EXISTS {self.pg_db} WITH (FORCE)")


def sync_dags(bundles: Mapping[str, Path] = EXAMPLE_BUNDLES) -> None:
    """Serialize the DAGs of these bundles into the metadata DB, as the dag-processor would.

    In a process whose environment is a ``Deployment``'s (it imports Airflow).
    """
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    for name, folder in bundles.items():
        bag = DagBag(dag_folder=folder, bundle_path=folder, bundle_name=name)
        if bag.import_errors:
            raise SystemExit(f"import errors: {bag.import_errors}")
        sync_bag_to_db(bag, bundle_name=name, bundle_version=None)


def seed_history(dag_id: str, runs: int, *, batch: int = 2_000) -> float:
    """Give the metadata DB the history of a deployment in use, then ``ANALYZE`` it, as
    autovacuum (PostgreSQL) or an operator (SQLite) would have: ``runs`` finished runs of
    ``dag_id``, a task instance per task each, as its latest version made them. Returns the
    seconds it took. In a process whose environment is a ``Deployment``'s (it imports Airflow).

    Why: PostgreSQL plans a foreign-key check once per connection, with the statistics it
    finds then. On a freshly migrated database (``dag_run`` empty, never analyzed) the check
    that every new task instance's run exists is planned as a scan of the DAG's runs (by the
    ``dag_id`` index, ``run_id`` filtered), not a lookup in the ``(dag_id, run_id)`` unique
    index, and it keeps that plan until the table is next analyzed (autovacuum waits for a
    minute and for 10% of the table to change). Measured on 2026-12-06 with ``auto_explain``:
    that check grew from 0.6 to 3 ms per task instance within 40 s of webhook load, and the
    webhooks accepted per second fell by half; a deployment in use never pays it. The seeded
    runs' ``run_id`` starts with ``history__`` (``RunCounter`` counts them once, before the
    first point, so its differences are the points' own runs).
    """
    import uuid
    from datetime import datetime, timedelta, timezone

    from airflow.models.dag_version import DagVersion
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select, text

    if runs <= 0:
        return 0.0
    t0 = time.monotonic()
    with create_session() as session:
        version = session.scalars(
            select(DagVersion).where(DagVersion.dag_id == dag_id).order_by(DagVersion.version_number.desc())
        ).first()
        if version is None:
            raise RuntimeError(f"seed_history: no version of DAG {dag_id!r} (serialize it first)")
        tasks = sorted(version.serialized_dag.dag.task_ids)
        start = datetime.now(timezone.utc) - timedelta(days=7)
        for first in range(0, runs, batch):
            ran, tis = [], []
            for n in range(first, min(first + batch, runs)):
                at = start + timedelta(seconds=30 * n)
                run_id = f"history__{at:%Y%m%dT%H%M%S}_{n:07d}"
                ran.append(
                    {
                        "dag_id": dag_id,
                        "run_id": run_id,
                        "run_type": "manual",
                        "triggered_by": "rest_api",
                        "state": "success",
                        "queued_at": at,
                        "start_date": at,
                        "end_date": at + timedelta(seconds=2),
                        "run_after": at,
                        "conf": {},
                        "clear_number": 0,
                        "created_dag_version_id": version.id,
                        "bundle_version": version.bundle_version,
                    }
                )
                tis.extend(
                    {
                        "id": uuid.uuid4(),
                        "task_id": task_id,
                        "dag_id": dag_id,
                        "run_id": run_id,
                        "map_index": -1,
                        "try_number": 1,
                        "max_tries": 0,
                        "state": "success",
                        "start_date": at,
                        "end_date": at + timedelta(seconds=1),
                        "pool": "default_pool",
                        "pool_slots": 1,
                        "queue": "default",
                        "priority_weight": 1,
                        "dag_version_id": version.id,
                    }
                    for task_id in tasks
                )
            session.execute(DagRun.__table__.insert(), ran)
            session.execute(TaskInstance.__table__.insert(), tis)
        session.commit()
        bind = session.get_bind()
    with bind.connect() as conn:  # outside a transaction: PostgreSQL's ANALYZE of every table
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return time.monotonic() - t0


@contextlib.contextmanager
def own_postgres(core: int | None) -> Iterator[None]:
    """The run's PostgreSQL databases on a cluster of its own for the block (``initdb`` in a
    temp dir, commits flushed to disk as by the machine's service), every process of it
    pinned to ``core`` (the clients' core; None: not pinned).

    Why not the machine's service: its processes run on any core, so the database's own
    work per webhook (which grows with the webhooks a server accepts) is partly done on the
    core of the api-server measured. Measured on 2026-12-06 (``--against be9959d``, PostgreSQL,
    8 clients): this code's server busy 81% of the time either way, 2.39x the code before it
    with the machine's service, 2.84x with its processes on the clients' core. A deployment's
    database has cores (usually a host) of its own.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.pg_cluster import pg_cluster

    with pg_cluster(prefix="webhook-bench-pg-", fsync=True, core=core) as cluster:  # pg_ctl -w: ready
        machine, _pg["port"] = _pg["port"], cluster.port
        log(f"postgres: a cluster of the run's own on {PG_HOST}:{cluster.port}, pinned to core {core}")
        try:
            yield
        finally:
            _pg["port"] = machine


def each_database(
    choice: str,
    bench: Callable[[str, list[Path]], dict[str, Any]],
    *,
    keep: bool,
    errors: tuple[type[BaseException], ...] = (),
    own_pg: bool = False,
    pg_core: int | None = None,
) -> list[dict[str, Any]] | None:
    """``bench(db, homes)`` for sqlite and/or postgres (``choice``: one of them or ``both``).

    At the end every child is stopped and the homes ``bench`` listed are removed (``keep``: kept).
    A failure of a type in ``errors`` ends that database's run with an ``error`` result; an
    interrupt (SIGTERM too) ends them all: ``None``. ``own_pg``: PostgreSQL's databases are
    made on a cluster of the run's own (``own_postgres``, pinned to ``pg_core``), else on the
    machine's service at 127.0.0.1:5432.
    """
    signal.signal(signal.SIGTERM, on_sigterm)
    homes: list[Path] = []
    results: list[dict[str, Any]] = []
    try:
        for db in ["sqlite", "postgres"] if choice == "both" else [choice]:
            where = own_postgres(pg_core) if db == "postgres" and own_pg else contextlib.nullcontext()
            try:
                with where:
                    results.append(bench(db, homes))
            except errors as exc:
                log(f"{db}: benchmark failed: {exc}")
                results.append({"db": db, "points": [], "error": str(exc)[:2000]})
    except KeyboardInterrupt:
        log("interrupted; stopping children")
        return None
    finally:
        stop_all()
        if not keep:
            for home in homes:
                shutil.rmtree(home, ignore_errors=True)
        else:
            log(f"kept: {', '.join(map(str, homes))}")
    return results


# --------------------------------------------------------------------------- the server


class Server:
    """``airflow api-server -w N`` (with ``scheduler``: also a scheduler and a dag-processor).

    Each runs in a process group of its own, its output in ``log_dir/<name>.log`` (default: the
    home), and is stopped with its whole group. Only the api-server is pinned (to ``core``).
    """

    def __init__(
        self,
        env: dict[str, str],
        home: Path,
        port: int,
        core: int | None = None,
        workers: int = 1,
        *,
        scheduler: bool = False,
        log_dir: Path | None = None,
    ) -> None:
        self.home, self.port, self.core, self.workers, self.scheduler = home, port, core, workers, scheduler
        self.base = f"http://{HOST}:{port}"
        self.env = {
            **env,
            "AIRFLOW__API__BASE_URL": self.base,
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base}/execution/",
        }
        self.log_dir = log_dir or home
        self.log = self.log_dir / "api-server.log"
        self.procs: list[subprocess.Popen[Any]] = []

    @property
    def proc(self) -> subprocess.Popen[Any]:
        return self.procs[0]

    def start(self, timeout: float = 240) -> float:
        """Start the processes; the seconds until the api-server answered its health check."""
        airflow = str(BIN / "airflow")
        commands = {
            "api-server": pinned(
                self.core,
                [airflow, "api-server", "-H", HOST, "-p", str(self.port), "-w", str(self.workers)],
            )
        }
        if self.scheduler:
            commands.update(
                {"scheduler": [airflow, "scheduler"], "dag-processor": [airflow, "dag-processor"]}
            )
        t0 = time.monotonic()
        for name, cmd in commands.items():
            out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
            self.procs.append(spawn(cmd, env=self.env, cwd=self.home, stdout=out, stderr=subprocess.STDOUT))
            out.close()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"api-server exited with {self.proc.returncode}:\n{tail(self.log)}")
            with contextlib.suppress(*HTTP_ERRORS):
                if call(self.base, "GET", HEALTH, timeout=5).status == 200:
                    return time.monotonic() - t0
            time.sleep(0.5)
        raise RuntimeError(f"api-server not ready after {timeout:.0f}s:\n{tail(self.log)}")

    def stop(self) -> None:
        for proc in self.procs:  # all told first: the scheduler's shutdown overlaps the others'
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            stop(proc)
        self.procs = []

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _session_stats(self) -> Iterable[tuple[Path, list[str]]]:
        """(``/proc/PID``, stat fields after the comm field) of each process in the api-server's session."""
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            # after the comm field: [2] pgrp, [3] session, [11] utime, [12] stime
            if int(fields[3]) == self.proc.pid:
                yield stat.parent, fields

    def cpu_seconds(self) -> float:
        """CPU time of every process in the api-server's session (utime + stime)."""
        total = sum(int(f[11]) + int(f[12]) for _, f in self._session_stats())
        return total / os.sysconf("SC_CLK_TCK")

    def runqueue_waits(self) -> dict[tuple[str, str], int]:
        """Per thread of the api-server's session ((pid, tid) -> ns): time spent runnable but
        waiting for a CPU (schedstat), i.e. how much the rest of the machine starved it."""
        waits: dict[tuple[str, str], int] = {}
        for proc_dir, _ in self._session_stats():
            with contextlib.suppress(OSError):
                for task in (proc_dir / "task").iterdir():
                    with contextlib.suppress(OSError, IndexError, ValueError):
                        waits[(proc_dir.name, task.name)] = int((task / "schedstat").read_text().split()[1])
        return waits

    @staticmethod
    def runqueue_wait_between(before: dict[tuple[str, str], int], after: dict[tuple[str, str], int]) -> float:
        """Seconds the threads alive at ``after`` waited for a CPU since ``before``, summed over
        threads. A thread that ended meanwhile is not counted (its figures are gone with it:
        summing totals instead made the figure negative when pool threads ended)."""
        return sum(max(0, ns - before.get(key, 0)) for key, ns in after.items()) / 1e9

    def settle(self, why: str) -> tuple[float, bool]:
        """``quiesce``, restarting the server if it stays busy: (seconds waited or -1, restarted)."""
        waited = self.quiesce()
        if waited >= 0:
            return waited, False
        log(f"{why} {QUIESCE_LIMIT:.0f}s later; restarting it")
        self.stop()
        self.start()
        return waited, True

    def quiesce(self, limit: float | None = None) -> float:
        """Wait until the api-server burns < 5% CPU over 0.5 s and answers health quickly."""
        limit = QUIESCE_LIMIT if limit is None else limit
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            c0 = self.cpu_seconds()
            time.sleep(0.5)
            if self.cpu_seconds() - c0 < 0.025:
                with contextlib.suppress(*HTTP_ERRORS):
                    t1 = time.monotonic()
                    if (
                        call(self.base, "GET", HEALTH, timeout=5).status == 200
                        and time.monotonic() - t1 < 1.0
                    ):
                        return time.monotonic() - t0
        return -1.0


class RunCounter:
    """Counts a DAG's runs straight from the DB (no Airflow import), webhook- and otherwise-made."""

    def __init__(self, db: str, dag_id: str, sqlite_path: Path | None, pg_db: str) -> None:
        self._db, self._dag_id, self._path, self._pg_db = db, dag_id, sqlite_path, pg_db

    def count(self) -> dict[str, int]:
        sql = (
            "SELECT CASE WHEN run_id LIKE 'webhook%' THEN 'webhook' ELSE 'rest' END, count(*) "
            f"FROM dag_run WHERE dag_id = '{self._dag_id}' GROUP BY 1"
        )
        if self._db == "sqlite":
            import sqlite3

            conn = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=30)
            try:
                rows = conn.execute(sql).fetchall()
            finally:
                conn.close()
        else:
            import psycopg2

            pg = psycopg2.connect(host=PG_HOST, port=_pg["port"], user="postgres", dbname=self._pg_db)
            try:
                with pg.cursor() as cur:
                    cur.execute(sql)
                    rows = cur.fetchall()
            finally:
                pg.close()
        counts = {"webhook": 0, "rest": 0}
        counts.update({str(k): int(v) for k, v in rows})
        return counts


# --------------------------------------------------------------------------- reporting

_EXC_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Timeout|Exceeded)\b.*)")
_LEVEL_LINE = re.compile(r"\[(error|warning|critical)\s*\]\s*(.*)")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z?\s*")


def server_log_errors(path: Path) -> dict[str, Any]:
    """Distinct error/warning log lines and exception summaries of a server log, with counts."""
    seen: dict[str, int] = {}
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return {}
    for line in lines:
        text = _TIMESTAMP.sub("", line.strip())
        m = _LEVEL_LINE.search(text)
        if m:
            key = f"[{m.group(1)}] " + re.sub(r"\bid \w+", "id *", m.group(2))
        else:
            m = _EXC_LINE.match(text)
            if not m:
                continue
            key = m.group(1)
        key = re.sub(r"\brequest_id=\S+", "request_id=*", key)[:200]  # one line per message, not per request
        seen[key] = seen.get(key, 0) + 1
    top = sorted(seen.items(), key=lambda kv: -kv[1])[:15]
    return {"distinct": len(seen), "top": [{"count": c, "line": k} for k, c in top]}


def write_server_log_errors(result: dict[str, Any], w: Any) -> None:
    """The most frequent error-ish lines of one database's api-server log (``server_log_errors``)."""
    errs = result.get("server_log_errors") or {}
    if errs.get("top"):
        w(f"\nServer log ({result['db']}): {errs['distinct']} distinct error-ish lines, most frequent:\n")
        for e in errs["top"][:6]:
            w(f"  {e['count']:>6} x {e['line'][:200]}\n")


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of a script that runs over ``each_database`` and writes ``write_json``'s results."""
    p.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--json", metavar="PATH", help="write machine-readable results (- for stdout)")
    p.add_argument("--log-level", default="INFO", help="[logging] logging_level of the api-server")
    p.add_argument("--no-pin", action="store_true", help="do not pin server/client with taskset")
    p.add_argument(
        "--machine-pg",
        action="store_true",
        help="PostgreSQL: the machine's service at 127.0.0.1:5432 (its processes on any core), not a cluster "
        "of the run's own pinned to the clients' core",
    )
    p.add_argument("--keep", action="store_true", help="keep the temp AIRFLOW_HOME and the PG database")
    p.add_argument("--report-from", metavar="JSON", help="only print the report of an earlier --json file")
    p.add_argument(
        "--plugin-src",
        metavar="DIR",
        help="serve the plugin from this checkout (e.g. a git worktree of an older commit) to compare two commits",
    )
    p.add_argument(
        "--set",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="a [webhook_trigger] setting for the plugin, e.g. max_concurrent_triggers=16 (repeatable)",
    )


def add_history_argument(p: argparse.ArgumentParser) -> None:
    """``--history N``: the runs ``seed_history`` gives the DB before the first point."""
    p.add_argument(
        "--history",
        type=int,
        default=10_000,
        metavar="N",
        help="finished runs of the DAG in the DB before the first point, then ANALYZE, as in a deployment "
        "in use (0: a freshly migrated DB, whose foreign-key checks PostgreSQL plans as scans)",
    )


def pg_placement(args: argparse.Namespace, pin: bool) -> dict[str, Any]:
    """``each_database``'s PostgreSQL arguments from ``add_run_arguments``' flags: the
    cluster goes to the clients' core when the script pins (``pin``, as it asks ``cores``)."""
    return {"own_pg": not args.machine_pg, "pg_core": cores(pin)[1]}


def plugin_settings(defaults: dict[str, str], args: argparse.Namespace) -> dict[str, str]:
    """The script's environment settings, with ``--set NAME=VALUE`` ones over them."""
    out = dict(defaults)
    for item in getattr(args, "set", None) or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise SystemExit(f"--set takes NAME=VALUE, not {item!r}")
        out[f"AIRFLOW__WEBHOOK_TRIGGER__{name.strip().upper()}"] = value
    return out


def saved_results(args: argparse.Namespace, keys: Iterable[str]) -> list[dict[str, Any]]:
    """The results of ``--report-from``'s file, its settings ``keys`` restored onto ``args``."""
    saved = json.loads(Path(args.report_from).read_text())
    for key in keys:
        setattr(args, key, saved["settings"][key])
    return list(saved["results"])


def code_version(root: Path = ROOT) -> dict[str, Any]:
    """The commit the plugin was measured at, and whether its files had local changes."""

    def git(*cmd: str) -> str:
        out = subprocess.run(["git", *cmd], cwd=root, capture_output=True, text=True, check=False, timeout=30)
        return out.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "changed_plugin_files": git("status", "--porcelain", "--", "airflow_webhook_trigger").splitlines(),
    }


def write_json(dest: str | None, started: float, settings: dict[str, Any], **parts: Any) -> None:
    """The machine-readable results: to ``dest`` (a path, ``-`` for stdout, ``None`` for nowhere)."""
    if not dest:
        return
    payload = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
        "duration_s": round(time.time() - started, 1),
        "cpu_count": os.cpu_count(),
        "code_version": code_version(),
        "settings": settings,
        **parts,
    }
    if dest == "-":
        json.dump(payload, sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    else:
        Path(dest).write_text(json.dumps(payload, indent=1, default=str) + "\n")
        log(f"wrote {dest}")


if __name__ == "__main__":  # a load client's process (``run_client``)
    client = CLIENTS[sys.argv[1].removeprefix("--_")]
    print(json.dumps(asyncio.run(client(json.loads(sys.stdin.readline())))))
