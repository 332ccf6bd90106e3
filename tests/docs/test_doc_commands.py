"""Every shell command README.md, CONTRIBUTING.md and docs/*.md show works as typed, or says why it is not run.

A documented command is a line of a ```bash / ```sh / ```shell block (continuation lines, open quotes and
here-documents joined; comment lines skipped), or a ``$ ``-prompted line of any other fenced block (```console
transcripts, output listings). Each one is either

- run by a test: COVERED maps it (whitespace and trailing comments aside) to the test that runs it. The tests of
  this module run their commands exactly as the document has them, in a bare bash (``env -i HOME=<empty>
  PATH=/usr/bin:/bin bash -c ...``: none of make's exports, no activated venv) at the root of a fresh copy of the
  repository (tests/docs/bare_shell.py). Long commands are run by the test COVERED names elsewhere (``make demo``
  in the e2e tier, ``make airflow`` in the deployment tier); ``make test`` is the suite itself, run by CI
  (``.ci/run``), never by a test;
- or marked in the document on the line right before its block: ``<!-- not-run: <reason> -->``.

A new or edited command fails test_every_command_is_run_or_marked until it is one of the two, and a runner test
runs the edited text, so a doc change that breaks a command fails a test.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from tests.docs.bare_shell import ROOT, assert_make_installs_nothing, bare_bash, fresh_copy, output

SHELL_LANGUAGES = {"bash", "sh", "shell"}
FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)")
MARKER = re.compile(r"^\s*<!--\s*not-run:\s*(.+?)\s*-->\s*$")
THIS = "tests/docs/test_doc_commands.py::"
CI = ".ci/run"
AIRFLOW_UI = "tests/deployment/test_airflow_ui.py::test_sign_in_trigger_with_params_and_see_the_new_version_charted"

#: command (normalized: shell words joined by one space, comments dropped; a key ending in "..." matches every
#: command that starts with the rest) -> the test node that runs it, or CI for `make test`.
COOKBOOK = "tests/personalize_ops/transform/test_cookbook.py::test_every_command_runs_and_writes_what_the_page_shows"
COVERED: dict[str, str] = {
    # docs/cookbook.md: its test runs every block of the page through the real CLI and compares what it writes
    ".venv/bin/python -m personalize_ops validate-config docs/cookbook/...": COOKBOOK,
    ".venv/bin/python -m personalize_ops prepare --config docs/cookbook/...": COOKBOOK,
    "PYTHONPATH=docs/cookbook/custom-transform .venv/bin/python -m personalize_ops ...": COOKBOOK,
    # README: the first screen and the Airflow UI
    "make demo": "tests/e2e/test_make_demo.py::test_make_demo_then_demo_teardown_in_a_bare_shell",
    "make test": CI,
    "make airflow": AIRFLOW_UI,
    "make airflow-stop": AIRFLOW_UI,
    # README: the config
    ".venv/bin/python -m personalize_ops generate-sample --interactions 100000 --out include/sample-data/shop"
    " --seed 42":
        THIS + "test_config_commands",
    ".venv/bin/python -m personalize_ops validate-config": THIS + "test_config_commands",
    ".venv/bin/python -m personalize_ops validate-config include/pipelines/shop.yaml": THIS + "test_config_commands",
    ".venv/bin/python -m personalize_ops prepare --config include/pipelines/shop.yaml --out out/":
        THIS + "test_config_commands",
    # docs/poc-guide.md, docs/poc-guide.es.md
    ".venv/bin/python -m personalize_ops validate-config include/movielens-poc.yaml": THIS + "test_config_commands",
    # README: the local stack
    "make stack-up": THIS + "test_local_stack_commands",
    "make stack-down": THIS + "test_local_stack_commands",
    ".venv/bin/python -m personalize_local serve --host 127.0.0.1 --port 4567 --data-dir .local-stack/serve":
        THIS + "test_local_stack_commands",
    # README: alerts and the Airflow connection (commands for an Airflow deployment, run against a test DB)
    "airflow connections add smtp_default --conn-json ...":
        "tests/personalize_ops/test_notifications.py::test_readme_examples_are_valid",
    "airflow connections add aws_default --conn-json ...":
        "tests/test_readme_connections.py::test_readme_connections_work",
    # docs/connections.md
    "export AIRFLOW_CONN_AWS_DEFAULT=...": THIS + "test_connection_exports",
    # docs/deployment.md
    "cat > .env <<EOF ...": THIS + "test_env_file_recipe",
    "chmod 600 .env": THIS + "test_env_file_recipe",
    ".venv/bin/uv pip compile --python-version 3.11 --generate-hashes -q ...": THIS + "test_lock_recompile",
    # CONTRIBUTING.md
    "make install": THIS + "test_contributing_commands",
    "make lint": THIS + "test_contributing_commands",
    ".venv/bin/python -m personalize_ops.waiters": THIS + "test_contributing_commands",
    # docs/experiments.md: the benchmark's transcript (a small run of the same tables)
    ".venv/bin/python -m benchmarks.experiments --users 2000,4000,8000,12000,16000,24000,32000":
        "tests/personalize_ops/experiments/test_benchmark.py::test_the_tables_print",
}  # fmt: skip


@dataclass(frozen=True)
class Command:
    doc: str  # path relative to the repository
    line: int  # 1-based line of the command's first line
    text: str  # as typed
    not_run: str | None  # the reason of the block's `<!-- not-run: ... -->` marker

    @property
    def key(self) -> str:
        return normalized(self.text)

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {self.text.splitlines()[0]}"


def documents() -> list[Path]:
    docs = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [d for d in docs if d.is_file()]


def normalized(text: str) -> str:
    """Shell words without comments, every run of whitespace (quoted ones too) as one space."""
    return " ".join(" ".join(shlex.split(text, comments=True)).split())


def _complete(text: str) -> bool:
    if text.rstrip().endswith("\\"):
        return False
    try:
        shlex.split(text, comments=True)
    except ValueError:  # an open quote: the command goes on
        return False
    return True


def split_commands(lines: list[str], prompted: bool) -> list[tuple[int, str]]:
    """(index of first line, text) of each command in a block's lines; ``prompted``: only ``$ `` lines start one."""
    found, i = [], 0
    while i < len(lines):
        line = lines[i]
        if prompted:
            if not line.startswith("$ "):
                i += 1
                continue
            line = line[2:]
        if not line.strip() or line.lstrip().startswith("#"):
            i += 1
            continue
        start, text, i = i, line, i + 1
        heredoc = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", line)
        if heredoc:
            while i < len(lines):
                text, i = text + "\n" + lines[i], i + 1
                if lines[i - 1].strip() == heredoc.group(1):
                    break
        while not _complete(text) and i < len(lines):
            text, i = text + "\n" + lines[i], i + 1
        found.append((start, text))
    return found


def doc_commands(path: Path, root: Path = ROOT) -> list[Command]:
    lines, rel = path.read_text().splitlines(), str(path.relative_to(root))
    commands, i = [], 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip().startswith(fence.group(1))), len(lines))
        language, body = fence.group(2).lower(), lines[i + 1 : end]
        previous = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = MARKER.match(previous)
        prompted = language not in SHELL_LANGUAGES
        for offset, text in split_commands(body, prompted):
            commands.append(Command(rel, i + 2 + offset, text, marker.group(1) if marker else None))
        i = end + 1
    return commands


def all_commands() -> list[Command]:
    return [c for doc in documents() for c in doc_commands(doc)]


def matches(key: str, command: str) -> bool:
    return command == key or (key.endswith("...") and command.startswith(key[:-3]))


def covered_by(test: str) -> list[Command]:
    """The documented commands COVERED says ``test`` (a test of this module) runs, in document order."""
    found = [c for c in all_commands() if c.not_run is None and any(
        matches(k, c.key) and v == THIS + test for k, v in COVERED.items())]  # fmt: skip
    assert found, f"no documented command is mapped to {test}"
    return found


def test_every_command_is_run_or_marked():
    commands = all_commands()
    assert len(commands) > 10, "the extractor found almost no commands"
    problems = []
    for c in commands:
        keys = [k for k in COVERED if matches(k, c.key)]
        if c.not_run is not None:
            if keys:
                problems.append(f"{c}: marked not-run, yet COVERED maps it to {COVERED[keys[0]]}")
            continue
        if not keys:
            problems.append(f"{c}: neither run by a test (COVERED in {THIS[:-2]}) nor marked <!-- not-run: ... -->")
        elif len({COVERED[k] for k in keys}) > 1:
            problems.append(f"{c}: mapped to several tests: {keys}")
    assert not problems, "\n".join(problems)


def test_every_mapping_names_a_documented_command_and_a_real_test():
    commands = [c for c in all_commands() if c.not_run is None]
    for key, node in COVERED.items():
        assert any(matches(key, c.key) for c in commands), f"COVERED key {key!r}: no documented command matches"
        if node == CI:
            ci = [line for line in (ROOT / CI).read_text().splitlines() if line.strip() and not line.startswith("#")]
            assert ci[-1].strip() == key == "make test", f"{CI} runs {ci[-1]!r}"
            continue
        path, name = node.split("::")
        tree = ast.parse((ROOT / path).read_text())
        tests = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        assert name in tests, f"{key!r} -> {node}: no such test"


def test_extractor_joins_continuations_and_heredocs_and_reads_markers(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(
        "text\n\n```bash\n# a comment\nmake x   # trailing\nairflow add '{\"a\": 1,\n  \"b\": 2}'\n"
        "cat > f <<EOF\nA=$(id -u)\nEOF\nls \\\n  -l\n```\n\n<!-- not-run: needs a real AWS account -->\n"
        "```sh\naws s3 ls\n```\n\n```\n$ python -m x --y 1\noutput line\n```\n```yaml\nkey: value\n```\n"
    )  # fmt: skip
    found = doc_commands(doc, tmp_path)
    assert [(c.line, c.key, c.not_run) for c in found] == [
        (5, "make x", None),
        (6, 'airflow add {"a": 1, "b": 2}', None),
        (8, "cat > f <<EOF A=$(id -u) EOF", None),
        (11, "ls -l", None),
        (17, "aws s3 ls", "needs a real AWS account"),
        (21, "python -m x --y 1", None),
    ]


# -- the runners -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    return fresh_copy(tmp_path_factory.mktemp("fresh"))


def run_all(commands: list[Command], repo: Path, timeout: float = 900) -> list[subprocess.CompletedProcess]:
    results = []
    for c in commands:
        done = bare_bash(c.text, repo, timeout=timeout)
        assert done.returncode == 0, f"{c}\n{output(done)}"
        results.append(done)
    return results


def test_config_commands(checkout):
    """The README's config commands, in its order, from a fresh copy: sample data, validate, prepare."""
    commands = covered_by("test_config_commands")
    for c, done in zip(commands, run_all(commands, checkout), strict=True):
        words = shlex.split(c.text, comments=True)
        if "generate-sample" in words:
            out = checkout / words[words.index("--out") + 1]
            rows = sum(1 for _ in (out / "interactions.csv").open()) - 1
            assert rows == int(words[words.index("--interactions") + 1]), f"{c}: {rows} rows"
        elif "validate-config" in words:
            assert "OK - dataset group" in done.stdout, f"{c}\n{output(done)}"
            assert "Traceback" not in done.stderr
        elif "prepare" in words:
            out = checkout / words[words.index("--out") + 1]
            for dataset in ("interactions", "items", "users"):  # the shop config's datasets
                assert (out / dataset / f"{dataset}.csv").stat().st_size > 0, f"{c}: no {dataset}.csv"
                assert (out / dataset / f"{dataset}.schema.json").is_file(), c


def _client(service: str, endpoint: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_local_stack_commands(checkout):
    """`make stack-up` starts a stack that answers, `make stack-down` stops it; `serve` serves in the foreground
    (on a free port instead of the documented one, which may be taken on a shared machine)."""
    commands = covered_by("test_local_stack_commands")
    up, down, serve = (next(c for c in commands if w in c.key) for w in ("stack-up", "stack-down", " serve "))
    assert_make_installs_nothing(checkout)
    endpoints_file = checkout / ".local-stack" / "endpoints.json"
    try:
        run_all([up], checkout)
        endpoints = json.loads(endpoints_file.read_text())
        assert "datasetGroups" in _client("personalize", endpoints["personalize"]).list_dataset_groups()
        assert "Buckets" in _client("s3", endpoints["s3"]).list_buckets()
    finally:
        stopped = bare_bash(down.text, checkout)
    assert stopped.returncode == 0, output(stopped)
    with pytest.raises(Exception):  # noqa: B017 - any connection error: nothing listens any more
        _client("personalize", endpoints["personalize"]).list_dataset_groups()

    port = _free_port()
    text = re.sub(r"--port \d+", f"--port {port}", serve.text)
    assert text != serve.text, f"{serve}: no --port to replace"
    proc = subprocess.Popen(
        ["/usr/bin/env", "-i", f"HOME={checkout.parent / 'home'}", "PATH=/usr/bin:/bin", "bash", "-c", f"exec {text}"],
        cwd=checkout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        client, deadline = _client("personalize", f"http://127.0.0.1:{port}"), time.monotonic() + 120
        while True:
            try:
                assert "datasetGroups" in client.list_dataset_groups()
                break
            except Exception:
                assert proc.poll() is None, f"{serve} exited {proc.returncode}: {proc.stdout.read()[-3000:]}"
                assert time.monotonic() < deadline, f"{serve} did not answer within 120 s"
                time.sleep(0.5)
        data_dir = shlex.split(text, comments=True)
        assert (checkout / data_dir[data_dir.index("--data-dir") + 1]).is_dir()
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        proc.stdout.close()


_HOOK_READS = """
.venv/bin/python -c '
import json
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
hook = AwsBaseHook(aws_conn_id="aws_default", client_type="personalize")
conn = hook.get_connection("aws_default")
print(json.dumps({"region": hook.conn_region_name, "login": conn.login, "endpoint": hook.conn_config.endpoint_url,
                  "s3": hook.conn_config.get_service_endpoint_url("s3")}))'
"""


def test_connection_exports(checkout):
    """Each AIRFLOW_CONN_AWS_DEFAULT export, typed into bash, gives the Amazon provider's hook that connection."""
    for c in covered_by("test_connection_exports"):
        (done,) = run_all([c], checkout)  # as typed, alone
        done = bare_bash(c.text + "\n" + _HOOK_READS, checkout, timeout=300)
        assert done.returncode == 0, f"{c}\n{output(done)}"
        seen = json.loads(done.stdout.strip().splitlines()[-1])
        wanted = json.loads(shlex.split(c.text)[1].split("=", 1)[1])
        extra = wanted.get("extra", {})
        assert seen["region"] == extra["region_name"], c
        assert seen["login"] == wanted.get("login"), c
        assert seen["endpoint"] == extra.get("endpoint_url"), c
        assert seen["s3"] == extra.get("service_config", {}).get("s3", {}).get("endpoint_url"), c


def test_env_file_recipe(checkout):
    """docs/deployment.md's `.env` recipe: every secret generated, the Fernet key valid, the file private."""
    import base64

    commands = covered_by("test_env_file_recipe")
    run_all(commands, checkout)
    env_file = checkout / ".env"
    assert env_file.stat().st_mode & 0o777 == 0o600
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if line)
    written = re.findall(r"^(\w+)=", next(c.text for c in commands if "<<" in c.text), re.M)
    assert set(values) == set(written) and all(values.values()), values.keys()
    assert len(base64.urlsafe_b64decode(values["AIRFLOW_FERNET_KEY"])) == 32
    assert values["AIRFLOW_UID"].isdigit()
    compose = (ROOT / "docker-compose.yaml").read_text()
    assert all(f"${{{k}" in compose for k in values), "docker-compose.yaml reads every variable the recipe writes"


NETWORK_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy",
               "no_proxy")  # fmt: skip


def _pins(text: str) -> list[str]:
    return sorted(line for line in text.splitlines() if re.match(r"^[A-Za-z0-9].*==", line))


def test_lock_recompile(tmp_path):
    """docs/deployment.md's lock recompilation, in a bare shell: each lock comes back with the same pins (uv keeps
    what the existing lock pins), so the committed locks are what their .in files resolve to. (A copy of its own:
    rewritten locks would make `make` in the shared copy want to reinstall.)"""
    checkout = fresh_copy(tmp_path)
    commands = covered_by("test_lock_recompile")
    before = {c: (checkout / shlex.split(c.text)[-1]).read_text() for c in commands}
    # The machine's way to PyPI (proxy, TLS trust) is the machine's, not make's: it is passed on.
    network = {k: os.environ[k] for k in NETWORK_ENV if k in os.environ}
    for c in commands:
        done = bare_bash(c.text, checkout, timeout=600, **network)
        assert done.returncode == 0, f"{c}\n{output(done)}"
    for c, text in before.items():
        lock = shlex.split(c.text)[-1]
        after = (checkout / lock).read_text()
        assert _pins(after) == _pins(text), f"{c}: the recompiled {lock} differs from the committed one"
        assert "--hash=sha256:" in after


def test_contributing_commands(checkout):
    """Set-up and generator commands in a fresh copy: make finds .venv installed, ruff is clean, and the waiter
    JSON the table generates is the committed one. (The copy's .venv is the installed one, whose personalize_ops is
    the working tree's, so the generator rewrites the working tree's JSON: identical while table and JSON agree.)"""
    assert_make_installs_nothing(checkout)
    waiters = "plugins/personalize_ops/waiters/personalize.json"
    commands = covered_by("test_contributing_commands")
    for c, done in zip(commands, run_all(commands, checkout), strict=True):
        if "install" in c.key:
            assert "uv pip install" not in done.stdout, f"{c}: make reinstalled\n{output(done)}"
        if "waiters" in c.key:
            written = Path(done.stdout.split("wrote ", 1)[1].strip())
            assert written.name == "personalize.json" and written.read_text() == (checkout / waiters).read_text()


def test_contributing_test_selections_collect(checkout):
    """The test selections CONTRIBUTING.md shows (marked not-run: they are the suite) name real tests. They differ
    only in their paths and ``-n 0``, so one bare-bash ``--collect-only`` of all their paths, typed the same way,
    stands for all of them (one start of pytest instead of seven), and each selection's paths must collect tests."""
    selections = [c for c in doc_commands(ROOT / "CONTRIBUTING.md") if c.key.startswith(".venv/bin/python -m pytest")]
    assert len(selections) >= 5, selections
    paths: dict[str, list[str]] = {}
    for c in selections:
        words = c.text.split("#")[0].split()
        assert words[:3] == [".venv/bin/python", "-m", "pytest"], c
        flags = [w for w in words[3:] if w.startswith("-") or w.isdigit()]
        assert flags in ([], ["-n", "0"]), f"{c}: only -n 0 is covered by this test"
        paths[c.text] = [w for w in words[3:] if w not in flags]
    union = sorted({p for ps in paths.values() for p in ps})
    done = bare_bash(f".venv/bin/python -m pytest -n 0 {' '.join(union)} --collect-only -q -p no:cacheprovider",
                     checkout, timeout=900)  # fmt: skip
    assert done.returncode == 0, output(done)
    collected = [line.split("::")[0] for line in done.stdout.splitlines() if "::" in line]
    for text, ps in paths.items():
        hits = [f for f in collected if any(f == p or f.startswith(p.rstrip("/") + "/") for p in ps)]
        assert hits, f"{text}: collects no test\n{output(done)}"


def test_make_airflow_runs_the_script_the_deployment_test_drives(checkout):
    """`make airflow` / `make airflow-stop` are run by the deployment tier through scripts/airflow_local.py (COVERED):
    here, in a bare shell, make resolves them to exactly that script (`make -n` prints without running)."""
    assert_make_installs_nothing(checkout)
    for target, action in (("airflow", "up"), ("airflow-stop", "down")):
        done = bare_bash(f"make -n {target}", checkout)
        assert done.returncode == 0, output(done)
        assert re.search(rf"\.venv/bin/python scripts/airflow_local\.py {action} --dir \S+", done.stdout), done.stdout
