"""The Spark engine against the single-machine engine on the same fixtures: the same rows (sorted), drop counts per
reason, quarantine file, statistics and, for a rule set to 'fail', the same error content for each rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from personalize_ops.quality import DataQualityError
from personalize_ops.transform import prepare_dataset

from tests.personalize_ops.transform.dataprep_helpers import interactions_rows, make_config, write_csv

pytestmark = pytest.mark.xdist_group("spark")
HEADER = ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"]
SAME = ("rows_in", "rows_out", "dropped", "values_nulled", "users", "items", "time_min", "time_max", "output_bytes")


def _rows(path: str) -> list[tuple]:
    """The CSV's data rows as text, sorted (each engine writes rows in its own order)."""
    lines = Path(path).read_text().splitlines()
    return [lines[0], *sorted(lines[1:])]


def _both(spark, cfg, tmp_path: Path, dataset: str = "interactions", **spark_kw):
    from personalize_ops.transform.spark.prepare import prepare_dataset_spark

    single = prepare_dataset(cfg, dataset, tmp_path / "single")
    sparked = prepare_dataset_spark(spark, cfg, dataset, tmp_path / "spark", **spark_kw)
    return single, sparked


def _assert_same(single, sparked):
    for key in SAME:
        assert getattr(sparked, key) == getattr(single, key), key
    assert _rows(sparked.csv_path) == _rows(single.csv_path)
    if single.quarantine_path:
        assert Path(sparked.quarantine_path).read_bytes() == Path(single.quarantine_path).read_bytes()
    else:
        assert sparked.quarantine_path is None


def test_quarantine_duplicates_and_parse_problems_across_files(spark, tmp_path):
    """Two part files: duplicates inside and across files, every quarantinable row rule and a ragged row; the rows
    spread over more partitions than files."""
    src = tmp_path / "interactions"
    src.mkdir()
    rows = interactions_rows(1200)
    bad = [
        [None, "i1", 1_600_000_000, "click"],  # id_null
        ["u1", "i1", "abc", "click"],  # timestamp_unparseable
        ["u2", "i2", 900_000_000, "click"],  # timestamp_out_of_window
        ["u3", "i3", 1_600_000_000_000, "click"],  # timestamp_milliseconds
        ["u" + "x" * 300, "i4", 1_600_000_000, "click"],  # id_too_long
    ]
    write_csv(src / "part-0.csv", HEADER, rows[:700] + rows[:3] + bad[:3])
    text = write_csv(src / "part-1.csv", HEADER, rows[700:] + rows[:2] + bad[3:]).read_text()
    (src / "part-1.csv").write_text(text + "u9,i9,1600000000,click,extra\n")  # ragged

    def update(c):
        ds = c["datasets"]["interactions"]
        ds["source"]["path"] = "interactions"
        ds["quality"] = {"on_fail": "quarantine"}

    # 8 KB partitions: the parsed rows are spread over more partitions than files (as big files are)
    single, sparked = _both(spark, make_config(tmp_path, update), tmp_path, partition_bytes=8192)
    assert single.dropped["duplicate"] == 5 and single.quarantine_path
    assert {"quarantine:ragged_row", "quarantine:id_null:USER_ID"} <= set(single.dropped)
    _assert_same(single, sparked)


def test_event_rules_split_and_float_fields(spark, tmp_path):
    """Event rules (one row, two events; rows matching none dropped), a multi-valued categorical and a float."""
    rows = [[f"u{i % 40}", f"i{i % 60}", 1_600_000_000 + i, (i * 7) % 11] for i in range(1500)]
    write_csv(tmp_path / "interactions.csv", ["USER_ID", "ITEM_ID", "TIMESTAMP", "score"], rows)

    def update(c):
        ds = c["datasets"]["interactions"]
        ds["fields"] = [*ds["fields"][:3], {"name": "EVENT_TYPE"}, {"name": "EVENT_VALUE", "type": "float"}]
        ds["event_rules"] = {"column": "score", "rules": [
            {"op": ">=", "value": 3, "event_type": "view", "event_value": "source"},
            {"op": ">=", "value": 8, "event_type": "buy", "event_value": 1.5},
        ]}  # fmt: skip

    single, sparked = _both(spark, make_config(tmp_path, update), tmp_path)
    assert single.dropped.get("no_event_rule")
    _assert_same(single, sparked)


def _failure(fn):
    with pytest.raises(DataQualityError) as e:
        fn()
    return e.value


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param([[None, "i1", 1_600_000_000, "click"], ["u1", "i1", "abc", "click"],
                      ["u2", "i2", 900_000_000, "click"], ["u2", "i2", 900_000_001, "click"]], id="source-suite"),
        pytest.param([["u" + "x" * 300, "i4", 1_600_000_000, "click"],
                      ["u3", "i3", 1_600_000_000_000, "click"]], id="personalize-suite"),
    ],
)  # fmt: skip
def test_failing_rules_give_the_same_error_content(spark, tmp_path, bad):
    from personalize_ops.transform.spark.prepare import prepare_dataset_spark

    write_csv(tmp_path / "interactions.csv", HEADER, interactions_rows(1100) + bad)
    # a fixed window end: its default (now + 1 day) is in the rule's reason and moves between the two runs
    cfg = make_config(tmp_path, lambda c: c["datasets"]["interactions"].update(quality={"timestamp_max": 2 * 10**9}))
    a = _failure(lambda: prepare_dataset(cfg, "interactions", tmp_path / "single"))
    b = _failure(lambda: prepare_dataset_spark(spark, cfg, "interactions", tmp_path / "spark"))
    assert [f["rule"] for f in a.failures] and b.failures == a.failures
    body = [line.replace(str(tmp_path / "single"), "OUT") for line in str(a).splitlines()[1:]]
    assert [line.replace(str(tmp_path / "spark"), "OUT") for line in str(b).splitlines()[1:]] == body


def test_a_ragged_row_set_to_fail_gives_the_same_message(spark, tmp_path):
    from personalize_ops.transform.spark.prepare import prepare_dataset_spark

    text = write_csv(tmp_path / "interactions.csv", HEADER, interactions_rows(1100)).read_text()
    (tmp_path / "interactions.csv").write_text(text + "u9,i9,1600000000,click,extra\n")
    cfg = make_config(tmp_path)
    a = _failure(lambda: prepare_dataset(cfg, "interactions", tmp_path / "single"))
    b = _failure(lambda: prepare_dataset_spark(spark, cfg, "interactions", tmp_path / "spark"))
    assert "ragged_row" in str(a) and str(b) == str(a) and b.failures == a.failures
