"""The S3 layout: every area is keyed by dataset group, and no group's area contains another's."""

import pytest
from personalize_ops import s3_layout


def test_documented_keys():
    assert s3_layout.staging_key("pz/", "dg", "interactions", "ab12") == "pz/staging/dg/interactions/ab12.csv"
    assert s3_layout.batch_key("pz", "dg", "daily", "tok", "input", "part-00000.jsonl") == (
        "pz/batch/dg/daily/tok/input/part-00000.jsonl"
    )
    assert s3_layout.history_key("pz", "dg", "sol", "v1") == "pz/metrics/history/dg/sol/v1.json"
    assert s3_layout.gate_key("pz", "dg", "camp", "run1") == "pz/metrics/gate/dg/camp/run1.json"
    assert s3_layout.group_areas("", "dg") == {
        "staging": "staging/dg/",
        "batch": "batch/dg/",
        "history": "metrics/history/dg/",
        "gate": "metrics/gate/dg/",
        "exp_logs": "experiments/logs/dg/",
        "exp_reports": "experiments/reports/dg/",
        "attribution": "attribution/dg/",
        "cadence": "cadence/dg/",
        "privacy": "privacy/dg/",
    }
    assert s3_layout.roots("pz") == [
        "pz/attribution/", "pz/batch/", "pz/cadence/", "pz/experiments/", "pz/metrics/", "pz/privacy/", "pz/staging/"
    ]
    assert s3_layout.experiment_log_prefix("pz", "dg", "ab", "events") == "pz/experiments/logs/dg/ab/events/"
    assert s3_layout.experiment_report_key("pz", "dg", "ab", "r1") == "pz/experiments/reports/dg/ab/r1.json"
    assert s3_layout.lock_key("pz", "dg") == "pz/cadence/dg/lock.json"
    assert s3_layout.watermark_key("pz", "dg", "interactions") == "pz/cadence/dg/watermark/interactions.json"
    assert s3_layout.deny_list_key("pz", "dg") == "pz/privacy/dg/deny-list.csv"
    assert s3_layout.deletion_input_key("pz", "dg", "job1") == "pz/privacy/dg/deletions/job1/users.csv"


def test_every_key_of_a_group_is_inside_its_area_and_outside_a_similarly_named_group():
    areas, other = s3_layout.group_areas("pz", "dg"), s3_layout.group_areas("pz", "dg-2")
    keys = {
        "staging": s3_layout.staging_key("pz", "dg", "items", "ff"),
        "batch": s3_layout.batch_key("pz", "dg", "job", "tok", "output", "part-00000/"),
        "history": s3_layout.history_key("pz", "dg", "sol", "v1"),
        "gate": s3_layout.gate_key("pz", "dg", "camp", "run1"),
        "exp_logs": s3_layout.experiment_log_prefix("pz", "dg", "ab", "exposures") + "part.jsonl",
        "exp_reports": s3_layout.experiment_report_key("pz", "dg", "ab", "run1"),
        "cadence": s3_layout.watermark_key("pz", "dg", "interactions"),
        "privacy": s3_layout.deny_list_key("pz", "dg"),
    }
    for name, key in keys.items():
        assert key.startswith(areas[name])
        assert not any(key.startswith(a) for a in other.values()), (name, key)
    assert all(any(a.startswith(r) for r in s3_layout.roots("pz")) for a in areas.values())


@pytest.mark.parametrize("group", ["", "a/b"])
def test_a_key_part_cannot_change_the_layout(group):
    with pytest.raises(s3_layout.KeyPartError, match="dataset_group"):
        s3_layout.staging_key("pz", group, "interactions", "ab12")
