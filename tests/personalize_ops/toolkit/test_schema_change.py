"""Schema changes against personalize_local (pipeline/schema_change.py): ``validate-config --live`` lists the planned
replacement, the dataset operator replaces the schema with UpdateDataset and waits for ``latestDatasetUpdate``, and a
change AWS refuses is refused before UpdateDataset, naming the dataset, the field and the rule."""

from __future__ import annotations

import json

import pytest
import yaml
from helpers import FAST, ROLE, context, ensure_once
from personalize_ops.cli import main
from personalize_ops.config import load_config
from personalize_ops.hook import PersonalizeHook
from personalize_ops.pipeline import requests
from personalize_ops.pipeline.errors import PipelineError
from personalize_ops.pipeline.schema_change import PersonalizeEnsureDatasetOperator, preflight

ITEMS = [{"name": "ITEM_ID", "source": "product"}, {"name": "CATEGORY", "source": "category", "categorical": True}]


def write(tmp_path, group: str, conn: str, items: list[dict], name: str):
    path = tmp_path / name
    path.write_text(yaml.safe_dump({
        "dataset_group": {"name": group, "aws_conn_id": conn, "bucket": "toolkit-schema", "role_arn": ROLE},
        "datasets": {
            "interactions": {"source": {"path": "interactions.csv"}, "fields": [
                {"name": "USER_ID"}, {"name": "ITEM_ID"},
                {"name": "TIMESTAMP", "type": "long", "timestamp": "epoch_s"}]},
            "items": {"source": {"path": "items.csv"}, "fields": items},
        },
        "solutions": [{"name": f"{group}-pop", "recipe": "aws-popularity-count"}],
    }))  # fmt: skip
    return path


def ensure_dataset(conn, cfg, group_arn: str) -> str:
    schema = ensure_once(conn, "schema", requests.schema_name(cfg, "items"),
                         config={"schema": requests.schema_json(cfg, "items")})  # fmt: skip
    return PersonalizeEnsureDatasetOperator(
        task_id="ensure_dataset_items", name=requests.dataset_name(cfg, "items"), parent_arn=group_arn,
        config=requests.dataset_request("items", schema), aws_conn_id=conn, **FAST,
    ).execute(context())  # fmt: skip


@pytest.fixture
def live(pz_stack, aws_conn_id, tmp_path, uid):
    """A group whose items dataset uses the first schema; configs v1 (as live) and v2 (+ nullable BRAND)."""
    group = f"tk-schema-{uid}"
    v1 = load_config(write(tmp_path, group, aws_conn_id, ITEMS, "v1.yaml"))
    v2_path = write(tmp_path, group, aws_conn_id, [*ITEMS, {"name": "BRAND", "nullable": True}], "v2.yaml")
    group_arn = ensure_once(aws_conn_id, "dataset_group", group)
    dataset = ensure_dataset(aws_conn_id, v1, group_arn)
    return {"group": group_arn, "dataset": dataset, "v1": v1, "v2_path": v2_path, "v2": load_config(v2_path)}


def test_validate_live_lists_the_replacement_and_the_operator_makes_it(pz_stack, aws_conn_id, live, capsys):
    pz = pz_stack.client("personalize")
    assert main(["validate-config", "--live", str(live["v2_path"])]) == 0
    out = capsys.readouterr().out
    assert "datasets.items: schema will be replaced (UpdateDataset), adding BRAND" in out
    assert preflight(PersonalizeHook(aws_conn_id=aws_conn_id), live["v2"], live["group"]) == [
        "datasets.items: schema will be replaced (UpdateDataset), adding BRAND; existing solutions leave new "
        "columns out of training"]  # fmt: skip

    assert ensure_dataset(aws_conn_id, live["v2"], live["group"]) == live["dataset"]
    dataset = pz.describe_dataset(datasetArn=live["dataset"])["dataset"]
    new_schema = pz.describe_schema(schemaArn=dataset["schemaArn"])["schema"]
    assert new_schema["name"] == requests.schema_name(live["v2"], "items")
    assert json.loads(new_schema["schema"])["fields"][-1] == {"name": "BRAND", "type": ["null", "string"]}
    assert dataset["latestDatasetUpdate"]["status"] == "ACTIVE"
    assert dataset["latestDatasetUpdate"]["schemaArn"] == dataset["schemaArn"]
    assert main(["validate-config", "--live", str(live["v2_path"])]) == 0
    assert "every live dataset uses the config's schema" in capsys.readouterr().out
    assert ensure_dataset(aws_conn_id, live["v2"], live["group"]) == live["dataset"], "a rerun changes nothing"
    assert pz.describe_dataset(datasetArn=live["dataset"])["dataset"]["lastUpdatedDateTime"] == (
        dataset["lastUpdatedDateTime"]
    )


def test_a_refused_change_fails_before_update_dataset(pz_stack, aws_conn_id, live, tmp_path, capsys):
    pz = pz_stack.client("personalize")
    retyped = [ITEMS[0], {"name": "CATEGORY", "source": "category"}, {"name": "SIZE", "type": "int"}]
    path = write(tmp_path, live["v1"].dataset_group.name, aws_conn_id, retyped, "refused.yaml")
    cfg = load_config(path)
    assert main(["validate-config", "--live", str(path)]) == 1
    err = capsys.readouterr().err
    assert "datasets.items: field CATEGORY changes from" in err and "datasets.items: new field SIZE must" in err
    with pytest.raises(PipelineError) as refused:
        preflight(PersonalizeHook(aws_conn_id=aws_conn_id), cfg, live["group"])
    assert "field CATEGORY changes from" in str(refused.value) and "set 'nullable: true'" in str(refused.value)
    before = pz.describe_dataset(datasetArn=live["dataset"])["dataset"]
    with pytest.raises(PipelineError) as refused:
        ensure_dataset(aws_conn_id, cfg, live["group"])  # the operator checks too, before UpdateDataset
    assert f"dataset {requests.dataset_name(cfg, 'items')}" in str(refused.value)
    after = pz.describe_dataset(datasetArn=live["dataset"])["dataset"]
    assert after == before and "latestDatasetUpdate" not in after


def test_live_without_a_usable_connection_says_so(tmp_path, capsys, monkeypatch):
    """A connection without a region (and none in the environment): a clear message and exit 1, no traceback."""
    for var in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_PZ_NOWHERE", json.dumps({"conn_type": "aws", "login": "k", "password": "s"}))
    path = write(tmp_path, "tk-nowhere", "pz_nowhere", ITEMS, "p.yaml")
    assert main(["validate-config", "--live", str(path)]) == 1
    err = capsys.readouterr().err
    assert "--live could not read the live datasets through the Airflow connection 'pz_nowhere'" in err
    assert "AIRFLOW_CONN_PZ_NOWHERE" in err and "Traceback" not in err
