"""Rows that cannot be parsed (ragged, undecodable, broken quoting): 'fail' names file, line and raw line;
'quarantine' sets them aside with their reason and the run goes on."""

from __future__ import annotations

import csv

import pytest
from personalize_ops.config import ConfigError
from personalize_ops.quality import DataQualityError
from personalize_ops.quality.display import MAX_RAW_CHARS
from personalize_ops.transform import prepare_dataset

from tests.personalize_ops.transform.dataprep_helpers import interactions_rows, make_config

HEADER = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE"


def _lines(n: int = 1000) -> list[bytes]:
    return [",".join(map(str, r)).encode() for r in interactions_rows(n)]


def _write(tmp_path, lines: list[bytes], name: str = "interactions.csv", header: bytes = HEADER.encode()):
    (tmp_path / name).write_bytes(b"\n".join([header, *lines]) + b"\n")


def _with(action: str | None = None, **source):
    def update(c):
        ds = c["datasets"]["interactions"]
        ds["source"].update(source)
        if action:
            ds["quality"] = {"rules": {"ragged_row": action, "bad_encoding": action, "bad_quoting": action}}

    return update


def _fail(tmp_path, update=None) -> DataQualityError:
    with pytest.raises(DataQualityError) as err:
        prepare_dataset(make_config(tmp_path, update), "interactions", tmp_path / "out")
    return err.value


def _quarantined(res) -> list[dict]:
    with open(res.quarantine_path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_ragged_row_fails_naming_file_line_and_raw_line(tmp_path):
    lines = _lines()
    lines.insert(6, b"u1,i1,1600000000,click,")  # a trailing delimiter: 5 fields; file line 8 (header is 1)
    _write(tmp_path, lines)
    err = _fail(tmp_path)
    msg = str(err)
    assert err.failures[0]["rule"] == "ragged_row" and err.failures[0]["line"] == 8
    assert f"{tmp_path / 'interactions.csv'}, line 8 (1-based" in msg
    assert "expected 4 fields, got 5" in msg
    assert "'**,**,**********,*****,'" in msg  # the row's shape; values masked by default
    assert "quality.rules.ragged_row: quarantine" in msg  # what to do
    assert "Traceback" not in msg and not (tmp_path / "out/interactions/interactions.csv").exists()


def test_ragged_row_raw_line_is_cut_and_shown_when_asked(tmp_path):
    lines = _lines()
    lines.insert(2, b"u1,i1,1600000000,click," + b"x" * 500)
    _write(tmp_path, lines)

    def show(c):
        c["datasets"]["interactions"]["quality"] = {"show_values_in_logs": True}

    msg = str(_fail(tmp_path, show))
    raw = "u1,i1,1600000000,click," + "x" * 500
    assert repr(raw[:MAX_RAW_CHARS]) + f"...({len(raw)} chars)" in msg
    assert "x" * (MAX_RAW_CHARS + 1) not in msg


def test_ragged_rows_quarantined_and_the_run_goes_on(tmp_path):
    lines = _lines(1010)
    for at in (3, 500, 1000):
        lines.insert(at, b"u1,i1,1600000000,click,extra")
    lines.insert(700, b"u1,i1")
    _write(tmp_path, lines)
    res = prepare_dataset(make_config(tmp_path, _on_fail), "interactions", tmp_path / "out")
    assert res.rows_out == 1010 and res.dropped == {"quarantine:ragged_row": 4}
    assert res.rows_in == 1014
    rows = _quarantined(res)
    assert [r["reason"] for r in rows] == ["ragged_row"] * 4
    assert [int(r["line"]) for r in rows] == [5, 502, 702, 1003]
    assert rows[0]["raw"] == "u1,i1,1600000000,click,extra" and rows[2]["raw"] == "u1,i1"  # full, unmasked
    assert rows[0]["file"] == str(tmp_path / "interactions.csv") and rows[0]["USER_ID"] == ""


def _on_fail(c):
    """``on_fail: quarantine`` covers the parse rules too."""
    c["datasets"]["interactions"]["quality"] = {"on_fail": "quarantine"}


def test_movielens_style_tsv_with_trailing_tab(tmp_path):
    """u.data: headerless TSV named by ``columns``; one row carries a trailing tab."""
    body = [f"{r[0]}\t{r[1]}\t3\t{r[2]}" for r in interactions_rows(1001)]
    body[40] += "\t"
    (tmp_path / "u.data").write_text("\n".join(body) + "\n")

    def mlens(action):
        def update(c):
            ds = c["datasets"]["interactions"]
            ds["source"] = {"path": "u.data", "format": "tsv", "header": False,
                            "columns": ["user", "item", "rating", "ts"]}  # fmt: skip
            ds["fields"] = [{"name": "USER_ID", "source": "user"}, {"name": "ITEM_ID", "source": "item"},
                            {"name": "TIMESTAMP", "source": "ts", "type": "long", "timestamp": "epoch_s"},
                            {"name": "EVENT_TYPE", "source": "rating"}]  # fmt: skip
            if action:
                ds["quality"] = {"rules": {"ragged_row": action}}

        return update

    msg = str(_fail(tmp_path, mlens(None)))
    assert f"{tmp_path / 'u.data'}, line 41 (1-based" in msg and "expected 4 fields, got 5" in msg
    assert r"'***\t***\t*\t**********\t'" in msg  # the trailing tab is visible
    res = prepare_dataset(make_config(tmp_path, mlens("quarantine")), "interactions", tmp_path / "out")
    assert res.rows_out == 1000 and res.dropped == {"quarantine:ragged_row": 1}


def test_undecodable_bytes_fail_or_quarantine(tmp_path):
    lines = _lines(1001)
    lines[9] = b"u9,caf\xe9,1600000009,click"  # latin-1 bytes in a UTF-8 file; file line 11
    _write(tmp_path, lines)
    err = _fail(tmp_path)
    msg = str(err)
    assert err.failures[0]["rule"] == "bad_encoding"
    assert f"{tmp_path / 'interactions.csv'}, line 11 (1-based" in msg and r"bytes \xe9 are not valid utf-8" in msg
    assert "source.encoding" in msg and "quality.rules.bad_encoding: quarantine" in msg
    res = prepare_dataset(make_config(tmp_path, _with("quarantine")), "interactions", tmp_path / "out")
    assert res.rows_out == 1000 and res.dropped == {"quarantine:bad_encoding": 1}
    (row,) = _quarantined(res)
    assert row["reason"] == "bad_encoding" and row["__source_row"] == "9"
    assert row["raw"] == r"u9,caf\xe9,1600000009,click"
    latin1 = prepare_dataset(make_config(tmp_path, _with(encoding="latin-1")), "interactions", tmp_path / "out2")
    assert latin1.rows_out == 1001  # the right encoding reads it


def test_undecodable_bytes_in_a_declared_single_byte_encoding(tmp_path):
    lines = _lines(1001)
    lines[4] = b"u4,i\x81,1600000004,click"  # 0x81 is undefined in cp1252
    _write(tmp_path, lines)
    msg = str(_fail(tmp_path, _with(encoding="cp1252")))
    assert "line 6 (1-based" in msg and r"bytes \x81 are not valid cp1252" in msg
    res = prepare_dataset(make_config(tmp_path, _with("quarantine", encoding="cp1252")), "interactions",
                          tmp_path / "out")  # fmt: skip
    assert res.rows_out == 1000 and res.dropped == {"quarantine:bad_encoding": 1}


@pytest.mark.parametrize(
    ("bad", "where"),
    [(b'u1,"i1,1600000000,click', "line 5 (1-based"),  # the open quote swallows the next lines: wrong field count
     (b'u1,i1,1600000000,"click', "data row 3 (0-based")],  # last field: the field count still matches
)  # fmt: skip
def test_broken_quoting_fails_or_quarantines(tmp_path, bad, where):
    lines = _lines(1003)
    lines.insert(3, bad)
    lines.insert(6, b'u2,i2,1600000000,click"')  # a closing quote never opened: a literal quote, valid
    _write(tmp_path, lines)
    err = _fail(tmp_path)
    msg = str(err)
    assert err.failures[0]["rule"] == "bad_quoting" and where in msg
    assert "close the quote" in msg and "quality.rules.bad_quoting: quarantine" in msg
    res = prepare_dataset(make_config(tmp_path, _with("quarantine")), "interactions", tmp_path / "out")
    (row,) = _quarantined(res)
    assert row["reason"] == "bad_quoting" and row["raw"].replace('"', "").startswith(bad.decode().replace('"', ""))
    assert res.dropped == {"quarantine:bad_quoting": 1}
    # the lines up to the next quote (2 rows and the line with the stray quote) are in the quarantined row's raw
    # text, not lost
    assert row["raw"].count("\n") == 3 and res.rows_out == 1003 - 2


def test_parse_rules_are_configurable_like_the_others(tmp_path):
    with pytest.raises(ConfigError, match="unknown rule"):
        make_config(tmp_path, lambda c: c["datasets"]["interactions"].update(quality={"rules": {"ragged": "fail"}}))
    cfg = make_config(tmp_path, _with("quarantine"))
    q = cfg.datasets.interactions.quality
    assert {q.action(r) for r in ("ragged_row", "bad_encoding", "bad_quoting")} == {"quarantine"}
    default = make_config(tmp_path).datasets.interactions.quality
    assert {default.action(r) for r in ("ragged_row", "bad_encoding", "bad_quoting")} == {"fail"}
