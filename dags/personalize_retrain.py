"""personalize_retrain: prepare data, import, train every configured solution, gate, deploy, smoke-test.

Driven by the pipeline config (``PERSONALIZE_PIPELINE_CONFIG``, default include/pipeline.yaml). Task logic lives
in plugins/personalize_ops; this file only wires it up (and imports nothing heavy at parse time).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import Asset, Param, TaskGroup, dag, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from personalize_ops.notifications import on_failure
from personalize_ops.operators import (
    PersonalizeCreateSolutionVersionOperator,
    PersonalizeEnsureResourceOperator,
    PersonalizeGetSolutionMetricsOperator,
)
from personalize_ops.pipeline import requests, settings
from personalize_ops.pipeline.deploy import PersonalizeDeployCampaignOperator

CFG = settings.load()
GROUP = CFG.dataset_group
CONN = GROUP.aws_conn_id
DATASETS = list(CFG.datasets.present())
SOLUTIONS = {s.name: s for s in CFG.solutions}


def imported_asset(dataset: str) -> Asset:
    return Asset(name=f"personalize-{GROUP.name}-{dataset}", uri=f"personalize://{GROUP.name}/datasets/{dataset}")


def promoted_asset(campaign: str) -> Asset:
    return Asset(name=f"personalize-{GROUP.name}-campaign-{campaign}",
                 uri=f"personalize://{GROUP.name}/campaigns/{campaign}")  # fmt: skip


DOC = f"""
### personalize_retrain ({GROUP.name})
Data quality + transform -> S3 (content-addressed) -> dataset group, schemas, datasets -> imports (skipped when the
data is unchanged, unless `force_import`) -> per solution: solution, version, offline metrics (logged to the metric
history in S3) -> champion/challenger gate per campaign -> campaign create/update -> filters, event tracker ->
smoke test. Params: `force_import`, `solutions` (subset), `skip_gate`, `dry_run` (prepare and validate only).
Config: `{settings.config_path()}`.
"""


@dag(
    dag_id="personalize_retrain",
    schedule=CFG.schedules.retrain,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=DOC,
    tags=["personalize", GROUP.name],
    default_args={
        "owner": "data-platform",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "aws_conn_id": CONN,
        "on_failure_callback": on_failure(CFG),
        **settings.wait_args(),
    },
    params={
        "force_import": Param(False, type="boolean", description="Import even when the data is unchanged."),
        "solutions": Param(
            [], type="array", items={"type": "string"},
            description=f"Train only these solutions (empty: all of {', '.join(SOLUTIONS)}).",
        ),
        "skip_gate": Param(False, type="boolean", description="Promote without the champion/challenger gate."),
        "dry_run": Param(False, type="boolean", description="Prepare and validate the data; touch no AWS."),
    },
)
def personalize_retrain():
    @task(retries=0)
    def prepare(dataset: str, params=None, run_id=None):
        """Quality + transform + stage one dataset; bad data fails here, before anything reaches S3."""
        from personalize_ops.config import ConfigError
        from personalize_ops.pipeline.prepare_stage import prepare_and_stage
        from personalize_ops.quality.errors import DataQualityError

        s3 = None if params["dry_run"] else S3Hook(aws_conn_id=CONN).get_conn()
        try:
            return prepare_and_stage(CFG, dataset, run_id, s3, dry_run=params["dry_run"])
        except (DataQualityError, ConfigError) as err:  # the message says it all: no internal traceback
            raise AirflowFailException(str(err)) from None

    @task.short_circuit
    def not_dry_run(params=None):
        """Stops here on ``dry_run``: everything after this touches S3 or Personalize."""
        return not params["dry_run"]

    with TaskGroup("prepare_data", tooltip="Great Expectations suites + streamed transform, then S3"):
        prepared = {ds: prepare.override(task_id=f"prepare_{ds}")(ds) for ds in DATASETS}
    gate_open = not_dry_run()
    list(prepared.values()) >> gate_open

    group = PersonalizeEnsureResourceOperator(task_id="ensure_dataset_group", kind="dataset_group", name=GROUP.name)
    gate_open >> group

    @task(multiple_outputs=True)
    def plan_import(dataset: str, dataset_arn: str, prepared: dict, params=None, dag_run=None):
        from personalize_ops.hook import PersonalizeHook, run_token
        from personalize_ops.pipeline.imports import plan_import as plan

        token = run_token(dag_run.dag_id, dag_run.run_id)
        return plan(PersonalizeHook(aws_conn_id=CONN), dataset, dataset_arn, prepared["staged"],
                    params["force_import"], token)  # fmt: skip

    imports, plans = [], {}
    with TaskGroup("datasets", tooltip="schemas, datasets and import jobs"):
        for ds in DATASETS:
            schema = PersonalizeEnsureResourceOperator(
                task_id=f"ensure_schema_{ds}", kind="schema", name=requests.schema_name(CFG, ds),
                config={"schema": requests.schema_json(CFG, ds)},
            )  # fmt: skip
            dataset = PersonalizeEnsureResourceOperator(
                task_id=f"ensure_dataset_{ds}", kind="dataset", name=requests.dataset_name(CFG, ds),
                parent_arn=group.output,
                config={"datasetType": requests.DATASET_TYPES[ds], "schemaArn": schema.output},
            )  # fmt: skip
            gate_open >> schema
            planned = plan_import.override(task_id=f"plan_import_{ds}")(ds, dataset.output, prepared[ds])
            job = PersonalizeEnsureResourceOperator(
                task_id=f"import_{ds}", kind="dataset_import_job", name=planned["job_name"],
                parent_arn=dataset.output,
                config={
                    "dataSource": {"dataLocation": planned["data_location"]},
                    "roleArn": GROUP.role_arn,
                    "importMode": CFG.datasets.present()[ds].import_mode,
                },
                outlets=[imported_asset(ds)],
            )  # fmt: skip
            planned >> job
            imports.append(job)
            plans[ds] = planned

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def selected(solution: str, params=None):
        """Skips this solution's branch when the run asks for a subset that does not include it."""
        return not params["solutions"] or solution in params["solutions"]

    @task
    def log_metrics(solution: str, solution_arn: str, version_arn: str, metrics: dict, prepared: dict,
                    run_id=None):  # fmt: skip
        from personalize_ops.metrics import make_version_record, record_version, render_metrics_table

        sol = SOLUTIONS[solution]
        print(render_metrics_table({f"{solution} ({sol.recipe})": metrics}))
        record = make_version_record(
            dataset_group=GROUP.name, solution=solution, recipe=sol.recipe, solution_version_arn=version_arn,
            run_id=run_id, metrics=metrics, data_hash=prepared["sha256"],
        )  # fmt: skip
        key = record_version(S3Hook(aws_conn_id=CONN).get_conn(), GROUP.bucket, GROUP.prefix, record)
        print(f"metric history: s3://{GROUP.bucket}/{key}")
        return {"solution": solution, "solution_arn": solution_arn, "arn": version_arn, "metrics": metrics}

    trained = {}
    for name, sol in SOLUTIONS.items():
        with TaskGroup(f"solution_{name.replace('-', '_')}", tooltip=f"{sol.recipe}"):
            solution = PersonalizeEnsureResourceOperator(
                task_id="ensure_solution", kind="solution", name=name, parent_arn=group.output,
                config=requests.solution_request(sol),
            )  # fmt: skip
            version = PersonalizeCreateSolutionVersionOperator(
                task_id="train", solution_arn=solution.output, training_mode=sol.training_mode
            )
            metrics = PersonalizeGetSolutionMetricsOperator(task_id="metrics", solution_version_arn=version.output)
            record = log_metrics(name, solution.output, version.output, metrics.output, prepared["interactions"])
            imports >> selected.override(task_id="selected")(name) >> solution
            trained[name] = record

    @task(trigger_rule="none_failed")
    def metrics_report(records: list):
        """One table of every solution trained in this run (also in XCom)."""
        from personalize_ops.metrics import render_metrics_table

        rows = {f"{r['solution']} ({SOLUTIONS[r['solution']].recipe})": r["metrics"] for r in records if r}
        print(render_metrics_table(rows))
        return rows

    metrics_report([trained[n] for n in SOLUTIONS])

    @task(trigger_rule="none_failed", multiple_outputs=True)
    def gate(campaign: str, challenger: dict | None, baseline: dict | None, params=None, run_id=None):
        from personalize_ops.hook import PersonalizeHook
        from personalize_ops.pipeline.gate_task import evaluate

        if not challenger:
            raise AirflowSkipException(f"{campaign}: its solution was not trained in this run")
        spec = next(c for c in CFG.campaigns if c.name == campaign)
        return evaluate(PersonalizeHook(aws_conn_id=CONN), S3Hook(aws_conn_id=CONN).get_conn(), CFG, spec,
                        challenger, baseline, run_id, params["skip_gate"])  # fmt: skip

    filters = {
        f.name: PersonalizeEnsureResourceOperator(
            task_id=f"ensure_filter_{f.name.replace('-', '_')}", kind="filter", name=f.name,
            parent_arn=group.output, config={"filterExpression": f.expression},
        )  # fmt: skip
        for f in CFG.filters
    }
    for f in filters.values():
        imports >> f
    tracker = None
    if CFG.event_tracker:
        tracker = PersonalizeEnsureResourceOperator(
            task_id="ensure_event_tracker", kind="event_tracker", name=CFG.event_tracker.name,
            parent_arn=group.output,
        )  # fmt: skip

    deployed = []
    for c in CFG.campaigns:
        base = c.gate.beat_baseline
        decision = gate.override(task_id=f"gate_{c.name.replace('-', '_')}")(
            c.name, trained[c.solution], trained[base] if base else None
        )
        deploy = PersonalizeDeployCampaignOperator(
            task_id=f"deploy_{c.name.replace('-', '_')}", campaign_name=c.name,
            solution_arn=decision["solution_arn"], decision=decision, min_provisioned_tps=c.min_provisioned_tps,
            outlets=[promoted_asset(c.name)],
        )  # fmt: skip
        deployed.append(deploy)

    @task(trigger_rule="none_failed")
    def cost_report(versions: list, plans: dict):
        """Estimated cost of this run (training hours, data imported) and the campaigns' standing daily cost."""
        from personalize_ops.hook import PersonalizeHook
        from personalize_ops.pipeline.cost import estimate

        report = estimate(PersonalizeHook(aws_conn_id=CONN), S3Hook(aws_conn_id=CONN).get_conn(), CFG, versions, plans)
        print(report.render())
        return report.to_dict()

    deployed >> cost_report([trained[n] for n in SOLUTIONS], plans)

    @task(trigger_rule="none_failed")
    def smoke_test(campaign_arns: list, filter_arns: dict, prepared: dict):
        from personalize_ops.hook import PersonalizeRuntimeHook
        from personalize_ops.pipeline import smoke

        s3 = S3Hook(aws_conn_id=CONN).get_conn()
        interactions = prepared["interactions"]["staged"]["uri"]
        users = smoke.sample_users(s3, interactions)
        items_staged = (prepared.get("items") or {}).get("staged")
        items = None
        if items_staged:
            fields = tuple(f.name for f in CFG.datasets.items.fields)
            items = smoke.read_csv_columns(s3, items_staged["uri"], fields)
            catalog = set(items["ITEM_ID"])
        else:
            catalog = set(smoke.read_csv_columns(s3, interactions, ("ITEM_ID",))["ITEM_ID"])
        flt = {f.name: (filter_arns[f.name], smoke.filter_values(f.expression, items)) for f in CFG.filters}
        runtime = PersonalizeRuntimeHook(aws_conn_id=CONN).conn
        return [smoke.check_campaign(runtime, arn, users, catalog, flt) for arn in campaign_arns if arn]

    if deployed:
        smoke = smoke_test([d.output for d in deployed], {n: f.output for n, f in filters.items()}, prepared)
        if tracker is not None:
            tracker >> smoke


personalize_retrain()
