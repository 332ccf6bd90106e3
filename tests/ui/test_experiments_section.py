"""The page's "Online experiments" section: the newest report of each experiment, read from S3 as
personalize_experiment_report writes it, with the verdict, the intervals, the sample-ratio check and a promotion."""

from __future__ import annotations

import json

import numpy as np
import pytest
from personalize_ops import s3_layout
from personalize_ops.experiments.analysis import Moments, VariantData, analyze
from personalize_ops.experiments.config import Experiment
from personalize_ops.pipeline.experiment_report import make_record
from personalize_ui_app.data import PageData, PageSettings, load_experiment_reports
from personalize_ui_app.page import render_page

from tests.fixtures.moto_server import moto_server, s3_client

BUCKET, PREFIX, GROUP = "pz-ui-experiments", "pz", "shop"
EXPERIMENT = Experiment.model_validate({
    "name": "up-vs-pop", "primary_metric": {"kind": "ctr"}, "min_days": 1, "min_users_per_variant": 100,
    "variants": [{"name": "champion", "campaign": "main"}, {"name": "challenger", "campaign": "challenger"}],
    "on_end": "promote", "promote_to": "main",
})  # fmt: skip


def variant(name: str, users: int, ctr: float, seed: int) -> VariantData:
    rng = np.random.default_rng(seed)
    lists = rng.poisson(5, users) + 1
    return VariantData(name, users, {"ctr": Moments.from_users(rng.binomial(lists, ctr), lists)})


def settings(experiments=("up-vs-pop",)) -> PageSettings:
    return PageSettings(GROUP, BUCKET, PREFIX, "aws_default", {"up": "aws-user-personalization"},
                        {"main": ("up", "normalized_discounted_cumulative_gain_at_10")}, "personalize_retrain",
                        tuple(experiments))  # fmt: skip


@pytest.fixture(scope="module")
def s3():
    with moto_server() as endpoint:
        client = s3_client(endpoint)
        client.create_bucket(Bucket=BUCKET)
        yield client


def put(s3, run_id: str, record: dict) -> None:
    key = s3_layout.experiment_report_key(PREFIX, GROUP, EXPERIMENT.name, run_id)
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(record).encode())


def test_the_newest_report_is_shown_with_its_numbers(s3):
    running = analyze(EXPERIMENT, [variant("champion", 150, 0.05, 1), variant("challenger", 150, 0.05, 2)], day=1)
    won = analyze(EXPERIMENT, [variant("champion", 5000, 0.05, 3), variant("challenger", 5000, 0.08, 4)], day=4)
    assert (running.verdict, won.verdict, won.winner) == ("running", "winner", "challenger")
    cost = {"currency": "USD", "campaigns": [], "per_day": 0.0}
    promotion = {"campaign": "main", "solution_version_arn": "arn:aws:personalize:us-east-1:1:solution/up/v9"}
    put(s3, "scheduled__1", make_record(EXPERIMENT, GROUP, "scheduled__1", running, None, cost))
    put(s3, "scheduled__4", make_record(EXPERIMENT, GROUP, "scheduled__4", won, promotion, cost))

    reports = load_experiment_reports(s3, settings())
    assert [r["run_id"] for r in reports["up-vs-pop"]] == ["scheduled__1", "scheduled__4"]
    html = render_page(settings(), PageData([], [], experiments=reports), "normalized_discounted_cumulative_gain_at_10")
    section = html.split("<h2>Online experiments</h2>", 1)[1].split("<h2>", 1)[0]
    assert "winner (challenger)" in section and "(2 reports)" in section and "v9 to main" in section
    (lift,) = won.comparisons
    assert f"{lift.lift:+.1%} [{lift.low:+.1%} .. {lift.high:+.1%}] better" in section
    assert f"{won.variants[1].value:.4g} [{won.variants[1].low:.4g} .. {won.variants[1].high:.4g}]" in section
    assert html.index("<h2>Metric history</h2>") < html.index("<h2>Online experiments</h2>")


def test_no_section_without_experiments_and_a_placeholder_before_the_first_report(s3):
    page = render_page(settings(()), PageData([], []), "coverage")
    assert "Online experiments" not in page
    html = render_page(settings(("later",)), PageData([], [], experiments={}), "coverage")
    assert "<td>later</td><td colspan='8'>no report yet</td>" in html
