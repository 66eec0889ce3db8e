"""DAG-level permissions answered by Airflow's auth manager (the core's rule: core.access)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any


def requires_permission(method: str) -> Any:
    """A FastAPI dependency: Airflow's auth manager, with connection permissions."""
    from airflow.api_fastapi.core_api.security import requires_access_connection

    return requires_access_connection(method)  # type: ignore[arg-type]


class AuthManagerDagAccess:
    """:class:`~airflow_webhook_trigger.core.access.DagAccess` for one user, as Airflow's auth manager says.

    Reading is ``GET`` on the DAG; triggering is ``POST`` on its runs (what Airflow's own
    trigger route asks). Each check names the DAG's team where the release has teams, as
    Airflow's ``requires_access_dag`` does.
    """

    def __init__(self, user: Any) -> None:
        self._user = user

    @staticmethod
    def _details(dag_id: str) -> Any:
        from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
        from airflow.models.dag import DagModel

        team_name = getattr(DagModel, "get_team_name", None)
        return DagDetails(id=dag_id, team_name=team_name(dag_id) if team_name is not None else None)

    def _allowed(self, dag_id: str, method: str, entity: str | None) -> bool:
        from airflow.api_fastapi.app import get_auth_manager
        from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity

        return bool(
            get_auth_manager().is_authorized_dag(
                method=method,  # type: ignore[arg-type]
                access_entity=DagAccessEntity[entity] if entity else None,
                details=self._details(dag_id),
                user=self._user,
            )
        )

    def may_read(self, dag_id: str) -> bool:
        return self._allowed(dag_id, "GET", None)

    def may_trigger(self, dag_id: str) -> bool:
        return self._allowed(dag_id, "POST", "RUN")

    def readable(self, dag_ids: Collection[str]) -> set[str]:
        # per DAG, not get_authorized_dag_ids: that one knows only DAGs in dag_model, and a
        # webhook of a removed DAG must stay visible to whoever may read that DAG id
        return {dag_id for dag_id in set(dag_ids) if self.may_read(dag_id)}


def dag_access_dependency() -> Callable[..., AuthManagerDagAccess]:
    """A FastAPI dependency: the caller's :class:`AuthManagerDagAccess` (the user as Airflow
    authenticates it, token or cookie; FastAPI resolves it once per request)."""
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi import Depends

    # a default, not Annotated: with postponed annotations FastAPI reads them from the module
    def dag_access(user: Any = Depends(get_user)) -> AuthManagerDagAccess:  # noqa: B008
        return AuthManagerDagAccess(user)

    return dag_access
