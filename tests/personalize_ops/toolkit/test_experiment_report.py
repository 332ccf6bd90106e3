"""Experiments against personalize_local and moto: the metric attribution kept in sync (pipeline/attribution.py)
and the report (pipeline/experiment_report.py) on traffic the simulator sends to real local campaigns.

One dataset group of clustered synthetic interactions (user u mostly likes items of cluster u mod 4); campaigns
``xp-main`` (popularity-count, the control) and ``xp-up`` (user-personalization). The simulator replays each user's
held-out future (items of their cluster they have not seen) against their variant's campaign; the application's
logs go where the report reads them, and the events also go to PutEvents (so the metric attribution reports them).
Outcomes: popularity, crippled next to user-personalization, loses; two variants on one campaign end as "no
difference"; a variant losing most of its logs is a sample-ratio mismatch; the winner is promoted once.
"""

from __future__ import annotations

import json
import random
import time

import pytest
import yaml
from helpers import ROLE, put_s3
from personalize_ops import s3_layout
from personalize_ops.config import load_config
from personalize_ops.experiments.simulator import Recommendation, simulate
from personalize_ops.hook import PersonalizeHook
from personalize_ops.pipeline import attribution, experiment_report
from personalize_ops.pipeline.errors import PipelineError

from tests.personalize_local.helpers import wait_status

GROUP, BUCKET, PREFIX = "tk-xp", "toolkit-xp", "xp"
USERS, ITEMS, CLUSTERS = 160, 40, 4
UP = "arn:aws:personalize:::recipe/aws-user-personalization"
POP = "arn:aws:personalize:::recipe/aws-popularity-count"
FAST = {"min_days": 1, "max_days": 3, "min_users_per_variant": 40, "minimum_effect": 0.1}


def history_and_future(seed: int = 3) -> tuple[bytes, dict[str, list[str]]]:
    """Training interactions (12 per user, 90% in the user's cluster) and each user's future: 6 unseen items of it."""
    rng, rows, future = random.Random(seed), ["USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE"], {}
    for u in range(USERS):
        mine = [i for i in range(ITEMS) if i % CLUSTERS == u % CLUSTERS]
        seen = rng.sample(mine, 6)
        for j in range(12):
            item = seen[j % 6] if rng.random() < 0.9 else rng.randrange(ITEMS)
            rows.append(f"u{u},i{item},{1_690_000_000 + u * 100 + j},watch,1.0")
        future[f"u{u}"] = [f"i{i}" for i in rng.sample([i for i in mine if i not in seen], 4)]
    return ("\n".join(rows) + "\n").encode(), future


def config_dict(experiments: list[dict], metrics: list[dict] | None = None) -> dict:
    return {
        "dataset_group": {"name": GROUP, "bucket": BUCKET, "prefix": PREFIX, "role_arn": ROLE},
        "datasets": {"interactions": {"source": {"path": "interactions.csv"}, "fields": [
            {"name": "USER_ID"}, {"name": "ITEM_ID"}, {"name": "TIMESTAMP", "type": "long", "timestamp": "epoch_s"}]}},
        "solutions": [{"name": "xp-pop", "recipe": "aws-popularity-count"},
                      {"name": "xp-up", "recipe": "aws-user-personalization"}],
        "campaigns": [{"name": "xp-main", "solution": "xp-pop"}, {"name": "xp-up", "solution": "xp-up"}],
        "metric_attribution": {"metrics": metrics or [
            {"name": "CLICKS", "event_type": "click", "expression": "SAMPLECOUNT()"},
            {"name": "REVENUE", "event_type": "purchase", "expression": "SUM(Interactions.EVENT_VALUE)"}]},
        "experiments": experiments,
        "costs": {"tps_hour": 0.2},
    }  # fmt: skip


def write_config(tmp_path, data: dict):
    path = tmp_path / "xp.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_config(path)


EXPERIMENTS = [
    {"name": "crippled", "variants": [{"name": "up", "campaign": "xp-up"}, {"name": "pop", "campaign": "xp-main"}],
     "primary_metric": {"kind": "ctr"}, **FAST},
    {"name": "aa", "variants": [{"name": "a", "campaign": "xp-main"}, {"name": "b", "campaign": "xp-main"}],
     "primary_metric": {"kind": "ctr"}, **FAST},
    {"name": "srm", "variants": [{"name": "a", "campaign": "xp-main"}, {"name": "b", "campaign": "xp-up"}],
     "primary_metric": {"kind": "ctr"}, **FAST},
    {"name": "promote", "variants": [{"name": "main", "campaign": "xp-main"}, {"name": "up", "campaign": "xp-up"}],
     "primary_metric": {"kind": "ctr"}, "guardrails": [{"metric": {"kind": "conversion", "event_type": "click"},
                                                         "max_degradation": 0.5}],
     "on_end": "promote", "promote_to": "xp-main", **FAST},
]  # fmt: skip
EXPERIMENTS.append({**EXPERIMENTS[-1], "name": "held"})  # the same, run with the DAG's promote param off


@pytest.fixture(scope="module")
def world(pz_stack, aws_conn_id, tmp_path_factory):
    """The group, both campaigns, an event tracker, the config; the simulator's traffic logged for every
    experiment (and sent to PutEvents for ``promote``)."""
    pz, s3 = pz_stack.client("personalize"), pz_stack.client("s3")
    history, future = history_and_future()
    group = pz.create_dataset_group(name=GROUP)["datasetGroupArn"]
    wait_status(lambda: pz.describe_dataset_group(datasetGroupArn=group), "datasetGroup")
    schema = pz.create_schema(name=f"{GROUP}-interactions", schema=json.dumps({
        "type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema", "version": "1.0",
        "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
                   {"name": "TIMESTAMP", "type": "long"}, {"name": "EVENT_TYPE", "type": "string"},
                   {"name": "EVENT_VALUE", "type": ["null", "float"]}]}))["schemaArn"]  # fmt: skip
    dataset = pz.create_dataset(name=f"{GROUP}-interactions", datasetGroupArn=group, datasetType="INTERACTIONS",
                                schemaArn=schema)["datasetArn"]  # fmt: skip
    wait_status(lambda: pz.describe_dataset(datasetArn=dataset), "dataset")
    location = put_s3(pz_stack, BUCKET, "data/interactions.csv", history)
    job = pz.create_dataset_import_job(jobName=f"{GROUP}-import", datasetArn=dataset, roleArn=ROLE,
                                       dataSource={"dataLocation": location})["datasetImportJobArn"]  # fmt: skip
    assert wait_status(lambda: pz.describe_dataset_import_job(datasetImportJobArn=job), "datasetImportJob")[
        "status"] == "ACTIVE"  # fmt: skip
    campaigns, versions = {}, {}
    for solution, recipe, campaign in (("xp-pop", POP, "xp-main"), ("xp-up", UP, "xp-up")):
        arn = pz.create_solution(name=solution, datasetGroupArn=group, recipeArn=recipe)["solutionArn"]
        wait_status(lambda arn=arn: pz.describe_solution(solutionArn=arn), "solution")
        version = pz.create_solution_version(solutionArn=arn)["solutionVersionArn"]
        done = wait_status(lambda v=version: pz.describe_solution_version(solutionVersionArn=v), "solutionVersion")
        assert done["status"] == "ACTIVE", done
        versions[campaign] = version
        campaigns[campaign] = pz.create_campaign(name=campaign, solutionVersionArn=version)["campaignArn"]
        wait_status(lambda c=campaigns[campaign]: pz.describe_campaign(campaignArn=c), "campaign")
    tracker = pz.create_event_tracker(name=f"{GROUP}-tracker", datasetGroupArn=group)
    wait_status(lambda: pz.describe_event_tracker(eventTrackerArn=tracker["eventTrackerArn"]), "eventTracker")
    cfg = write_config(tmp_path_factory.mktemp("xp"), config_dict(EXPERIMENTS))
    hook = PersonalizeHook(aws_conn_id=aws_conn_id)
    assert attribution.ensure(hook, cfg, group, delay=0.1).created

    runtime, events = pz_stack.client("personalize-runtime"), pz_stack.client("personalize-events")

    def recommender(campaign: str):
        def recommend(user: str) -> Recommendation:
            got = runtime.get_recommendations(campaignArn=campaigns[campaign], userId=user, numResults=10)
            return Recommendation([i["itemId"] for i in got["itemList"]], got["recommendationId"])

        return recommend

    midnight = (time.time() // 86400 - 3) * 86400  # three whole days of traffic, ending before today
    for spec in cfg.experiments:
        loss = {"b": 0.7} if spec.name == "srm" else None
        days = simulate(spec.name, spec.split, {v.name: recommender(v.campaign) for v in spec.variants}, future,
                        days=3, seed=5, exposure_loss=loss, start=midnight)  # fmt: skip
        for day in days:
            for kind, rows in (("exposures", [e.to_record() for e in day.exposures]), ("events", day.calls)):
                key = s3_layout.experiment_log_prefix(PREFIX, GROUP, spec.name, kind) + f"day-{day.day}.jsonl"
                s3.put_object(Bucket=BUCKET, Key=key, Body="\n".join(json.dumps(r) for r in rows).encode())
            if spec.name == "promote":
                for call in day.calls:
                    events.put_events(trackingId=tracker["trackingId"], **call)
    return {"cfg": cfg, "hook": hook, "s3": s3, "pz": pz, "group": group, "campaigns": campaigns,
            "versions": versions}  # fmt: skip


def test_a_crippled_variant_loses(world):
    record = experiment_report.report(world["hook"], world["s3"], world["cfg"], "crippled", "run-1")
    assert record["verdict"] == "winner" and record["winner"] == "up", record["text"]
    assert record["final"] and "every challenger is worse" in record["result"]["reason"]
    (comparison,) = record["result"]["comparisons"]
    assert comparison["variant"] == "pop" and comparison["high"] < 0 and comparison["status"] == "worse"
    assert record["promotion"] is None  # on_end: report


def test_equal_variants_end_as_no_difference(world):
    record = experiment_report.report(world["hook"], world["s3"], world["cfg"], "aa", "run-1")
    assert record["verdict"] == "no_difference" and record["winner"] is None, record["text"]
    (comparison,) = record["result"]["comparisons"]
    assert comparison["low"] < 0 < comparison["high"]
    assert record["result"]["day"] == 3 and "maximum duration reached" in record["result"]["reason"]


def test_a_sample_ratio_mismatch_is_flagged(world):
    record = experiment_report.report(world["hook"], world["s3"], world["cfg"], "srm", "run-1")
    assert record["verdict"] == "sample_ratio_mismatch" and not record["final"], record["text"]
    users = {v["name"]: v["users"] for v in record["result"]["variants"]}
    assert users["b"] < users["a"] / 2 and record["result"]["srm"]["p_value"] < 0.001


def test_with_promotion_turned_off_the_winner_is_only_reported(world):
    pz, campaigns = world["pz"], world["campaigns"]
    record = experiment_report.report(world["hook"], world["s3"], world["cfg"], "held", "run-1", promote_allowed=False)
    assert record["verdict"] == "winner" and record["winner"] == "up" and record["promotion"] is None, record["text"]
    served = pz.describe_campaign(campaignArn=campaigns["xp-main"])["campaign"]
    assert served["solutionVersionArn"] == world["versions"]["xp-main"]


def test_the_winner_is_promoted_once_and_the_attribution_reports_the_variants(world):
    pz, campaigns = world["pz"], world["campaigns"]
    record = experiment_report.report(world["hook"], world["s3"], world["cfg"], "promote", "run-1")
    assert record["verdict"] == "winner" and record["winner"] == "up", record["text"]
    assert record["promotion"]["solution_version_arn"] == world["versions"]["xp-up"]
    served = pz.describe_campaign(campaignArn=campaigns["xp-main"])["campaign"]
    assert served["solutionVersionArn"] == world["versions"]["xp-up"]
    assert record["standing_cost"]["campaigns"] == [
        {"campaign": "xp-up", "arn": campaigns["xp-up"], "min_tps": 1, "per_day": pytest.approx(24 * 0.2)}
    ]
    again = experiment_report.report(world["hook"], world["s3"], world["cfg"], "promote", "run-2")
    assert again["ended"] and again["run_id"] == "run-2" and again["text"].startswith("ended on day 3 (run-1)")
    stored = experiment_report.load_reports(world["s3"], world["cfg"])["promote"]
    assert [r["run_id"] for r in stored] == ["run-1", "run-2"]

    # the PutEvents of this experiment reach the metric attribution's reports, per variant (published every 0.5 s)
    clicks = sum(len([e for e in c["eventList"] if e["eventType"] == "click"]) for c in read_calls(world, "promote"))
    deadline = time.monotonic() + 30
    while True:
        totals = experiment_report.attribution_totals(world["s3"], world["cfg"], world["cfg"].experiment("promote"))
        if sum(t.get("CLICKS", 0) for t in totals.values()) >= clicks:
            break
        assert time.monotonic() < deadline, totals
        time.sleep(0.2)
    assert sum(t["CLICKS"] for t in totals.values()) == clicks and set(totals) == {"main", "up"}
    assert totals["up"]["CLICKS"] > totals["main"]["CLICKS"]


def read_calls(world, name: str) -> list[dict]:
    return experiment_report.read_logs(world["s3"], world["cfg"], world["cfg"].experiment(name)).calls


def test_a_bad_log_line_names_the_file_and_the_line(world, tmp_path):
    cfg = write_config(tmp_path, config_dict([{**EXPERIMENTS[1], "name": "broken"}]))
    key = s3_layout.experiment_log_prefix(PREFIX, GROUP, "broken", "exposures") + "bad.jsonl"
    world["s3"].put_object(Bucket=BUCKET, Key=key, Body=b'{"experiment": "broken"}\n\nnot json\n')
    with pytest.raises(PipelineError, match=r"bad\.jsonl: line 1: exposure record lacks variant"):
        experiment_report.report(world["hook"], world["s3"], cfg, "broken", "run-1")


def test_the_metric_attribution_follows_the_config(world, tmp_path):
    hook, group = world["hook"], world["group"]
    assert attribution.ensure(hook, world["cfg"], group, delay=0.1).describe().endswith("in sync")
    changed = config_dict(EXPERIMENTS, [{"name": "CLICKS", "event_type": "click", "expression": "SAMPLECOUNT()"},
                                        {"name": "BUYS", "event_type": "purchase", "expression": "SAMPLECOUNT()"}])
    sync = attribution.ensure(hook, write_config(tmp_path, changed), group, delay=0.1)  # fmt: skip
    assert (sync.removed, sync.added, sync.output_changed) == (["REVENUE"], ["BUYS"], False)
    metrics = world["pz"].list_metric_attribution_metrics(metricAttributionArn=sync.arn)["metrics"]
    assert sorted(m["metricName"] for m in metrics) == ["BUYS", "CLICKS"]
    renamed = write_config(tmp_path, {**changed, "metric_attribution": {**changed["metric_attribution"],
                                                                        "name": "another"}})  # fmt: skip
    with pytest.raises(PipelineError, match="already has metric attribution tk-xp-attribution"):
        attribution.ensure(hook, renamed, group, delay=0.1)
    attribution.ensure(hook, world["cfg"], group, delay=0.1)  # back as it was, for the other tests
