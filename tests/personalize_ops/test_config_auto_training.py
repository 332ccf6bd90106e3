"""Config: automatic training (perform_auto_training, auto_training_schedule) and what it becomes in CreateSolution."""

from __future__ import annotations

import copy

import pytest
import yaml
from personalize_ops.config import ConfigError, load_config
from personalize_ops.pipeline.requests import solution_request

from tests.personalize_ops.transform.dataprep_helpers import BASE


def load(tmp_path, **solution):
    cfg = copy.deepcopy(BASE)
    cfg["solutions"][0].update(solution)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return load_config(path)


def test_the_schedule_goes_to_auto_training_config(tmp_path):
    sol = load(tmp_path, perform_auto_training=True, auto_training_schedule="rate(3 days)").solutions[0]
    request = solution_request(sol)
    assert request["performAutoTraining"] is True
    assert request["solutionConfig"]["autoTrainingConfig"] == {"schedulingExpression": "rate(3 days)"}
    assert "solutionConfig" not in solution_request(load(tmp_path, perform_auto_training=True).solutions[0])


@pytest.mark.parametrize(("solution", "reason"), [
    ({"perform_auto_training": True, "auto_training_schedule": "rate(31 days)"}, "with N from 1 to 30"),
    ({"perform_auto_training": True, "auto_training_schedule": "cron(0 * * * ? *)"}, "use rate(N days)"),
    ({"auto_training_schedule": "rate(7 days)"}, "auto_training_schedule needs perform_auto_training: true"),
    ({"perform_auto_training": True, "training_mode": "UPDATE"}, "training_mode must stay FULL"),
])  # fmt: skip
def test_bad_automatic_training_settings_are_refused_with_the_key(tmp_path, solution, reason):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, **solution)
    assert "solutions[0]" in str(err.value) and reason in str(err.value)
