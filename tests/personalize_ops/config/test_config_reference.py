"""docs/config.md is the config model, rendered: every key of every section, and a check that fails on drift."""

from __future__ import annotations

import subprocess
import sys

import pytest
from personalize_ops.config import FieldSpec, PipelineConfig

from scripts import config_reference as ref
from tests.personalize_ops.transform.dataprep_helpers import REPO

SCRIPT = REPO / "scripts" / "config_reference.py"


def test_page_matches_the_model():
    assert ref.PAGE.read_text(encoding="utf-8") == ref.render(), "run: python scripts/config_reference.py"


def test_every_key_of_every_section_is_on_the_page():
    page = ref.PAGE.read_text(encoding="utf-8")
    sections = ref._sections(PipelineConfig, "", {})
    assert len(sections) > 15
    for path, model in sections:
        title = f"## {path or 'top level'}\n"
        assert title in page, title
        body = page.split(title, 1)[1].split("\n## ", 1)[0]
        for name, field in model.model_fields.items():
            if field.exclude:
                assert f"| `{name}` |" not in body
                continue
            row = next((line for line in body.splitlines() if line.startswith(f"| `{name}` |")), None)
            assert row is not None, f"{path}.{name}"
            cells = [c.strip() for c in row.strip("|").split(" | ")]
            assert len(cells) == 6 and all(cells), row  # type, default, allowed, description, example: none empty
    assert "`one_hot: [Action, Comedy, Drama]`" in page
    assert "| `timestamp_min` | integer | none |" in page  # no lower bound by default


def test_check_passes_on_the_page_and_fails_on_drift(tmp_path):
    ok = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=REPO)
    assert ok.returncode == 0, ok.stderr
    stale = tmp_path / "config.md"
    stale.write_text(ref.PAGE.read_text(encoding="utf-8").replace("epoch_ms", "epoch_millis", 1))
    bad = subprocess.run([sys.executable, str(SCRIPT), "--check", "--page", str(stale)], capture_output=True,
                         text=True, cwd=REPO)  # fmt: skip
    assert bad.returncode == 1
    assert "differs from the config model" in bad.stderr and "python scripts/config_reference.py" in bad.stderr
    assert "epoch_millis" in bad.stderr  # the diff shows the line


def test_a_model_change_changes_the_page(monkeypatch):
    field = FieldSpec.model_fields["split"]
    monkeypatch.setattr(field, "description", "a new meaning")
    assert "a new meaning" in ref.render()
    assert ref.render() != ref.PAGE.read_text(encoding="utf-8")


def test_a_key_without_description_or_example_is_refused(monkeypatch):
    field = FieldSpec.model_fields["extract"]
    monkeypatch.setattr(field, "description", None)
    monkeypatch.setattr(field, "examples", None)
    with pytest.raises(SystemExit) as e:
        ref.render()
    assert "FieldSpec.extract: no example" in str(e.value) and "FieldSpec.extract: no description" in str(e.value)
