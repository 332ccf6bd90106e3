"""personalize_retrain on a real deployment: triggered over REST, its long waits deferred to the triggerer."""

from __future__ import annotations

import urllib.error

import pytest
import yaml

from tests.deployment.run_observer import trigger_and_observe, wait_for_dag
from tests.fixtures.pipeline import connection_json, derived_config

pytestmark = pytest.mark.deployment
PREFIX = "dep-"


def _rename(cfg: dict) -> None:
    """Personalize names are account-wide: give this deployment its own names for everything."""
    cfg["dataset_group"]["name"] = "pz-deploy"
    cfg["dataset_group"]["prefix"] = "pz-deploy"
    for section in ("solutions", "campaigns", "filters", "batch_jobs"):
        for item in cfg.get(section, []):
            item["name"] = PREFIX + item["name"]
    for c in cfg.get("campaigns", []):
        c["solution"] = PREFIX + c["solution"]
        if c.get("gate", {}).get("beat_baseline"):
            c["gate"]["beat_baseline"] = PREFIX + c["gate"]["beat_baseline"]
    for j in cfg.get("batch_jobs", []):
        j["solution"] = PREFIX + j["solution"]
        if j.get("filter"):
            j["filter"] = PREFIX + j["filter"]
    # Runs come from the REST API only (a cron schedule could start one as soon as the DAG is unpaused).
    cfg["schedules"] = {"retrain": None, "batch_export": None}
    if cfg.get("event_tracker"):
        cfg["event_tracker"]["name"] = PREFIX + cfg["event_tracker"]["name"]


def test_retrain_triggered_over_rest_defers_its_waits(native_airflow_factory, local_stack, sample_dir, tmp_path):
    local_stack.client("s3").create_bucket(Bucket="pz-deploy")
    config = tmp_path / "pipeline.yaml"
    config.write_text(yaml.safe_dump(derived_config(sample_dir, tmp_path, "pz-deploy", _rename), sort_keys=False))
    cluster = native_airflow_factory({
        "AIRFLOW_CONN_AWS_DEFAULT": connection_json(local_stack),
        "PERSONALIZE_PIPELINE_CONFIG": str(config),
        "PERSONALIZE_WORK_DIR": str(tmp_path / "work"),
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
    })  # fmt: skip
    token = cluster.token()
    wait_for_dag(cluster, token, "personalize_retrain")

    obs = trigger_and_observe(cluster, token, "personalize_retrain", timeout=900, interval=0.5)

    failed = {t: s for t, s in obs.task_states.items() if s not in ("success", "skipped")}
    assert obs.state == "success", failed
    # The long waits (imports, trainings, campaign) were held by the triggerer, not by worker slots.
    assert {"datasets.import_interactions", "solution_dep_demo_user_personalization.train"} & obs.deferred_tasks
    assert obs.state_seconds["deferred"] > 0
    print(
        f"\npersonalize_retrain deployed run: wall {obs.wall_seconds:.0f}s; task-seconds by state "
        f"{ {k: round(v) for k, v in obs.state_seconds.items()} }; worker-slot seconds {obs.worker_slot_seconds:.0f} "
        f"(sampled every 0.5s); deferred tasks: {sorted(obs.deferred_tasks)}"
    )

    # The UI page is served by the API server and refuses requests without a token.
    with pytest.raises(urllib.error.HTTPError) as denied:
        cluster.api("GET", "/personalize/")
    assert denied.value.code in (401, 403)
