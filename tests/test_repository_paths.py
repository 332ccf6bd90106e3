"""The repository speaks of the project only: no absolute path of somebody's machine in any of its files.

Flagged: /work/..., /home/<user>, /Users/<user>, /root/..., /mnt/..., macOS temp folders, C:\\Users\\..., and
/tmp (a path under the system temp dir is one machine's; code asks ``tempfile`` and docs use relative paths).
Container paths of the image (/opt/airflow, /opt/personalize) are the product's own and not flagged. ALLOWED lists
the few genuine uses, each by file and exact text.
"""

from __future__ import annotations

import re

from tests.docs.bare_shell import ROOT, repository_files

MACHINE_PATH = re.compile(
    r"(?<![\w.$}-])(?:/work/|/home/[a-z_][\w-]*|/Users/\w|/root/|/mnt/\w|/private/var/|/var/folders/|/tmp\b)"
    r"|\b[A-Za-z]:\\\\?Users\\"
)
#: (file, exact text of the line's match context) of genuine uses.
ALLOWED = {
    # inside the image build: pip's input files in the container's /tmp, never on a host
    ("docker/Dockerfile", "COPY requirements.txt /tmp/requirements.txt"),
    ("docker/Dockerfile", "RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.txt"),
    ("docker/Dockerfile", "RUN python /opt/personalize/bin/shared_libs.py check /tmp/requirements.txt"),
    ("docker/Dockerfile", "COPY requirements-local.txt /tmp/requirements-local.txt"),
    ("docker/Dockerfile", "RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements-local.txt \\"),
    ("docker/Dockerfile",
     "&& python /opt/personalize/bin/shared_libs.py check /tmp/requirements.txt /tmp/requirements-local.txt"),
    # PostgreSQL for the deployment tier may run as another user: the fallback when the temp dir is private
    ("tests/fixtures/services.py", 'base = Path("/tmp")'),
}  # fmt: skip
SELF = "tests/test_repository_paths.py"


def machine_paths() -> list[tuple[str, int, str]]:
    found = []
    for rel in repository_files():
        if rel == SELF:
            continue
        data = (ROOT / rel).read_bytes()
        if b"\0" in data[:8192]:  # images and other binary files
            continue
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if MACHINE_PATH.search(line) and (rel, line.strip()) not in ALLOWED:
                found.append((rel, number, line.strip()))
    return found


def test_no_absolute_machine_paths():
    found = machine_paths()
    assert not found, "absolute machine paths (use relative paths, or tempfile in code):\n" + "\n".join(
        f"{rel}:{n}: {line[:160]}" for rel, n, line in found
    )


def test_every_allowed_use_still_exists():
    """An allow-list entry whose line is gone would silently allow the next one."""
    lines = {(rel, line.strip()) for rel, _ in ALLOWED for line in (ROOT / rel).read_text().splitlines()}
    assert not ALLOWED - lines, sorted(ALLOWED - lines)


def test_the_pattern():
    flagged = ["see /work/main/README.md", "cd /home/alice/src", "/Users/bob/x", "--data-dir /tmp/pz",
               "open('/tmp')", "C:\\Users\\carol", "/root/.cache/x", "/var/folders/xy/T/"]  # fmt: skip
    kept = ["/opt/airflow/dags", "$DEMO/work", "s3://b/work/x", "./tmp/x", "https://example.com/home/x",
            "PATH=/usr/bin:/bin", "${PZ_DIR}/tmp/x", "include/sample-data/tmp"]  # fmt: skip
    assert [t for t in flagged if not MACHINE_PATH.search(t)] == []
    assert [t for t in kept if MACHINE_PATH.search(t)] == []
