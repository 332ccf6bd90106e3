"""Records the page cannot show (bad JSON, missing fields, wrong types, too big) are error rows naming the S3
key, never a 500; the page reads a bounded number of records and says so when it shows fewer than exist."""

import json
import re
from datetime import UTC, datetime

from personalize_ops.metrics import make_version_record, record_version

from tests.fixtures.moto_server import s3_client
from tests.ui.conftest import BUCKET, CONFIG, DG, PAGE, PREFIX, UP

BROKEN = "pipelines/broken"  # a prefix of its own: the seeded history the other tests chart stays as it is


def _points(html: str) -> list[str]:
    return re.findall(r'class="point(?: promoted)?"[^>]*data-value="([0-9.]+)"', html)


def test_malformed_records_are_error_rows_naming_their_key(client, admin_token, ui_env, monkeypatch, tmp_path):
    s3 = s3_client(ui_env["s3_endpoint"])
    record_version(s3, BUCKET, BROKEN, make_version_record(
        dataset_group=DG, solution=UP, recipe="arn:aws:personalize:::recipe/aws-user-personalization",
        solution_version_arn="arn:aws:personalize:us-east-1:000000000000:solution/x/good", run_id="r1",
        created_at=datetime(2026, 11, 1, tzinfo=UTC), metrics={"normalized_discounted_cumulative_gain_at_10": 0.25},
    ))  # fmt: skip
    good = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{BROKEN}/metrics/history/{DG}/{UP}/good.json")["Body"].read())
    history, gate = f"{BROKEN}/metrics/history/{DG}/{UP}", f"{BROKEN}/metrics/gate/{DG}/c"
    bad = {
        f"{history}/not-json.json": b"{not json",
        f"{history}/missing.json": json.dumps({"solution": UP}).encode(),
        f"{history}/metrics-text.json": json.dumps({**good, "metrics": "high"}).encode(),
        f"{history}/infinite.json": json.dumps({**good, "metrics": {"coverage": 1e400}}).encode(),
        f"{history}/array.json": b"[1, 2]",
        f"{history}/huge.json": json.dumps({**good, "pad": "x" * 70_000}).encode(),  # over the 64 KiB bound
        f"{gate}/promoted-text.json": json.dumps({"campaign": "c", "champion_arn": None, "challenger_arn": "a",
                                                  "metric": "coverage", "champion_value": None,
                                                  "challenger_value": 0.1, "baseline_value": None, "margin": 0.02,
                                                  "promoted": "yes", "reason": "r", "run_id": "r1",
                                                  "decided_at": "2026-11-01T00:00:00+00:00"}).encode(),  # fmt: skip
        f"{gate}/campaign-number.json": json.dumps({"campaign": 5, "champion_arn": None, "challenger_arn": "a",
                                                    "metric": "coverage", "champion_value": None,
                                                    "challenger_value": 0.1, "baseline_value": None, "margin": 0.02,
                                                    "promoted": True, "reason": "r", "run_id": "r2",
                                                    "decided_at": "2026-11-01T00:00:00+00:00"}).encode(),  # fmt: skip
        f"{gate}/latin1.json": "{\"reason\": \"caf\xe9\"}".encode("latin-1"),
    }
    for key, body in bad.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    cfg = tmp_path / "broken.yaml"
    cfg.write_text(CONFIG.replace(f"prefix: {PREFIX}", f"prefix: {BROKEN}"))
    monkeypatch.setenv("PERSONALIZE_PIPELINE_CONFIG", str(cfg))

    r = client.get(PAGE, headers={"Authorization": f"Bearer {admin_token}"})
    assert r.status_code == 200, r.text
    rows = dict(re.findall(r'<tr class="record-error"><td colspan="\d+">.*?<code>s3://[^/]+/([^<]+)</code>: (.*?)</td>',
                           r.text))  # fmt: skip
    assert set(rows) == set(bad), rows
    assert rows[f"{history}/not-json.json"].startswith("not valid JSON")
    assert rows[f"{history}/missing.json"].startswith("solution version record is missing dataset_group")
    assert rows[f"{history}/metrics-text.json"].startswith("metrics=&#x27;high&#x27;: expected a mapping")
    assert "expected a finite number" in rows[f"{history}/infinite.json"]
    assert rows[f"{history}/array.json"] == "expected a JSON object, found list"
    assert rows[f"{history}/huge.json"].endswith("bytes, more than the 65,536 a record may have; not read")
    assert rows[f"{gate}/promoted-text.json"].startswith("promoted=&#x27;yes&#x27;: expected true or false")
    assert rows[f"{gate}/campaign-number.json"].startswith("campaign=5: must be a non-empty string")
    assert rows[f"{gate}/latin1.json"].startswith("not valid JSON")
    assert "9 unreadable records" in r.text
    assert _points(r.text) == ["0.2500"]  # the good record is still charted


def test_reads_are_bounded_and_truncation_is_stated(client, admin_token, monkeypatch):
    from personalize_ui_app import data

    auth = {"Authorization": f"Bearer {admin_token}"}
    assert len(_points(client.get(PAGE, headers=auth).text)) == 6  # the seeded history: 3 runs x 2 solutions
    monkeypatch.setattr(data, "MAX_RECORDS", 4)
    html = client.get(PAGE, headers=auth).text
    assert len(_points(html)) == 4
    assert "truncated: showing the newest 4 of 6 solution-version records (the page reads at most 4)" in html
    assert "gate decisions (the page reads" not in html  # 3 decisions: all shown
    assert html.count('<span class="yes">promoted</span>') + html.count("kept champion") == 3
