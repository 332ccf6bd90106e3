"""Read the local stack's Personalize state for assertions (through boto3, like any client)."""

from __future__ import annotations


def dataset_group_arn(pz, name: str) -> str | None:
    return next((g["datasetGroupArn"] for g in pz.list_dataset_groups()["datasetGroups"] if g["name"] == name), None)


def inventory(pz, group_arn: str) -> dict[str, list]:
    """Every resource under a dataset group, by kind (ARNs), plus import jobs, solution versions and the schemas
    its datasets use."""
    datasets = [d["datasetArn"] for d in pz.list_datasets(datasetGroupArn=group_arn)["datasets"]]
    solutions = [s["solutionArn"] for s in pz.list_solutions(datasetGroupArn=group_arn)["solutions"]]
    return {
        "datasets": datasets,
        "schemas": sorted({pz.describe_dataset(datasetArn=d)["dataset"]["schemaArn"] for d in datasets}),
        "import_jobs": [j["datasetImportJobArn"] for d in datasets
                        for j in pz.list_dataset_import_jobs(datasetArn=d)["datasetImportJobs"]],
        "solutions": solutions,
        "solution_versions": [v["solutionVersionArn"] for s in solutions
                              for v in pz.list_solution_versions(solutionArn=s)["solutionVersions"]],
        "campaigns": [c["campaignArn"] for s in solutions for c in pz.list_campaigns(solutionArn=s)["campaigns"]],
        "filters": [f["filterArn"] for f in pz.list_filters(datasetGroupArn=group_arn)["Filters"]],
        "event_trackers": [t["eventTrackerArn"]
                           for t in pz.list_event_trackers(datasetGroupArn=group_arn)["eventTrackers"]],
    }  # fmt: skip


def schema_arns(pz) -> set[str]:
    """Every schema in the account."""
    return {s["schemaArn"] for page in pz.get_paginator("list_schemas").paginate() for s in page["schemas"]}


def task_states(dag_run) -> dict[str, str]:
    """task_id -> final state of a finished ``dag.test()`` run."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id).all()
        return {ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): str(ti.state) for ti in tis}


def task_ended(dag_run, task_id: str):
    """When a task of a finished ``dag.test()`` run ended (aware datetime)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = session.query(TaskInstance).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id).one()
        return ti.end_date


def xcom(dag_run, task_id: str, key: str = "return_value"):
    """A task's XCom as the next task receives it (the pipeline's typed values: personalize_ops.pipeline.values)."""
    from airflow.models.xcom import XComModel
    from airflow.sdk.bases.xcom import BaseXCom
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.query(XComModel).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id,
                                                 task_id=task_id, key=key).first()  # fmt: skip
        return None if row is None else BaseXCom.deserialize_value(row)
