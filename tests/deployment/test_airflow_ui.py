"""`make airflow`, end to end: the script's deployment, used through the real UI in headless Chromium.

The deployment is the one `make airflow` starts (scripts/airflow_local.py), on a free port and a temporary state
directory. The browser signs in through the login form with the password the script printed, finds the DAGs,
triggers personalize_retrain from the trigger form with params, waits for the run, opens the Personalize page
from the Browse menu and finds the new solution version charted with the value Personalize reports for it.

Screenshots (DAG graph, run grid, Personalize page) are always taken and checked; with
PERSONALIZE_SCREENSHOTS=<dir> they are written there (`PERSONALIZE_SCREENSHOTS=docs/images` refreshes the
README's pictures), else into the test's temporary directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import yaml

from personalize_local.stack import free_port, running_from_dir
from tests.deployment import airflow_ui as ui
from tests.fixtures.chromium import charts

pytestmark = [pytest.mark.deployment, pytest.mark.timeout(2400)]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "airflow_local.py"
DAG = "personalize_retrain"
SOLUTIONS = ["demo-user-personalization", "demo-popularity"]  # trained by this run (the gate's pair)
NDCG = "normalized_discounted_cumulative_gain_at_10"  # the campaign's gate metric: the page's default chart
SHOTS = {"graph": "airflow-dag-graph.png", "grid": "airflow-run-grid.png", "page": "airflow-personalize-page.png"}


def _script(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """scripts/airflow_local.py as `make airflow` runs it, without this test process's Airflow settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW") and k != "PERSONALIZE_POLL_SECONDS"}
    env["AIRFLOW__CORE__PARALLELISM"] = "4"  # fewer task processes than a laptop's default: CI shares two cores
    # each DAG file parsed once, not again every 30 s while the run's tasks wait for the same two cores
    env["AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL"] = "3600"
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@dataclass
class Running:
    url: str
    password: str
    dir: Path
    stdout: str


def _processes(state: Path) -> list[psutil.Process]:
    """Every process of the deployment: each component's process group, and the local stack."""
    leaders = [int(p.read_text()) for p in state.glob("*.pid")] + list(running_from_dir(state / "stack").values())
    procs = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) in leaders:
                procs.append(proc)
        except (psutil.Error, ProcessLookupError):
            continue
    return procs


def _alive(procs: list[psutil.Process]) -> list[str]:
    left = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{proc.pid} {' '.join(proc.cmdline())[:80]}")
        except psutil.NoSuchProcess:
            continue
    return left


@pytest.fixture
def deployment(tmp_path_factory):
    """`up` on a free port and a temporary state dir; `down` afterwards (also on failure), nothing left running."""
    state = tmp_path_factory.mktemp("airflow-local")
    config = state.parent / f"{state.name}-pipeline.yaml"
    cfg = yaml.safe_load((ROOT / "include" / "pipelines" / "shop.yaml").read_text())
    cfg["schedules"] = {"retrain": None, "batch_export": None}  # only the run the test triggers
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    port = free_port()
    procs: list[psutil.Process] = []
    try:
        up = _script("up", "--dir", str(state), "--port", str(port), "--events", "20000", "--config", str(config))
        procs = _processes(state)
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        url = f"http://127.0.0.1:{port}"
        assert f"Airflow is up: {url}" in up.stdout
        password = re.search(r"login: admin / (\S+)", up.stdout)
        assert password, f"no generated password printed:\n{up.stdout}"
        yield Running(url, password[1], state, up.stdout)
    finally:
        procs += _processes(state)
        down = _script("down", "--dir", str(state), timeout=300)
        assert down.returncode == 0, down.stdout + down.stderr
        assert not _alive(procs), f"left running after `down`: {_alive(procs)}"
        assert not list(state.glob("*.pid")) and not running_from_dir(state / "stack")


def test_port_in_use_is_refused_before_anything_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        up = _script("up", "--dir", str(tmp_path), "--port", str(port), timeout=120)
    assert up.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in up.stderr and f"PORT={port + 1}" in up.stderr
    assert not list(tmp_path.glob("*.pid")) and not (tmp_path / "stack").exists()


def test_sign_in_trigger_with_params_and_see_the_new_version_charted(deployment, chromium, tmp_path):
    from playwright.sync_api import sync_playwright

    # A second `up` while it runs: says so, gives the URL again, and does not show the password again.
    again = _script("up", "--dir", str(deployment.dir), "--port", str(free_port()), timeout=120)
    assert again.returncode == 0 and "already running" in again.stdout and deployment.url in again.stdout
    assert deployment.password not in again.stdout

    target = os.environ.get("PERSONALIZE_SCREENSHOTS")
    shots = (ROOT / target) if target else tmp_path / "screenshots"
    with sync_playwright() as playwright:
        browser = ui.launch(playwright, chromium)
        page = ui.new_page(browser)
        try:
            run_id, dom, titles, pictures = _use_the_ui(page, deployment, shots)
        except BaseException:
            with contextlib.suppress(Exception):
                page.screenshot(path=tmp_path / "failure.png")
            print(f"\nthe browser was at {page.url}; its screen: {tmp_path / 'failure.png'}")
            raise
        finally:
            browser.close()

    # The version this run trained, and its ndcg@10, as Personalize itself reports them.
    version_arn, value = _trained_version(deployment.dir, "demo-user-personalization")
    version_id = version_arn.rsplit("/", 1)[-1]
    series = charts(dom)[NDCG]
    up = next(points for name, points in series.items() if name.startswith("demo-user-personalization ("))
    assert [v for v, _ in up] == [round(value, 4)], (up, value)
    assert any(version_id in t and run_id in t for t in titles), titles

    for name, seen in pictures.items():
        assert (seen["width"], seen["height"]) == (ui.VIEWPORT["width"], ui.VIEWPORT["height"]), (name, seen)
        # a rendered page, not a blank or half-loaded one: many colours, and much that is not background
        assert seen["colours"] >= 200 and seen["busy"] >= 0.1, (name, seen)
    readme = (ROOT / "README.md").read_text()
    assert all(f"](docs/images/{name})" in readme for name in SHOTS.values()), "the README shows these pictures"
    print(f"\nscreenshots in {shots}: {', '.join(SHOTS.values())}")


def _use_the_ui(page, deployment: Running, shots: Path) -> tuple[str, str, list[str], dict]:
    """Sign in, trigger with params, wait for the run, take the three pictures, open the Personalize page.

    Returns the run id, the Personalize page's DOM and its chart points' titles, and what each picture shows."""
    url = deployment.url
    ui.sign_in(page, url, "admin", deployment.password)
    ui.wait_for_dag_listed(page, url, DAG)
    for other in ("personalize_batch_export", "personalize_teardown"):
        assert page.get_by_role("link", name=other, exact=True).count() == 1, other

    run = ui.trigger_with_form(page, url, DAG, SOLUTIONS)
    assert run["conf"]["solutions"] == SOLUTIONS and run["triggered_by"] == "ui", run
    run_id = run["dag_run_id"]
    state, tasks = ui.wait_for_run(page, url, DAG, run_id, timeout=1800)
    failed = {t: s for t, s in tasks.items() if s not in ("success", "skipped")}
    assert state == "success", f"{failed}; logs in {deployment.dir / 'home' / 'logs'}"
    # the params reached the run: the solutions not asked for were skipped, the asked ones trained
    assert tasks["solution_demo_sims.train"] == "skipped"
    assert tasks["solution_demo_user_personalization.train"] == "success"

    ui.show_run(page, url, DAG, run_id, "Graph")
    page.locator(".react-flow__node").first.wait_for()
    page.get_by_role("button", name="Collapse Details Panel").click()
    page.get_by_role("button", name="Fit View").click()
    page.wait_for_timeout(1000)  # the fit-view transition
    pictures = {"graph": ui.screenshot(page, shots / SHOTS["graph"])}

    ui.show_run(page, url, DAG, run_id, "Grid")
    page.get_by_test_id("expand-all-button").click()
    page.get_by_text("import_interactions", exact=True).first.wait_for()
    pictures["grid"] = ui.screenshot(page, shots / SHOTS["grid"])

    frame = ui.open_plugin_page(page, url, "Browse", "Personalize")
    frame.locator("svg.metric-chart").wait_for()
    pictures["page"] = ui.screenshot(page, shots / SHOTS["page"])
    return run_id, frame.content(), frame.locator("svg.metric-chart circle title").all_text_contents(), pictures


def _trained_version(state: Path, solution: str) -> tuple[str, float]:
    """(solution version ARN, ndcg@10) of the solution's only ACTIVE version, from the local Personalize."""
    import boto3

    endpoints = json.loads((state / "stack" / "endpoints.json").read_text())
    client = boto3.client("personalize", endpoint_url=endpoints["personalize"], region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    solution_arn = next(s["solutionArn"] for s in client.list_solutions()["solutions"] if s["name"] == solution)
    versions = [v for v in client.list_solution_versions(solutionArn=solution_arn)["solutionVersions"]
                if v["status"] == "ACTIVE"]  # fmt: skip
    assert len(versions) == 1, versions
    arn = versions[0]["solutionVersionArn"]
    return arn, client.get_solution_metrics(solutionVersionArn=arn)["metrics"][NDCG]


def test_a_component_that_exits_while_starting_is_named_with_its_exit_code_and_log(tmp_path):
    """Liveness while starting comes from the component's own exit status (a command line read while Airflow
    retitles a process can be empty, and a live component must not be reported as exited)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("airflow_local_script", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    deployment = script.Deployment(tmp_path, port=free_port())
    deployment.logs.mkdir(parents=True)
    with open(deployment.logs / "triggerer.log", "wb") as log:
        dying = subprocess.Popen(["sh", "-c", "echo 'cannot reach the metadata DB'; exit 3"], stdout=log)
    alive = subprocess.Popen(["sleep", "60"])
    try:
        with pytest.raises(RuntimeError) as exc:
            deployment._wait_healthy({"scheduler": alive, "triggerer": dying}, timeout=60)
        assert "airflow triggerer exited with code 3" in str(exc.value)
        assert "cannot reach the metadata DB" in str(exc.value)
        dying.wait()
        with pytest.raises(TimeoutError, match="did not report healthy within 1s"):
            deployment._wait_healthy({"scheduler": alive}, timeout=1)
    finally:
        alive.kill()
        alive.wait()
