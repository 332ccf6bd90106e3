"""The whole backtest on the local stack: cut the staged file, train on the events before C, score champion
(GetRecommendations on its campaign) and challenger and baseline (batch jobs) on the same users, decide."""

import uuid
from pathlib import Path

import pytest
from personalize_ops.evaluation.comparison import compare_models
from personalize_ops.evaluation.decision import decide_backtest, render_table
from personalize_ops.evaluation.holdout import build_holdout, find_cut
from personalize_ops.evaluation.scoring import batch_locations, choose_path, score_batch, score_runtime
from personalize_ops.hook import PersonalizeRuntimeHook

from tests.personalize_ops.evaluation.local_group import BUCKET, ROLE, Group, interactions_csv

NDCG = "normalized_discounted_cumulative_gain_at_10"
HOUR = 3600
CRIPPLED = {"hidden_dimension": "2", "training_iterations": "1", "sequence_weight": "0", "metadata_weight": "0"}


# Campaigns explore by default (weight 0.3), batch jobs never: compare lists of a campaign that does not.
NO_EXPLORATION = {"campaignConfig": {"itemExplorationConfig": {"explorationWeight": "0"}}}


@pytest.fixture(scope="module")
def backtest(pz_stack, aws_conn_id, tmp_path_factory):
    """The holdout (newest 5 hours), the events before C imported, a popularity champion served by a campaign."""
    work = tmp_path_factory.mktemp("backtest")
    staged = work / "interactions.csv"
    staged.write_text(interactions_csv(users=80, per_user=30))
    before_cut = find_cut(staged, window_seconds=5 * HOUR, has_champion=False).cutoff
    g = Group(pz_stack, aws_conn_id, f"ev-bt-{uuid.uuid4().hex[:6]}")
    cut = find_cut(staged, window_seconds=5 * HOUR, champion_trained_until=before_cut - 1)
    holdout, training = build_holdout(staged, cut, sample_size=80, seed=3, training_out=work / "before.csv")
    g.import_csv("before", Path(training.path).read_text())
    champion = g.train("pop", "aws-popularity-count")
    campaign = g.ensure("campaign", f"{g.name}-pop", champion.rsplit("/", 1)[0],
                        {"solutionVersionArn": champion, "minProvisionedTPS": 1, **NO_EXPLORATION})  # fmt: skip
    return {"g": g, "holdout": holdout, "cut": cut, "champion": champion, "campaign": campaign, "conn": aws_conn_id}
def batch(bt, label, version):
    g = bt["g"]
    where = batch_locations(BUCKET, "pz", g.name, "c", "run0000000001", label)
    return score_batch(g.hook, g.s3, where, solution_version_arn=version, users=bt["holdout"].users, role_arn=ROLE,
                       delay=0.2, max_attempts=1500)  # fmt: skip


def decide(bt, challenger, champion, baseline):
    ev = compare_models(bt["holdout"], {"challenger": challenger, "champion": champion, "baseline": baseline},
                        metric=NDCG, trained_until={"champion": bt["cut"].cutoff - 1}, seed=5)  # fmt: skip
    return decide_backtest(ev)


def test_user_personalization_beats_a_popularity_champion(backtest):
    bt, h = backtest, backtest["holdout"]
    assert bt["cut"].leakage == "none" and len(h.truth) >= 40
    path, why = choose_path(n_users=len(h.truth), campaign_arn=bt["campaign"], has_event_tracker=False,
                            runtime_max_users=500, campaign_explores=False)  # fmt: skip
    assert path == "runtime", why
    runtime = PersonalizeRuntimeHook(aws_conn_id=bt["conn"]).conn
    champion = score_runtime(runtime, campaign_arn=bt["campaign"], solution_version_arn=bt["champion"],
                             users=h.users)  # fmt: skip
    baseline = batch(bt, "baseline", bt["champion"])
    assert baseline.lists == champion.lists  # the same version through both paths
    challenger = batch(bt, "challenger", bt["g"].train("up", "aws-user-personalization"))
    d = decide(bt, challenger, champion, baseline)
    assert d.promoted and d.reason.startswith("promoted: challenger beats champion by +"), render_table(d)
    assert d.evaluation.versus_champion.low > 0 and d.challenger_value > d.champion_value


def test_crippled_and_equal_challengers_are_refused(backtest):
    bt = backtest
    champion_version = bt["g"].train("up", "aws-user-personalization")
    champion = batch(bt, "up-champion", champion_version)
    baseline = batch(bt, "baseline", bt["champion"])
    crippled_version = bt["g"].train(
        "crippled", "aws-user-personalization", {"solutionConfig": {"algorithmHyperParameters": CRIPPLED}}
    )
    crippled = batch(bt, "crippled", crippled_version)
    d = decide(bt, crippled, champion, baseline)
    assert not d.promoted and d.reason.startswith("not promoted:"), render_table(d)
    assert d.evaluation.versus_champion.estimate < 0
    equal = batch(bt, "equal", bt["g"].train("up", "aws-user-personalization"))  # same recipe, same data
    d = decide(bt, equal, champion, baseline)
    assert not d.promoted and "not significant" in d.reason, render_table(d)
