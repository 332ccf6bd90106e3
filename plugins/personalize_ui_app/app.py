"""The FastAPI app Airflow mounts at /personalize (see plugins/personalize_ui.py)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from personalize_ops.metrics.names import METRIC_NAMES
from starlette.concurrency import run_in_threadpool

from personalize_ui_app.auth import require_dag_reader, require_viewer
from personalize_ui_app.data import PageSettings, load_page_data, load_settings, retrain_dag_id
from personalize_ui_app.page import render_page


def create_app(settings_loader=load_settings) -> FastAPI:
    """Every route requires an authenticated Airflow user (``require_viewer``) who may read the pipeline's
    retrain DAG (``require_dag_reader``). No OpenAPI schema or docs pages: nothing is served without a login."""
    app = FastAPI(
        title="Amazon Personalize pipelines",
        dependencies=[Depends(require_viewer)],
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )

    def settings(user: Any = Depends(require_viewer)) -> PageSettings:
        """The page's settings, for a user who may read the retrain DAG (checked before the config is read,
        so its errors are shown to such users only)."""
        from personalize_ops.config import ConfigError

        require_dag_reader(user, retrain_dag_id())
        try:
            return settings_loader()
        except ConfigError as err:  # say which file and key, instead of a bare 500
            msg = f"pipeline config (env PERSONALIZE_PIPELINE_CONFIG) is not usable: {err}"
            raise HTTPException(500, msg) from err

    @app.get("/", include_in_schema=False)
    def index(request: Request, s: PageSettings = Depends(settings)) -> RedirectResponse:
        return RedirectResponse(str(request.url_for("dataset_group_page", name=s.dataset_group)), 303)

    @app.get("/dataset-groups/{name}", response_class=HTMLResponse, name="dataset_group_page")
    async def dataset_group_page(
        name: str, metric: str | None = Query(None), s: PageSettings = Depends(settings)
    ) -> HTMLResponse:
        if name != s.dataset_group:
            msg = f"dataset group {name!r} is not in the pipeline config (it has {s.dataset_group!r})"
            raise HTTPException(404, msg)
        metric = metric or s.default_metric
        if metric not in METRIC_NAMES:
            raise HTTPException(400, f"unknown metric {metric!r}; choose one of {', '.join(METRIC_NAMES)}")
        data = await run_in_threadpool(load_page_data, s)
        return HTMLResponse(render_page(s, data, metric))

    return app
