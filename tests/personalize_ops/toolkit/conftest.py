"""Toolkit integration fixtures: a dataset group with imported data and a solution, shared by the session."""

import pytest

from tests.personalize_ops.toolkit.helpers import INTERACTIONS_SCHEMA, POPULARITY, ensure_once, interactions_csv, put_s3


@pytest.fixture(scope="session")
def group(pz_stack, aws_conn_id):
    """Dataset group ``tk-train`` with imported interactions and a popularity-count solution."""
    conn, name = aws_conn_id, "tk-train"
    dsg = ensure_once(conn, "dataset_group", name)
    schema = ensure_once(conn, "schema", f"{name}-interactions", config={"schema": INTERACTIONS_SCHEMA})
    dataset = ensure_once(
        conn, "dataset", f"{name}-interactions", dsg, {"datasetType": "INTERACTIONS", "schemaArn": schema}
    )
    location = put_s3(pz_stack, "toolkit-data", "train/interactions.csv", interactions_csv())
    ensure_once(conn, "dataset_import_job", f"{name}-import", dataset, {"dataSource": {"dataLocation": location}})
    solution = ensure_once(conn, "solution", f"{name}-pop", dsg, {"recipeArn": POPULARITY})
    return {"dataset_group": dsg, "dataset": dataset, "solution": solution, "location": location}
