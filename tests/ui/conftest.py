"""UI fixtures: moto S3 with a seeded metric history, a pipeline config, Airflow's auth manager and tokens.

Package scope: the environment variables set here are restored when tests/ui is done.
"""

import json
import os
import secrets
import uuid
from datetime import UTC, datetime

import pytest
from personalize_ops.metrics import decide, make_version_record, record_gate_decision, record_version

from personalize_local.stack import airflow_connection, free_port
from tests.fixtures.moto_server import moto_server, s3_client

DG, BUCKET, PREFIX = "movielens-ui", f"pz-ui-{uuid.uuid4().hex[:8]}", "pipelines/ml"
UP, POP, CAMPAIGN = "ml-user-personalization", "ml-popularity", "ml-campaign"
RECIPES = {UP: "aws-user-personalization", POP: "aws-popularity-count"}
NDCG = "normalized_discounted_cumulative_gain_at_10"
ACCOUNT_ARN = "arn:aws:personalize:us-east-1:000000000000"
PAGE = f"/personalize/dataset-groups/{DG}"  # the dataset group's page of the plugin
# ndcg@10 per weekly run; the user-personalization numbers start at what Amazon Personalize reported for
# MovieLens ml-latest-small in the AWS POC notebooks (0.2687).
RUNS = [
    ("scheduled__2026-11-01T00:00:00+00:00", datetime(2026, 11, 1, 1, tzinfo=UTC), 0.2687, 0.1180),
    ("scheduled__2026-11-08T00:00:00+00:00", datetime(2026, 11, 8, 1, tzinfo=UTC), 0.2750, 0.1195),
    ("scheduled__2026-11-15T00:00:00+00:00", datetime(2026, 11, 15, 1, tzinfo=UTC), 0.2780, 0.1201),
]

CONFIG = f"""
dataset_group:
  name: {DG}
  bucket: {BUCKET}
  prefix: {PREFIX}
  role_arn: arn:aws:iam::000000000000:role/PersonalizeRole
datasets:
  interactions:
    source: {{path: data/interactions.csv}}
    fields: [{{name: USER_ID}}, {{name: ITEM_ID}}, {{name: TIMESTAMP, type: long}}]
solutions:
  - {{name: {UP}, recipe: aws-user-personalization}}
  - {{name: {POP}, recipe: aws-popularity-count}}
campaigns:
  - name: {CAMPAIGN}
    solution: {UP}
    gate: {{metric: {NDCG}, min_improvement: 0.02, beat_baseline: {POP}}}
"""


def _metrics(ndcg: float) -> dict[str, float]:
    return {"coverage": round(ndcg / 3, 4), NDCG: ndcg, "precision_at_5": round(ndcg / 4, 4)}


def seed(s3) -> list[dict]:
    """Three retrain runs through the real gate; returns the gate records written."""
    s3.create_bucket(Bucket=BUCKET)
    champion, decisions = None, []
    for i, (run_id, when, up, pop) in enumerate(RUNS, start=1):
        arns = {}
        for solution, recipe, value in ((UP, RECIPES[UP], up), (POP, RECIPES[POP], pop)):
            arns[solution] = f"{ACCOUNT_ARN}:solution/{solution}/v{i}"
            record_version(s3, BUCKET, PREFIX, make_version_record(
                dataset_group=DG, solution=solution, recipe=f"arn:aws:personalize:::recipe/{recipe}",
                solution_version_arn=arns[solution], run_id=run_id, data_hash=f"h{i}",
                created_at=when, metrics=_metrics(value),
            ))  # fmt: skip
        d = decide(champion and _metrics(champion[1]), _metrics(up), NDCG, 0.02, _metrics(pop))
        rec = d.to_record(campaign=CAMPAIGN, champion_arn=champion and champion[0],
                          challenger_arn=arns[UP], run_id=run_id, decided_at=when)  # fmt: skip
        record_gate_decision(s3, BUCKET, PREFIX, DG, rec)
        decisions.append(rec)
        if d.promoted:
            champion = (arns[UP], up)
    return decisions


@pytest.fixture(scope="package")
def ui_env(tmp_path_factory):
    """Env for the plugin: config file, AWS connection (S3: moto; Personalize: closed port), JWT secret."""
    cfg = tmp_path_factory.mktemp("ui") / "pipeline.yaml"
    cfg.write_text(CONFIG)
    with moto_server() as endpoint:
        decisions = seed(s3_client(endpoint))
        # Personalize on a port where nothing listens: unreachable, the page renders from S3 alone
        conn = airflow_connection(f"http://127.0.0.1:{free_port()}", endpoint)
        env = {
            "PERSONALIZE_PIPELINE_CONFIG": str(cfg),
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(conn),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,nobody:",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        }
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield {"decisions": decisions, "s3_endpoint": endpoint}
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@pytest.fixture(scope="package")
def auth_manager(ui_env, airflow_db):
    """Airflow's auth manager, initialised as the API server does (token checks read the metadata DB)."""
    from tests.fixtures.airflow import fresh_auth_manager

    return fresh_auth_manager()


@pytest.fixture(scope="package")
def admin_token(auth_manager):
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return auth_manager.generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))


@pytest.fixture(scope="package")
def roleless_token(auth_manager):
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return auth_manager.generate_jwt(SimpleAuthManagerUser(username="nobody", role=None))


@pytest.fixture(scope="package")
def airflow_like_app(ui_env):
    """A root app mounting the plugin's FastAPI app at its url_prefix, as Airflow's init_plugins does."""
    from fastapi import FastAPI
    from personalize_ui import PersonalizeUIPlugin

    root = FastAPI()
    spec = PersonalizeUIPlugin.fastapi_apps[0]
    root.mount(spec["url_prefix"], spec["app"])
    return root


@pytest.fixture(scope="module")
def client(airflow_like_app, auth_manager):
    """FastAPI's TestClient of the plugin's app, as Airflow mounts it (one per test module)."""
    from fastapi.testclient import TestClient

    with TestClient(airflow_like_app) as c:
        yield c
