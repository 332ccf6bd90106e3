"""The prepare scale benchmark on a small generated input: what it reports, and that it cleans up after itself."""

import json

import pytest

from benchmarks.prepare_scale import main

ROWS = 20_000


def test_floor_and_single_engine_rows_add_up_and_outputs_are_removed(tmp_path, capsys):
    assert main(["--sizes", str(ROWS), "--engines", "floor,single", "--data-dir", str(tmp_path)]) == 0
    floor, single = json.loads((tmp_path / "scale.json").read_text())
    assert (floor["variant"], floor["rows_out"], floor["x_floor"]) == ("arrow floor (read+write)", ROWS, 1.0)
    assert single["variant"] == "single machine"
    assert single["dropped"]["duplicate"] > 0  # the generator repeats some rows
    assert single["rows_out"] + sum(single["dropped"].values()) == ROWS
    assert single["x_floor"] == pytest.approx(single["seconds"] / floor["seconds"])
    assert single["rows_per_s"] == pytest.approx(ROWS / single["seconds"])
    assert 0 < floor["peak_rss_mb"] and 0 < single["peak_rss_mb"]
    out = tmp_path / f"n{ROWS}" / "out"
    left = [p for p in out.rglob("*") if p.is_file() and (p.suffix in (".csv", ".parquet") or ".parts" in str(p))]
    assert left == []  # no engine's output is left behind (about 14 GB each at 200M rows)
    table = capsys.readouterr().out
    assert "| single machine" in table and "| arrow floor (read+write)" in table


def test_an_unknown_engine_is_refused_with_the_choices(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["--engines", "floor,dask", "--data-dir", str(tmp_path)])
    assert e.value.code == 2
    assert "--engines: unknown dask; choose from floor, single, spark" in capsys.readouterr().err
    assert not (tmp_path / "scale.json").exists()
