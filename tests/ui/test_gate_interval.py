"""The page shows each gate decision's difference with its interval (backtest records), says when a decision
(offline_metrics) has none, and names the refit a backtest promotion deployed."""

import re
from datetime import UTC, datetime
from html import unescape

from personalize_ops.evaluation.decision import decide_backtest
from personalize_ops.metrics import decide, make_version_record, record_gate_decision, record_version

from tests.fixtures.moto_server import s3_client
from tests.personalize_ops.evaluation.test_decision import evaluate, holdout, model
from tests.ui.conftest import ACCOUNT_ARN, BUCKET, CAMPAIGN, CONFIG, DG, NDCG, PAGE, PREFIX, UP

OWN = "pipelines/intervals"  # a prefix of its own: the seeded history the other tests read stays as it is


def test_backtest_decisions_show_the_difference_with_its_interval(client, admin_token, ui_env, monkeypatch,
                                                                   tmp_path):  # fmt: skip
    s3 = s3_client(ui_env["s3_endpoint"])
    h = holdout()
    ev = evaluate(h, challenger=model(h, 0.5, 1), champion=model(h, 0.3, 2), baseline=model(h, 0.1, 3))
    backtest = decide_backtest(ev)
    arns = {v: f"{ACCOUNT_ARN}:solution/{UP}/{v}" for v in ("backtestv", "refitv")}
    for version, hour in (("backtestv", 1), ("refitv", 2)):  # the refit: trained on all data after the gate
        record_version(s3, BUCKET, OWN, make_version_record(
            dataset_group=DG, solution=UP, recipe="arn:aws:personalize:::recipe/aws-user-personalization",
            solution_version_arn=arns[version], run_id="r-backtest", metrics={NDCG: 0.3},
            created_at=datetime(2026, 11, 2, hour, tzinfo=UTC)))  # fmt: skip
    record_gate_decision(s3, BUCKET, OWN, DG, backtest.to_record(
        campaign=CAMPAIGN, champion_arn="arn:champion", challenger_arn=arns["backtestv"], run_id="r-backtest",
        decided_at=datetime(2026, 11, 2, 3, tzinfo=UTC)))  # fmt: skip
    offline = decide({NDCG: 0.2}, {NDCG: 0.25}, NDCG)
    record_gate_decision(s3, BUCKET, OWN, DG, offline.to_record(
        campaign=CAMPAIGN, champion_arn="arn:champion", challenger_arn="arn:other", run_id="r-offline",
        decided_at=datetime(2026, 11, 1, tzinfo=UTC)))  # fmt: skip
    cfg = tmp_path / "intervals.yaml"
    cfg.write_text(CONFIG.replace(f"prefix: {PREFIX}", f"prefix: {OWN}"))
    monkeypatch.setenv("PERSONALIZE_PIPELINE_CONFIG", str(cfg))

    html = client.get(PAGE, headers={"Authorization": f"Bearer {admin_token}"}).text
    assert "<th>difference (interval)</th>" in html
    cells = [unescape(c) for c in re.findall(r'<td class="interval">(.*?)</td>', html)]
    assert len(cells) == 2, cells
    newest, oldest = cells  # newest decision first
    vc, vb = ev.versus_champion, ev.versus_baseline
    assert backtest.promoted and vc.low > 0
    assert newest == f"backtest: vs champion: {vc.describe()}<br>vs baseline: {vb.describe()}"
    assert f"{vc.low:+.1%} .. {vc.high:+.1%}" in newest and "99% interval" in newest
    assert oldest == "offline metrics: no interval"
    campaigns = re.search(r'<table class="campaigns">(.*?)</table>', html).group(1)
    assert f"<td>{CAMPAIGN}</td>" in campaigns and "<td>refitv</td>" in campaigns, campaigns
