"""User -> variant assignment: the documented hash, stable, uniform, independent across experiments."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest
from personalize_ops.experiments.assignment import (
    assign,
    attribution_source,
    bucket,
    parse_attribution_source,
    variant_for,
)
from personalize_ops.experiments.config import Experiment
from scipy import stats

USERS = [f"user-{i}" for i in range(100_000)]


def test_the_bucket_is_the_documented_sha256_recipe():
    # The recipe an application in any language reproduces: sha256("<experiment>:<user>"), first 8 bytes
    # big-endian, divided by 2**64.
    digest = hashlib.sha256(b"exp-1:u42").hexdigest()
    assert bucket("exp-1", "u42") == int(digest[:16], 16) / 2**64
    assert bucket("exp-1", "u42") == bucket("exp-1", "u42")
    assert 0 <= min(bucket("e", u) for u in USERS[:1000]) and max(bucket("e", u) for u in USERS[:1000]) < 1


def test_variants_own_consecutive_ranges_in_config_order():
    split = {"a": 0.2, "b": 0.3, "c": 0.5}
    for u in USERS[:2000]:
        b = bucket("exp", u)
        assert assign("exp", u, split) == ("a" if b < 0.2 else "b" if b < 0.5 else "c")


@pytest.mark.parametrize("split", [{"a": 0.5, "b": 0.5}, {"a": 0.2, "b": 0.3, "c": 0.5}, {"a": 0.9, "b": 0.1}])
def test_assignment_is_uniform_over_100k_ids(split):
    counts = Counter(assign("uniformity", u, split) for u in USERS)
    observed = [counts[v] for v in split]
    expected = [len(USERS) * s for s in split.values()]
    assert stats.chisquare(observed, expected).pvalue > 0.01, (observed, expected)


def test_assignments_of_two_experiments_are_independent():
    split = {"a": 0.5, "b": 0.5}
    pairs = Counter((assign("exp-one", u, split), assign("exp-two", u, split)) for u in USERS)
    table = [[pairs["a", "a"], pairs["a", "b"]], [pairs["b", "a"], pairs["b", "b"]]]
    assert stats.chi2_contingency(table).pvalue > 0.01, table
    same = sum(assign("exp-one", u, split) == assign("exp-two", u, split) for u in USERS[:10_000])
    assert 4700 < same < 5300  # about half, not all: a new experiment reshuffles users


def test_growing_a_share_moves_only_users_across_the_new_boundary():
    before = {u: assign("ramp", u, {"a": 0.9, "b": 0.1}) for u in USERS[:20_000]}
    after = {u: assign("ramp", u, {"a": 0.8, "b": 0.2}) for u in USERS[:20_000]}
    assert all(after[u] == "b" for u in before if before[u] == "b")
    moved = sum(before[u] != after[u] for u in before)
    assert 1700 < moved < 2300  # ~10% of the users


def test_variant_for_uses_the_configured_split():
    exp = Experiment.model_validate(
        {
            "name": "cfg",
            "variants": [
                {"name": "x", "campaign": "c1", "traffic": 0.25},
                {"name": "y", "campaign": "c2", "traffic": 0.75},
            ],
            "primary_metric": {"kind": "ctr"},
        }
    )
    assert all(variant_for(exp, u) == assign("cfg", u, {"x": 0.25, "y": 0.75}) for u in USERS[:1000])


@pytest.mark.parametrize(
    ("split", "message"),
    [
        ({}, "split is empty"),
        ({"a": 0.5, "b": 0.4}, "shares must sum to 1, got 0.9"),
        ({"a": 1.5, "b": -0.5}, "(0, 1]"),
    ],
)
def test_a_bad_split_is_refused(split, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        assign("e", "u", split)


def test_attribution_source_round_trips():
    source = attribution_source("up-vs-pop", "challenger")
    assert source == "up-vs-pop:challenger"
    assert parse_attribution_source(source) == ("up-vs-pop", "challenger")
    assert parse_attribution_source("arn:aws:personalize:us-east-1:1:campaign/x") is None
    assert parse_attribution_source("SOURCE_NAME_UNDEFINED") is None
