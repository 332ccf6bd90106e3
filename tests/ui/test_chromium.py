"""The page in headless Chromium, served by a real uvicorn server, with Airflow's `_token` cookie."""

from tests.fixtures.chromium import charts, run_chromium, serve_with_login
from tests.ui.conftest import DG, NDCG, RUNS


def test_page_renders_charts_in_chromium(chromium, airflow_like_app, admin_token, tmp_path):
    with serve_with_login(airflow_like_app, admin_token) as server:
        anonymous = run_chromium(chromium, tmp_path / "anon", "--dump-dom", f"{server}/personalize/")
        shot = tmp_path / "personalize_page.png"
        # one browser run: DOM after the cookie login redirect, and a screenshot of the same page
        args = ["--dump-dom", f"--screenshot={shot}", "--window-size=1280,1500", f"{server}/login"]
        dom = run_chromium(chromium, tmp_path / "page", *args)
    assert "Not authenticated" in anonymous and "<svg" not in anonymous

    assert f"dataset group {DG}" in dom
    shown = charts(dom)
    assert list(shown) == [NDCG]
    series = shown[NDCG]
    assert len(series) == 2
    up = next(points for name, points in series.items() if "aws-user-personalization" in name)
    assert [v for v, _ in up] == [r[2] for r in RUNS]
    # the seeded gate (min_improvement 0.02) promotes run 1 and run 2 (+2.3%), not run 3 (+1.1%)
    assert [p for _, p in up] == [True, True, False]
    assert shot.exists() and shot.stat().st_size > 10_000
    print(f"\nscreenshot: {shot}\nchart values (ndcg@10, * = promoted): "
          + ", ".join(f"{v}{'*' if p else ''}" for v, p in up))  # fmt: skip
