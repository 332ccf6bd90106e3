"""Who may see the page: a logged-in user who may read the pipeline's retrain DAG; no schema or docs routes."""

import pytest

from tests.fixtures.airflow import fresh_auth_manager
from tests.ui.conftest import DG, PAGE


@pytest.fixture(scope="module")
def scoped_tokens(auth_manager):
    """The DAG-scoped auth manager (tests/ui/dag_scoped_auth.py) in place of SimpleAuthManager, and tokens of
    an ``analyst`` (viewer role, may read only ``personalize_retrain__analytics``) and a ``reader`` (viewer role)."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    mp = pytest.MonkeyPatch()
    mp.setenv("AIRFLOW__CORE__AUTH_MANAGER", "tests.ui.dag_scoped_auth.DagScopedAuthManager")
    try:
        am = fresh_auth_manager()
        assert type(am).__name__ == "DagScopedAuthManager"
        yield {name: am.generate_jwt(SimpleAuthManagerUser(username=name, role="viewer"))
               for name in ("analyst", "reader")}  # fmt: skip
    finally:
        mp.undo()
        fresh_auth_manager()  # SimpleAuthManager again for the other UI tests


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"])
def test_no_schema_or_docs_routes_with_or_without_a_login(client, admin_token, path):
    for headers in ({}, {"Authorization": f"Bearer {admin_token}"}):
        r = client.get(f"/personalize{path}", headers=headers)
        assert r.status_code == 404, (path, headers.keys(), r.status_code)
        assert "openapi" not in r.text.lower() and "swagger" not in r.text.lower()


def test_a_viewer_may_read_the_dag_and_sees_the_page(client, auth_manager):
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    viewer = auth_manager.generate_jwt(SimpleAuthManagerUser(username="viewer", role="viewer"))
    r = client.get(PAGE, headers={"Authorization": f"Bearer {viewer}"})
    assert r.status_code == 200 and '<svg class="metric-chart"' in r.text


def test_a_user_who_may_not_read_the_retrain_dag_sees_nothing(client, scoped_tokens, monkeypatch, tmp_path):
    analyst = {"Authorization": f"Bearer {scoped_tokens['analyst']}"}
    for path in (PAGE, "/personalize/"):
        r = client.get(path, headers=analyst, follow_redirects=False)
        assert r.status_code == 403, (path, r.status_code)
        assert r.json() == {"detail": "Forbidden: this user may not read DAG 'personalize_retrain'"}
    reader = client.get(PAGE, headers={"Authorization": f"Bearer {scoped_tokens['reader']}"})
    assert reader.status_code == 200 and '<svg class="metric-chart"' in reader.text
    # the check follows the pipeline's retrain DAG id: as the pipeline "analytics" of a folder of configs, its
    # retrain DAG is personalize_retrain__analytics, which the analyst may read
    from tests.ui.conftest import CONFIG

    folder = tmp_path / "pipelines"
    folder.mkdir()
    (folder / "analytics.yaml").write_text(CONFIG)
    monkeypatch.delenv("PERSONALIZE_PIPELINE_CONFIG")
    monkeypatch.setenv("PERSONALIZE_PIPELINES_DIR", str(folder))
    r = client.get(PAGE, headers=analyst)
    assert r.status_code == 200 and "/dags/personalize_retrain__analytics/runs/" in r.text


def test_config_errors_are_shown_only_to_dag_readers_and_without_env_values(
    client, admin_token, scoped_tokens, monkeypatch, tmp_path
):
    from tests.ui.conftest import CONFIG

    broken = tmp_path / "broken.yaml"
    broken.write_text(CONFIG.replace(f"name: {DG}", "name: ${PZ_UI_GROUP}"))
    monkeypatch.setenv("PERSONALIZE_PIPELINE_CONFIG", str(broken))
    monkeypatch.setenv("PZ_UI_GROUP", "not a name s3cr3t")
    r = client.get(PAGE, headers={"Authorization": f"Bearer {scoped_tokens['analyst']}"})
    assert r.status_code == 403 and "broken.yaml" not in r.text
    r = client.get(PAGE, headers={"Authorization": f"Bearer {admin_token}"})
    assert r.status_code == 500 and "dataset_group.name: name '${PZ_UI_GROUP}'" in r.text
    assert "(value from ${PZ_UI_GROUP}, not shown)" in r.text and "s3cr3t" not in r.text


def test_every_dataset_group_is_listed_and_each_user_sees_the_ones_they_may_read(
    client, admin_token, scoped_tokens, monkeypatch, tmp_path
):
    """A folder of pipeline configs: the index lists each dataset group (a user sees those whose retrain DAG they
    may read) and each group has its page; a config that does not load is shown to its DAG's readers only."""
    import re

    from tests.ui.conftest import CONFIG

    folder = tmp_path / "pipelines"
    folder.mkdir()
    (folder / "analytics.yaml").write_text(CONFIG)
    (folder / "catalog.yaml").write_text(CONFIG.replace(f"name: {DG}", "name: catalog-ui"))
    (folder / "broken.yaml").write_text(CONFIG.replace(f"name: {DG}", "name: broken-ui").replace("role_arn:", "rol:"))
    monkeypatch.delenv("PERSONALIZE_PIPELINE_CONFIG")
    monkeypatch.setenv("PERSONALIZE_PIPELINES_DIR", str(folder))

    admin = {"Authorization": f"Bearer {admin_token}"}
    index = client.get("/personalize/", headers=admin)
    assert index.status_code == 200
    links = re.findall(r'<a href="[^"]*/personalize/dataset-groups/([^"]+)"', index.text)
    assert links == ["catalog-ui", DG]
    assert f"{folder / 'broken.yaml'}: dataset_group.rol: unknown key" in index.text
    for group in links:
        page = client.get(f"/personalize/dataset-groups/{group}", headers=admin)
        assert page.status_code == 200 and f"dataset group {group}" in page.text
    catalog = client.get("/personalize/dataset-groups/catalog-ui", headers=admin).text
    assert "/dags/personalize_retrain__catalog/runs/" not in catalog and "0 solution versions" in catalog
    assert "/dags/personalize_retrain__analytics/runs/" in client.get(PAGE, headers=admin).text

    analyst = {"Authorization": f"Bearer {scoped_tokens['analyst']}"}  # may read personalize_retrain__analytics
    r = client.get("/personalize/", headers=analyst, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith(PAGE), "the one group this user may read"
    r = client.get("/personalize/dataset-groups/catalog-ui", headers=analyst)
    assert r.status_code == 403 and "personalize_retrain__catalog" in r.text
    assert "broken.yaml" not in r.text
