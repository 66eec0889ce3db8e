"""A throw-away PostgreSQL cluster of the test's own, to stop, restart and freeze.

Never the machine's service: ``initdb`` into a temp dir, ``pg_ctl`` on a free port,
run as the ``postgres`` user when the tests run as root (PostgreSQL refuses root).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.processes import free_port


def _bindir() -> Path:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not candidates:
        raise RuntimeError("no PostgreSQL server binaries (initdb) found")
    return candidates[-1].parent


def available() -> bool:
    try:
        _bindir()
    except RuntimeError:
        return False
    return os.geteuid() != 0 or shutil.which("runuser") is not None


class PgCluster:
    """``initdb`` + ``pg_ctl`` in a temp dir of its own; trust auth on 127.0.0.1:``port``.

    (Its own dir under the system temp dir: pytest's are private to root, and the
    server runs as ``postgres``.)
    """

    def __init__(
        self, *, prefix: str = "webhook-fault-pg-", fsync: bool = False, core: int | None = None
    ) -> None:
        """:param fsync: flush commits to disk (off for tests; the benchmark's is on, as a
        deployment's) :param core: pin every server process to this CPU (``taskset``)"""
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
        self._fsync = fsync
        self._core = core
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self._bin = _bindir()

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self._bin / args[0]), *args[1:]]
        if self._core is not None and shutil.which("taskset"):
            command = ["taskset", "-c", str(self._core), *command]  # the postmaster and its children
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self.sockets.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.sockets, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
        if not self._fsync:
            options += " -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start"
        )

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def pids(self) -> list[int]:
        """The postmaster and its children (every server process of this cluster)."""
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return []
        postmaster = int(pid_file.read_text().split()[0])
        children = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(
                    line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
                )
            except OSError:
                continue
            if fields.get("PPid", "").strip() == str(postmaster):
                children.append(int(status.parent.name))
        return [postmaster, *children]

    def freeze(self) -> list[int]:
        """SIGSTOP every server process: TCP stays up, nothing answers (a hung database)."""
        pids = self.pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        return pids

    def thaw(self, pids: list[int]) -> None:
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def create_database(self, name: str) -> None:
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        conn.autocommit = True
        conn.cursor().execute(f'CREATE DATABASE "{name}"')
        conn.close()


@contextmanager
def pg_cluster(
    *, prefix: str = "webhook-fault-pg-", fsync: bool = False, core: int | None = None
) -> Iterator[PgCluster]:
    """A started :class:`PgCluster` (its arguments), stopped and removed after the block."""
    cluster = PgCluster(prefix=prefix, fsync=fsync, core=core)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.thaw(cluster.pids())
        cluster.stop("immediate")
        shutil.rmtree(cluster.root, ignore_errors=True)
