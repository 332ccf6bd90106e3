"""Benchmark of the prepare stage against two references, side by side in one run.

    .venv/bin/python -m benchmarks.prepare --sizes 1000000,10000000,50000000

For each size (interactions rows of the synthetic sample, raw form: ms epochs, quoted CSV) it measures,
each in a fresh subprocess (peak RSS from wait4, wall time from inside the child, interpreter and GX
start-up reported separately and excluded from rows/s):
  prepare[stats]  our streamed prepare_dataset, gx_mode=stats (the default)
  prepare[rows]   the same with gx_mode=rows (GX validates every row); only up to --rows-mode-max
  pandas+GX       read the whole file into pandas, map, drop duplicates, validate it whole with the same
                  GX suites, write CSV; skipped above --pandas-max (it needs memory ~ input size)
  arrow floor     pyarrow streaming CSV read + CSV write of the same file, nothing else (the I/O floor)
Prints a table (medians over --repeat runs). Data is cached in --data-dir.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")]), "GX_ANALYTICS_ENABLED": "False"}

PREPARE = """
import json, sys, time
t0 = time.time()
from personalize_ops.quality.gx_runner import _context
from personalize_ops.config import load_config
from personalize_ops.transform import prepare_dataset
_context()
startup = time.time() - t0
cfg = load_config(sys.argv[1])
t = time.time()
r = prepare_dataset(cfg, "interactions", sys.argv[2])
print(json.dumps({"seconds": time.time() - t, "startup": startup, "rows": r.rows_in, "rows_out": r.rows_out,
                  "dropped": r.dropped, "bitmap_bytes": r.extra["dedupe_bitmap_bytes"]}))
"""

PANDAS_GX = """
import json, sys, time
t0 = time.time()
import pandas as pd
from personalize_ops.quality.gx_runner import SuiteRunner, _context
from personalize_ops.quality.rules import header_rule, row_rules, totals_row, totals_rules
_context()
startup = time.time() - t0
t = time.time()
raw = pd.read_csv(sys.argv[1], dtype={"customer": "str", "product": "str", "action": "str"})
df = pd.DataFrame({"USER_ID": raw["customer"], "ITEM_ID": raw["product"], "TIMESTAMP": raw["ts_ms"] // 1000,
                   "EVENT_TYPE": raw["action"]})
del raw
n = len(df)
df = df.drop_duplicates()
avro = {"fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
                   {"name": "TIMESTAMP", "type": "long"}, {"name": "EVENT_TYPE", "type": "string"}]}
rules = [r for r in row_rules("interactions", avro, [], (1577836800, 2000000000))]
ok1, _ = SuiteRunner("bench.source", [r for r in rules if r.suite == "source"]).validate(df)
per = [header_rule(avro)] + [r for r in rules if r.suite == "personalize"]
ok2, _ = SuiteRunner("bench.personalize", per).validate(df)
counts = df.groupby("USER_ID").size()
tot = totals_row("interactions", avro, len(df), int((counts >= 2).sum()), 0)
ok3, _ = SuiteRunner("bench.totals", totals_rules("interactions", avro, "FULL")).validate(pd.DataFrame([tot]))
df.to_csv(sys.argv[2], index=False)
print(json.dumps({"seconds": time.time() - t, "startup": startup, "rows": n, "rows_out": len(df),
                  "valid": bool(ok1 and ok2 and ok3)}))
"""

ARROW_FLOOR = """
import json, sys, time
t0 = time.time()
import pyarrow.csv as pcsv
from personalize_ops.transform.reader import BLOCK_BYTES  # same chunk size as prepare
startup = time.time() - t0
t = time.time()
reader = pcsv.open_csv(sys.argv[1], read_options=pcsv.ReadOptions(block_size=BLOCK_BYTES))
n = 0
with pcsv.CSVWriter(sys.argv[2], reader.schema) as w:
    for b in reader:
        w.write_batch(b)
        n += b.num_rows
print(json.dumps({"seconds": time.time() - t, "startup": startup, "rows": n, "rows_out": n}))
"""


def run_child_rusage(code: str, *args: str) -> dict:
    """Like run_child but reaps the child itself so its rusage (peak RSS) is exact."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen([sys.executable, "-c", code, *args], stdout=out, stderr=err, env=ENV, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if p.returncode:
            raise RuntimeError(f"benchmark child failed:\n{err.read()[-3000:]}")
        res = json.loads(out.read().strip().splitlines()[-1])
    res["peak_rss_mb"] = usage.ru_maxrss / 1024
    return res


def ensure_data(data_dir: Path, size: int) -> Path:
    folder = data_dir / f"n{size}"
    if not (folder / "interactions.csv").exists():
        from personalize_ops.sample_data import generate

        t = time.time()
        generate(folder, size, seed=42)
        print(f"  generated {size:,} interactions in {time.time() - t:.0f}s", flush=True)
    return folder


def bench_config(folder: Path, mode: str) -> Path:
    cfg = yaml.safe_load((REPO / "include" / "pipelines" / "shop.yaml").read_text())
    cfg["datasets"] = {"interactions": cfg["datasets"]["interactions"]}
    cfg["filters"], cfg["batch_jobs"] = [], []  # they reference the items dataset left out here
    cfg["datasets"]["interactions"]["source"]["path"] = str(folder / "interactions.csv")
    cfg["datasets"]["interactions"]["quality"]["gx_mode"] = mode
    path = folder / f"bench-{mode}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "pz-bench-prepare"))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--pandas-max", type=int, default=20_000_000, help="skip pandas+GX above this many rows")
    ap.add_argument("--rows-mode-max", type=int, default=10_000_000, help="skip prepare[rows] above this")
    args = ap.parse_args(argv)
    sys.path[:0] = [str(REPO), str(REPO / "plugins")]
    data_dir = Path(args.data_dir)
    table = []
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"size {size:,}", flush=True)
        folder = ensure_data(data_dir, size)
        src = folder / "interactions.csv"
        out = folder / "out"
        variants = [("arrow floor (read+write)", ARROW_FLOOR, (str(src), str(out / "floor.csv")))]
        variants.append(("prepare[stats]", PREPARE, (str(bench_config(folder, "stats")), str(out / "stats"))))
        if size <= args.rows_mode_max:
            variants.append(("prepare[rows]", PREPARE, (str(bench_config(folder, "rows")), str(out / "rows"))))
        if size <= args.pandas_max:
            variants.append(("pandas+GX whole file", PANDAS_GX, (str(src), str(out / "pandas.csv"))))
        out.mkdir(parents=True, exist_ok=True)
        floor = None
        for name, code, a in variants:
            runs = [run_child_rusage(code, *a) for _ in range(args.repeat)]
            secs = statistics.median(r["seconds"] for r in runs)
            rss = statistics.median(r["peak_rss_mb"] for r in runs)
            floor = secs if floor is None else floor
            detail = {k: v for k, v in runs[0].items() if k not in ("seconds", "startup", "peak_rss_mb")}
            startup = statistics.median(r["startup"] for r in runs)
            row = {"size": size, "variant": name, "seconds": secs, "rows_per_s": size / secs, "peak_rss_mb": rss,
                   "x_floor": secs / floor, "startup_s": startup, "detail": detail}  # fmt: skip
            table.append(row)
            print(f"  {name:28s} {secs:8.1f}s {size / secs:>12,.0f} rows/s  peak RSS {rss:7.0f} MB  "
                  f"x floor {secs / floor:4.2f}  (start-up {startup:.1f}s) {detail}", flush=True)  # fmt: skip
        for f in out.rglob("*.csv"):
            f.unlink()
        if size > args.pandas_max:
            print(f"  pandas+GX skipped: {size:,} rows exceed --pandas-max (whole-file pandas needs RAM ~ input)")
    write_table(table, data_dir / "results.json")
    return 0


def _ratio(x: float | None) -> str:
    return f"{x:7.2f}" if x is not None else f"{'-':>7}"


def write_table(table: list[dict], path: Path, label: str = "variant", width: int = 28) -> None:
    """Print the rows as a Markdown table (size, ``label`` = the variant, wall s, rows/s, peak RSS, x floor) and
    save them to ``path`` as JSON."""
    print()
    print(f"| {'rows':>11} | {label:{width}} | {'wall s':>7} | {'rows/s':>11} | {'peak RSS MB':>11} | {'x floor':>7} |")
    print(f"|{'-' * 13}|{'-' * (width + 2)}|{'-' * 9}|{'-' * 13}|{'-' * 13}|{'-' * 9}|")
    for r in table:
        print(f"| {r['size']:>11,} | {r['variant']:{width}} | {r['seconds']:7.1f} | {r['rows_per_s']:>11,.0f} | "
              f"{r['peak_rss_mb']:>11,.0f} | {_ratio(r['x_floor'])} |")  # fmt: skip
    path.write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    sys.exit(main())
