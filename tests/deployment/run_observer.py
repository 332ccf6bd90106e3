"""Trigger a DAG run through the REST API and sample its task states until it ends."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class RunObservation:
    """What the sampler saw: final state, wall time, and per-state task-seconds."""

    run_id: str
    state: str
    wall_seconds: float
    state_seconds: Counter = field(default_factory=Counter)
    deferred_tasks: set = field(default_factory=set)
    task_states: dict = field(default_factory=dict)

    @property
    def worker_slot_seconds(self) -> float:
        return self.state_seconds["running"]


def wait_for_dag(cluster, token: str, dag_id: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            cluster.api("GET", f"/api/v2/dags/{dag_id}", token=token)
            return
        except Exception:  # noqa: BLE001 - not parsed yet
            time.sleep(1)
    errors = cluster.api("GET", "/api/v2/importErrors", token=token).get("import_errors", [])
    raise TimeoutError(f"DAG {dag_id} was not parsed within {timeout}s; import errors: {errors}")


def trigger_and_observe(cluster, token, dag_id, conf=None, timeout=600, interval=0.5) -> RunObservation:
    run = cluster.api(
        "POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}}, token
    )
    run_id = run["dag_run_id"]
    start = time.monotonic()
    obs = RunObservation(run_id=run_id, state="queued", wall_seconds=0.0)
    last = start
    while time.monotonic() - start < timeout:
        tis = cluster.api(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=1000", token=token
        )
        now = time.monotonic()
        for ti in tis["task_instances"]:
            state = ti["state"] or "none"
            obs.state_seconds[state] += now - last
            obs.task_states[(ti["task_id"], ti["map_index"])] = state
            if state == "deferred":
                obs.deferred_tasks.add(ti["task_id"])
        last = now
        obs.state = cluster.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}", token=token)["state"]
        if obs.state in ("success", "failed"):
            break
        time.sleep(interval)
    obs.wall_seconds = time.monotonic() - start
    return obs
