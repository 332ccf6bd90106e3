"""Shared by the cadence and deletion tests: a small pipeline config, its event source, and the state a full run
leaves (staged file, dataset group, FULL import, a FULL User-Personalization version behind a campaign)."""

from __future__ import annotations

import random
from pathlib import Path

import yaml

ROLE = "arn:aws:iam::000000000000:role/PersonalizeS3Access"
FAST = {"waiter_delay": 0.3, "waiter_max_attempts": 900, "deferrable": False}
T0 = 1_700_000_000


class Context(dict):
    """The part of a task context the operators touch when run with ``op.execute(context)``."""

    def __init__(self, run_id: str = "manual__t"):
        class TI:
            dag_id, task_id, map_index = "cadence_test", "t", -1

            def __init__(self):
                self.run_id, self.xcom = run_id, {}

            def xcom_push(self, key, value, **_):
                self.xcom[key] = value

        super().__init__(ti=TI())


def append_events(path: Path, users: int, per_user: int, start: int, seed: int, items: int = 40) -> int:
    """Append clustered events (user ``u<n>``, item ``i<n>``, TIMESTAMP from ``start`` on, one second apart);
    returns the newest TIMESTAMP written."""
    rng, ts = random.Random(seed), start
    new = not path.exists()
    with path.open("a") as fh:
        if new:
            fh.write("user,item,ts\n")
        for _ in range(per_user):
            for u in range(users):
                cluster = u % 4
                item = rng.randrange(items // 4) * 4 + cluster if rng.random() < 0.8 else rng.randrange(items)
                fh.write(f"u{u},i{item},{ts}\n")
                ts += 1
    return ts - 1


def write_config(folder: Path, source: Path, bucket: str, group: str, conn_id: str):
    """A pipeline config of interactions only: a User-Personalization solution with a campaign, and popularity."""
    from personalize_ops.config import load_config

    cfg = {
        "dataset_group": {"name": group, "aws_conn_id": conn_id, "bucket": bucket, "prefix": "tk", "role_arn": ROLE},
        "datasets": {"interactions": {
            "source": {"path": str(source), "format": "csv"},
            "fields": [{"name": "USER_ID", "source": "user"}, {"name": "ITEM_ID", "source": "item"},
                       {"name": "TIMESTAMP", "source": "ts", "type": "long", "timestamp": "epoch_s"}],
        }},
        "solutions": [{"name": f"{group}-up", "recipe": "aws-user-personalization"},
                      {"name": f"{group}-pop", "recipe": "aws-popularity-count"}],
        "campaigns": [{"name": f"{group}-up", "solution": f"{group}-up", "gate": {"evaluation": "offline_metrics"}}],
        "schedules": {"retrain": None, "batch_export": None},
    }  # fmt: skip
    path = folder / f"{group}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return load_config(path)


def full_run(cfg, s3, conn_id: str) -> dict:
    """What a full run leaves: the prepared file staged, group/schema/dataset, a FULL import of it, both solutions,
    a FULL User-Personalization version and the campaign serving it. Returns the ARNs."""
    from personalize_ops.operators import PersonalizeEnsureResourceOperator
    from personalize_ops.pipeline import requests
    from personalize_ops.pipeline.prepare_stage import prepare_and_stage

    def ensure(kind, name, parent=None, config=None):
        op = PersonalizeEnsureResourceOperator(task_id=kind, kind=kind, name=name, parent_arn=parent, config=config,
                                               aws_conn_id=conn_id, **FAST)  # fmt: skip
        return op.execute(Context())

    staged = prepare_and_stage(cfg, "interactions", "manual__full", s3)["staged"]
    group = ensure("dataset_group", cfg.dataset_group.name)
    schema = ensure("schema", requests.schema_name(cfg, "interactions"),
                    config={"schema": requests.schema_json(cfg, "interactions")})  # fmt: skip
    dataset = ensure("dataset", requests.dataset_name(cfg, "interactions"), group,
                     requests.dataset_request("interactions", schema))  # fmt: skip
    ensure("dataset_import_job", f"full-{staged['sha256'][:12]}", dataset,
           {"dataSource": {"dataLocation": staged["uri"]}, "roleArn": cfg.dataset_group.role_arn, "importMode": "FULL"})
    out = {"group": group, "dataset": dataset, "staged": staged["uri"]}
    for sol in cfg.solutions:
        out[sol.name] = ensure("solution", sol.name, group, requests.solution_request(sol))
    up = cfg.solutions[0].name
    out["full_version"] = train(conn_id, out[up], "FULL", "manual__full")
    out["campaign"] = ensure("campaign", cfg.campaigns[0].name, out[up],
                             {"solutionVersionArn": out["full_version"], "minProvisionedTPS": 1})  # fmt: skip
    return out


def train(conn_id: str, solution_arn: str, mode: str, run_id: str) -> str:
    from personalize_ops.operators import PersonalizeCreateSolutionVersionOperator

    op = PersonalizeCreateSolutionVersionOperator(task_id="train", solution_arn=solution_arn, training_mode=mode,
                                                  aws_conn_id=conn_id, **FAST)  # fmt: skip
    return op.execute(Context(run_id))
