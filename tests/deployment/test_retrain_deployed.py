"""personalize_retrain on a real deployment: triggered over REST, its long waits deferred to the triggerer."""

from __future__ import annotations

import json
import urllib.error

import pytest
import yaml

from tests.deployment.run_observer import trigger_and_observe, wait_for_dag
from tests.fixtures.pipeline import connection_json, derived_config, interactions_only

pytestmark = pytest.mark.deployment
# executor -> (dataset group = bucket, prefix of every other resource name): names are account-wide.
EXECUTORS = {"LocalExecutor": ("pz-deploy", "dep-"), "CeleryExecutor": ("pz-celery", "cel-")}
JOB_DELAY = 10  # seconds: far longer than a sample interval and a triggerer's pick-up, even on a loaded machine


def _renamer(group: str, prefix: str):
    """Give this deployment its own dataset group, bucket prefix and resource names."""

    def rename(cfg: dict) -> None:
        _reduce(cfg)
        cfg["dataset_group"]["name"] = group
        cfg["dataset_group"]["prefix"] = group
        _prefix_names(cfg, prefix)

    return rename


def _reduce(cfg: dict) -> None:
    """The shop pipeline cut to what a deployment adds to the e2e tier's proof (REST trigger, deferred waits, typed
    values through real workers): interactions, user-personalization gated against the popularity baseline, and
    its campaign. Every other resource kind runs in the e2e tier."""
    interactions_only(cfg)
    keep = ("aws-user-personalization", "aws-popularity-count")
    cfg["solutions"] = [s for s in cfg["solutions"] if s["recipe"] in keep]


def _prefix_names(cfg: dict, prefix: str) -> None:
    for section in ("solutions", "campaigns", "filters", "batch_jobs"):
        for item in cfg.get(section, []):
            item["name"] = prefix + item["name"]
    for c in cfg.get("campaigns", []):
        c["solution"] = prefix + c["solution"]
        if c.get("gate", {}).get("beat_baseline"):
            c["gate"]["beat_baseline"] = prefix + c["gate"]["beat_baseline"]
    for j in cfg.get("batch_jobs", []):
        j["solution"] = prefix + j["solution"]
        if j.get("filter"):
            j["filter"] = prefix + j["filter"]
    # Runs come from the REST API only (a cron schedule could start one as soon as the DAG is unpaused).
    cfg["schedules"] = {"retrain": None, "batch_export": None}
    if cfg.get("event_tracker"):
        cfg["event_tracker"]["name"] = prefix + cfg["event_tracker"]["name"]


@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_retrain_triggered_over_rest_defers_its_waits(
    executor, native_airflow_factory, local_stack, sample_dir, tmp_path
):
    group, prefix = EXECUTORS[executor]
    local_stack.client("s3").create_bucket(Bucket=group)
    config = tmp_path / "pipeline.yaml"
    cfg = derived_config(sample_dir, tmp_path, group, _renamer(group, prefix))
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    cluster = native_airflow_factory({
        "AIRFLOW_CONN_AWS_DEFAULT": connection_json(local_stack),
        "PERSONALIZE_PIPELINE_CONFIG": str(config),
        "PERSONALIZE_WORK_DIR": str(tmp_path / "work"),
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
    }, executor=executor)  # fmt: skip
    # The REST API refuses requests without a token.
    with pytest.raises(urllib.error.HTTPError) as denied:
        cluster.api("GET", "/api/v2/dags")
    assert denied.value.code in (401, 403)
    token = cluster.token()
    wait_for_dag(cluster, token, "personalize_retrain")

    # Every Personalize job stays CREATE IN_PROGRESS for JOB_DELAY s, so the deferrals are observable by state.
    with local_stack.faults_set(job_delay=JOB_DELAY):
        obs = trigger_and_observe(cluster, token, "personalize_retrain", timeout=900, interval=0.5)

    failed = {t: s for t, s in obs.task_states.items() if s not in ("success", "skipped")}
    assert obs.state == "success", failed
    # The long waits (imports, trainings) were held by the triggerer, not by worker slots.
    train = f"solution_{prefix.rstrip('-')}_demo_user_personalization.train"
    waits = {"datasets.import_interactions", train}
    held = {task: classpath for task, classpath in obs.held_by_triggerer.items() if task in waits}
    assert held.keys() == waits, (obs.held_by_triggerer, obs.deferred_tasks)
    assert all(c.endswith(".PersonalizeResourceTrigger") for c in held.values()), held
    print(
        f"\npersonalize_retrain deployed run ({executor}): wall {obs.wall_seconds:.0f}s; task-seconds by state "
        f"{ {k: round(v) for k, v in obs.state_seconds.items()} }; worker-slot seconds {obs.worker_slot_seconds:.0f} "
        f"(sampled every 0.5s); deferred tasks: {sorted(obs.deferred_tasks)}"
    )

    # The tasks handed each other typed values (personalize_ops.pipeline.values) through real worker processes and
    # the API server: the gate's XCom is stored by Airflow's serde as a GateOutcome, and the deploy task used it.
    gate = f"gate_{prefix.rstrip('-')}_demo_user_personalization"
    entry = cluster.api("GET", f"/api/v2/dags/personalize_retrain/dagRuns/{obs.run_id}/taskInstances/{gate}/"
                               "xcomEntries/return_value", token=token)["value"]  # fmt: skip
    entry = json.loads(entry) if isinstance(entry, str) else entry
    assert entry["__classname__"] == "personalize_ops.pipeline.values.GateOutcome", entry
    assert entry["__data__"]["promote"] is True and entry["__data__"]["skipped"] is False

    # The UI page is served by the API server and refuses requests without a token.
    with pytest.raises(urllib.error.HTTPError) as denied:
        cluster.api("GET", "/personalize/")
    assert denied.value.code in (401, 403)
