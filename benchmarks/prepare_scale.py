"""Scale benchmark of the prepare stage: single-machine engine vs Spark local mode vs the I/O floor.

    .venv/bin/python -m benchmarks.prepare_scale --sizes 10000000
    .venv/bin/python -m benchmarks.prepare_scale --sizes 10000000,50000000,200000000 --spark-max 200000000

For each size (interactions rows of the synthetic sample, generated once into --data-dir) it runs, each in a
fresh subprocess (peak RSS of the process tree's largest member from wait4, wall time measured inside the
child, interpreter/GX/JVM start-up excluded; the data is generated in a separate process, so that no child
starts from a large parent's RSS):
  arrow floor       pyarrow streaming CSV read + CSV write of the same file, nothing else
  single machine    prepare_dataset (engine: single, gx_mode stats), spill files in the output folder
  spark local[N]    the Spark engine's job in local mode (only up to --spark-max rows; the JVM's own peak RSS
                    is reported, it is the child of the measured Python process); CSV part files as on S3,
                    disk-persisted blocks compressed. At 200M rows it needs about 60 GB of free local disk
Prints a Markdown table: wall seconds, rows/s, peak RSS, x floor. Results also go to --data-dir/scale.json.
Run it niced on a shared machine: ``nice -n 10 .venv/bin/python -m benchmarks.prepare_scale ...``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.prepare import ARROW_FLOOR, ENV, PREPARE, bench_config, ensure_data, run_child_rusage, write_table

SPARK = """
import json, resource, sys, time
t0 = time.time()
from personalize_ops.config import load_config
from personalize_ops.transform.spark.session import local_session
# Spark's own default of 200 shuffle partitions (AQE coalesces small ones), as in the spark-submit job; the tests'
# session uses 4, which at 10M+ rows leaves partitions of millions of rows to sort and spill
# spark.rdd.compress: the DISK_ONLY copies of the parsed and deduplicated rows compressed (LZ4), as the shuffle files
# are by default; uncompressed, they and the shuffle files need several times the input in local disk
spark = local_session(sys.argv[3], conf={"spark.driver.memory": sys.argv[4], "spark.sql.shuffle.partitions": "200",
                                         "spark.rdd.compress": "true"})
startup = time.time() - t0
from personalize_ops.transform.spark.prepare import prepare_dataset_spark
cfg = load_config(sys.argv[1])
t = time.time()
r = prepare_dataset_spark(spark, cfg, "interactions", sys.argv[2], merge=False)  # part files, as written to S3
secs = time.time() - t
jvm_process = spark.sparkContext._gateway.proc
spark.stop()
jvm_process.stdin.close()  # the gateway JVM exits at EOF on its stdin; reaped, its peak RSS counts as a child's
jvm_process.wait(timeout=120)
jvm = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"seconds": secs, "startup": startup, "rows": r.rows_in, "rows_out": r.rows_out,
                  "dropped": r.dropped, "jvm_peak_rss_mb": jvm}))
"""


def _remove_outputs(out: Path) -> None:
    for f in [*out.rglob("*.csv"), *out.rglob("*.parquet")]:
        f.unlink()
    for parts in out.rglob("*.parts"):
        shutil.rmtree(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000000", help="comma-separated row counts (10M, 50M, 200M in the docs)")
    ap.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "pz-bench-prepare"))
    ap.add_argument("--spark-max", type=int, default=0, help="also run Spark local mode up to this many rows")
    ap.add_argument("--engines", default="floor,single,spark", help="which of floor, single, spark to run (spark "
                    "only up to --spark-max); x floor is shown when the floor ran in the same invocation")  # fmt: skip
    ap.add_argument("--spark-master", default="local[2]")
    ap.add_argument("--spark-memory", default="4g", help="driver memory of local mode, where the driver runs the "
                    "tasks too (the tests' 1g is too small for a 10M-row file)")  # fmt: skip
    args = ap.parse_args(argv)
    engines = set(args.engines.split(","))
    if unknown := sorted(engines - {"floor", "single", "spark"}):
        ap.error(f"--engines: unknown {', '.join(unknown)}; choose from floor, single, spark")
    data_dir = Path(args.data_dir)
    table = []
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"size {size:,}", flush=True)
        # generated in a child process: a child's peak RSS (wait4) starts from its parent's RSS at fork time
        gen = "import sys; from pathlib import Path; from benchmarks.prepare import ensure_data; "
        gen += "ensure_data(Path(sys.argv[1]), int(sys.argv[2]))"
        subprocess.run([sys.executable, "-c", gen, str(data_dir), str(size)], check=True, env=ENV)
        folder = ensure_data(data_dir, size)
        out = folder / "out"
        out.mkdir(parents=True, exist_ok=True)
        cfg = str(bench_config(folder, "stats"))
        variants = [
            ("arrow floor (read+write)", ARROW_FLOOR, (str(folder / "interactions.csv"), str(out / "floor.csv"))),
            ("single machine", PREPARE, (cfg, str(out / "single"))),
        ]
        variants = [v for v, engine in zip(variants, ("floor", "single"), strict=True) if engine in engines]
        if size <= args.spark_max and "spark" in engines:
            spark_args = (cfg, str(out / "spark"), args.spark_master, args.spark_memory)
            variants.append((f"spark {args.spark_master}", SPARK, spark_args))
        floor = None
        for name, code, a in variants:
            r = run_child_rusage(code, *a)
            rss = max(r["peak_rss_mb"], r.get("jvm_peak_rss_mb", 0))
            floor = r["seconds"] if code is ARROW_FLOOR else floor
            x_floor = r["seconds"] / floor if floor else None
            row = {"size": size, "variant": name, "seconds": r["seconds"], "rows_per_s": size / r["seconds"],
                   "peak_rss_mb": rss, "x_floor": x_floor, "startup_s": r["startup"],
                   "rows_out": r["rows_out"], "dropped": r.get("dropped")}  # fmt: skip
            table.append(row)
            print(f"  {name:26s} {r['seconds']:8.1f}s {row['rows_per_s']:>12,.0f} rows/s  peak RSS {rss:7.0f} MB  "
                  f"x floor {x_floor or float('nan'):4.2f}  out {r['rows_out']:,} dropped {r.get('dropped')}",
                  flush=True)  # fmt: skip
            _remove_outputs(out)  # before the next variant: at 200M rows each output is about 14 GB
    write_table(table, data_dir / "scale.json", label="engine", width=26)
    return 0


if __name__ == "__main__":
    sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "plugins")]
    sys.exit(main())
