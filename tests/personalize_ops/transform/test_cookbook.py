"""docs/cookbook.md runs as written: every file it shows is the file in docs/cookbook/, every command block runs
(the real prepare CLI, in bash from the repository root) and every output it shows is what the command wrote.

Markers in the page, each followed by a fenced block:
``<!-- file: <path> [encoding=<codec>] [head=<n>] -->`` (the file's text, or its first n lines),
``<!-- run -->`` (bash commands; ``out/cookbook/`` is redirected to a temporary folder),
``<!-- output: <path under the last run's --out> [head=<n>] [relative] -->`` (``relative``: the repository's
absolute path shown relative).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.personalize_ops.transform.dataprep_helpers import REPO

PAGE = REPO / "docs" / "cookbook.md"
BLOCK = re.compile(r"<!-- (?P<kind>file|output|run)(?:: (?P<spec>[^>]*?))? -->\n```\w*\n(?P<body>.*?)```\n", re.S)


def _blocks() -> list[tuple[str, str, dict, str]]:
    """(kind, path, options, body) of every marked block, in page order."""
    out = []
    for m in BLOCK.finditer(PAGE.read_text(encoding="utf-8")):
        path, *opts = (m["spec"] or "").split() or [""]
        options = dict(o.split("=", 1) if "=" in o else (o, True) for o in opts)
        out.append((m["kind"], path, options, m["body"]))
    return out


def _shown(text: str, options: dict) -> str:
    if options.get("relative"):
        text = text.replace(f"{REPO}/", "")
    if "head" in options:
        text = "".join(text.splitlines(keepends=True)[: int(options["head"])])
    return text


def test_the_page_marks_every_example():
    blocks = _blocks()
    shown = {path for kind, path, _, _ in blocks if kind == "file"}
    examples = sorted(p.parent.name for p in (REPO / "docs/cookbook").glob("*/pipeline.yaml"))
    assert len(examples) >= 4
    for name in examples:
        assert f"docs/cookbook/{name}/pipeline.yaml" in shown, name
        assert any(kind == "run" and f"docs/cookbook/{name}/pipeline.yaml" in body for kind, _, _, body in blocks)
    files = {str(p.relative_to(REPO)) for p in (REPO / "docs/cookbook").rglob("*") if p.is_file()}
    assert files <= shown | {f for f in files if "__pycache__" in f}, files - shown  # no file the page hides


@pytest.mark.parametrize("path", sorted({p for k, p, _, _ in _blocks() if k == "file"}))
def test_a_shown_file_is_the_file(path):
    for kind, p, options, body in _blocks():
        if kind == "file" and p == path:
            text = (REPO / path).read_bytes().decode(options.get("encoding", "utf-8"))
            assert body == _shown(text, options), f"{path}: the page shows something else than the file"


def test_every_command_runs_and_writes_what_the_page_shows(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # as typed in a plain shell
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    out, runs, compared = None, 0, 0
    for kind, path, options, body in _blocks():
        if kind == "run":
            commands = body.replace("out/cookbook/", f"{tmp_path}/")
            proc = subprocess.run(["bash", "-e", "-c", commands], cwd=REPO, env=env, capture_output=True, text=True,
                                  timeout=600)  # fmt: skip
            assert proc.returncode == 0, f"{body}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
            assert "Traceback" not in proc.stderr
            assert ("rows checked" in proc.stdout) == (" prepare " in commands), proc.stdout  # the counts show
            outs = re.findall(r"--out (\S+)", commands)
            out, runs = (Path(outs[-1]) if outs else out), runs + 1
        elif kind == "output":
            assert out is not None, f"output {path} before any command"
            written = (out / path).read_text(encoding="utf-8")
            assert body == _shown(written, options), f"{path}: the command wrote\n{written}"
            compared += 1
    assert runs >= 5 and compared >= 6


def test_the_movies_example_keeps_old_dates_and_joins_the_genres(tmp_path):
    """The numbers the prose states hold for the files (1922 is -1514764800; a rating above 3 gives 2 events)."""
    text = PAGE.read_text(encoding="utf-8")
    items = next(b for k, p, _, b in _blocks() if k == "output" and p == "items/items.csv")
    assert "1,Señor Fantasma (1922),Horror,-1514764800" in items and "-1514764800" in text
    assert "4,Night Train to Nowhere (1946),Crime|Film-Noir|Thriller," in items
    ratings = (REPO / "docs/cookbook/movielens-100k/u.data").read_text().splitlines()
    assert f"The first lines of the {len(ratings):,} ratings" in text


def test_the_movies_without_their_encoding_fail_as_the_page_says(tmp_path):
    """The page: with the default utf-8 the byte 0xF1 of "Señor" is a bad_encoding row, and the message names the
    line and says to set source.encoding."""
    import yaml
    from personalize_ops.config import load_config
    from personalize_ops.quality import DataQualityError
    from personalize_ops.transform import prepare_dataset

    example = REPO / "docs/cookbook/movielens-100k"
    cfg = yaml.safe_load((example / "pipeline.yaml").read_text())
    del cfg["datasets"]["items"]["source"]["encoding"]
    cfg["datasets"]["items"]["source"]["path"] = str(example / "u.item")
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(DataQualityError) as e:
        prepare_dataset(load_config(tmp_path / "pipeline.yaml"), "items", tmp_path / "out")
    assert str(e.value).startswith("items: bad_encoding: ") and "line 1 (1-based" in str(e.value)
    assert r"bytes \xf1 are not valid utf-8" in str(e.value) and "set source.encoding" in str(e.value)
    assert "0xF1" in PAGE.read_text(encoding="utf-8")
