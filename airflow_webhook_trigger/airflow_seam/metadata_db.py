"""The plugin's own bounded engine on Airflow's metadata DB, and its sessions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_webhook_trigger.airflow_seam.airflow_config import read_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from airflow_webhook_trigger.core.settings import Settings
from airflow_webhook_trigger.storage.engine import Database, DbLimits


def dag_known(dag_id: str) -> bool:
    """Whether Airflow's DB knows the DAG (the dag-processor has parsed it)."""
    from airflow.models.dag import DagModel
    from sqlalchemy import select

    with db_session() as session:
        return session.scalar(select(DagModel.dag_id).where(DagModel.dag_id == dag_id)) is not None


def db_limits(settings: Settings) -> DbLimits:
    return DbLimits(
        timeout=settings.db_timeout_seconds,
        pool_timeout=settings.db_pool_timeout_seconds,
        lock_timeout=settings.db_lock_timeout_seconds,
        retry_after=settings.retry_after_seconds,
    )


def _metadata_engine(limits: DbLimits) -> Engine:
    """An engine of the plugin's own on Airflow's metadata DB, built as Airflow builds its own.

    Same URL, ``[database]`` engine and connect arguments, the engine factory a
    deployment may override in ``airflow_local_settings`` (token auth hooks) and the
    event handlers Airflow adds (SQLite pragmas, the per-process guard); then our
    bounds (``storage.engine``): a short pool timeout and no ``pool_pre_ping`` (our
    sessions ping within their deadline).
    """
    from airflow import settings as airflow_settings
    from sqlalchemy import create_engine

    url = str(airflow_settings.SQL_ALCHEMY_CONN)
    engine_args: dict[str, Any] = dict(airflow_settings.prepare_engine_args())  # type: ignore[no-untyped-call]
    get_connect_args = getattr(airflow_settings, "_get_connect_args", None)
    connect_args: dict[str, Any] = dict(get_connect_args("sync")) if get_connect_args else {}
    if url.startswith("sqlite"):
        connect_args["check_same_thread"] = False  # as Airflow: sessions move between threads
    engine_args["pool_pre_ping"] = False
    # the plugin's statements carry request data (conf, delivery keys): an error's text,
    # which reaches the logs, names the statement but not its values
    engine_args["hide_parameters"] = True
    if "poolclass" not in engine_args and "pool_size" in engine_args:
        engine_args["pool_timeout"] = limits.pool_timeout
    factory = getattr(airflow_settings, "create_metadata_engine", None)
    engine: Engine
    if factory is not None:
        engine = factory(url, engine_args=engine_args, connect_args=connect_args)
    else:
        engine = create_engine(url, connect_args=connect_args, **engine_args, future=True)
    from airflow.utils.orm_event_handlers import setup_event_handlers

    setup_event_handlers(engine)  # type: ignore[no-untyped-call]
    if register_at_fork := getattr(os, "register_at_fork", None):
        # a forked worker must not share the parent's sockets (SQLAlchemy's pooling docs)
        register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    return engine


@functools.cache
def metadata_database(limits: DbLimits) -> Database:
    """The process's :class:`Database` for these limits (one engine and pool per process)."""
    return Database(_metadata_engine(limits), limits)


@functools.cache
def _default_database() -> Database:
    return metadata_database(db_limits(read_settings()))


@contextmanager
def db_session() -> Iterator[Session]:
    """A session on the plugin's engine, bounded, committing on success (:meth:`Database.session`).

    Airflow code called inside with no session (``@provide_session``) uses its own
    scoped session and cannot commit ours halfway.

    :raises ServiceUnavailable: the metadata DB cannot serve now
    """
    with _default_database().session() as session:
        yield session
