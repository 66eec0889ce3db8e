"""Which Airflow release is running: the one switch for what differs between 3.1, 3.2 and 3.3.

Each difference is decided where Airflow is called (:mod:`run_gateway`,
:mod:`run_factory`, :mod:`lean_insert`, :mod:`db_manager`) by a named check from here, with the
reason beside it, so that dropping a release means deleting its branches.
"""

from __future__ import annotations

import functools


@functools.cache
def release() -> tuple[int, int]:
    """The running Airflow's ``(major, minor)``."""
    import airflow

    major, minor = str(airflow.__version__).split(".")[:2]
    return int(major), int(minor)


def release_name() -> str:
    """``"3.1"``, ``"3.2"``...: how the README and the logs name a release."""
    return "{}.{}".format(*release())


def dag_bag_checks_freshness() -> bool:
    """Airflow 3.3's ``DBDagBag.get_dag`` re-checks a cached DAG against the DB's ``dag_hash``
    (a version with no runs yet is rewritten in place); 3.2's keeps the first DAG it read for a
    version forever, and 3.1's bag has not even a public ``get_dag``."""
    return release() >= (3, 3)


def trigger_takes_run_type() -> bool:
    """``_trigger_dag`` takes ``run_type`` and ``note`` since Airflow 3.2 (3.1: always manual, no note)."""
    return release() >= (3, 2)


def db_manager_takes_use_migration_files() -> bool:
    """Airflow 3.2's ``BaseDBManager.upgradedb`` creates the tables from the ORM unless told
    ``use_migration_files``; 3.1's always runs the migration files and takes no such argument."""
    return release() >= (3, 2)
