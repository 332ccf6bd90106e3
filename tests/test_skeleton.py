"""The repository layout the README promises exists."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_layout():
    for rel in ["dags", "plugins/personalize_ops", "include", "personalize_local", "benchmarks", ".ci/run"]:
        assert (ROOT / rel).exists(), rel


def test_every_script_and_module_the_makefile_and_readme_run_exists():
    """`make bench` once pointed at a script that did not exist: every path and module they invoke must."""
    import re

    makefile = (ROOT / "Makefile").read_text()
    scripts = set(re.findall(r"bash ((?:scripts|benchmarks)/[\w./-]+\.sh)", makefile))
    assert scripts >= {"scripts/run_tests.sh", "scripts/demo.sh", "benchmarks/run_all.sh"}
    modules = set()
    for text in [(ROOT / "README.md").read_text(), *((ROOT / s).read_text() for s in scripts)]:
        modules |= set(re.findall(r"-m (benchmarks\.\w+)", text))
        modules |= {"benchmarks." + m for m in re.findall(r"^run benchmarks\.(\w+)", text, re.M)}
    assert "benchmarks.serving_http" in modules
    for path in scripts | {m.replace(".", "/") + ".py" for m in modules}:
        assert (ROOT / path).is_file(), path


def test_every_image_the_readme_shows_is_a_png_in_the_repository():
    import re

    images = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", (ROOT / "README.md").read_text())
    assert images, "the README shows no image"
    for rel in images:
        path = ROOT / rel
        assert path.is_file(), rel
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{rel} is not a PNG"
