"""personalize_retrain: prepare data, import, train every configured solution, gate, deploy, smoke-test.

One DAG per pipeline config (personalize_ops.pipeline.registry: ``personalize_retrain`` for the single file
``PERSONALIZE_PIPELINE_CONFIG``, ``personalize_retrain__<name>`` per file of ``PERSONALIZE_PIPELINES_DIR``).
Task logic lives in plugins/personalize_ops/pipeline; this file only declares the tasks (nothing heavy at parse
time). Tasks hand each other the typed values of personalize_ops.pipeline.values.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import Param, TaskGroup, dag, task
from airflow.sdk.exceptions import AirflowSkipException
from personalize_ops.operators import PersonalizeEnsureResourceOperator, PersonalizeGetSolutionMetricsOperator
from personalize_ops.pipeline import backtest, lock_tasks, naming, registry, requests
from personalize_ops.pipeline.dag_args import dag_args
from personalize_ops.pipeline.deploy import PersonalizeDeployCampaignOperator
from personalize_ops.pipeline.errors import failing_fast
from personalize_ops.pipeline.imports import PersonalizeImportOperator
from personalize_ops.pipeline.schema_change import PersonalizeEnsureDatasetOperator
from personalize_ops.pipeline.training_reuse import PersonalizeTrainOrReuseOperator
from personalize_ops.pipeline.values import BacktestCut, GateOutcome, StagedDataset, TrainedVersion, TrainingPlan

DOC = """
### personalize_retrain ({group})
Data quality + transform -> S3 (content-addressed) -> dataset group, schema-change preflight, schemas, datasets
(a changed schema replaced with UpdateDataset) -> imports (skipped when the data is unchanged, unless `force_import`)
-> per solution: solution, version (trained; or reused when data and configuration are unchanged, unless
`force_train`; or the newest automatic version when AWS trains it), offline metrics (logged to the metric history in
S3) -> champion/challenger gate per campaign -> campaign create/update -> filters, event tracker, metric attribution
-> smoke test. A backtest gate (docs/gate.md) cuts the interactions at C first: its solutions train on the events
before C, the gate scores every model on the same users after C, the full data is imported back
(`backtest.restore_interactions`) and a promoted solution is refit on it before deploy.
Params: `force_import`, `force_train`, `solutions` (subset), `skip_gate`, `dry_run` (prepare and validate only).
Config: `{path}`.
"""


def retrain_dag(pipeline: registry.Pipeline):
    cfg = pipeline.config
    group_cfg, conn = cfg.dataset_group, cfg.dataset_group.aws_conn_id
    datasets, solutions = cfg.datasets.present(), {s.name: s for s in cfg.solutions}
    bt_campaigns = {c.name for c in backtest.campaigns(cfg)} if "interactions" in datasets else set()
    bt_solutions = backtest.solutions(cfg) if bt_campaigns else set()

    @dag(**dag_args(
        pipeline, "retrain", schedule=cfg.schedules.retrain, backoff=True,
        doc_md=DOC.format(group=group_cfg.name, path=pipeline.path), max_retry_delay=timedelta(minutes=10),
        params={
            "force_import": Param(False, type="boolean", description="Import even when the data is unchanged."),
            "force_train": Param(False, type="boolean",
                                 description="Train even when a solution's data and configuration are unchanged."),
            "solutions": Param(
                [], type="array", items={"type": "string"},
                description=f"Train only these solutions (empty: all of {', '.join(solutions)}).",
            ),  # fmt: skip
            "skip_gate": Param(False, type="boolean", description="Promote without the champion/challenger gate."),
            "dry_run": Param(False, type="boolean", description="Prepare and validate the data; touch no AWS."),
        },
    ))  # fmt: skip
    def personalize_retrain():
        @task(retries=0)
        def prepare(dataset: str, params=None, run_id=None) -> StagedDataset:
            """Quality + transform + stage one dataset; bad data fails here, before anything reaches S3."""
            from personalize_ops.pipeline.prepare_stage import prepare_and_stage

            s3 = None if params["dry_run"] else S3Hook(aws_conn_id=conn).get_conn()
            with failing_fast():
                return StagedDataset.from_summary(prepare_and_stage(cfg, dataset, run_id, s3, params["dry_run"]))

        @task.short_circuit
        def not_dry_run(params=None):
            """Stops here on ``dry_run``: everything after this touches S3 or Personalize."""
            return not params["dry_run"]

        with TaskGroup("prepare_data", tooltip="Great Expectations suites + streamed transform, then S3"):
            if cfg.prepare.engine == "spark" and cfg.prepare.spark.submit != "local":  # EMR Serverless or Glue
                from personalize_ops.pipeline.spark_tasks import spark_prepare

                prepared = {ds: spark_prepare(cfg, ds, conn)[1] for ds in datasets}
            else:
                prepared = {ds: prepare.override(task_id=f"prepare_{ds}")(ds) for ds in datasets}
        gate_open = not_dry_run()
        list(prepared.values()) >> gate_open

        group = PersonalizeEnsureResourceOperator(task_id="ensure_dataset_group", kind="dataset_group",
                                                  name=group_cfg.name)  # fmt: skip
        gate_open >> group

        @task
        def plan_import(dataset_arn: str, staged: StagedDataset, params=None, dag_run=None):
            from personalize_ops.hook import PersonalizeHook, run_token
            from personalize_ops.pipeline.imports import plan_import as plan

            token = run_token(dag_run.dag_id, dag_run.run_id)
            return plan(PersonalizeHook(aws_conn_id=conn), dataset_arn, staged, params["force_import"], token)

        @task
        def cut(group_arn: str, staged: StagedDataset) -> BacktestCut:
            """The backtest's cut C per campaign; the events before C staged for the training import."""
            from personalize_ops.hook import PersonalizeHook

            with failing_fast():
                return backtest.cut(PersonalizeHook(aws_conn_id=conn), S3Hook(aws_conn_id=conn).get_conn(), cfg,
                                    group_arn, staged)  # fmt: skip

        @task
        def plan_training_import(dataset_arn: str, bt: BacktestCut, params=None, dag_run=None):
            from personalize_ops.hook import PersonalizeHook, run_token

            token = run_token(dag_run.dag_id, dag_run.run_id)
            return backtest.training_plan(PersonalizeHook(aws_conn_id=conn), dataset_arn, bt, params["force_import"],
                                          token)  # fmt: skip

        @task(trigger_rule="all_done")
        def plan_restore(dataset_arn: str, bt: BacktestCut, dag_run=None):
            """After the gates, whatever they said: the full interactions again (filters and refits read them)."""
            from personalize_ops.hook import PersonalizeHook, run_token

            if bt is None or dataset_arn is None:
                raise AirflowSkipException("no cut in this run (dry run, or the cut failed): nothing to restore")
            token = run_token(dag_run.dag_id, dag_run.run_id)
            return backtest.restore_plan(PersonalizeHook(aws_conn_id=conn), dataset_arn, bt, token)

        @task
        def preflight_schemas(group_arn: str) -> list[str]:
            """Refuses a schema change AWS does not allow before anything is created; lists the planned ones."""
            from personalize_ops.hook import PersonalizeHook
            from personalize_ops.pipeline.schema_change import preflight

            return preflight(PersonalizeHook(aws_conn_id=conn), cfg, group_arn)

        bt_cut = bt_group = None
        if bt_campaigns:
            bt_group = TaskGroup("backtest", tooltip="out-of-time holdout: the cut; the full data back after the gates")
            with bt_group:
                bt_cut = cut(group.output, prepared["interactions"])

        imports, plans, interactions_dataset = [], {}, None
        with TaskGroup("datasets", tooltip="schemas, datasets and import jobs"):
            schemas_checked = preflight_schemas(group.output)
            for ds, spec in datasets.items():
                schema = PersonalizeEnsureResourceOperator(
                    task_id=f"ensure_schema_{ds}", kind="schema", name=requests.schema_name(cfg, ds),
                    config={"schema": requests.schema_json(cfg, ds)},
                )  # fmt: skip
                dataset = PersonalizeEnsureDatasetOperator(
                    task_id=f"ensure_dataset_{ds}", name=requests.dataset_name(cfg, ds),
                    parent_arn=group.output, config=requests.dataset_request(ds, schema.output),
                )  # fmt: skip
                gate_open >> schemas_checked >> schema
                if ds == "interactions" and bt_cut is not None:
                    interactions_dataset = dataset
                    plans[ds] = plan_training_import.override(task_id=f"plan_import_{ds}")(dataset.output, bt_cut)
                else:
                    plans[ds] = plan_import.override(task_id=f"plan_import_{ds}")(dataset.output, prepared[ds])
                imports.append(PersonalizeImportOperator(
                    task_id=f"import_{ds}", plan=plans[ds], parent_arn=dataset.output, role_arn=group_cfg.role_arn,
                    import_mode=spec.import_mode, outlets=[naming.imported_asset(group_cfg.name, ds)],
                ))  # fmt: skip

        @task.short_circuit(ignore_downstream_trigger_rules=False)
        def selected(solution: str, params=None):
            """Skips this solution's branch when the run asks for a subset that does not include it."""
            return not params["solutions"] or solution in params["solutions"]

        @task
        def plan_training(solution: str, solution_arn: str, staged: dict, bt: BacktestCut | None = None,
                          params=None) -> TrainingPlan:  # fmt: skip
            """Train, reuse the unchanged newest version, or take AWS's automatic one (skips when there is none).
            A backtest solution's input is the cut's training file, so its fingerprint is that file's."""
            from personalize_ops.hook import PersonalizeHook
            from personalize_ops.pipeline.training_reuse import plan_training as plan

            if bt is not None:
                staged = {**staged, "interactions": bt.training}
            decided = plan(PersonalizeHook(aws_conn_id=conn), cfg, solutions[solution], solution_arn, staged,
                           params["force_train"])  # fmt: skip
            if decided.action == "none":
                raise AirflowSkipException(decided.reason)
            return decided

        @task
        def log_metrics(solution: str, solution_arn: str, version_arn: str, metrics: dict,
                        staged: StagedDataset | BacktestCut, plan: TrainingPlan,
                        run_id=None) -> TrainedVersion:  # fmt: skip
            from personalize_ops.pipeline.metrics_task import log_version

            trained = TrainedVersion(solution, solutions[solution].recipe, solution_arn, version_arn, metrics,
                                     origin=plan.action)  # fmt: skip
            return log_version(S3Hook(aws_conn_id=conn).get_conn(), cfg, trained, staged, run_id)

        restored = None
        if bt_cut is not None:
            with bt_group:
                restore_plan = plan_restore.override(task_id="plan_restore")(interactions_dataset.output, bt_cut)
                restored = PersonalizeImportOperator(
                    task_id="restore_interactions", plan=restore_plan, parent_arn=interactions_dataset.output,
                    role_arn=group_cfg.role_arn, import_mode=datasets["interactions"].import_mode,
                    trigger_rule="none_failed_min_one_success",
                    outlets=[naming.imported_asset(group_cfg.name, "interactions")],
                )  # fmt: skip

        trained, ensured = {}, {}
        for name, sol in solutions.items():
            with TaskGroup(naming.solution_group(name), tooltip=sol.recipe):
                solution = ensured[name] = PersonalizeEnsureResourceOperator(
                    task_id="ensure_solution", kind="solution", name=name, parent_arn=group.output,
                    config=requests.solution_request(sol),
                )  # fmt: skip
                bt = bt_cut if name in bt_solutions else None
                plan = plan_training.override(task_id="plan_training")(name, solution.output, prepared, bt)
                version = PersonalizeTrainOrReuseOperator(
                    task_id="train", plan=plan, solution_arn=solution.output, training_mode=sol.training_mode
                )
                metrics = PersonalizeGetSolutionMetricsOperator(task_id="metrics", solution_version_arn=version.output)
                data = bt_cut if name in bt_solutions else prepared["interactions"]
                trained[name] = log_metrics(name, solution.output, version.output, metrics.output, data, plan)
                after = imports if restored is None or name in bt_solutions else [*imports, restored]
                after >> selected.override(task_id="selected")(name) >> solution

        @task(trigger_rule="none_failed")
        def metrics_report(versions: list[TrainedVersion | None]):
            """One table of every solution trained in this run (also in XCom)."""
            from personalize_ops.pipeline.metrics_task import report

            return report(versions)

        metrics_report([trained[n] for n in solutions])

        @task(trigger_rule="none_failed")
        def gate(campaign: str, challenger: TrainedVersion | None, baseline: TrainedVersion | None, params=None,
                 run_id=None):  # fmt: skip
            from personalize_ops.hook import PersonalizeHook
            from personalize_ops.pipeline.gate_task import evaluate

            if not challenger:
                raise AirflowSkipException(f"{campaign}: its solution was not trained in this run")
            spec = next(c for c in cfg.campaigns if c.name == campaign)
            with failing_fast():
                return evaluate(PersonalizeHook(aws_conn_id=conn), S3Hook(aws_conn_id=conn).get_conn(), cfg, spec,
                                challenger, baseline, run_id, params["skip_gate"])  # fmt: skip

        @task(trigger_rule="none_failed")
        def backtest_gate(campaign: str, challenger: TrainedVersion | None, baseline: TrainedVersion | None,
                          bt: BacktestCut, filter_arn: str | None = None, params=None, dag_run=None):  # fmt: skip
            """Champion, challenger and baseline scored on the same users after C; paired bootstrap; decision."""
            from personalize_ops.hook import PersonalizeHook, PersonalizeRuntimeHook, run_token

            if not challenger:
                raise AirflowSkipException(f"{campaign}: its solution was not trained in this run")
            spec = next(c for c in cfg.campaigns if c.name == campaign)
            token = run_token(dag_run.dag_id, dag_run.run_id)
            with failing_fast():
                return backtest.evaluate(
                    PersonalizeHook(aws_conn_id=conn), PersonalizeRuntimeHook(aws_conn_id=conn).conn,
                    S3Hook(aws_conn_id=conn).get_conn(), cfg, spec, challenger, baseline, bt, filter_arn,
                    dag_run.run_id, token, params["skip_gate"],
                )  # fmt: skip

        @task(trigger_rule="none_failed")
        def refit(campaign: str, outcome: GateOutcome | None, bt: BacktestCut, ti=None):
            """``refit: full``: a promoted solution trained again on all data; that version is deployed."""
            from personalize_ops.hook import PersonalizeHook, run_token

            if outcome is None:
                raise AirflowSkipException(f"{campaign}: no gate decision in this run")
            spec = next(c for c in cfg.campaigns if c.name == campaign)
            token = run_token(ti.dag_id, ti.run_id, ti.task_id)
            with failing_fast():
                return backtest.refit(PersonalizeHook(aws_conn_id=conn), S3Hook(aws_conn_id=conn).get_conn(), cfg,
                                      spec, outcome, bt, ti.run_id, token)  # fmt: skip

        filters = {
            f.name: PersonalizeEnsureResourceOperator(
                task_id=naming.filter_task(f.name), kind="filter", name=f.name, parent_arn=group.output,
                config={"filterExpression": f.expression},
            )  # fmt: skip
            for f in cfg.filters
        }
        for f in filters.values():
            imports >> f
        if cfg.metric_attribution:

            @task
            def ensure_metric_attribution(group_arn: str) -> str:
                """Create the config's metric attribution, or bring its metrics and output in line with the config."""
                from personalize_ops.hook import PersonalizeHook
                from personalize_ops.pipeline.attribution import ensure

                sync = ensure(PersonalizeHook(aws_conn_id=conn), cfg, group_arn)
                print(sync.describe())
                return sync.arn

            imports >> ensure_metric_attribution(group.output)  # SUM(Items.X) needs the items imported first

        tracker = None
        if cfg.event_tracker:
            tracker = PersonalizeEnsureResourceOperator(
                task_id="ensure_event_tracker", kind="event_tracker", name=cfg.event_tracker.name,
                parent_arn=group.output,
            )  # fmt: skip

        deployed = []
        for c in cfg.campaigns:
            base = c.gate.beat_baseline
            baseline = trained[base] if base else None
            if c.name in bt_campaigns:
                gate_filter = filters[c.gate.filter].output if c.gate.filter else None
                decision = backtest_gate.override(task_id=naming.gate_task(c.name))(
                    c.name, trained[c.solution], baseline, bt_cut, gate_filter
                )
                decision >> restore_plan
                decision = refit.override(task_id=naming.refit_task(c.name))(c.name, decision, bt_cut)
                restored >> decision
            else:
                decision = gate.override(task_id=naming.gate_task(c.name))(c.name, trained[c.solution], baseline)
            deployed.append(PersonalizeDeployCampaignOperator(
                task_id=naming.deploy_task(c.name), campaign_name=c.name, solution_arn=ensured[c.solution].output,
                decision=decision, min_provisioned_tps=c.min_provisioned_tps,
                outlets=[naming.promoted_asset(group_cfg.name, c.name)],
            ))  # fmt: skip

        @task(trigger_rule="none_failed")
        def cost_report(versions: list, plans: dict):
            """Estimated cost of this run (training hours, data imported) and the campaigns' standing daily cost."""
            from personalize_ops.hook import PersonalizeHook
            from personalize_ops.pipeline.cost import estimate

            hook, s3 = PersonalizeHook(aws_conn_id=conn), S3Hook(aws_conn_id=conn).get_conn()
            report = estimate(hook, s3, cfg, versions, plans)
            print(report.render())
            return report.to_dict()

        deployed >> cost_report([trained[n] for n in solutions], plans)

        @task(trigger_rule="none_failed")
        def smoke_test(campaign_arns: list, filter_arns: dict, staged: dict):
            from personalize_ops.hook import PersonalizeRuntimeHook
            from personalize_ops.pipeline import smoke

            s3, runtime = S3Hook(aws_conn_id=conn).get_conn(), PersonalizeRuntimeHook(aws_conn_id=conn).conn
            return smoke.run(cfg, s3, runtime, campaign_arns, filter_arns, staged)

        if deployed:
            smoke = smoke_test([d.output for d in deployed], {n: f.output for n, f in filters.items()}, prepared)
            if tracker is not None:
                tracker >> smoke

    built = personalize_retrain()
    lock_tasks.guard(built, cfg, after="not_dry_run", on_busy="wait")  # one active run per dataset group
    return built


for _pipeline in registry.pipelines():
    retrain_dag(_pipeline)
