"""The README's `make demo` (and `make demo-teardown`), typed into a bare bash at the root of a fresh copy.

The copy's `.venv` links to the installed environment (tests/docs/bare_shell.py), so make installs nothing; the
demo then starts its own local stack in the copy's `.local-stack/`, which `make stack-down` stops at the end.
"""

from __future__ import annotations

import json

import boto3
import pytest

from tests.docs.bare_shell import assert_make_installs_nothing, bare_bash, fresh_copy, output

PIPELINES = {"shop": "personalize-demo", "media": "personalize-media"}  # include/pipelines/<name>.yaml: its group


def _groups(endpoint: str) -> set[str]:
    pz = boto3.client("personalize", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")  # fmt: skip
    return {g["name"] for g in pz.list_dataset_groups()["datasetGroups"]}


@pytest.mark.timeout(3600)  # the demo and its teardown, on a shared machine: well over the default 600 s
def test_make_demo_then_demo_teardown_in_a_bare_shell(tmp_path):
    repo = fresh_copy(tmp_path)
    assert_make_installs_nothing(repo)
    try:
        demo = bare_bash("make demo", repo, timeout=1800)
        assert demo.returncode == 0, output(demo)
        for name in PIPELINES:
            for dag in ("retrain", "batch_export"):
                assert f"personalize_{dag}__{name}: success" in demo.stdout, output(demo)
        assert "Offline metrics of the newest version of each solution" in demo.stdout
        assert " -> " in demo.stdout.rsplit("user guide example", 1)[1], "the user guide example printed nothing"
        endpoint = json.loads((repo / ".local-stack" / "endpoints.json").read_text())["personalize"]
        assert _groups(endpoint) >= set(PIPELINES.values())

        teardown = bare_bash("make demo-teardown", repo, timeout=1200)
        assert teardown.returncode == 0, output(teardown)
        assert not _groups(endpoint) & set(PIPELINES.values()), "the demo's dataset groups are still there"
    finally:
        down = bare_bash("make stack-down", repo, timeout=300)
        assert down.returncode == 0, output(down)
