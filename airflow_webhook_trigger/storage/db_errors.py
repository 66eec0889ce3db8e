"""What the metadata DB's errors mean to the plugin: "try again later" (:func:`is_unavailable`),
"never migrated" (:func:`is_missing_table`), and how to name one in a log line without
request data (:func:`error_class`, :func:`describe`); :class:`OutageLog` logs an outage once,
not once per request.

Nothing here imports Airflow.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import exc as sa_exc

# logged under the engine's name, as before the split (log filters name it)
log = logging.getLogger("airflow_webhook_trigger.storage.engine")

#: the detail of every 503 caused by the metadata DB
DB_UNAVAILABLE = "the metadata database is busy or unavailable; retry later"


def is_unavailable(exc: BaseException) -> bool:
    """DB errors that mean "try again later": locks, timeouts, lost or refused connections."""
    if isinstance(
        exc, sa_exc.TimeoutError | sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.DisconnectionError
    ):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


#: what to run when the plugin's tables are missing
MIGRATE_HINT = 'run "airflow db migrate" (or "airflow-webhooks db migrate")'
_OUR_TABLES = "webhook_trigger_"


def is_missing_table(exc: BaseException) -> bool:
    """The plugin's tables are not there (never migrated): SQLite's "no such table",
    PostgreSQL's undefined_table (SQLSTATE 42P01)."""
    if not isinstance(exc, sa_exc.DBAPIError) or _OUR_TABLES not in str(exc.orig):
        return False
    if getattr(exc.orig, "pgcode", None) == "42P01":
        return True
    return "no such table" in str(exc.orig)


def error_class(exc: BaseException) -> str:
    """An error named by its classes and SQLSTATE only, for what may hold request data (a
    refused row, a rendered statement): ``DataError (UntranslatableCharacter, SQLSTATE 22P05)``."""
    cause = getattr(exc, "orig", None)
    if cause is None or cause is exc:
        return type(exc).__name__
    code = getattr(cause, "pgcode", None)
    return f"{type(exc).__name__} ({type(cause).__name__}" + (f", SQLSTATE {code})" if code else ")")


def describe(exc: BaseException) -> str:
    """``Type: first line of the driver's message`` (no traceback; the driver's messages hold no password)."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [""])[0]
    if len(first) > 200:
        first = first[:200] + "..."
    return f"{type(cause).__name__}: {first}" if first else type(cause).__name__


class OutageLog:
    """Logs an outage when it starts, every ``reminder_seconds`` while it lasts, and when it ends.

    A request that fails calls :meth:`failed`; one that succeeds calls :meth:`succeeded`
    (one attribute read when there is no outage). So a DB that is away for a minute
    writes three lines, not one traceback per request.
    """

    def __init__(
        self,
        logger: logging.Logger = log,
        *,
        clock: Callable[[], float] = time.monotonic,
        reminder_seconds: float = 60.0,
    ) -> None:
        self._log = logger
        self._clock = clock
        self._reminder = reminder_seconds
        self._lock = threading.Lock()
        self._since: float | None = None
        self._last_logged = 0.0
        self._failures = 0

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException) -> None:
        now = self._clock()
        with self._lock:
            self._failures += 1
            if self._since is None:
                self._since = self._last_logged = now
                self._log.warning(
                    "metadata database unavailable (%s); answering 503 + Retry-After until it is back",
                    describe(exc),
                )
            elif now - self._last_logged >= self._reminder:
                self._last_logged = now
                self._log.warning(
                    "metadata database still unavailable after %.0f s (%d failed requests; last: %s)",
                    now - self._since,
                    self._failures,
                    describe(exc),
                )

    def succeeded(self) -> None:
        if self._since is None:
            return
        now = self._clock()
        with self._lock:
            if self._since is None:
                return
            self._log.warning(
                "metadata database available again after %.1f s (%d requests were answered 503)",
                now - self._since,
                self._failures,
            )
            self._since = None
            self._failures = 0
