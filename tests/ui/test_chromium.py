"""The page in headless Chromium, served by a real uvicorn server, with Airflow's `_token` cookie."""

import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from tests.ui.conftest import DG, NDCG
from tests.ui.moto_s3 import free_port

ROOT = Path(__file__).resolve().parents[2]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def chromium():
    if not shutil.which("chromium"):
        script = str(ROOT / "scripts/install_chromium.sh")
        proc = subprocess.run(["bash", script], capture_output=True, text=True)
        if proc.returncode != 0 or not shutil.which("chromium"):
            pytest.skip(f"chromium is not installed and could not be installed: {proc.stderr[-400:]}")
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def server(airflow_like_app, admin_token):
    """uvicorn on 127.0.0.1; /login sets the `_token` cookie like the Airflow UI (Airflow-minted JWT)."""
    app = FastAPI()

    @app.get("/login")
    def login() -> RedirectResponse:
        response = RedirectResponse("/personalize/", 303)
        response.set_cookie("_token", admin_token, httponly=True, samesite="lax")
        return response

    app.mount("/", airflow_like_app)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def run_chromium(chromium: str, tmp_path: Path, name: str, *args: str) -> str:
    profile = tmp_path / f"profile-{name}"
    profile.mkdir()
    proc = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=90
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_page_renders_charts_in_chromium(chromium, server, tmp_path):
    anonymous = run_chromium(chromium, tmp_path, "anon", "--dump-dom", f"{server}/personalize/")
    assert "Not authenticated" in anonymous and "<svg" not in anonymous

    shot = tmp_path / "personalize_page.png"
    size = "--window-size=1280,1500"
    # one browser run: DOM after the cookie login redirect, and a screenshot of the same page
    args = ["--dump-dom", f"--screenshot={shot}", size, f"{server}/login"]
    dom = run_chromium(chromium, tmp_path, "page", *args)
    assert f"dataset group {DG}" in dom
    svg = re.search(r'<svg class="metric-chart" data-metric="([^"]+)".*?</svg>', dom, re.S)
    assert svg and svg.group(1) == NDCG
    assert svg.group(0).count("<polyline") == 2
    values = re.findall(r'class="point( promoted)?"[^>]*data-value="([0-9.]+)"', svg.group(0))
    assert len(values) == 6 and sorted(v for p, v in values if p) == ["0.2687", "0.2750"]

    assert shot.exists() and shot.stat().st_size > 10_000
    print(f"\nscreenshot: {shot}\nchart values (ndcg@10, * = promoted): "
          + ", ".join(f"{v}{'*' if p else ''}" for p, v in values))  # fmt: skip
