"""Offline checks of docker/Dockerfile and the lock files it installs (no Docker engine on the test machines).

The Dockerfile is read stage by stage (base image, requirement files installed, Debian packages installed); the
wheels it would install are the ones this virtualenv has (same lock files, same manylinux x86_64 wheels), so their
ELF dependencies tell which system libraries each image must have.
"""

import importlib.util
import re
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "docker/Dockerfile").read_text()
LOCKS = ["requirements.txt", "requirements-local.txt", "requirements-dev.txt", "requirements-uv.txt"]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
BUILD_TARGETS = sorted({s["build"]["target"] for s in COMPOSE["services"].values() if "build" in s})

_spec = importlib.util.spec_from_file_location("shared_libs", ROOT / "docker/shared_libs.py")
shared_libs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shared_libs)

# The shared libraries of Debian packages, for the libraries the locked wheels need.
DEBIAN_SONAMES = {
    "libc6": {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "ld-linux-x86-64.so.2"},
    "libgcc-s1": {"libgcc_s.so.1"},
    "libstdc++6": {"libstdc++.so.6"},
    "zlib1g": {"libz.so.1"},
    "libgomp1": {"libgomp.so.1"},
}
# Of those, what apache/airflow:<version>-python3.11 has: it is debian:bookworm-slim plus Airflow's runtime apt
# packages (Airflow's Dockerfile, install_os_dependencies.sh runtime). Every Debian image has libc6, zlib1g (dpkg
# pre-depends on it), libstdc++6 and libgcc-s1 (apt depends on them); libgomp1 is neither in the slim image nor
# in the recursive dependencies of Airflow's runtime packages.
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}


def dockerfile_stages(text: str) -> dict[str, dict]:
    """name -> {"from": image or parent stage, "requirements": repo files pip-installed, "apt": packages}."""
    stages: dict[str, dict] = {}
    copies: dict[str, str] = {}  # path in the image -> file in the build context (the repository)
    current = None
    for line in re.sub(r"\\\n\s*", " ", text).splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "FROM":
            current = {"from": words[1], "requirements": [], "apt": []}
            stages[words[3] if len(words) > 3 and words[2].upper() == "AS" else words[1]] = current
        elif words[0] == "COPY":
            *sources, dest = [w for w in words[1:] if not w.startswith("--")]
            for src in sources:
                copies[dest + Path(src).name if dest.endswith("/") else dest] = src
        elif words[0] == "RUN":
            for command in re.split(r"&&|;", line[3:]):
                args = shlex.split(command)
                if args[:2] == ["pip", "install"]:
                    current["requirements"] += [copies[a] for p, a in zip(args, args[1:], strict=False) if p == "-r"]
                if args[:2] == ["apt-get", "install"]:
                    current["apt"] += [a for a in args[2:] if not a.startswith("-")]
    return stages


def stage_chain(stages: dict[str, dict], target: str) -> list[dict]:
    """The stages an image target is built from, base first."""
    chain = [stages[target]]
    while chain[0]["from"] in stages:
        chain.insert(0, stages[chain[0]["from"]])
    return chain


def pins(path: str) -> dict[str, tuple[str, set[str]]]:
    """name -> (version, hashes) of a compiled lock file."""
    out: dict[str, tuple[str, set[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", (ROOT / path).read_text()):
        if m := re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", block):
            out[m.group(1).lower()] = (m.group(2), set(re.findall(r"--hash=(sha256:[0-9a-f]{64})", block)))
    return out


def test_base_image_has_the_python_the_locks_are_compiled_for():
    """The locks resolve wheels for one Python (cp311); the plain apache/airflow tag ships another."""
    base = dockerfile_stages(DOCKERFILE)["airflow"]["from"]
    assert base == "apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}"
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", DOCKERFILE, re.M))
    compiled_for = {re.search(r"--python-version (\S+)", (ROOT / f).read_text()).group(1) for f in LOCKS}
    assert compiled_for == {args["PYTHON_VERSION"]} == {"3.11"}
    assert args["AIRFLOW_VERSION"] == pins("requirements.txt")["apache-airflow"][0]


def test_compose_builds_stages_that_install_our_locks():
    stages = dockerfile_stages(DOCKERFILE)
    assert set(BUILD_TARGETS) <= set(stages)
    assert stages["airflow"]["requirements"] == ["requirements.txt"]
    assert [r for s in stage_chain(stages, "local-stack") for r in s["requirements"]] == [
        "requirements.txt",
        "requirements-local.txt",
    ]


@pytest.mark.parametrize("target", BUILD_TARGETS)
def test_image_has_every_system_library_the_locked_wheels_need(target):
    """ELF DT_NEEDED of every .so the image's locked distributions install, minus what the wheels vendor, must
    be in the base image or in a Debian package the Dockerfile installs (implicit needs libgomp.so.1)."""
    chain = stage_chain(dockerfile_stages(DOCKERFILE), target)
    requirements = [ROOT / r for stage in chain for r in stage["requirements"]]
    apt = {p for stage in chain for p in stage["apt"]}
    assert not apt - set(DEBIAN_SONAMES), f"add the libraries of {apt - set(DEBIAN_SONAMES)} to DEBIAN_SONAMES"
    provided = {so for package in BASE_IMAGE_PACKAGES | apt for so in DEBIAN_SONAMES[package]}
    needs = shared_libs.system_needs(shared_libs.locked_names(*requirements))
    assert "libc.so.6" in needs  # the scan sees the wheels' extension modules
    missing = {so: sorted(files)[:3] for so, files in needs.items() if so not in provided}
    assert not missing, (
        f"target {target}: no package in the image ships {missing}; apt-get install it in the Dockerfile"
    )


def test_elf_reader_agrees_with_readelf():
    files = [
        Path(metadata.distribution(name).locate_file(f))
        for name in ("implicit", "numpy")
        for f in metadata.distribution(name).files
        if ".so" in f.name
    ]
    assert len(files) > 5
    for path in files:
        out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, check=True).stdout
        assert shared_libs.elf_needed(path) == re.findall(r"\(NEEDED\)\s+Shared library: \[(.+)\]", out), path


def test_build_time_library_check_runs_against_the_systems_linker_cache():
    """What the image build runs after each install; this machine has every library the locks need."""
    script = str(ROOT / "docker/shared_libs.py")
    ok = subprocess.run([sys.executable, script, "check", "requirements.txt", "requirements-local.txt"], cwd=ROOT,
                        capture_output=True, text=True)  # fmt: skip
    assert ok.returncode == 0 and "all present" in ok.stdout, ok.stderr
    assert subprocess.run([sys.executable, script], capture_output=True).returncode == 2


def test_lock_files_pin_every_package_with_hashes_and_agree():
    """uv and pip in hash-checking mode need a hash for every package, dependencies included; the layered files
    (-c constraints) must give a package they share the same version and hashes."""
    seen: dict[str, tuple[str, tuple[str, set[str]]]] = {}
    for lock in LOCKS:
        assert "--generate-hashes" in (ROOT / lock).read_text().splitlines()[1], f"{lock}: not compiled with hashes"
        for name, (version, hashes) in pins(lock).items():
            assert hashes, f"{lock}: {name}=={version} has no --hash"
            if name in seen:
                other, pinned = seen[name]
                assert pinned == (version, hashes), f"{name}: {lock} and {other} disagree"
            seen[name] = (lock, (version, hashes))
        source = (ROOT / lock.replace(".txt", ".in")).read_text()
        for name, version in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._\[\]-]*)==(\S+)", source, re.M):
            assert pins(lock)[re.sub(r"\[.*\]", "", name).lower()][0] == version, f"{lock}: {name} is not {version}"


def test_every_install_checks_hashes():
    makefile = (ROOT / "Makefile").read_text()

    def installs(target: str) -> list[str]:
        recipe = re.search(rf"^\$\({target}\):.*?\n((?:\t.*\n)+)", makefile, re.M).group(1).replace("\\\n", " ")
        return [line for line in recipe.splitlines() if " install " in line]

    runtime, dev = installs("STAMP"), installs("DEV_STAMP")
    # the runtime's third installs this repository itself, editable and without dependencies: nothing to check
    assert len(runtime) == 3 and re.search(r"uv pip install .*--no-deps .*-e \.$", runtime[2].strip())
    assert "pip install" in runtime[0] and "--require-hashes -r requirements-uv.txt" in runtime[0]
    for line in (runtime[1], *dev):
        assert "uv pip install" in line and "--require-hashes" in line, line
    assert re.findall(r"-r (\S+)", runtime[1]) == ["requirements.txt", "requirements-local.txt"]
    # the dev step installs every layer together, so the layers are checked against each other
    assert [re.findall(r"-r (\S+)", line) for line in dev] == [
        ["requirements.txt", "requirements-local.txt", "requirements-dev.txt", "requirements-spark.txt"]
    ]
    runs = [c for c in re.split(r"&&|;|\n", re.sub(r"\\\n", " ", DOCKERFILE)) if "pip install" in c]
    assert len(runs) == 2
    for command in runs:
        args = shlex.split(command.strip().removeprefix("RUN "))
        assert "--require-hashes" in args, command
        bare = [a for i, a in enumerate(args) if i > 1 and not a.startswith("-") and args[i - 1] != "-r"]
        assert not bare, f"{command}: {bare} cannot be hash-checked; pin it in a lock file"
