"""The prepare stage: POC reproduction, formats, parsing, event rules, dedupe, determinism, streaming."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from personalize_ops.cli import format_summary
from personalize_ops.config import load_config
from personalize_ops.quality import DataQualityError
from personalize_ops.transform import prepare_all, prepare_dataset
from personalize_ops.transform.dedupe import HashSet, row_hash
from personalize_ops.transform.mapping import parse_timestamp

from tests.personalize_ops.transform.dataprep_helpers import (
    REPO,
    SHARED,
    interactions_rows,
    make_config,
    write_csv,
    write_raw,
)

needs_shared = pytest.mark.skipif(not SHARED.exists(), reason=f"{SHARED} not present")


def rows_of(path) -> list[tuple]:
    with open(path, newline="", encoding="utf-8") as f:
        return [tuple(r) for r in csv.reader(f)]


@needs_shared
def test_movielens_poc_reproduces_reference_interactions(tmp_path):
    cfg = load_config(REPO / "include" / "movielens-poc.yaml")
    res = prepare_dataset(cfg, "interactions", tmp_path)
    got, want = rows_of(res.csv_path), rows_of(SHARED / "interactions.csv")
    assert got[0] == want[0] == ("USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE")
    assert res.rows_out == 158_371 and Counter(got[1:]) == Counter(want[1:])
    assert res.rows_in == 100_836 and res.dropped == {"no_event_rule": 4181}  # ratings <= 1
    assert res.users == 610 and res.time_min == 828124615


@needs_shared
def test_poc_item_meta_year_nulls(tmp_path):
    def items(nullable):
        def upd(c):
            c["datasets"]["items"] = {
                "source": {"path": str(SHARED / "item-meta.csv")},
                "fields": [
                    {"name": "ITEM_ID"},
                    {"name": "GENRE", "categorical": True},
                    {"name": "YEAR", "type": "int", "nullable": nullable},
                ],
            }

        return upd

    with pytest.raises(DataQualityError) as ei:
        prepare_dataset(make_config(tmp_path, items(False)), "items", tmp_path / "out")
    msg = str(ei.value)
    assert "null_not_allowed" in msg and "YEAR" in msg and "13 of 9742 rows" in msg
    assert "'ITEM_ID': '<masked 5 chars #" in msg and "not parseable" in msg and "2006–2007" in msg
    assert "40697" not in msg  # identifiers are masked in messages (quality.show_values_in_logs shows them)
    res = prepare_dataset(make_config(tmp_path, items(True)), "items", tmp_path / "out2")
    assert res.rows_out == 9742 and res.values_nulled == {"YEAR": 1}


def test_event_rules_one_row_two_events_and_dedupe(tmp_path):
    raw = ["u,i,r,t"] + [f"u{k % 31},i{k % 41},{1 + k % 5}.0,{1_600_000_000 + k}" for k in range(2000)]
    raw += raw[1:4]  # three exact duplicate source rows
    write_raw(tmp_path, "r.csv", "\n".join(raw) + "\n")

    def upd(c):
        ds = c["datasets"]["interactions"]
        ds["source"] = {"path": "r.csv"}
        ds["fields"] = [
            {"name": "USER_ID", "source": "u"},
            {"name": "ITEM_ID", "source": "i"},
            {"name": "TIMESTAMP", "source": "t", "type": "long", "timestamp": "epoch_s"},
            {"name": "EVENT_TYPE"},
            {"name": "EVENT_VALUE", "type": "float", "nullable": True},
        ]
        ds["event_rules"] = {
            "column": "r",
            "rules": [
                {"op": ">", "value": 1, "event_type": "click", "event_value": "source"},
                {"op": ">", "value": 3, "event_type": "watch"},
            ],
        }

    res = prepare_dataset(make_config(tmp_path, upd), "interactions", tmp_path / "out")
    # ratings 1..5 cycle: 1 -> none, 2,3 -> click, 4,5 -> click + watch
    assert res.rows_in == 2003 and res.dropped["no_event_rule"] == 400 + 1
    out = rows_of(res.csv_path)
    assert out[0] == ("USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE")
    assert out[1:4] == [
        ("u1", "i1", "1600000001", "click", "2"),
        ("u2", "i2", "1600000002", "click", "3"),
        ("u3", "i3", "1600000003", "click", "4"),
    ]
    assert out[4] == ("u3", "i3", "1600000003", "watch", "")
    assert res.dropped["duplicate"] == 2  # source rows 0..2 repeated: 0 has no event, 1 and 2 one click each
    assert res.rows_out == 1600 + 800 and len(out) - 1 == res.rows_out


@pytest.mark.parametrize(
    "how,values,expected",
    [
        ("epoch_s", ["1600000000", "1600000000.9", "x"], [1600000000, 1600000000, None]),
        ("epoch_ms", ["1600000000123", "1600000000999"], [1600000000, 1600000000]),
        ("iso8601", ["2020-09-13T12:26:40Z", "2020-09-13T14:26:40+02:00"], [1600000000, 1600000000]),
        ("iso8601", ["2020-09-13T12:26:40", "2020-09-13 12:26:40.5", "nope"], [1600000000, 1600000000, None]),
        ("%d/%m/%Y %H:%M:%S", ["13/09/2020 12:26:40", "garbage"], [1600000000, None]),
    ],
)
def test_timestamp_formats(how, values, expected):
    assert parse_timestamp(pa.array(values), how).to_pylist() == expected


def _sample_cfg(tmp_path, fmt: str):
    """Same 1000 interactions as csv / tsv / parquet / jsonl / folder of parts / headerless csv."""
    rows = interactions_rows(1200)
    names = ["who", "what", "when_ms", "kind"]
    data = {
        "who": [r[0] for r in rows],
        "what": [r[1] for r in rows],
        "when_ms": [r[2] * 1000 for r in rows],
        "kind": [r[3] for r in rows],
    }
    src: dict = {"format": fmt}
    if fmt == "parquet":
        pq.write_table(pa.table(data), tmp_path / "x.parquet", row_group_size=300)
        src["path"] = "x.parquet"
    elif fmt == "jsonl":
        lines = [json.dumps({k: data[k][i] for k in names}) for i in range(len(rows))]
        write_raw(tmp_path, "x.jsonl", "\n".join(lines) + "\n")
        src["path"] = "x.jsonl"
    elif fmt == "parts":
        (tmp_path / "parts").mkdir()
        for p in range(3):
            chunk = [[data[k][i] for k in names] for i in range(p * 400, (p + 1) * 400)]
            write_csv(tmp_path / "parts" / f"part-{p}.csv", names, chunk)
        src = {"format": "csv", "path": "parts"}
    else:
        sep = "\t" if fmt == "tsv" else ";"
        body = [sep.join(str(data[k][i]) for k in names) for i in range(len(rows))]
        head = [] if fmt == "headerless" else [sep.join(names)]
        write_raw(tmp_path, "x.txt", "\n".join(head + body) + "\n")
        src = {"format": "tsv" if fmt == "tsv" else "csv", "path": "x.txt"}
        if fmt != "tsv":
            src["delimiter"] = ";"
        if fmt == "headerless":
            src |= {"header": False, "columns": names}

    def upd(c):
        c["datasets"]["interactions"]["source"] = src
        c["datasets"]["interactions"]["fields"] = [
            {"name": "USER_ID", "source": "who"},
            {"name": "ITEM_ID", "source": "what"},
            {"name": "TIMESTAMP", "source": "when_ms", "type": "long", "timestamp": "epoch_ms"},
            {"name": "EVENT_TYPE", "source": "kind"},
        ]

    return make_config(tmp_path, upd)


def test_all_source_formats_give_identical_output(tmp_path):
    shas = {}
    for fmt in ("csv-semicolon", "tsv", "parquet", "jsonl", "parts", "headerless"):
        d = tmp_path / fmt
        d.mkdir()
        res = prepare_dataset(_sample_cfg(d, fmt), "interactions", d / "out")
        shas[fmt] = res.sha256
        assert res.rows_out == 1200
    assert len(set(shas.values())) == 1, shas


def test_deterministic_and_chunk_size_independent(tmp_path):
    cfg = _sample_cfg(tmp_path, "tsv")
    a = prepare_dataset(cfg, "interactions", tmp_path / "a")
    b = prepare_dataset(cfg, "interactions", tmp_path / "b", block_bytes=4096)
    assert b.extra["chunks"] > 5 and a.extra["chunks"] == 1
    assert a.sha256 == b.sha256 and a.rows_out == b.rows_out
    assert open(a.csv_path, "rb").read() == open(b.csv_path, "rb").read()


def test_split_extract_quoting_and_custom_transform(tmp_path):
    write_raw(tmp_path, "m.csv", 'id,title,genres\n1,"Heat, The (1995)",Action;Crime\n2,No Year,Drama\n')

    def upd(c):
        c["datasets"]["items"] = {
            "source": {"path": "m.csv"},
            "transform": "tests.personalize_ops.transform.dataprep_transforms:upper_titles",
            "fields": [
                {"name": "ITEM_ID", "source": "id"},
                {"name": "GENRES", "source": "genres", "split": ";", "categorical": True},
                {
                    "name": "YEAR",
                    "source": "title",
                    "type": "int",
                    "nullable": True,
                    "extract": r"\((\d{4})\)\s*$",
                },
                {"name": "TITLE", "source": "title"},
            ],
        }

    res = prepare_dataset(make_config(tmp_path, upd), "items", tmp_path / "out")
    assert rows_of(res.csv_path) == [
        ("ITEM_ID", "GENRES", "YEAR", "TITLE"),
        ("1", "Action|Crime", "1995", "HEAT, THE (1995)"),
        ("2", "Drama", "", "NO YEAR"),
    ]
    assert open(res.csv_path).readline() == "ITEM_ID,GENRES,YEAR,TITLE\n"  # header never quoted
    schema = json.loads(open(res.schema_path).read())
    assert schema["fields"][2] == {"name": "YEAR", "type": ["null", "int"]}


def test_hash_set_and_row_hash():
    t = pa.table({"a": ["x", "y", "x", None], "b": [1, 2, 1, 1]})
    h = row_hash(t)
    assert h[0] == h[2] and len(set(h.tolist())) == 3
    s = HashSet()
    assert s.add(h).tolist() == [True, True, False, True]
    assert s.add(h).tolist() == [False] * 4 and len(s) == 3


def test_sample_pipeline_prepare_all_and_summary(tmp_path, monkeypatch):
    from personalize_ops.sample_data import generate

    generate(tmp_path / "sample" / "shop", 20_000, seed=3)
    monkeypatch.setenv("PZ_SAMPLE_DIR", str(tmp_path / "sample"))
    shutil.copy(REPO / "include" / "pipelines" / "shop.yaml", tmp_path / "pipeline.yaml")
    cfg = load_config(tmp_path / "pipeline.yaml")
    res = prepare_all(cfg, tmp_path / "out")
    inter = res["interactions"]
    assert inter.rows_in == 20_000 and inter.dropped.get("duplicate", 0) > 0
    assert inter.rows_out + sum(inter.dropped.values()) == inter.rows_in
    assert res["items"].rows_out == res["items"].rows_in and res["users"].rows_out == res["users"].rows_in
    table = format_summary(list(res.values()))
    assert "interactions" in table and "duplicate=" in table and "2024-01-01" in table
