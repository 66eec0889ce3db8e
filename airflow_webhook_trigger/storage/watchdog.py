"""The thread that cuts the metadata DB connections held past their session's deadline.

Nothing here imports Airflow.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from airflow_webhook_trigger.storage.db_errors import describe

# logged under the engine's name, as before the split (log filters name it)
log = logging.getLogger("airflow_webhook_trigger.storage.engine")


def _shutdown(dbapi_connection: Any) -> None:
    """Shut the connection's socket down (the driver keeps its descriptor, now at EOF)."""
    try:
        fd = dbapi_connection.fileno()
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except Exception as exc:  # closed meanwhile, or not a socket: nothing left to cut
        log.debug("webhook DB watchdog: could not shut a connection down: %s", describe(exc))


class Watchdog:
    """Cuts the connections held past their deadline, from a thread of its own.

    Only connections with a socket (``fileno()``: psycopg2) are watched; SQLite's
    waits are bounded by its own busy timeout. A cut connection's blocked call fails
    with a disconnect error, which SQLAlchemy answers by discarding the connection.

    :param cut: what to do to an overdue connection (injected in tests)
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        cut: Callable[[Any], None] = _shutdown,
    ) -> None:
        self._clock = clock
        self._cut = cut
        self._cond = threading.Condition()
        self._held: dict[int, tuple[float, Any]] = {}
        self._thread: threading.Thread | None = None
        #: when the watchdog thread wakes next (inf: when told; -inf: it is awake or not started)
        self._wakes_at = -math.inf
        #: connections cut so far
        self.cuts = 0

    def hold(self, dbapi_connection: Any, deadline: float) -> None:
        if not callable(getattr(dbapi_connection, "fileno", None)):
            return
        with self._cond:
            self._held[id(dbapi_connection)] = (deadline, dbapi_connection)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhook-db-watchdog", daemon=True)
                self._thread.start()
            if deadline < self._wakes_at:
                # else it wakes in time anyway: no thread switch per checkout
                self._cond.notify()

    def release(self, dbapi_connection: Any) -> None:
        with self._cond:
            self._held.pop(id(dbapi_connection), None)

    @property
    def held(self) -> int:
        with self._cond:
            return len(self._held)

    def cut_overdue(self) -> float | None:
        """Cut every overdue connection; return the next deadline (None: nothing held).

        Under the lock, so a connection released (and reused by another session) is
        never cut for its previous holder's deadline.
        """
        with self._cond:
            now = self._clock()
            for key, (deadline, conn) in list(self._held.items()):
                if deadline <= now:
                    del self._held[key]
                    self.cuts += 1
                    log.warning("webhook DB watchdog: a connection was held past its deadline; cutting it")
                    self._cut(conn)
            return min((d for d, _ in self._held.values()), default=None)

    def _run(self) -> None:
        while True:
            following = self.cut_overdue()
            with self._cond:
                if following is None:
                    if not self._held:
                        self._wakes_at = math.inf
                        self._cond.wait()
                else:
                    self._wakes_at = following
                    self._cond.wait(max(0.0, following - self._clock()))
                self._wakes_at = -math.inf  # awake: a connection held now is seen on the next pass
