"""``python -m personalize_ops prepare`` on a corpus of bad sources: each gives one clear message (file, rule,
line/row, what to do) and the documented exit code; no data problem surfaces as a traceback."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from personalize_ops.cli import EXIT_DATA

from tests.personalize_ops.transform.dataprep_helpers import BASE, REPO, interactions_rows

HEADER = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE"
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ")


def _csv(bad: str | None = None, at: int = 10, header: str = HEADER, n: int = 1200) -> bytes:
    lines = [",".join(map(str, r)) for r in interactions_rows(n)]
    if bad is not None:
        lines.insert(at, bad)
    return "\n".join([header, *lines]).encode() + b"\n"


# name -> (file name, bytes or None (absent), source options, expected rule, expected location, extra checks)
CASES = {
    "ragged": ("i.csv", _csv("u1,i1,1600000000,click,"), {}, "ragged_row", "line 12 (1-based", ["got 5"]),
    "bad_encoding": ("i.csv", _csv().replace(b"u10,i10,", b"u10,i\xe910,"), {}, "bad_encoding", "line 12 (1-based",
                     [r"\xe9", "source.encoding"]),
    "broken_quoting": ("i.csv", _csv('u1,"i1,1600000000,click'), {}, "bad_quoting", "line 12 (1-based", []),
    "missing_column": ("i.csv", _csv(header="USER_ID,ITEM_ID,TIMESTAMP,ACTION"), {}, "required_columns", "",
                       ["EVENT_TYPE", "present: USER_ID, ITEM_ID, TIMESTAMP, ACTION"]),
    "empty_file": ("i.csv", b"", {}, "empty_file", "", []),
    "header_only": ("i.csv", HEADER.encode() + b"\n", {}, "min_interactions", "", ["observed 0"]),
    "wrong_delimiter": ("i.csv", _csv().replace(b",", b";"), {}, "required_columns", "",
                        ["To fix: set source.delimiter to ';'"]),
    "non_numeric_timestamp": ("i.csv", _csv("u1,i1,yesterday,click", at=7), {}, "timestamp_unparseable",
                              "'source_row': 7", ["['yesterday']"]),
    "milliseconds_as_seconds": ("i.csv", _csv().replace(b",16000", b",16000000"), {}, "timestamp_out_of_window",
                                "'source_row': 0", ["epoch_ms"]),
    "missing_file": ("i.csv", None, {}, "source_missing", "", ["source.path"]),
    "corrupt_gzip": ("i.csv.gz", gzip.compress(_csv())[:300], {}, "source_unreadable", "", ["source.format"]),
    "bad_json_line": ("i.jsonl", b'{"USER_ID": "u1", "ITEM_ID": "i1", "TIMESTAMP": 1600000000, "EVENT_TYPE": "c"}\n'
                      b'{"USER_ID": "u2", "ITEM_ID": "i2", "TIMESTAMP": 1600000001,\n', {"format": "jsonl"},
                      "source_unreadable", "line 2 (1-based)", ["JSON object"]),
    "not_parquet": ("i.parquet", _csv(), {"format": "parquet"}, "source_unreadable", "", ["Parquet"]),
}  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, str]]:
    """Every case through the CLI (four at a time); name -> (process, path of the bad file)."""
    root = tmp_path_factory.mktemp("bad-data")
    env = {**os.environ, "PYTHONPATH": str(REPO / "plugins")}

    def one(name: str):
        d = root / name
        d.mkdir()
        file_name, data, options, *_ = CASES[name]
        if data is not None:
            (d / file_name).write_bytes(data)
        cfg = yaml.safe_load(yaml.safe_dump(BASE))
        cfg["datasets"]["interactions"]["source"] = {"path": file_name, **options}
        (d / "pipeline.yaml").write_text(yaml.safe_dump(cfg))
        cmd = [sys.executable, "-m", "personalize_ops", "prepare", "--config", str(d / "pipeline.yaml"), "--out",
               str(d / "out")]  # fmt: skip
        return name, (subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300), str(d / file_name))

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(one, CASES))


@pytest.mark.parametrize("name", CASES)
def test_bad_source_gives_one_clear_message_and_exit_code(runs, name):
    proc, path = runs[name]
    *_, rule, where, extra = CASES[name]
    assert proc.returncode == EXIT_DATA, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert proc.stdout == ""
    message = [line for line in proc.stderr.splitlines() if not LOG_RECORD.match(line)]
    assert message[0].startswith("interactions: ") and sum(m.startswith("interactions: ") for m in message) == 1
    text = "\n".join(message)
    assert rule in text and path in text and where in text and "To fix" in text, text
    for piece in extra:
        assert piece in text, text
