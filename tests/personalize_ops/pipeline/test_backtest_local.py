"""The retrain DAG's backtest gate (pipeline/backtest.py) step by step on the local stack, as the DAG calls it:
cut the staged file, import and train on the events before C, score champion / challenger / baseline, decide,
record, import the full file back, refit.

The data: 80 users in 4 taste clusters, one event per user and hour (tests/personalize_ops/evaluation/local_group).
``interactions_csv(per_user=35)`` starts with exactly the rows of ``per_user=30``, so the 35-hour file is the 30-hour
file plus 5 newer hours. A *noise* file keeps every event but shuffles the item column: same popularity, no taste.
The tests run in file order: the first deploys the refit version the later ones use as their champion.
"""

from __future__ import annotations

import random
import uuid

import pytest
import yaml
from personalize_ops.config import load_config
from personalize_ops.evaluation.holdout import iso
from personalize_ops.hook import PersonalizeRuntimeHook
from personalize_ops.metrics import load_gate_decision, load_version
from personalize_ops.pipeline import backtest
from personalize_ops.pipeline.metrics_task import log_version
from personalize_ops.pipeline.values import StagedDataset, TrainedVersion
from personalize_ops.staging import stage_file

from tests.personalize_ops.evaluation.local_group import BUCKET, ROLE, Group, interactions_csv

PREFIX = "bt"
NDCG = "normalized_discounted_cumulative_gain_at_10"
HOUR = 3600
NO_EXPLORATION = {"campaignConfig": {"itemExplorationConfig": {"explorationWeight": "0"}}}


def noise(csv: str, seed: int = 11) -> str:
    """``csv`` with its ITEM_ID column shuffled across rows."""
    header, *rows = csv.strip().split("\n")
    cells = [r.split(",") for r in rows]
    items = [c[1] for c in cells]
    random.Random(seed).shuffle(items)
    return "\n".join([header, *(",".join([c[0], i, *c[2:]]) for c, i in zip(cells, items, strict=True))]) + "\n"


def before(csv: str, cutoff: int) -> str:
    """The rows of ``csv`` with TIMESTAMP < ``cutoff``."""
    header, *rows = csv.strip().split("\n")
    return "\n".join([header, *(r for r in rows if int(r.split(",")[2]) < cutoff)]) + "\n"


def config(tmp_path, name: str, **gate) -> object:
    path = tmp_path / f"{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump({
        "dataset_group": {"name": name, "bucket": BUCKET, "prefix": PREFIX, "role_arn": ROLE},
        "datasets": {"interactions": {"source": {"path": "interactions.csv"}, "fields": [
            {"name": "USER_ID"}, {"name": "ITEM_ID"}, {"name": "TIMESTAMP", "type": "long", "timestamp": "epoch_s"},
            {"name": "EVENT_TYPE"}]}},
        "solutions": [{"name": f"{name}-up", "recipe": "aws-user-personalization"},
                      {"name": f"{name}-pop", "recipe": "aws-popularity-count"}],
        "campaigns": [{"name": f"{name}-c", "solution": f"{name}-up", "gate": {
            "evaluation": "backtest", "metric": NDCG, "beat_baseline": f"{name}-pop", "on_fail": "warn",
            "resamples": 1000, **gate}}],
    }))  # fmt: skip
    return load_config(path)


class World:
    """The dataset group, the staging of files, imports of plans and trainings, as the DAG's tasks do them."""

    def __init__(self, pz_stack, conn, work):
        self.g = Group(pz_stack, conn, f"bt-{uuid.uuid4().hex[:6]}")
        self.s3, self.work, self.conn = self.g.s3, work, conn
        self.runtime = PersonalizeRuntimeHook(aws_conn_id=conn).conn
        self.n = 0

    def stage(self, body: str) -> StagedDataset:
        path = self.work / f"staged-{uuid.uuid4().hex[:6]}.csv"
        path.write_text(body)
        out = stage_file(self.s3, BUCKET, PREFIX, "interactions", path, group=self.g.name)
        newest = max(int(r.split(",")[2]) for r in body.strip().split("\n")[1:])
        rows = body.count("\n") - 1
        return StagedDataset("interactions", rows, rows, out.sha256, out.uri, out.uploaded, newest)

    def run(self, plan) -> None:
        """Ensure the import job an ImportPlan names (PersonalizeImportOperator's request)."""
        self.g.ensure("dataset_import_job", plan.job_name, self.g.dataset,
                      {"dataSource": {"dataLocation": plan.data_location}, "roleArn": ROLE})  # fmt: skip

    def train(self, cfg, solution: str, recipe: str, data, run_id: str) -> TrainedVersion:
        arn = self.g.train(solution, recipe)
        sol_arn = arn.rsplit("/", 1)[0]
        metrics = self.g.hook.call("GetSolutionMetrics", solutionVersionArn=arn)["metrics"]
        return log_version(self.s3, cfg, TrainedVersion(f"{self.g.name}-{solution}", recipe, sol_arn, arn, metrics),
                           data, run_id)  # fmt: skip

    def token(self) -> str:
        self.n += 1
        return f"{uuid.uuid4().hex[:8]}{self.n:04d}"


@pytest.fixture(scope="module")
def world(pz_stack, aws_conn_id, tmp_path_factory):
    return World(pz_stack, aws_conn_id, tmp_path_factory.mktemp("backtest-pipeline"))


@pytest.fixture(scope="module")
def promoted(world, tmp_path_factory):
    """A noise-trained champion on a campaign (trained before C, recorded); the backtest run of the real data."""
    w, g = world, world.g
    tmp = tmp_path_factory.mktemp("cfg")
    cfg = config(tmp, g.name, holdout={"window": "5h", "sample_size": 80}, refit="full")
    campaign = cfg.campaigns[0]
    full = w.stage(interactions_csv(users=80, per_user=30))
    first = backtest.cut(g.hook, w.s3, cfg, g.arn, full)  # no champion yet: only the cut matters here
    assert first.cuts[campaign.name]["leakage"] == "no champion" and first.champions == {campaign.name: None}
    g.import_csv("noise-before", before(noise(interactions_csv(users=80, per_user=30)), first.training_cutoff))
    champion = w.train(cfg, "up", "aws-user-personalization", first, "run-champion")
    assert champion.trained_until == first.training_cutoff - 1
    g.ensure("campaign", campaign.name, champion.solution_arn,
             {"solutionVersionArn": champion.arn, "minProvisionedTPS": 1, **NO_EXPLORATION})  # fmt: skip

    bt = backtest.cut(g.hook, w.s3, cfg, g.arn, full)
    w.run(backtest.training_plan(g.hook, g.dataset, bt, False, w.token()))
    challenger = w.train(cfg, "up", "aws-user-personalization", bt, "run-better")
    baseline = w.train(cfg, "pop", "aws-popularity-count", bt, "run-better")
    outcome = backtest.evaluate(g.hook, w.runtime, w.s3, cfg, campaign, challenger, baseline, bt, None, "run-better",
                                w.token(), False)  # fmt: skip
    return {"cfg": cfg, "bt": bt, "full": full, "champion": champion, "challenger": challenger, "outcome": outcome}


def test_the_cut_stages_only_events_before_c_for_training(world, promoted):
    bt, full = promoted["bt"], promoted["full"]
    cut = bt.cuts[promoted["cfg"].campaigns[0].name]
    assert cut["leakage"] == "none" and cut["champion_trained_until"] == promoted["champion"].trained_until
    assert bt.training_cutoff == cut["cutoff"] == full.time_max + 1 - 5 * HOUR
    body = world.s3.get_object(Bucket=BUCKET, Key=bt.training.uri.split("/", 3)[3])["Body"].read().decode()
    times = [int(r.split(",")[2]) for r in body.strip().split("\n")[1:]]
    assert max(times) < bt.training_cutoff and len(times) == bt.training.rows_out == 80 * 25
    assert bt.training.uri != full.uri and bt.full == full


def test_a_clearly_better_challenger_is_promoted_and_the_refit_is_what_deploys(world, promoted):
    w, cfg, bt, outcome = world, promoted["cfg"], promoted["bt"], promoted["outcome"]
    campaign = cfg.campaigns[0]
    assert outcome.promote and outcome.reason.startswith("promoted: challenger beats champion by +"), outcome.reason
    assert outcome.champion_arn == promoted["champion"].arn and outcome.challenger_value > outcome.champion_value
    record = load_gate_decision(w.s3, BUCKET, PREFIX, w.g.name, campaign.name, "run-better")
    ev = record["evaluation"]
    assert ev["mode"] == "backtest" and ev["holdout"]["seed"] == 42 and ev["holdout"]["n_users"] >= 40
    assert ev["holdout"]["cut"]["cutoff"] == bt.training_cutoff
    paths = {m["role"]: m["path"] for m in ev["models"]}
    assert paths == {"challenger": "batch", "champion": "runtime", "baseline": "batch"}  # both scoring paths
    until = {m["role"]: m["trained_until"] for m in ev["models"]}
    assert until == {"challenger": bt.training_cutoff - 1, "baseline": bt.training_cutoff - 1,
                     "champion": promoted["champion"].trained_until}  # fmt: skip
    assert ev["versus_champion"]["low"] > 0 and ev["versus_baseline"]["low"] > 0
    assert ev["versus_champion"]["n_resamples"] == 1000 and ev["versus_champion"]["confidence_level"] == 0.99

    w.run(backtest.restore_plan(w.g.hook, w.g.dataset, bt, w.token()))
    refit = backtest.refit(w.g.hook, w.s3, cfg, campaign, outcome, bt, "run-better", "refit-token-1")
    assert refit.solution_version_arn not in (outcome.solution_version_arn, None) and refit.promote
    assert "deployed the refit on all data" in refit.reason
    again = backtest.refit(w.g.hook, w.s3, cfg, campaign, outcome, bt, "run-better", "refit-token-1")
    assert again.solution_version_arn == refit.solution_version_arn, "a retry adopts the version, trains once"
    rec = load_version(w.s3, BUCKET, PREFIX, w.g.name, campaign.solution, refit.solution_version_arn)
    assert rec["trained_until"] == promoted["full"].time_max and rec["run_id"] == "run-better"
    w.g.hook.call("UpdateCampaign", campaignArn=outcome.campaign_arn, solutionVersionArn=refit.solution_version_arn)
    w.g.hook.wait("campaign", outcome.campaign_arn, "updated", delay=0.2, max_attempts=1500)
    # the gate re-run after its own deploy decides nothing again
    rerun = backtest.evaluate(w.g.hook, w.runtime, w.s3, cfg, campaign, promoted["challenger"], None, bt, None,
                              "run-better", w.token(), False)  # fmt: skip
    assert rerun.already_serving and not rerun.promote


def test_refit_none_deploys_the_backtest_version(world, promoted, tmp_path):
    cfg = config(tmp_path, world.g.name, holdout={"window": "5h", "sample_size": 80}, refit="none")
    out = backtest.refit(world.g.hook, world.s3, cfg, cfg.campaigns[0], promoted["outcome"], promoted["bt"],
                         "run-better", "refit-token-2")  # fmt: skip
    assert out == promoted["outcome"]


def test_leakage_shrinks_the_window_or_refuses_the_comparison(world, promoted, tmp_path):
    """The champion (the refit) was trained on every event of the 30-hour file; a 10-hour window over the 35-hour
    file reaches 5 hours into its training data."""
    w, refit_until = world, promoted["full"].time_max
    newer = w.stage(interactions_csv(users=80, per_user=35))
    shrink = config(tmp_path, w.g.name, holdout={"window": "10h", "sample_size": 80}, leakage="shrink")
    bt = backtest.cut(w.g.hook, w.s3, shrink, w.g.arn, newer)
    cut = bt.cuts[shrink.campaigns[0].name]
    assert cut["champion_trained_until"] == refit_until and cut["requested_cutoff"] <= refit_until
    assert cut["leakage"] == "shrunk" and cut["cutoff"] == bt.training_cutoff == refit_until + 1

    refuse = config(tmp_path, w.g.name, holdout={"window": "10h", "sample_size": 80}, leakage="refuse")
    campaign = refuse.campaigns[0]
    bt = backtest.cut(w.g.hook, w.s3, refuse, w.g.arn, newer)
    assert bt.cuts[campaign.name]["leakage"] == "refused"
    challenger = promoted["challenger"]
    outcome = backtest.evaluate(w.g.hook, w.runtime, w.s3, refuse, campaign, challenger, None, bt, None,
                                "run-leak", w.token(), False)  # fmt: skip
    assert not outcome.promote and outcome.reason.startswith("not promoted: leakage: the champion was trained on "
                                                             f"events until {iso(refit_until)}")  # fmt: skip
    record = load_gate_decision(w.s3, BUCKET, PREFIX, w.g.name, campaign.name, "run-leak")
    assert {m["path"] for m in record["evaluation"]["models"]} == {"not scored"}


def test_equal_and_crippled_challengers_are_refused_scored_by_batch_jobs(world, promoted, tmp_path, capsys):
    """Champion: the refit (real data, 30 hours). The 35-hour file cut just after it: the challenger trains on the
    champion's own data (equal: same recipe and hyperparameters, another training) or on its noise (crippled)."""
    w = world
    cfg = config(tmp_path, w.g.name, holdout={"window": "10h", "sample_size": 80}, scoring="batch")
    campaign = cfg.campaigns[0]
    newer = w.stage(interactions_csv(users=80, per_user=35))
    bt = backtest.cut(w.g.hook, w.s3, cfg, w.g.arn, newer)
    assert bt.cuts[campaign.name]["leakage"] == "shrunk"
    w.run(backtest.training_plan(w.g.hook, w.g.dataset, bt, False, w.token()))
    baseline = w.train(cfg, "pop", "aws-popularity-count", bt, "run-equal")
    equal = w.train(cfg, "up", "aws-user-personalization", bt, "run-equal")
    outcome = backtest.evaluate(w.g.hook, w.runtime, w.s3, cfg, campaign, equal, baseline, bt, None, "run-equal",
                                w.token(), False)  # fmt: skip
    table = capsys.readouterr().out
    assert not outcome.promote and "not significant against the champion" in outcome.reason, table
    assert "challenger vs champion:" in table and "decision: not promoted" in table
    record = load_gate_decision(w.s3, BUCKET, PREFIX, w.g.name, campaign.name, "run-equal")
    assert {m["role"]: m["path"] for m in record["evaluation"]["models"]}["champion"] == "batch"

    w.g.import_csv("noise-35", noise(interactions_csv(users=80, per_user=30)))
    crippled = w.train(cfg, "up", "aws-user-personalization", bt, "run-crippled")
    outcome = backtest.evaluate(w.g.hook, w.runtime, w.s3, cfg, campaign, crippled, baseline, bt, None,
                                "run-crippled", w.token(), False)  # fmt: skip
    assert not outcome.promote and outcome.reason.startswith("not promoted:"), outcome.reason
    record = load_gate_decision(w.s3, BUCKET, PREFIX, w.g.name, campaign.name, "run-crippled")
    assert record["evaluation"]["versus_champion"]["estimate"] < 0


def test_a_window_longer_than_the_data_is_a_clear_error(world, tmp_path):
    cfg = config(tmp_path, world.g.name, holdout={"window": "40h", "sample_size": 80})
    staged = world.stage(interactions_csv(users=80, per_user=30))  # 30 hours of events
    with pytest.raises(backtest.BacktestDataError, match="nothing is left to train on; shorten gate.holdout.window"):
        backtest.cut(world.g.hook, world.s3, cfg, world.g.arn, staged)
