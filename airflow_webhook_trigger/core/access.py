"""Who may manage which webhook: the rule over Airflow's DAG permissions, without Airflow.

Managing webhooks needs the connection permissions (a webhook's configuration is as
sensitive as a connection): the routes ask for them first. On top of that, each webhook
answers to its DAG's permissions, whatever auth manager decides them:

- reading a webhook, its URL, its deliveries or its test capture needs read access to
  its DAG; lists show only the webhooks of DAGs the user may read;
- writing one (create, replace, patch, delete) or replaying a delivery needs the right
  to trigger the DAG (Airflow's ``DagAccessEntity.RUN`` with ``POST``); re-pointing a
  webhook needs it on both DAGs.

A webhook the user may not read is answered exactly as an unknown one (404, same text):
the id of an open webhook is its credential, and its existence is not the user's to
learn. A webhook the user may read but not trigger is a 403 naming the DAG.

The adapters give a :class:`DagAccess` for the caller (the Airflow seam asks the auth
manager; the CLI, run by whoever holds the metadata DB's credentials, has :data:`FULL`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Protocol

from airflow_webhook_trigger.core.errors import Forbidden, NotFound


class DagAccess(Protocol):
    """What one caller may do with DAGs, as the auth manager says."""

    def may_read(self, dag_id: str) -> bool: ...

    def may_trigger(self, dag_id: str) -> bool: ...

    def readable(self, dag_ids: Collection[str]) -> set[str]:
        """The DAGs among ``dag_ids`` the caller may read."""
        ...


class _Full:
    def may_read(self, dag_id: str) -> bool:
        return True

    def may_trigger(self, dag_id: str) -> bool:
        return True

    def readable(self, dag_ids: Collection[str]) -> set[str]:
        return set(dag_ids)


#: the CLI's access: every DAG
FULL: DagAccess = _Full()


def unknown_webhook(webhook_id: str) -> NotFound:
    """The one answer for a webhook that does not exist *or* that the caller may not read."""
    return NotFound(f"no webhook with id {webhook_id[:70]!r}")


def unknown_delivery(delivery_id: str) -> NotFound:
    return NotFound(f"no delivery with id {delivery_id[:40]!r}")


def check_read(access: DagAccess, webhook_id: str, dag_ids: Iterable[str]) -> None:
    """:raises NotFound: the caller may not read one of the DAGs (as if the webhook were not there)"""
    if not all(access.may_read(dag_id) for dag_id in dag_ids):
        raise unknown_webhook(webhook_id)


def check_trigger(access: DagAccess, dag_ids: Iterable[str]) -> None:
    """:raises Forbidden: the caller may not trigger one of the DAGs (it is named)"""
    for dag_id in dict.fromkeys(dag_ids):
        if not access.may_trigger(dag_id):
            raise Forbidden(f"you may not trigger DAG {dag_id}: a webhook for it needs that permission")


def check_write(access: DagAccess, webhook_id: str, current_dag: str | None, new_dag: str | None) -> None:
    """A change of webhook ``webhook_id``, now for ``current_dag`` (None: a new one), to ``new_dag``
    (None: deleted).

    :raises NotFound: the caller may not read the current DAG
    :raises Forbidden: the caller may not trigger the current or the new DAG
    """
    if current_dag is not None:
        check_read(access, webhook_id, [current_dag])
    check_trigger(access, [d for d in (current_dag, new_dag) if d is not None])
