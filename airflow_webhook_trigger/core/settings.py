"""The ``[webhook_trigger]`` settings, validated in one place.

Read when an app is built (never at import time) from any ``key -> str | None``
lookup, so the Airflow config (and ``AIRFLOW__WEBHOOK_TRIGGER__*`` env vars) feed
it in production and a plain dict feeds it in tests. Invalid values fail loudly;
a limit can never be silently disabled (zero or negative limits are refused).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from airflow_webhook_trigger.core.errors import ConfigError

SECTION = "webhook_trigger"
#: a numeric setting's field metadata: 0 is a valid value (every other number must be > 0)
ZERO_ALLOWED = "zero_allowed"


@dataclass(frozen=True)
class Settings:
    """Validated ``[webhook_trigger]`` options; defaults are the documented ones."""

    url_prefix: str = "/webhook"
    max_body_bytes: int = 1024 * 1024
    json_max_depth: int = 64
    query_max_depth: int = 5
    query_max_array_index: int = 20
    query_max_params: int = 1000
    query_max_length: int = 65536
    max_conf_bytes: int = 64 * 1024
    #: requests per process starting a run at once (FastAPI: admitted; the rest wait, then 503)
    max_concurrent_triggers: int = 32
    #: DB connections those requests hold at once (a group commit holds one for its group)
    max_trigger_connections: int = 4
    trigger_slot_wait_seconds: float = 2.0
    retry_after_seconds: int = 5
    db_lock_timeout_seconds: float = 3.0
    db_timeout_seconds: float = 5.0
    db_pool_timeout_seconds: float = 1.0
    #: 0: every lookup reads the database (the only limit that may be 0)
    registry_cache_seconds: float = field(default=1.0, metadata={ZERO_ALLOWED: True})
    sync_default_timeout_seconds: float = 25.0
    sync_max_timeout_seconds: float = 120.0
    waiter_tick_seconds: float = 0.05
    flask_sync_max_waiting: int = 8
    #: sync callers waiting at once per process, on both URLs; past it a sync delivery is
    #: answered 503 + Retry-After before its run is started
    sync_max_waiting: int = 256
    flask_blueprint: bool = True
    #: on the FastAPI app's first request, collect once then gc.freeze() the api-server's heap
    gc_freeze: bool = True
    #: ``POST {prefix}/trigger/{id}`` skips Airflow's token-refresh and gzip middlewares
    trigger_fast_path: bool = True
    #: the delivery record: kept this long, then pruned by the api-server
    delivery_retention_days: int = 7
    #: a delivery key is remembered at least this long after its run
    dedupe_window_days: int = 7
    #: deliveries not accepted wait in memory for a batched write: at most this many
    delivery_buffer_size: int = 1000
    #: test captures (``POST {prefix}/test/{id}``) stored per webhook per minute, per process
    test_capture_max_per_minute: int = 10
    #: body bytes of those captures per webhook per minute, per process
    test_capture_max_bytes_per_minute: int = 8 * 1024 * 1024

    def __post_init__(self) -> None:
        _check_prefix(self.url_prefix)
        # every number is a limit, and a limit cannot be disabled: > 0, unless its field says 0 is allowed
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if f.metadata.get(ZERO_ALLOWED):
                _require(f.name, value, value >= 0, "must be >= 0")
            else:
                _require(f.name, value, value > 0, "must be > 0 (limits cannot be disabled)")
        _require("json_max_depth", self.json_max_depth, self.json_max_depth <= 512, "must be <= 512")
        _require("query_max_depth", self.query_max_depth, self.query_max_depth <= 32, "must be <= 32")
        _require(
            "sync_default_timeout_seconds",
            self.sync_default_timeout_seconds,
            self.sync_default_timeout_seconds <= self.sync_max_timeout_seconds,
            "must be <= sync_max_timeout_seconds",
        )
        _require(
            "db_lock_timeout_seconds",
            self.db_lock_timeout_seconds,
            self.db_lock_timeout_seconds < self.db_timeout_seconds,
            "must be < db_timeout_seconds (a lock wait should end before its request's deadline)",
        )


_PREFIX_RE = re.compile(r"^(/[A-Za-z0-9_.~-]+)+$")
_RESERVED_PREFIXES = ("/api/v2", "/ui", "/execution", "/auth", "/pluginsv2")


def _check_prefix(prefix: str) -> None:
    if not _PREFIX_RE.match(prefix):
        raise ConfigError(
            f"{SECTION}.url_prefix has value {prefix!r}. "
            "It must look like '/webhook' (slash-separated URL-safe segments, no trailing slash)."
        )
    for reserved in _RESERVED_PREFIXES:
        if prefix == reserved or prefix.startswith(reserved + "/"):
            raise ConfigError(
                f"{SECTION}.url_prefix has value {prefix!r}: {reserved} is reserved by Airflow."
            )


def _require(key: str, value: object, ok: bool, why: str) -> None:
    if not ok:
        raise ConfigError(f"{SECTION}.{key} has value {value!r}: {why}.")


_BOOLEANS = {"true": True, "t": True, "1": True, "false": False, "f": False, "0": False}


def _convert(key: str, raw: str, kind: type) -> object:
    text = raw.strip()
    if kind is bool:  # as Airflow's conf.getboolean
        if text.lower() not in _BOOLEANS:
            raise ConfigError(f"{SECTION}.{key} has value {raw!r}. Not a boolean (true or false).")
        return _BOOLEANS[text.lower()]
    if kind is int:
        try:
            return int(text, 10)
        except ValueError:
            raise ConfigError(f"{SECTION}.{key} has value {raw!r}. Not a valid int.") from None
    if kind is float:
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"{SECTION}.{key} has value {raw!r}. Not a valid number.") from None
        if not math.isfinite(value):
            raise ConfigError(f"{SECTION}.{key} has value {raw!r}. Not a finite number.")
        return value
    return text


def settings_from_lookup(get: Callable[[str], str | None]) -> Settings:
    """Build :class:`Settings` from a lookup returning the raw string of a key, or None.

    :param get: e.g. ``lambda key: conf.get("webhook_trigger", key, fallback=None)``
    :raises ConfigError: naming the key and the bad value
    """
    values: dict[str, object] = {}
    for f in fields(Settings):
        raw = get(f.name)
        if raw is None or raw == "":
            continue
        values[f.name] = _convert(f.name, raw, type(f.default))
    return Settings(**values)  # type: ignore[arg-type]
