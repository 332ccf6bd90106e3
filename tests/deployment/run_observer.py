"""Trigger a DAG run through the REST API and sample its task states until it ends."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class RunObservation:
    """What the sampler saw: the final state and, per task, the states and triggers it was observed in.

    ``state_seconds`` (task-seconds per sampled state) and ``wall_seconds`` are for the printed report only:
    the tests assert on observed states, never on durations."""

    run_id: str
    state: str
    wall_seconds: float
    state_seconds: Counter = field(default_factory=Counter)
    deferred_tasks: set = field(default_factory=set)
    task_states: dict = field(default_factory=dict)
    # task_id -> classpath of the trigger it was deferred to, seen while a triggerer held it
    held_by_triggerer: dict = field(default_factory=dict)

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
    """Trigger ``dag_id`` and sample until the run ends; TimeoutError (with the task states) after ``timeout``."""
    run = cluster.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}}, token)
    run_id = run["dag_run_id"]
    start = time.monotonic()
    obs = RunObservation(run_id=run_id, state="queued", wall_seconds=0.0)
    last = start
    while obs.state not in ("success", "failed"):
        if time.monotonic() - start > timeout:
            raise TimeoutError(
                f"{dag_id} run {run_id} still {obs.state} after {timeout}s; task states: {obs.task_states}; "
                f"logs in {cluster.home}"
            )
        tis = cluster.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=1000", token=token)
        now = time.monotonic()
        for ti in tis["task_instances"]:
            state = ti["state"] or "none"
            obs.state_seconds[state] += now - last
            obs.task_states[(ti["task_id"], ti["map_index"])] = state
            if state == "deferred":
                obs.deferred_tasks.add(ti["task_id"])
                trigger = ti.get("trigger") or {}
                if trigger.get("triggerer_id") is not None:
                    obs.held_by_triggerer[ti["task_id"]] = trigger["classpath"]
        last = now
        obs.state = cluster.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}", token=token)["state"]
        if obs.state not in ("success", "failed"):
            time.sleep(interval)
    obs.wall_seconds = time.monotonic() - start
    return obs
