"""The FastAPI app Airflow mounts at /personalize (see plugins/personalize_ui.py).

``/`` lists every dataset group (one per pipeline config) the user may see, and goes straight to the page when there
is only one; ``/dataset-groups/<name>`` shows one. A user sees a pipeline (its page, or its config's errors) only if
the auth manager lets them read that pipeline's retrain DAG.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from personalize_ops.metrics.names import METRIC_NAMES
from starlette.concurrency import run_in_threadpool

from personalize_ui_app.auth import may_read_dag, require_viewer
from personalize_ui_app.data import Catalog, load_catalog, load_page_data
from personalize_ui_app.page import render_index, render_page


def _forbidden(dag_ids: list[str]) -> HTTPException:
    names = " or ".join(repr(d) for d in dag_ids)
    return HTTPException(403, f"Forbidden: this user may not read DAG {names}")


def _config_errors(broken: list) -> HTTPException:
    lines = "\n".join(b.message for b in broken)
    return HTTPException(500, f"pipeline config not usable (see personalize_ops.pipeline.registry):\n{lines}")


def create_app(catalog_loader=load_catalog) -> FastAPI:
    """Every route requires an authenticated Airflow user (``require_viewer``); each pipeline is shown only to users
    who may read its retrain DAG. No OpenAPI schema or docs pages: nothing is served without a login."""
    app = FastAPI(
        title="Amazon Personalize pipelines",
        dependencies=[Depends(require_viewer)],
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )

    def visible(user: Any = Depends(require_viewer)) -> tuple[Catalog, Catalog]:
        """(everything, what this user may read): config errors are shown to readers of the pipeline's DAG only."""
        catalog = catalog_loader()
        groups = {n: s for n, s in catalog.groups.items() if may_read_dag(user, s.retrain_dag_id)}
        broken = [b for b in catalog.broken if may_read_dag(user, b.dag_id("retrain"))]
        return catalog, Catalog(groups, broken)

    @app.get("/", include_in_schema=False)
    def index(request: Request, seen: tuple[Catalog, Catalog] = Depends(visible)):
        catalog, mine = seen
        if not mine.groups and not mine.broken:
            everything = [s.retrain_dag_id for s in catalog.groups.values()]
            everything += [b.dag_id("retrain") for b in catalog.broken]
            if not everything:
                raise HTTPException(404, "no pipeline config found")
            raise _forbidden(everything)
        if len(mine.groups) == 1 and not mine.broken:
            name = next(iter(mine.groups))
            return RedirectResponse(str(request.url_for("dataset_group_page", name=name)), 303)
        return HTMLResponse(render_index(mine, lambda n: str(request.url_for("dataset_group_page", name=n))))

    @app.get("/dataset-groups/{name}", response_class=HTMLResponse, name="dataset_group_page")
    async def dataset_group_page(
        name: str, metric: str | None = Query(None), seen: tuple[Catalog, Catalog] = Depends(visible)
    ) -> HTMLResponse:
        catalog, mine = seen
        s = catalog.groups.get(name)
        if s is None:
            if mine.broken:  # it may be the dataset group of a config that does not load
                raise _config_errors(mine.broken)
            if catalog.broken:
                raise _forbidden([b.dag_id("retrain") for b in catalog.broken])
            raise HTTPException(404, f"dataset group {name!r} is not in any pipeline config")
        if name not in mine.groups:
            raise _forbidden([s.retrain_dag_id])
        metric = metric or s.default_metric
        if metric not in METRIC_NAMES:
            raise HTTPException(400, f"unknown metric {metric!r}; choose one of {', '.join(METRIC_NAMES)}")
        data = await run_in_threadpool(load_page_data, s)
        return HTMLResponse(render_page(s, data, metric))

    return app
