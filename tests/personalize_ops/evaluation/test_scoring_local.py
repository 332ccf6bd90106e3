"""Both scoring paths against the local stack: a batch inference job and GetRecommendations on a campaign give
the same lists for the same version, with and without the gate's filter; reruns reuse the batch job."""

import json
import uuid

import pytest
from personalize_ops.errors import PersonalizeResourceFailedError
from personalize_ops.evaluation.scoring import (
    ScoringError,
    batch_locations,
    read_batch_output,
    score_batch,
    score_runtime,
)
from personalize_ops.hook import PersonalizeRuntimeHook

from tests.personalize_ops.evaluation.local_group import BUCKET, ROLE, Group, interactions_csv

USERS = [f"u{i}" for i in range(0, 80, 7)] + ["never-seen"]
IN_CATEGORY = "INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)"
ODD = {"CATEGORY": '"odd"'}


# Campaigns explore by default (weight 0.3), batch jobs never: compare lists of a campaign that does not.
NO_EXPLORATION = {"campaignConfig": {"itemExplorationConfig": {"explorationWeight": "0"}}}


@pytest.fixture(scope="module")
def served(pz_stack, aws_conn_id):
    """A trained user-personalization version served by a campaign, and a filter."""
    g = Group(pz_stack, aws_conn_id, f"ev-score-{uuid.uuid4().hex[:6]}")
    g.import_csv("all", interactions_csv())
    version = g.train("up", "aws-user-personalization")
    campaign = g.ensure("campaign", f"{g.name}-up", version.rsplit("/", 1)[0],
                        {"solutionVersionArn": version, "minProvisionedTPS": 1, **NO_EXPLORATION})  # fmt: skip
    flt = g.ensure("filter", f"{g.name}-category", g.arn, {"filterExpression": IN_CATEGORY})
    return {"g": g, "version": version, "campaign": campaign, "filter": flt, "conn": aws_conn_id}
def batch(served, label, filter_arn=None, filter_values=None):
    g = served["g"]
    where = batch_locations(BUCKET, "pz", g.name, "campaign", "t0ken0123456789", label)
    recs = score_batch(g.hook, g.s3, where, solution_version_arn=served["version"], users=USERS, role_arn=ROLE,
                       filter_arn=filter_arn, filter_values=filter_values, delay=0.2, max_attempts=1500)  # fmt: skip
    return where, recs


def runtime(served, filter_arn=None, filter_values=None):
    client = PersonalizeRuntimeHook(aws_conn_id=served["conn"]).conn
    return score_runtime(client, campaign_arn=served["campaign"], solution_version_arn=served["version"],
                         users=USERS, filter_arn=filter_arn, filter_values=filter_values)  # fmt: skip


def test_batch_and_runtime_give_the_same_lists(served):
    where, by_batch = batch(served, "plain")
    by_runtime = runtime(served)
    assert by_batch.path == "batch" and by_runtime.path == "runtime" and by_runtime.source == served["campaign"]
    assert set(by_batch.lists) == set(USERS) and not by_batch.errors and not by_runtime.errors
    assert all(len(items) == 25 for items in by_batch.lists.values())
    assert by_batch.lists == by_runtime.lists
    assert where.input_path.startswith(f"s3://{BUCKET}/pz/batch/{served['g'].name}/gate-campaign/t0ken0123456789/")
    assert by_batch.source.startswith("arn:aws:personalize:") and ":batch-inference-job/" in by_batch.source


def test_the_filter_applies_to_both_paths(served):
    _, plain = batch(served, "plain")
    _, by_batch = batch(served, "filtered", served["filter"], ODD)
    by_runtime = runtime(served, served["filter"], ODD)
    assert by_batch.lists == by_runtime.lists and by_batch.filter_arn == served["filter"]
    assert by_batch.lists != plain.lists
    for items in by_batch.lists.values():
        assert items and all(int(i[1:]) % 2 for i in items), items


def test_rerun_reuses_the_job_and_round_trips(served):
    _, first = batch(served, "plain")
    _, again = batch(served, "plain")
    assert again == first, "a retried task reuses its batch job and reads the same output"
    assert type(first).from_dict(json.loads(json.dumps(first.to_dict()))) == first


def test_incomplete_output_is_an_error(served):
    g = served["g"]
    where, recs = batch(served, "plain")
    more = [*USERS, "added-later"]
    with pytest.raises(ScoringError, match=r"no line for 1 of 14 users \(e\.g\. \['added-later'\]\)"):
        read_batch_output(g.s3, where, solution_version_arn=served["version"], users=more, job_arn=recs.source)


def test_a_failed_job_raises_with_its_reason(served, pz_stack):
    g = served["g"]
    where = batch_locations(BUCKET, "pz", g.name, "campaign", "fa1led0123456789", "plain")
    with pz_stack.faults_set(fail_next_batch="Injected: output bucket not writable"):
        with pytest.raises(PersonalizeResourceFailedError, match="Injected: output bucket not writable"):
            score_batch(g.hook, g.s3, where, solution_version_arn=served["version"], users=USERS, role_arn=ROLE,
                        delay=0.2, max_attempts=1500)  # fmt: skip
