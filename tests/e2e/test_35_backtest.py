"""personalize_retrain with ``evaluation: backtest`` end to end on the local stack, in a dataset group of its own.

Run 1 trains on the sample data minus its newest 60 days with the item column shuffled (no taste left) and is
deployed with ``skip_gate`` and ``refit: none``: that backtest version is the champion, trained until the run's cut.
Run 2 trains on the real sample data: the backtest cuts the newest 60 days, the challenger trains on the events
before, champion, challenger and baseline score the same users after the cut, and the refit on all data is deployed.
"""

from __future__ import annotations

import pyarrow.compute as pc
import pyarrow.csv as pcsv
import yaml

from tests.e2e.state import dataset_group_arn, inventory, task_states, xcom

GROUP, DAYS = "bt-e2e", 60
CAMPAIGN = f"{GROUP}-demo-user-personalization"
GATE, REFIT = "gate_bt_e2e_demo_user_personalization", "refit_bt_e2e_demo_user_personalization"
CHALLENGER = "solution_bt_e2e_demo_user_personalization.log_metrics"


def _activate(pipeline, data, refit: str) -> None:
    """The shop config trimmed to user-personalization + popularity, in its own group, with a backtest gate, on
    ``data``; made the active config."""
    cfg = yaml.safe_load(pipeline.config().read_text())
    cfg["solutions"] = [s for s in cfg["solutions"] if s["name"] in ("demo-user-personalization", "demo-popularity")]
    del cfg["datasets"]["users"]  # not used by these solutions; one data-quality check less per run
    cfg["dataset_group"].update(name=GROUP, prefix=GROUP)
    cfg["event_tracker"]["name"], cfg["batch_jobs"] = f"{GROUP}-tracker", []
    for section in ("solutions", "campaigns", "filters"):
        for item in cfg[section]:
            item["name"] = f"{GROUP}-{item['name']}"
    for ds in cfg["datasets"].values():
        ds["source"]["path"] = str(data / ds["source"]["path"].rsplit("/", 1)[-1])
    c = cfg["campaigns"][0]
    c["solution"] = f"{GROUP}-demo-user-personalization"
    c["gate"] = {"evaluation": "backtest", "metric": "hit_rate_at_25", "beat_baseline": f"{GROUP}-demo-popularity",
                 "holdout": {"window": f"{DAYS}d", "sample_size": 400}, "filter": f"{GROUP}-exclude-interacted",
                 "resamples": 1000, "on_fail": "warn", "refit": refit}  # fmt: skip
    path = pipeline.work / "backtest.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    pipeline.env.setenv("PERSONALIZE_PIPELINE_CONFIG", str(path))


def _older_noise(pipeline, out):
    """The sample data without its newest DAYS days, item column shuffled (tests/e2e/test_10_retrain)."""
    from tests.e2e.test_10_retrain import _noisy_copy

    _noisy_copy(pipeline.sample_dir, out)
    table = pcsv.read_csv(out / "interactions.csv")
    newest = pc.max(table.column("ts_ms")).as_py()
    pcsv.write_csv(table.filter(pc.less(table.column("ts_ms"), newest - DAYS * 86_400_000)), out / "interactions.csv")
    return out


def test_backtest_gate_promotes_the_real_data_challenger_and_deploys_its_refit(pipeline, tmp_path):
    pz = pipeline.personalize
    try:
        _activate(pipeline, _older_noise(pipeline, tmp_path / "old"), "none")
        first = pipeline.run("personalize_retrain", {"skip_gate": True})
        assert first.state == "success", {t: s for t, s in task_states(first).items() if s != "success"}
        champion = xcom(first, REFIT).solution_version_arn
        assert xcom(first, GATE).skipped and champion == xcom(first, CHALLENGER).arn

        _activate(pipeline, pipeline.sample_dir, "full")
        run = pipeline.run("personalize_retrain")
    finally:
        pipeline.config()
    assert run.state == "success", {t: s for t, s in task_states(run).items() if s != "success"}
    from personalize_ops.metrics import load_gate_decision

    record = load_gate_decision(pipeline.s3, "pz-e2e", GROUP, GROUP, CAMPAIGN, run.run_id)
    ev, printed = record["evaluation"], pipeline.printed[run.run_id]
    assert record["promoted"] and record["champion_arn"] == champion, record["reason"]
    assert ev["holdout"]["cut"]["leakage"] == "none" and ev["holdout"]["n_users"] >= 50
    assert {m["role"]: m["path"] for m in ev["models"]} == {"challenger": "batch", "champion": "batch",
                                                          "baseline": "batch"}  # event tracker: batch  # fmt: skip
    assert ev["versus_champion"]["low"] > 0 and ev["versus_baseline"]["low"] > 0
    assert "Backtest gate on hit@25" in printed and f"decision: {record['reason']}" in printed

    refit = xcom(run, REFIT).solution_version_arn
    assert refit not in (record["challenger_arn"], champion)
    campaign = pz.describe_campaign(campaignArn=inventory(pz, dataset_group_arn(pz, GROUP))["campaigns"][0])
    assert campaign["campaign"]["solutionVersionArn"] == refit
    jobs = pz.list_dataset_import_jobs(datasetArn=next(
        d["datasetArn"] for d in pz.list_datasets(datasetGroupArn=dataset_group_arn(pz, GROUP))["datasets"]
        if d["name"].endswith("interactions")))["datasetImportJobs"]  # fmt: skip
    newest = max(jobs, key=lambda j: j["creationDateTime"])["datasetImportJobArn"]
    location = pz.describe_dataset_import_job(datasetImportJobArn=newest)["datasetImportJob"]["dataSource"]
    assert location["dataLocation"] == xcom(run, "prepare_data.prepare_interactions").uri, "the full data is back"
