"""Real Airflow processes for end-to-end tests: api-server, scheduler, dag-processor."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _airflow() -> str:
    exe = Path(sys.executable).parent / "airflow"
    return str(exe) if exe.exists() else shutil.which("airflow") or "airflow"


@contextmanager
def airflow_processes(
    log_dir: Path, *, scheduler: bool = True, env: dict[str, str] | None = None, base_path: str = ""
) -> Iterator[str]:
    """Start the api-server (and scheduler + dag-processor); yield the base URL.

    :param env: the processes' environment (default: this one's)
    :param base_path: ``[api] base_url``'s path (an Airflow behind a proxy's subpath), e.g. ``/airflow``
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}{base_path}"
    env = {
        **(os.environ if env is None else env),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__API__PORT": str(port),
    }
    commands = [[_airflow(), "api-server", "--port", str(port), "--host", "127.0.0.1", "--workers", "1"]]
    if scheduler:
        commands += [[_airflow(), "scheduler"], [_airflow(), "dag-processor"]]
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for cmd in commands:
            log = open(log_dir / f"{cmd[1]}.log", "wb")  # noqa: SIM115
            logs.append(log)
            procs.append(
                subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            )
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or procs[0].poll() is not None:
                raise RuntimeError(
                    "api-server did not start: " + (log_dir / "api-server.log").read_text()[-3000:]
                )
            time.sleep(0.5)
        yield base
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for log in logs:
            log.close()


def imported_after(modules: list[str]) -> set[str]:
    """Top-level packages in ``sys.modules`` of a fresh interpreter after importing ``modules``."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))
