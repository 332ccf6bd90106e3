"""Values in data-quality messages: each bounded in length, a bounded number of examples, identifiers masked
unless ``quality.show_values_in_logs``; the quarantine file and the GX report keep the full rows."""

from __future__ import annotations

import json
import logging

import pytest
from personalize_ops.config import load_config
from personalize_ops.quality import DataQualityError
from personalize_ops.quality.display import MAX_EXAMPLES, MAX_VALUE_CHARS, Display, mask, shorten
from personalize_ops.transform import prepare_dataset

from tests.personalize_ops.transform.dataprep_helpers import interactions_rows, make_config, write_csv

HEADER = ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"]
SECRET = "customer-4711-secret"


def test_shorten_keeps_short_values_and_marks_the_cut():
    assert shorten("x" * MAX_VALUE_CHARS) == "x" * MAX_VALUE_CHARS
    assert shorten("y" * 5000) == "y" * MAX_VALUE_CHARS + "...(5000 chars)"


def test_mask_shows_length_and_a_token_not_the_value():
    token = mask(SECRET)
    assert token.startswith(f"<masked {len(SECRET)} chars #") and SECRET not in token
    assert mask(SECRET) == token and mask(SECRET + "x") != token  # equal values share a token within a run


def test_identifiers_of_a_dataset(tmp_path):
    def fields(c):
        c["datasets"]["interactions"]["fields"] += [{"name": "SESSION_ID", "source": "sess"},
                                                    {"name": "RECOMMENDATION_ID"}, {"name": "DEVICE"}]  # fmt: skip

    ds = make_config(tmp_path, fields).datasets.interactions
    d = Display.for_dataset(ds)
    assert d.identifiers == {"USER_ID", "ITEM_ID", "SESSION_ID", "sess", "RECOMMENDATION_ID"}
    assert d.row({"USER_ID": "u1", "DEVICE": "phone", "TIMESTAMP": 3})["DEVICE"] == "phone"
    assert d.row({"USER_ID": "u1"})["USER_ID"].startswith("<masked 2 chars")
    assert Display(d.identifiers, show=True).row({"USER_ID": "u1"}) == {"USER_ID": "u1"}
    assert len(d.values("DEVICE", ["a"] * 10)) == MAX_EXAMPLES


def _genre(c):
    c["datasets"]["interactions"]["fields"].append({"name": "GENRE", "categorical": True})


def test_a_long_categorical_value_is_cut_in_the_message(tmp_path):
    rows = [[*r, "g"] for r in interactions_rows()]
    for i in range(0, 50, 5):
        rows[i][4] = "G" * 5000  # ten rows over the 1000-character limit, each printed kilobytes long before
    write_csv(tmp_path / "interactions.csv", [*HEADER, "GENRE"], rows)
    with pytest.raises(DataQualityError) as err:
        prepare_dataset(make_config(tmp_path, _genre), "interactions", tmp_path / "out")
    msg = str(err.value)
    assert "categorical_too_long" in msg
    assert "G" * MAX_VALUE_CHARS + "...(5000 chars)" in msg and "G" * (MAX_VALUE_CHARS + 1) not in msg
    assert msg.count("e.g. ") == MAX_EXAMPLES and len(msg) < 3000
    report = json.loads((tmp_path / "out/interactions/interactions.gx_results.json").read_text())
    assert "G" * 5000 in json.dumps(report)  # the report, next to the data, keeps the value


def _one_null_item(tmp_path):
    rows = interactions_rows()
    rows[5] = [SECRET, None, 1_600_000_005, "click"]
    write_csv(tmp_path / "interactions.csv", HEADER, rows)


def test_identifiers_are_masked_in_messages_and_logs(tmp_path, caplog):
    _one_null_item(tmp_path)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DataQualityError) as err:
        prepare_dataset(make_config(tmp_path), "interactions", tmp_path / "out")
    msg = str(err.value)
    assert "id_null" in msg and "'source_row': 5" in msg
    assert f"'USER_ID': '<masked {len(SECRET)} chars #" in msg
    assert SECRET not in msg and SECRET not in json.dumps(err.value.failures, default=str)
    assert SECRET not in caplog.text
    report = (tmp_path / "out/interactions/interactions.gx_results.json").read_text()
    assert SECRET in report  # the full rows stay with the data


def test_show_values_in_logs_shows_them(tmp_path):
    _one_null_item(tmp_path)

    def show(c):
        c["datasets"]["interactions"]["quality"] = {"show_values_in_logs": True}

    with pytest.raises(DataQualityError, match=f"'USER_ID': '{SECRET}'"):
        prepare_dataset(make_config(tmp_path, show), "interactions", tmp_path / "out")


def test_quarantine_file_keeps_full_rows_while_messages_mask(tmp_path):
    rows = interactions_rows(1005)
    for i in range(5):
        rows[i * 100][1] = SECRET + "x" * 300  # id_too_long

    def q(c):
        c["datasets"]["interactions"]["quality"] = {"rules": {"id_too_long": "quarantine"}}

    write_csv(tmp_path / "interactions.csv", HEADER, rows)
    res = prepare_dataset(make_config(tmp_path, q), "interactions", tmp_path / "out")
    assert res.rows_out == 1000
    assert (tmp_path / "out/interactions/interactions.quarantine.csv").read_text().count(SECRET + "x" * 300) == 5


def test_the_switch_is_in_the_quality_section(tmp_path):
    cfg = make_config(tmp_path)
    assert cfg.datasets.interactions.quality.show_values_in_logs is False
    (tmp_path / "bad.yaml").write_text((tmp_path / "pipeline.yaml").read_text().replace(
        "interactions:\n", "interactions:\n    show_values_in_logs: true\n", 1))  # fmt: skip
    with pytest.raises(Exception, match="show_values_in_logs"):
        load_config(tmp_path / "bad.yaml")  # only under quality: unknown keys elsewhere are errors
