"""The training-input fingerprint: what changes it (data, schemas, solution configuration) and what does not."""

from __future__ import annotations

from personalize_ops.pipeline.training_reuse import fingerprint
from personalize_ops.pipeline.values import StagedDataset

from tests.personalize_ops.transform.dataprep_helpers import make_config


def config(tmp_path, edit=None, name="p.yaml"):
    return make_config(tmp_path, edit, name)


def staged(cfg, **digests) -> dict[str, StagedDataset]:
    return {ds: StagedDataset(ds, 10, 10, digests.get(ds, ds[0] * 64)) for ds in cfg.datasets.present()}


def test_same_input_same_fingerprint_whatever_the_order_of_the_datasets(tmp_path):
    cfg = config(tmp_path)
    sol = cfg.solutions[0]
    data = staged(cfg)
    assert fingerprint(cfg, sol, data) == fingerprint(cfg, sol, dict(reversed(list(data.items()))))
    assert len(fingerprint(cfg, sol, data)) == 64


def test_data_schema_and_solution_changes_change_it(tmp_path):
    cfg = config(tmp_path)
    sol, base = cfg.solutions[0], fingerprint(cfg, cfg.solutions[0], staged(cfg))
    other_data = fingerprint(cfg, sol, staged(cfg, interactions="f" * 64))
    tuned = config(tmp_path, lambda c: c["solutions"][0].update(hyperparameters={"hidden_dimension": 32}), "t.yaml")
    first = list(cfg.datasets.present())[-1]
    wider = config(tmp_path, lambda c: c["datasets"][first]["fields"][-1].update(nullable=True), "w.yaml")
    found = {base, other_data, fingerprint(tuned, tuned.solutions[0], staged(tuned)),
             fingerprint(wider, wider.solutions[0], staged(wider))}
    assert len(found) == 4


def test_a_gate_or_campaign_setting_does_not_change_it(tmp_path):
    cfg = config(tmp_path)
    other = config(tmp_path, lambda c: c.setdefault("schedules", {}).update(retrain="@daily"), "o.yaml")
    assert fingerprint(cfg, cfg.solutions[0], staged(cfg)) == fingerprint(other, other.solutions[0], staged(other))
