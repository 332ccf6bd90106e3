"""Defaults that do not reject legitimate data: no lower bound on timestamps (MovieLens-100k-like movie release
dates from 1922 to 1998 pass); a configured bound is stated with its key; the millisecond hint only for values
that look like milliseconds; row numbers say they are 0-based."""

from __future__ import annotations

import csv
import re

import pytest
from personalize_ops.quality import DataQualityError
from personalize_ops.transform import prepare_dataset

from tests.personalize_ops.transform.dataprep_helpers import SHARED, interactions_rows, make_config, write_csv

HEADER = ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"]


@pytest.fixture(scope="module")
def release_dates() -> list[tuple[str, str]]:
    """(movie id, release date like 01-Jan-1995) for the reference movies released 1922-1998 (MovieLens 100k's
    span), the year taken from the title."""
    if not SHARED.exists():
        pytest.skip(f"reference data folder {SHARED} is absent")
    out = []
    with open(SHARED / "ml-latest-small" / "movies.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            m = re.search(r"\((\d{4})\)\s*$", row["title"])
            if m and 1922 <= int(m[1]) <= 1998:
                out.append((row["movieId"], f"01-Jan-{m[1]}"))
    assert len(out) > 1600
    return out


def _items(tmp_path, dates, quality=None):
    write_csv(tmp_path / "items.csv", ["movie_id", "release_date"], [list(d) for d in dates])

    def items(c):
        c["datasets"]["items"] = {
            "source": {"path": "items.csv"},
            "fields": [{"name": "ITEM_ID", "source": "movie_id"},
                       {"name": "CREATION_TIMESTAMP", "source": "release_date", "type": "long",
                        "timestamp": "%d-%b-%Y"}],
        } | ({"quality": quality} if quality else {})  # fmt: skip

    return make_config(tmp_path, items)


def test_old_release_dates_pass_by_default(tmp_path, release_dates):
    res = prepare_dataset(_items(tmp_path, release_dates), "items", tmp_path / "out")
    assert res.rows_out == len(release_dates) and res.dropped == {}
    assert res.time_min == -1514764800  # 1922-01-01: before 1970, a negative epoch
    assert res.checks["rows_checked"] == len(release_dates)
    window = next(r for r in res.checks["rules"] if r["rule"] == "timestamp_out_of_window")
    assert window["unexpected"] == 0


def test_a_configured_lower_bound_is_stated_with_its_key(tmp_path, release_dates):
    with pytest.raises(DataQualityError) as e:
        prepare_dataset(_items(tmp_path, release_dates, {"timestamp_min": 946684800}), "items", tmp_path / "out")
    msg = str(e.value)
    assert {f["rule"] for f in e.value.failures} == {"timestamp_out_of_window"}
    assert f"{len(release_dates)} of {len(release_dates)} rows" in msg
    assert "2000-01-01 00:00 UTC" in msg and "datasets.items.quality.timestamp_min" in msg
    assert "milliseconds" not in msg  # old dates do not look like milliseconds
    assert "0-based" in msg  # the rows' numbering is said


def test_far_future_seconds_get_no_millisecond_hint(tmp_path):
    rows = interactions_rows()
    rows[3][2] = 4_102_444_800  # 2100-01-01 in seconds: after the window's end, but not milliseconds
    write_csv(tmp_path / "interactions.csv", HEADER, rows)
    with pytest.raises(DataQualityError) as e:
        prepare_dataset(make_config(tmp_path), "interactions", tmp_path / "out")
    window = next(f for f in e.value.failures if f["rule"] == "timestamp_out_of_window")
    assert "note" not in window and "milliseconds" not in str(e.value)
    assert "datasets.interactions.quality.timestamp_max" in str(e.value) and "'source_row': 3" in str(e.value)


def test_milliseconds_get_the_hint_with_their_count(tmp_path):
    rows = interactions_rows()
    for r in rows[:2]:
        r[2] = r[2] * 1000
    write_csv(tmp_path / "interactions.csv", HEADER, rows)
    with pytest.raises(DataQualityError) as e:
        prepare_dataset(make_config(tmp_path), "interactions", tmp_path / "out")
    window = next(f for f in e.value.failures if f["rule"] == "timestamp_out_of_window")
    assert window["note"].startswith("2 of these values are >= 1e11") and "epoch_ms" in window["note"]
    # the personalize suite's millisecond rule is in the same message (a source-suite failure hides nothing)
    assert {f["rule"] for f in e.value.failures} == {"timestamp_out_of_window", "timestamp_milliseconds"}
