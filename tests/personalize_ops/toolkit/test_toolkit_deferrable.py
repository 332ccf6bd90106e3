"""Deferrable paths: the DAGs in tests/dag_files/toolkit_operators.py run with ``dag.test()``.

``dag.test()`` runs triggers inline, so this covers PersonalizeResourceTrigger for every operator, the
deferrable sensor and ``execute_complete`` (success and failure).
"""

import importlib.util
import json
from pathlib import Path

import pytest

from tests.personalize_ops.toolkit.helpers import INTERACTIONS_SCHEMA, interactions_csv, put_s3

DAG_FILE = Path(__file__).resolve().parents[2] / "dag_files" / "toolkit_operators.py"


@pytest.fixture(scope="module")
def dags():
    spec = importlib.util.spec_from_file_location("toolkit_operators_dags", DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from airflow.sdk import DAG

    return {d.dag_id: d for d in vars(module).values() if isinstance(d, DAG)}


def _run(dags, dag_id, conf):
    dr = dags[dag_id].test(run_conf=conf)
    _run.last = dr
    return {ti.task_id: ti.state for ti in dr.get_task_instances()}


def _xcoms(dr, task_id):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter_by(dag_id=dr.dag_id, run_id=dr.run_id, task_id=task_id).all()
        return {r.key: XComModel.deserialize_value(r) for r in rows}


def test_lifecycle_operators_and_sensor_deferred(airflow_db, pz_stack, aws_conn_id, uid, dags):
    location = put_s3(pz_stack, "toolkit-data", f"{uid}/deferred.csv", interactions_csv())
    conf = {"name": f"tkd-{uid}", "schema": INTERACTIONS_SCHEMA, "location": location}
    states = _run(dags, "toolkit_deferrable_lifecycle", conf)
    assert set(states.values()) == {"success"}, states
    # the task runner stored the console link: the local admin page, since the connection has an endpoint_url
    xcoms = _xcoms(_run.last, "dataset_group")
    arn = xcoms["return_value"]
    assert xcoms["_link_PersonalizeConsoleLink"].startswith(f"{pz_stack.endpoint}/_admin/describe?arn=")
    assert pz_stack.describe(arn)["datasetGroup"]["datasetGroupArn"] == arn


def test_training_operators_deferred(airflow_db, pz_stack, aws_conn_id, uid, dags, group):
    users = "".join(json.dumps({"userId": f"u{i}"}) + "\n" for i in range(3)).encode()
    conf = {
        "name": f"tkd-{uid}",
        "solution_arn": group["solution"],
        "input_path": put_s3(pz_stack, "toolkit-data", f"{uid}/users.json", users),
        "output_path": f"s3://toolkit-data/{uid}/out/",
    }
    states = _run(dags, "toolkit_deferrable_training", conf)
    assert set(states.values()) == {"success"}, states


def test_failed_import_fails_the_deferred_task_with_the_reason(
    airflow_db, pz_stack, aws_conn_id, uid, dags, group, tmp_path
):
    bad = put_s3(pz_stack, "toolkit-data", f"{uid}/bad.csv", b"USER,ITEM\nu1,i1\n")
    report = tmp_path / "failure.txt"
    conf = {"name": f"tkd-bad-{uid}", "dataset_arn": group["dataset"], "location": bad, "report": str(report)}
    states = _run(dags, "toolkit_deferrable_failure", conf)
    assert states == {"bad_import": "failed"}
    message = report.read_text()
    assert message.startswith("PersonalizeResourceFailedError: Personalize dataset_import_job arn:aws:personalize:")
    assert "is CREATE FAILED" in message and "does not match the schema fields" in message
