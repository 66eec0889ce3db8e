"""An auth manager with DAG-level rules, for the tests: Airflow's ``SimpleAuthManager`` but for
the users named ``limited*``, who may not see :data:`HIDDEN_DAG` and may only read
:data:`READ_ONLY_DAG` (as FAB's ``access_control`` or a Keycloak policy would say).

Every test session runs under it (``[core] auth_manager``, tests/airflow_env.py): the other
users are exactly ``SimpleAuthManager``'s.
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

#: a DAG the ``limited`` users may neither read nor trigger
HIDDEN_DAG = "wt_plain"
#: a DAG the ``limited`` users may read but not trigger
READ_ONLY_DAG = "wt_shapes"


def is_limited(user: Any) -> bool:
    return str(getattr(user, "username", "")).startswith("limited")


class DagRefusingAuthManager(SimpleAuthManager):
    def is_authorized_dag(
        self, *, method: Any, user: Any, access_entity: Any = None, details: Any = None
    ) -> bool:
        dag_id = getattr(details, "id", None)
        if is_limited(user) and dag_id == HIDDEN_DAG:
            return False
        if is_limited(user) and dag_id == READ_ONLY_DAG and method != "GET":
            return False
        return super().is_authorized_dag(
            method=method, user=user, access_entity=access_entity, details=details
        )
