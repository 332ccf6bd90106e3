"""Airflow's own API app loads the plugin from plugins/ and mounts the page; auth via its middleware stack."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.ui.conftest import DG

ROOT = Path(__file__).resolve().parents[2]
CACHED = ("_get_plugins", "_get_ui_plugins", "get_fastapi_plugins", "get_flask_plugins")


@pytest.fixture
def airflow_api_app(ui_env, auth_manager, monkeypatch):
    """``airflow.api_fastapi.app.create_app("core")`` with PLUGINS_FOLDER = this repo's plugins/."""
    from airflow import plugins_manager, settings
    from airflow.api_fastapi.app import create_app

    def clear():
        for name in CACHED:
            getattr(plugins_manager, name).cache_clear()

    monkeypatch.setattr(settings, "PLUGINS_FOLDER", str(ROOT / "plugins"))
    clear()
    try:
        yield create_app(apps="core")
    finally:
        monkeypatch.undo()
        clear()  # other tests load plugins from their own folder again


def test_airflow_mounts_the_page_and_enforces_its_tokens(airflow_api_app, admin_token):
    from airflow import plugins_manager

    assert not plugins_manager.get_import_errors(), plugins_manager.get_import_errors()
    views, _ = plugins_manager._get_ui_plugins()
    assert {"url_route": "personalize", "href": "/personalize/"}.items() <= views[0].items()
    with TestClient(airflow_api_app) as client:
        page = f"/personalize/dataset-groups/{DG}"
        assert client.get(page).status_code == 401
        r = client.get(page, headers={"Authorization": f"Bearer {admin_token}"})
        assert r.status_code == 200 and r.text.count('<svg class="metric-chart"') == 1
        client.cookies.set("_token", admin_token)
        assert client.get(page).status_code == 200
        plugins = client.get("/api/v2/plugins", headers={"Authorization": f"Bearer {admin_token}"}).json()
        names = [p["name"] for p in plugins["plugins"]]
        assert "personalize_ui" in names
