"""Same authentication as the Airflow API for plugin routes (Airflow 3.3 does not protect them itself).

A request must carry a JWT issued by Airflow's auth manager, either as ``Authorization: Bearer <token>``
or in the ``_token`` cookie the Airflow UI sets at login. The token is validated by Airflow's own
``get_user`` (signature, expiry, revocation), then the auth manager must authorise viewing the website and
reading the pipeline's retrain DAG (its metrics and gate decisions are that DAG's results), as the Airflow API
does for ``GET /dags/{dag_id}`` (:func:`may_read_dag`; with several pipelines, each one's DAG). No token -> 401;
invalid token -> 403 (Airflow's own codes); valid token without access -> 403.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

_bearer = HTTPBearer(auto_error=False)


async def require_viewer(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Any:
    """FastAPI dependency returning the authenticated Airflow user allowed to view the website."""
    # Imported here: the plugin module is also imported by schedulers and workers, which never serve it.
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import get_user

    user = await get_user(request, None, credentials)
    if not get_auth_manager().is_authorized_view(access_view=AccessView.WEBSITE, user=user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden: this user may not view the Airflow UI")
    return user


def may_read_dag(user: Any, dag_id: str) -> bool:
    """Whether the auth manager lets ``user`` read DAG ``dag_id`` (with its team, as Airflow's API checks)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
    from airflow.models.dag import DagModel

    details = DagDetails(id=dag_id, team_name=DagModel.get_team_name(dag_id))
    return get_auth_manager().is_authorized_dag(method="GET", details=details, user=user)
