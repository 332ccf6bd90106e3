"""Parse time of each DAG file, measured the way the dag-processor pays it.

Usage: .venv/bin/python -m benchmarks.dag_parse [--runs 5]
Airflow and the AWS provider are imported once in this process; each DAG file is then executed in a forked
child (so each parse pays for the file's own imports, ours included). Prints the median and the maximum per
file in milliseconds. The DAG-integrity test checks the load-independent part (no heavy imports at parse time).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _parse_once(path: Path) -> float:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        t = time.perf_counter()
        spec = importlib.util.spec_from_file_location("dagfile", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        os.write(w, json.dumps(time.perf_counter() - t).encode())
        os._exit(0)
    os.close(w)
    took = json.loads(os.read(r, 65536))
    os.close(r)
    os.waitpid(pid, 0)
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    for extra in (ROOT / "plugins", ROOT / "dags"):
        sys.path.insert(0, str(extra))
    import airflow.providers.amazon.aws.hooks.s3  # noqa: F401 - paid once by the dag-processor
    import airflow.providers.amazon.aws.operators.base_aws  # noqa: F401
    import airflow.sdk  # noqa: F401

    print(f"DAG file parse time, {args.runs} forked parses each (Airflow preloaded)")
    print(f"{'file':<34} {'median ms':>10} {'max ms':>8}")
    for path in sorted(p for p in (ROOT / "dags").glob("*.py") if not p.name.startswith("_")):
        samples = [_parse_once(path) for _ in range(args.runs)]
        print(f"{path.name:<34} {statistics.median(samples) * 1000:>10.0f} {max(samples) * 1000:>8.0f}")


if __name__ == "__main__":
    main()
