"""Signing secrets, the Airflow way: env vars, Connections, and Airflow's Fernet key.

Part of the Airflow seam: Airflow is imported inside the
functions, so importing the plugin stays light.

- ``secret_env``: read from the environment on every request (a rotation needs no restart);
- ``secret_conn_id``: the password of an Airflow Connection, through Airflow's secrets
  backends (``Connection.get_connection_from_secrets``), cached for at most
  ``registry_cache_seconds``;
- ``secret``: stored encrypted with Airflow's Fernet key (``[core] fernet_key``); refused
  when Airflow has none, as it would then be stored in plain text.

Fail closed: a secret that cannot be read now, or that its scheme cannot use, is a 503
with ``Retry-After``, logged once per webhook and source until it can be read again,
naming the source and never the value.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from airflow_webhook_trigger.core.errors import ConfigError, ServiceUnavailable, busy
from airflow_webhook_trigger.core.settings import Settings
from airflow_webhook_trigger.core.signatures import SecretRef, UnusableSecret, check_secret

log = logging.getLogger(__name__)


def airflow_fernet() -> object:
    """Airflow's Fernet (``[core] fernet_key``; without one, a null Fernet that stores plain text)."""
    from airflow.models.crypto import get_fernet

    return get_fernet()


def connection_password(conn_id: str) -> str | None:
    """An Airflow Connection's password through the secrets backends; None if there is none."""
    from airflow.exceptions import AirflowNotFoundException  # type: ignore[attr-defined]
    from airflow.models.connection import Connection

    try:
        connection = Connection.get_connection_from_secrets(conn_id)
    except AirflowNotFoundException:
        return None
    password = connection.password
    return str(password) if password else None


class AirflowVault:
    """What ``apply``/``create`` need to store signing secrets (``storage.webhook_changes.Vault``).

    :param fernet: gives the Fernet to encrypt with, when one is needed
    """

    def __init__(self, fernet: Callable[[], object] = airflow_fernet) -> None:
        self._fernet = fernet

    def encrypt(self, secret: str) -> str:
        fernet = self._fernet()
        if not getattr(fernet, "is_encrypted", False):
            raise ConfigError(
                "auth.signature.secret: Airflow has no [core] fernet_key, so the secret would be "
                "stored in plain text; set a Fernet key, or use secret_env or secret_conn_id"
            )
        return str(fernet.encrypt(secret.encode("utf-8")).decode("ascii"))  # type: ignore[attr-defined]

    def decrypt(self, token: str) -> str:
        return str(self._fernet().decrypt(token.encode("ascii")).decode("utf-8"))  # type: ignore[attr-defined]

    def connection_password(self, conn_id: str) -> str | None:
        return connection_password(conn_id)


class AirflowSecrets:
    """Reads signing secrets at request time (``core.arrival.SecretResolver``).

    :param lookup_connection: conn id -> password or None (injected in tests)
    :param decrypt: Fernet token -> secret text (injected in tests)
    """

    def __init__(
        self,
        settings: Settings,
        *,
        lookup_connection: Callable[[str], str | None] = connection_password,
        decrypt: Callable[[str], str] | None = None,
        environ: dict[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._lookup = lookup_connection
        self._decrypt = decrypt or AirflowVault().decrypt
        self._environ = environ if environ is not None else os.environ
        self._clock = clock
        self._lock = threading.Lock()
        self._connections: dict[str, tuple[float, str | None]] = {}
        self._decrypted: dict[str, bytes] = {}
        self._failing: set[tuple[str, str]] = set()

    def may_block(self, ref: SecretRef) -> bool:
        if ref.conn_id is None:
            return False
        with self._lock:
            hit = self._connections.get(ref.conn_id)
        return hit is None or self._clock() - hit[0] >= self._settings.registry_cache_seconds

    def _connection(self, conn_id: str) -> str | None:
        now = self._clock()
        with self._lock:
            hit = self._connections.get(conn_id)
        if hit is not None and now - hit[0] < self._settings.registry_cache_seconds:
            return hit[1]
        value = self._lookup(conn_id)
        with self._lock:
            if len(self._connections) > 4096:
                self._connections.clear()
            self._connections[conn_id] = (now, value)
        return value

    def _read(self, ref: SecretRef) -> bytes | None:
        if ref.env is not None:
            value = self._environ.get(ref.env)
            return value.encode("utf-8") if value else None
        if ref.conn_id is not None:
            password = self._connection(ref.conn_id)
            return password.encode("utf-8") if password else None
        if ref.stored is None:
            return None
        with self._lock:
            cached = self._decrypted.get(ref.stored)
        if cached is None:
            cached = self._decrypt(ref.stored).encode("utf-8")
            with self._lock:
                if len(self._decrypted) > 4096:
                    self._decrypted.clear()
                self._decrypted[ref.stored] = cached
        return cached

    def _unavailable(self, webhook_id: str, ref: SecretRef, why: str) -> ServiceUnavailable:
        key = (webhook_id, ref.describe())
        with self._lock:
            first = key not in self._failing
            self._failing.add(key)
        if first:
            log.warning(
                "webhook %s: its signing secret (%s) %s; answering 503", webhook_id, ref.describe(), why
            )
        return busy("the webhook's signing secret cannot be read", self._settings.retry_after_seconds)

    def resolve(self, webhook_id: str, scheme: str, ref: SecretRef) -> bytes:
        try:
            value = self._read(ref)
        except Exception as exc:  # a secrets backend down, a Fernet key rotated away, ...
            raise self._unavailable(webhook_id, ref, f"cannot be read ({type(exc).__name__})") from None
        if value is None:
            raise self._unavailable(webhook_id, ref, "is not set")
        try:
            check_secret(scheme, value)
        except UnusableSecret as exc:
            raise self._unavailable(webhook_id, ref, f"cannot be used: {exc}") from None
        key = (webhook_id, ref.describe())
        if key in self._failing:
            with self._lock:
                self._failing.discard(key)
            log.warning("webhook %s: its signing secret (%s) can be read again", webhook_id, ref.describe())
        return value
