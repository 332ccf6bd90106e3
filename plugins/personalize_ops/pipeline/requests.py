"""Create-request members for each configured resource, built from the pipeline config."""

from __future__ import annotations

import hashlib
import json

from personalize_ops.dataset_kinds import KINDS


def schema_json(cfg, dataset: str) -> str:
    """The dataset's Avro schema as the canonical JSON string Personalize stores."""
    avro = cfg.datasets.present()[dataset].avro_schema(dataset)
    return json.dumps(avro, sort_keys=True, separators=(",", ":"))


def schema_name(cfg, dataset: str) -> str:
    """Schemas are immutable: a changed schema gets a new name (group, dataset, content hash)."""
    digest = hashlib.sha256(schema_json(cfg, dataset).encode()).hexdigest()[:8]
    return f"{cfg.dataset_group.name}-{dataset}-{digest}"[:63]


def is_schema_name_of(group: str, name: str) -> bool:
    """Whether ``name`` is one :func:`schema_name` gives a schema of ``group``'s datasets (current or replaced)."""
    for dataset in KINDS:
        prefix = f"{group}-{dataset}-"
        digest = name[len(prefix) :]
        if name.startswith(prefix) and digest and len(name) == min(63, len(prefix) + 8):
            if all(c in "0123456789abcdef" for c in digest):
                return True
    return False


def dataset_name(cfg, dataset: str) -> str:
    return f"{cfg.dataset_group.name}-{dataset}"[:63]


def dataset_request(dataset: str, schema_arn) -> dict:
    """CreateDataset members besides name and datasetGroupArn (the type upper-cased, as Describe answers it)."""
    return {"datasetType": KINDS[dataset].dataset_type, "schemaArn": schema_arn}


def solution_request(sol) -> dict:
    """CreateSolution members (besides name and datasetGroupArn) for a configured solution."""
    request: dict = {"recipeArn": sol.recipe_arn, "performAutoTraining": sol.perform_auto_training}
    if sol.event_type:
        request["eventType"] = sol.event_type
    solution_config = dict(sol.solution_config or {})
    if sol.event_value_threshold is not None:
        solution_config["eventValueThreshold"] = str(sol.event_value_threshold)
    if sol.auto_training_schedule:
        solution_config["autoTrainingConfig"] = {"schedulingExpression": sol.auto_training_schedule}
    if sol.hyperparameters:
        hps = {k: str(v) for k, v in sol.hyperparameters.items()}
        solution_config["algorithmHyperParameters"] = {**solution_config.get("algorithmHyperParameters", {}), **hps}
    if solution_config:
        request["solutionConfig"] = solution_config
    return request
