"""An auth manager for the UI tests: Airflow's SimpleAuthManager, except that some users may read only some DAGs.

SimpleAuthManager grants DAG reads with the same role as the UI itself, so it cannot express "may use the UI,
may not read this DAG"; real deployments can (FAB permissions per DAG, Keycloak, teams). Select it with
``AIRFLOW__CORE__AUTH_MANAGER=tests.ui.dag_scoped_auth.DagScopedAuthManager``.
"""

from __future__ import annotations

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

#: user name -> the only DAG ids that user may read (users not listed: SimpleAuthManager's rules).
DAG_ACCESS = {"analyst": {"personalize_retrain__analytics"}}


class DagScopedAuthManager(SimpleAuthManager):
    def is_authorized_dag(self, *, method, user, access_entity=None, details=None) -> bool:
        allowed = DAG_ACCESS.get(user.get_name())
        if allowed is not None and (details is None or details.id not in allowed):
            return False
        return super().is_authorized_dag(method=method, user=user, access_entity=access_entity, details=details)
