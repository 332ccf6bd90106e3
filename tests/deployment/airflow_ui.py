"""Driving the Airflow 3 UI in headless Chromium (Playwright over Debian's chromium), as a person would.

Every step goes through what the UI itself offers: the sign-in form, the DAG list, the trigger form with its
generated params form, the REST calls the UI makes (with the UI's own session cookie), the Browse menu.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from urllib.parse import quote

from tests.fixtures.chromium import FLAGS

VIEWPORT = {"width": 1440, "height": 900}
# distinct colours and share of pixels unlike the most common one, decoded by the browser from the PNG
_PIXELS_JS = """async (b64) => {
  const img = new Image();
  img.src = "data:image/png;base64," + b64;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.width; canvas.height = img.height;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, img.width, img.height).data;
  const counts = new Map();
  for (let i = 0; i < d.length; i += 4) {
    const key = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  let top = 0;
  for (const n of counts.values()) top = Math.max(top, n);
  return {width: img.width, height: img.height, colours: counts.size, busy: 1 - top / (d.length / 4)};
}"""


TIMEOUT_MS = 120_000  # for each wait and click: a deadline for a machine busy running the DAG, not a target


def launch(playwright, chromium: str):
    """Debian's chromium (the `chromium` fixture), headless; Playwright downloads no browser of its own."""
    return playwright.chromium.launch(executable_path=chromium, args=[f for f in FLAGS if f != "--headless"])


def new_page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context.new_page()


def sign_in(page, url: str, username: str, password: str) -> None:
    """Open the UI, get sent to the sign-in form, fill it in and submit it; back on the home page after."""
    page.goto(url + "/")
    page.wait_for_url("**/auth/login**")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url + "/")


def wait_for_dag_listed(page, url: str, dag_id: str, timeout: float = 300) -> None:
    """The DAG list shows `dag_id` (the dag-processor has parsed it); reloads until it does."""
    deadline = time.monotonic() + timeout
    link = page.get_by_role("link", name=dag_id, exact=True)
    while True:
        page.goto(url + "/dags")
        try:
            link.first.wait_for(timeout=10_000)
            return
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: not parsed yet
            if time.monotonic() > deadline:
                errors = api(page, url, "/api/v2/importErrors")
                raise TimeoutError(f"{dag_id} not in the DAG list after {timeout}s; import errors: {errors}") from None


def trigger_with_form(page, url: str, dag_id: str, solutions: list[str]) -> dict:
    """Trigger button -> the trigger form -> `solutions` typed into its params form -> Trigger.

    Returns the DAG run the UI's own POST created (the API's response to the browser)."""
    page.goto(f"{url}/dags/{dag_id}")
    page.get_by_test_id("trigger-dag-button").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("#element_solutions").fill("\n".join(solutions))  # "Enter each string on a new line"
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(f"/dags/{dag_id}/dagRuns")) as r:
        dialog.get_by_role("button", name="Trigger", exact=True).click()
    response = r.value
    assert response.ok, f"the UI's trigger request failed: {response.status} {response.text()}"
    return response.json()


def api(page, url: str, path: str):
    """GET an Airflow REST path with the signed-in browser's session cookie, as the UI's own requests do."""
    response = page.request.get(url + path)
    assert response.ok, f"GET {path}: {response.status} {response.text()[:500]}"
    return response.json()


def run_path(dag_id: str, run_id: str) -> str:
    return f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"


def wait_for_run(page, url: str, dag_id: str, run_id: str, timeout: float) -> tuple[str, dict]:
    """Poll the run until it ends; returns (state, {task_id: state}). TimeoutError with the task states."""
    deadline = time.monotonic() + timeout
    while True:
        state = api(page, url, "/api/v2" + run_path(dag_id, run_id))["state"]
        if state in ("success", "failed") or time.monotonic() > deadline:
            tis = api(page, url, "/api/v2" + run_path(dag_id, run_id) + "/taskInstances?limit=1000")
            tasks = {t["task_id"]: t["state"] for t in tis["task_instances"]}
            if state in ("success", "failed"):
                return state, tasks
            raise TimeoutError(f"{dag_id} run {run_id} still {state} after {timeout}s; tasks: {tasks}")
        time.sleep(2)


def show_run(page, url: str, dag_id: str, run_id: str, view: str) -> None:
    """The run's page with its left panel in `view` ("Grid" or "Graph")."""
    page.goto(f"{url}/dags/{dag_id}/runs/{quote(run_id, safe='')}")
    page.get_by_role("button", name=f"Show {view} (Press g)").click()


def open_plugin_page(page, url: str, menu: str, item: str):
    """Browse menu -> `item`: the plugin's page embedded in the UI; returns its frame once it has loaded."""
    page.goto(url + "/")
    page.get_by_role("button", name=menu).click()
    page.get_by_role("menuitem", name=item).click()
    frame_el = page.locator(f'iframe[title="{item}"]')
    frame_el.wait_for()
    frame = frame_el.element_handle().content_frame()
    frame.wait_for_load_state()
    return frame


def screenshot(page, path: Path) -> dict:
    """Save a PNG of the viewport; returns its size and how much it shows (see `_PIXELS_JS`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path)
    probe = page.context.new_page()
    try:
        return probe.evaluate(_PIXELS_JS, base64.b64encode(path.read_bytes()).decode())
    finally:
        probe.close()
