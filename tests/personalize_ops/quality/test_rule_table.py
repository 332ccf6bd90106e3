"""The rule table's own parts, without a prepare run: row masks, the chunk-statistics suite, the whole-file totals
recorded in the results, and the words that explain a timestamp window."""

from __future__ import annotations

import json
import os
import time

import pandas as pd
import pyarrow as pa
import pytest
from personalize_ops.quality import DataQualityError
from personalize_ops.quality.gx_runner import SuiteRunner
from personalize_ops.quality.rules import (
    UNPARSEABLE,
    header_rule,
    milliseconds_hint,
    row_rules,
    schema_fields,
    stats_rules,
    totals_rules,
    window_reason,
)
from personalize_ops.transform import prepare_dataset

from tests.personalize_ops.transform.dataprep_helpers import interactions_rows, make_config, write_csv

AVRO = {"fields": [{"name": n, "type": "long" if n == "TIMESTAMP" else "string"}
                   for n in ("USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE")]}  # fmt: skip


def test_an_unparseable_flag_counts_only_when_set():
    """The parser's flag column: true breaks timestamp_unparseable; false and missing (null) do not."""
    rule = next(r for r in row_rules("interactions", AVRO, ["TIMESTAMP"], (None, 2_000_000_000))
                if r.name == "timestamp_unparseable")  # fmt: skip
    t = pa.table({UNPARSEABLE + "TIMESTAMP": pa.array([True, False, None], pa.bool_())})
    assert rule.mask(t).to_pylist() == [True, False, False]


def test_the_chunk_statistics_suite_fails_on_one_violation_and_names_the_rule():
    """gx_mode=stats: each per-chunk count must be 0; one row breaking a rule fails it, named by the rule."""
    runner = SuiteRunner("interactions.chunk_stats.test", stats_rules(["id_null:USER_ID", "header_order_mismatch"]))
    ok, _ = runner.validate(pd.DataFrame([{"id_null:USER_ID": 0, "header_order_mismatch": 0}] * 2))
    assert ok
    ok, _ = runner.validate(pd.DataFrame([{"id_null:USER_ID": 0, "header_order_mismatch": 0},
                                          {"id_null:USER_ID": 1, "header_order_mismatch": 0}]))  # fmt: skip
    assert not ok
    failed = [t for t in runner.tally if not t["success"]]
    assert [(t["rule"], t["column"], t["reason"]) for t in failed] == [
        ("id_null", "id_null:USER_ID", "rows breaking id_null:USER_ID per chunk")
    ]
    assert [t["rule"] for t in runner.tally] == ["id_null", "header_order_mismatch"]


def test_the_results_record_each_whole_file_rule_with_its_observed_value_and_bounds(tmp_path):
    write_csv(tmp_path / "interactions.csv", ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"], interactions_rows())
    res = prepare_dataset(make_config(tmp_path), "interactions", tmp_path / "out")
    totals = json.loads(open(res.report_paths["results"]).read())["checks"]["totals"]
    size = os.path.getsize(res.csv_path)
    assert {t["rule"]: (t["column"], t["observed"], t["min"], t["max"], t["success"]) for t in totals} == {
        "file_size": ("output_bytes", size, None, 100 * 1024**3, True),
        "min_interactions": ("rows", 1000, 1000, None, True),
        "min_users_2plus": ("users_with_2plus", 50, 25, None, True),
        "event_type_categorical": ("event_type_categorical", 0, 0, 0, True),
    }


@pytest.fixture
def new_york_time():
    """Local time that is not UTC, so a message that says UTC must not print local time."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ")
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_the_window_is_stated_in_utc_whatever_the_local_time(new_york_time):
    assert window_reason("interactions", "TIMESTAMP", None, 1_600_000_000) == (
        "TIMESTAMP is after 2020-09-13 12:26 UTC (epoch seconds 1600000000; the window's end is "
        "datasets.interactions.quality.timestamp_max, default now + 1 day)"
    )
    assert window_reason("items", "CREATION_TIMESTAMP", 0, 1_600_000_000) == (
        "CREATION_TIMESTAMP is outside 1970-01-01 00:00 UTC..2020-09-13 12:26 UTC (epoch seconds 0..1600000000; "
        "set by datasets.items.quality.timestamp_min and datasets.items.quality.timestamp_max)"
    )
    assert "epoch 10000000000000000" in window_reason("items", "C", None, 10**16)  # past year 9999: the number


def test_the_milliseconds_hint_says_what_to_declare():
    assert milliseconds_hint(pa.array([1_600_000_000, 1_600_000_000_000, 99_999_999_999])) == (
        "1 of these values are >= 1e11, which as epoch seconds is after the year 5000: they look like epoch "
        "milliseconds; declare timestamp: epoch_ms on the field"
    )
    assert milliseconds_hint(pa.array([1_600_000_000, 99_999_999_999])) is None


def test_a_range_rule_leaves_missing_values_to_the_null_rules():
    """id_too_long counts a value outside 1..256 characters; a missing value is id_null's, not counted twice."""
    rule = next(r for r in row_rules("interactions", AVRO, [], (None, 2_000_000_000)) if r.name == "id_too_long")
    t = pa.table({"USER_ID": ["u", None, "x" * 257], "ITEM_ID": ["i", "i", "i"]})
    assert rule.mask(t).to_pylist() == [False, False, True]


def test_the_header_rule_fails_on_another_order_and_says_which_order():
    avro = {"fields": [{"name": "ITEM_ID", "type": "string"}, {"name": "GENRE", "type": "string"}]}
    runner = SuiteRunner("items.header.test", [header_rule(avro)])
    assert runner.validate(pd.DataFrame({"ITEM_ID": ["i"], "GENRE": ["g"]}))[0]
    assert not runner.validate(pd.DataFrame({"GENRE": ["g"], "ITEM_ID": ["i"]}))[0]
    assert [(t["rule"], t["column"], t["reason"], t["success"]) for t in runner.tally] == [
        ("header_order", "*", "CSV header must equal the schema field order ['ITEM_ID', 'GENRE']", False)
    ]


def _prepare_failures(tmp_path, rows, quality=None):
    write_csv(tmp_path / "interactions.csv", ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"], rows)

    def edit(c):
        c["datasets"]["interactions"]["quality"] = quality or {}

    return prepare_dataset(make_config(tmp_path, edit), "interactions", tmp_path / "out")


def test_each_row_rule_failure_carries_its_reason(tmp_path):
    rows = interactions_rows(1010)
    rows[0][0], rows[1][3], rows[2][2], rows[3][2] = None, None, "yesterday", 4_000_000_000
    with pytest.raises(DataQualityError) as ei:
        _prepare_failures(tmp_path, rows, {"timestamp_max": 3_000_000_000})
    reasons = {(f["rule"], f["column"].removeprefix(UNPARSEABLE)): f["reason"] for f in ei.value.failures}
    assert reasons[("id_null", "USER_ID")] == "USER_ID is missing in the source"
    assert reasons[("null_not_allowed", "EVENT_TYPE")] == (
        "EVENT_TYPE is empty/null but the schema declares it 'string', not [\"null\", 'string']"
    )
    assert reasons[("timestamp_unparseable", "TIMESTAMP")] == (
        "TIMESTAMP is present but cannot be parsed as the configured timestamp format"
    )
    assert reasons[("timestamp_out_of_window", "TIMESTAMP")].startswith("TIMESTAMP is after 2065-01-24 05:20 UTC")


def test_missing_ids_and_unparseable_timestamps_can_be_quarantined(tmp_path):
    rows = interactions_rows(1010)
    rows[0][0], rows[2][2] = None, "yesterday"
    rules = {"id_null": "quarantine", "timestamp_unparseable": "quarantine"}
    res = _prepare_failures(tmp_path, rows, {"rules": rules})
    assert res.rows_out == 1008
    assert res.dropped == {"quarantine:id_null:USER_ID": 1, "quarantine:timestamp_unparseable:TIMESTAMP": 1}


def test_the_default_window_ends_one_day_from_now(monkeypatch):
    from personalize_ops.quality import rules

    monkeypatch.setattr(rules.time, "time", lambda: 1_700_000_000.7)
    assert rules.default_window(None, None) == (None, 1_700_086_400)
    assert rules.default_window(5, 7) == (5, 7)


CAT_AVRO = {"fields": [{"name": "ITEM_ID", "type": "string"}, {"name": "GENRE", "type": "string", "categorical": True},
                       {"name": "COLOR", "type": "string"}, {"name": "SIZE", "type": "int", "categorical": True},
                       {"name": "CREATION_TIMESTAMP", "type": "long"}]}  # fmt: skip


def test_only_categorical_strings_have_the_length_limit():
    limited = [
        (r.column, r.reason)
        for r in row_rules("items", CAT_AVRO, [], (None, 2**40))
        if r.name == "categorical_too_long"
    ]
    assert limited == [("GENRE", "categorical GENRE longer than 1000 characters")]


@pytest.mark.parametrize(
    ("rule", "column", "values"),
    [
        ("categorical_too_long", "GENRE", ["g" * 999, "g" * 1000, "g" * 1001, "g" * 1002]),
        ("id_too_long", "ITEM_ID", ["", "i", "i" * 256, "i" * 257]),
        ("timestamp_milliseconds", "CREATION_TIMESTAMP", [99_999_999_998, 99_999_999_999, 100_000_000_000]),
        ("timestamp_out_of_window", "CREATION_TIMESTAMP", [9, 10, 11, 20, 21]),
    ],
)
def test_gx_and_the_row_mask_agree_at_each_boundary(rule, column, values):
    """GX validates with the expectation's kwargs, quarantine and example rows use the mask: both must count the
    same rows, value by value around each bound."""
    r = next(x for x in row_rules("items", CAT_AVRO, [], (10, 20)) if (x.name, x.column) == (rule, column))
    for v in values:
        t = pa.table({column: [v]})
        runner = SuiteRunner(f"items.boundary.{rule}.{column}", [r])
        ok, _ = runner.validate(t.to_pandas())
        assert ok is (not r.mask(t).to_pylist()[0]), (rule, v)


def test_whole_file_rules_state_the_limits_in_their_reasons():
    reasons = {m: {r.name: r.reason for r in totals_rules("interactions", AVRO, m)} for m in ("FULL", "INCREMENTAL")}
    assert reasons["FULL"]["file_size"] == "FULL imports allow at most 100 GB per file"
    assert reasons["INCREMENTAL"]["file_size"] == "INCREMENTAL imports allow at most 1 GB per file"
    assert reasons["FULL"]["min_interactions"] == "Personalize needs at least 1000 interactions"
    assert reasons["FULL"]["min_users_2plus"] == "Personalize needs at least 25 users with 2 or more interactions"
    r = next(r for r in row_rules("interactions", AVRO, [], (None, 2**40)) if r.name == "timestamp_milliseconds")
    assert r.reason == ("TIMESTAMP values >= 1e11 look like epoch milliseconds; Personalize needs epoch seconds "
                        "(declare timestamp: epoch_ms)")  # fmt: skip


def test_schema_fields_read_nullable_unions_and_categorical_flags():
    avro = {"fields": [{"name": "A", "type": ["null", "long"]}, {"name": "B", "type": "string", "categorical": True},
                       {"name": "C", "type": ["null"]}, {"name": "D", "type": "float"}]}  # fmt: skip
    assert schema_fields(avro) == [
        ("A", "long", True, False),
        ("B", "string", False, True),
        ("C", "string", True, False),
        ("D", "float", False, False),
    ]
    assert schema_fields({}) == []


def test_metadata_datasets_have_their_own_whole_file_rules():
    items = {"fields": [{"name": "ITEM_ID", "type": "string"}, {"name": "GENRE", "type": "string"}]}
    rules = {r.name: (r.column, r.kwargs, r.reason) for r in totals_rules("items", items, "FULL")}
    assert rules == {
        "file_size": ("output_bytes", {"column": "output_bytes", "max_value": 100 * 1024**3},
                      "FULL imports allow at most 100 GB per file"),
        "min_rows": ("rows", {"column": "rows", "min_value": 1}, "items need at least one row"),
        "metadata_field_count": ("metadata_fields", {"column": "metadata_fields", "min_value": 1, "max_value": 50},
                                 "items need 1..50 metadata fields besides the ID"),
    }  # fmt: skip
    users = {r.name: r.reason for r in totals_rules("users", items, "FULL")}
    assert users["metadata_field_count"] == "users need 1..5 metadata fields besides the ID"
    interactions = {r.name: r.reason for r in totals_rules("interactions", AVRO, "FULL")}
    assert interactions["event_type_categorical"] == "EVENT_TYPE must not be declared categorical"
