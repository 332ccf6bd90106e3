"""Each Personalize / source rule: one failing input, one passing input (through prepare_dataset + GX)."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from personalize_ops.quality import DataQualityError
from personalize_ops.quality.gx_runner import SuiteRunner
from personalize_ops.quality.rules import SIZE_LIMIT, totals_row, totals_rules
from personalize_ops.transform import prepare_dataset

from tests.personalize_ops.transform.dataprep_helpers import interactions_rows, make_config, write_csv

HEADER = ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"]


def run(tmp_path, rows, update=None, kind="interactions", header=HEADER, csv="interactions.csv"):
    write_csv(tmp_path / csv, header, rows)
    cfg = make_config(tmp_path, update)
    return prepare_dataset(cfg, kind, tmp_path / "out")


def failed_rules(tmp_path, rows, update=None, **kw) -> tuple[set[str], DataQualityError]:
    with pytest.raises(DataQualityError) as ei:
        run(tmp_path, rows, update, **kw)
    return {f["rule"] for f in ei.value.failures}, ei.value


def test_valid_interactions_pass_and_write_reports(tmp_path):
    res = run(tmp_path, interactions_rows())
    assert res.rows_out == 1000 and res.users == 50
    summary = json.loads(open(res.report_paths["results"]).read())
    assert all(s["success"] for s in summary["suites"])


def test_empty_user_id_fails_with_rows_and_reports(tmp_path):
    rows = interactions_rows()
    rows[5][0] = None
    rules, err = failed_rules(tmp_path, rows)
    assert "id_null" in rules
    msg = str(err)
    assert "USER_ID" in msg and "1 of 1000 rows" in msg and "'source_row': 5" in msg
    assert (tmp_path / "out/interactions/interactions.gx_results.json").exists()
    assert err.report_paths["data_docs"].endswith("index.html")
    assert not (tmp_path / "out/interactions/interactions.csv").exists()  # no half-written output


def test_id_length_limit(tmp_path):
    rows = interactions_rows()
    rows[0][1] = "x" * 256
    assert run(tmp_path, rows).rows_out == 1000
    rows[0][1] = "x" * 257
    rules, err = failed_rules(tmp_path, rows)
    assert rules == {"id_too_long"} and "1..256" in str(err)


def test_timestamp_milliseconds_named(tmp_path):
    rows = interactions_rows(t0=1_600_000_000_000)

    def wide(c):
        c["datasets"]["interactions"]["quality"] = {"timestamp_max": 10**13}

    rules, err = failed_rules(tmp_path, rows, wide)
    assert rules == {"timestamp_milliseconds"} and "look like epoch milliseconds" in str(err)
    rules, err = failed_rules(tmp_path, rows)  # default window: both suites say so, in one message
    assert rules == {"timestamp_out_of_window", "timestamp_milliseconds"}
    window = next(f for f in err.failures if f["rule"] == "timestamp_out_of_window")
    assert "1000 of these values are >= 1e11" in window["note"] and "epoch_ms" in window["note"]

    def as_ms(c):
        c["datasets"]["interactions"]["fields"][2]["timestamp"] = "epoch_ms"

    assert run(tmp_path, rows, as_ms).time_min == 1_600_000_000


def test_timestamp_unparseable_and_window(tmp_path):
    rows = interactions_rows()
    rows[3][2] = "yesterday"
    rules, err = failed_rules(tmp_path, rows)
    assert "timestamp_unparseable" in rules and "'source_row': 3" in str(err)
    rows = interactions_rows(t0=100)
    assert run(tmp_path, rows).time_min == 100  # no lower bound by default

    def since_2020(c):
        c["datasets"]["interactions"]["quality"] = {"timestamp_min": 1577836800}

    rules, err = failed_rules(tmp_path, rows, since_2020)
    assert rules == {"timestamp_out_of_window"}
    assert "datasets.interactions.quality.timestamp_min" in str(err) and "2020-01-01" in str(err)
    assert "milliseconds" not in str(err)  # small values: no millisecond hint


def test_event_type_must_not_be_categorical(tmp_path):
    def cat(c):
        c["datasets"]["interactions"]["fields"][3]["categorical"] = True

    assert failed_rules(tmp_path, interactions_rows(), cat)[0] == {"event_type_categorical"}


def test_categorical_length_limit(tmp_path):
    def with_genre(c):
        c["datasets"]["interactions"]["fields"].append({"name": "GENRE", "categorical": True})

    rows = [[*r, "g"] for r in interactions_rows()]
    rows[0][4] = "g" * 1000
    assert run(tmp_path, rows, with_genre, header=[*HEADER, "GENRE"]).rows_out == 1000
    rows[0][4] = "g" * 1001
    assert failed_rules(tmp_path, rows, with_genre, header=[*HEADER, "GENRE"])[0] == {"categorical_too_long"}


def test_minimum_interactions(tmp_path):
    assert run(tmp_path, interactions_rows(1000)).rows_out == 1000
    rules, err = failed_rules(tmp_path, interactions_rows(999))
    assert rules == {"min_interactions"} and "999" in str(err)


def test_minimum_users_with_two_interactions(tmp_path):
    base = interactions_rows(1000, users=25)
    assert run(tmp_path, base).users == 25
    rows = [r for r in base if r[0] != "u0"] + [["u0", "i1", 1_600_000_000, "click"]]
    rows += [["solo", "i1", 1_600_000_001, "click"]] * 0 + [
        [f"x{i}", "i1", 1_600_000_000, "click"] for i in range(40)
    ]
    rules, err = failed_rules(tmp_path, rows)
    assert rules == {"min_users_2plus"} and "24" in str(err)


def test_header_order_must_match_schema(tmp_path):
    schema = {
        "type": "record",
        "name": "Interactions",
        "namespace": "com.amazonaws.personalize.schema",
        "fields": [{"name": n, "type": "long" if n == "TIMESTAMP" else "string"} for n in HEADER],
        "version": "1.0",
    }
    (tmp_path / "same.avsc").write_text(json.dumps(schema))
    schema["fields"] = [schema["fields"][i] for i in (1, 0, 2, 3)]
    (tmp_path / "swapped.avsc").write_text(json.dumps(schema))

    def use(name):
        return lambda c: c["datasets"]["interactions"].update(schema_file=name)

    assert run(tmp_path, interactions_rows(), use("same.avsc")).rows_out == 1000
    rules, err = failed_rules(tmp_path, interactions_rows(), use("swapped.avsc"))
    assert rules == {"header_order"} and "ITEM_ID" in str(err)


def _items(c, fields, path="items.csv"):
    c["datasets"]["items"] = {"source": {"path": path}, "fields": fields}


def test_items_metadata_field_count_and_nullability(tmp_path):
    only_id = [{"name": "ITEM_ID"}]
    rows = [[f"i{i}", None if i == 3 else 2000 + i] for i in range(10)]
    rules, _ = failed_rules(
        tmp_path,
        [[r[0]] for r in rows],
        lambda c: _items(c, only_id),
        kind="items",
        header=["ITEM_ID"],
        csv="items.csv",
    )
    assert rules == {"metadata_field_count"}
    year = [{"name": "ITEM_ID"}, {"name": "YEAR", "type": "int"}]
    kw = {"kind": "items", "header": ["ITEM_ID", "YEAR"], "csv": "items.csv"}
    rules, err = failed_rules(tmp_path, rows, lambda c: _items(c, year), **kw)
    assert rules == {"null_not_allowed"} and "YEAR" in str(err) and "'ITEM_ID': '<masked 2 chars #" in str(err)
    year[1]["nullable"] = True
    ok = run(
        tmp_path, rows, lambda c: _items(c, year), kind="items", header=["ITEM_ID", "YEAR"], csv="items.csv"
    )
    assert ok.rows_out == 10


def test_creation_timestamp_must_be_seconds(tmp_path):
    fields = [{"name": "ITEM_ID"}, {"name": "CREATION_TIMESTAMP", "type": "long", "timestamp": "epoch_s"}]

    def upd(c):
        _items(c, fields)
        c["datasets"]["items"]["quality"] = {"timestamp_max": 10**13}

    rows = [[f"i{i}", 1_600_000_000 + i] for i in range(5)]
    kw = {"kind": "items", "header": ["ITEM_ID", "CREATION_TIMESTAMP"], "csv": "items.csv"}
    assert run(tmp_path, rows, upd, **kw).rows_out == 5
    rows[2][1] = 1_600_000_000_000
    assert failed_rules(tmp_path, rows, upd, **kw)[0] == {"timestamp_milliseconds"}


def test_users_at_most_five_metadata_fields(tmp_path):
    def users(n):
        fields = [{"name": "USER_ID"}] + [{"name": f"A{i}"} for i in range(n)]
        return lambda c: c["datasets"].update(users={"source": {"path": "users.csv"}, "fields": fields})

    kw = {"kind": "users", "csv": "users.csv"}
    five = [["u1", *"abcde"]]
    assert run(tmp_path, five, users(5), header=["USER_ID", *[f"A{i}" for i in range(5)]], **kw).rows_out == 1
    six = [["u1", *"abcdef"]]
    assert failed_rules(tmp_path, six, users(6), header=["USER_ID", *[f"A{i}" for i in range(6)]], **kw)[
        0
    ] == {"metadata_field_count"}


def test_file_size_limits_by_import_mode():
    avro = {"fields": [{"name": "ITEM_ID", "type": "string"}, {"name": "A", "type": "string"}]}
    for mode in ("FULL", "INCREMENTAL"):
        runner = SuiteRunner(f"items.sizetest.{mode}", totals_rules("items", avro, mode))
        import pandas as pd

        ok, _ = runner.validate(pd.DataFrame([totals_row("items", avro, 10, 0, SIZE_LIMIT[mode])]))
        bad, _ = runner.validate(pd.DataFrame([totals_row("items", avro, 10, 0, SIZE_LIMIT[mode] + 1)]))
        assert ok and not bad
        assert {t["rule"] for t in runner.tally if not t["success"]} == {"file_size"}


def test_required_source_columns(tmp_path):
    write_csv(
        tmp_path / "interactions.csv", ["USER_ID", "ITEM", "TIMESTAMP", "EVENT_TYPE"], interactions_rows(5)
    )
    with pytest.raises(DataQualityError, match="required columns missing .*ITEM_ID"):
        prepare_dataset(make_config(tmp_path), "interactions", tmp_path / "out")


def test_quarantine_keeps_going_and_counts(tmp_path):
    rows = interactions_rows(1010)
    for i in range(10):
        rows[i * 100][1] = "y" * 300

    def q(c):
        c["datasets"]["interactions"]["quality"] = {"rules": {"id_too_long": "quarantine"}}

    res = run(tmp_path, rows, q)
    assert res.rows_out == 1000 and res.dropped == {"quarantine:id_too_long:ITEM_ID": 10}
    qrows = open(res.quarantine_path).read().splitlines()
    assert qrows[0] == "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,__source_row,reason,file,line,raw" and len(qrows) == 11
    assert qrows[1] == f"u0,{'y' * 300},1600000000,click,0,id_too_long:ITEM_ID,,,"  # full values, unmasked
    rows = interactions_rows(1005)
    for i in range(10):
        rows[i * 100][1] = "y" * 300
    rules, _ = failed_rules(tmp_path, rows, q)  # what remains is below the minimum
    assert rules == {"min_interactions"}


def test_gx_rows_mode_validates_every_row(tmp_path):
    def rows_mode(c):
        c["datasets"]["interactions"]["quality"] = {"gx_mode": "rows"}

    res = run(tmp_path, interactions_rows(), rows_mode)
    summary = json.loads(open(res.report_paths["results"]).read())
    per = next(s for s in summary["suites"] if s["suite"] == "interactions.personalize")
    assert per["gx_batches"] == 1 and per["expectations"][1]["element_count"] == 1000
    assert summary["checks"]["rows_checked"] == 1000
    rows = interactions_rows()
    rows[7][1] = None
    rules, err = failed_rules(tmp_path, rows, rows_mode)
    assert rules == {"id_null", "null_not_allowed"} and "'source_row': 7" in str(err)  # both suites, one message


@pytest.mark.parametrize(("value", "flagged"), [(99_999_999_999, False), (100_000_000_000, True)])
def test_millisecond_detection_threshold(tmp_path, value, flagged):
    """Epoch seconds below 1e11 pass (year 5138); from 1e11 on they read as milliseconds (GX and the row mask)."""
    from personalize_ops.quality.rules import row_rules

    rule = next(r for r in row_rules("interactions", {"fields": [{"name": "TIMESTAMP", "type": "long"}]}, [], (0, 1))
                if r.name == "timestamp_milliseconds")  # fmt: skip
    mask = rule.mask(pa.table({"TIMESTAMP": pa.array([1_600_000_000, value], pa.int64())}))
    assert mask.to_pylist() == [False, flagged]

    rows = interactions_rows()
    rows[7][2] = value

    def wide(c):
        c["datasets"]["interactions"]["quality"] = {"timestamp_max": 10**13}

    if not flagged:
        assert run(tmp_path, rows, wide).rows_out == 1000
        return
    rules, err = failed_rules(tmp_path, rows, wide)
    assert rules == {"timestamp_milliseconds"} and "1 of 1000 rows" in str(err) and "'source_row': 7" in str(err)
