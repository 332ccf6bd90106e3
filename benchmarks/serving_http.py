"""GetRecommendations latency and throughput through real HTTP against the local stack.

Usage: .venv/bin/python -m benchmarks.serving_http [--data DIR] [--rate 200] [--seconds 10] [--clients 8]

Starts a LocalStack (moto S3 + personalize_local, free 127.0.0.1 ports), imports the MovieLens POC data
(interactions.csv + item-meta.csv through moto S3; synthetic data if the folder is absent), trains
aws-user-personalization, creates a campaign and two filters, then drives GetRecommendations from a
separate load-generator process (the machine has 2 cores: server and load generator each get one).

The load generator sends plain HTTP/1.1 keep-alive requests shaped like botocore's REST-JSON runtime call
(POST /recommendations, JSON body, same headers minus the SigV4 signature, which the local service does not
check), one connection per client thread:
- steady: `--rate` requests/s for `--seconds`, open loop (each request has a scheduled send time; latency
  is measured from that time, so a stalled server is not hidden by the client waiting: no coordinated omission);
- ceiling: closed loop, every client sends its next request as soon as the previous answer arrives.
Prints median/p99 latency (ms), achieved rate and errors per scenario, and the server process's CPU time
per request during the ceiling run (a number that other load on the machine does not inflate much).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil

from .recipes_vs_aws import DEFAULT_DATA

ROLE = "arn:aws:iam::000000000000:role/bench"


def _record(name: str, fields: list[dict]) -> dict:
    """A Personalize Avro schema (the record CreateSchema takes as JSON)."""
    return {"type": "record", "name": name, "namespace": "com.amazonaws.personalize.schema", "fields": fields,
            "version": "1.0"}  # fmt: skip


INTERACTIONS_SCHEMA = _record("Interactions", [{"name": n, "type": t} for n, t in (
    ("USER_ID", "string"), ("ITEM_ID", "string"), ("EVENT_TYPE", "string"), ("TIMESTAMP", "long"))])  # fmt: skip
ITEMS_SCHEMA = _record("Items", [{"name": "ITEM_ID", "type": "string"},
                                 {"name": "GENRE", "type": "string", "categorical": True},
                                 {"name": "YEAR", "type": ["null", "int"]}])  # fmt: skip
FILTERS = {
    "genre": ("INCLUDE ItemID WHERE Items.GENRE IN ($GENRES)", {"GENRES": '"Comedy","Drama"'}),
    "unwatched": ('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")', {}),
}
HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "Boto3/1.43 md/Botocore#1.43 benchmarks.serving_http",
    "Accept-Encoding": "identity",
}


# -- setup ------------------------------------------------------------------------------------------------
def _wait(describe, key: str, timeout: float = 600.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        desc = describe()[key]
        if desc.get("status") in ("ACTIVE", "CREATE FAILED"):
            if desc["status"] != "ACTIVE":
                raise RuntimeError(f"{key} failed: {desc.get('failureReason')}")
            return desc
        if time.monotonic() > deadline:
            raise RuntimeError(f"{key} still {desc.get('status')} after {timeout}s")
        time.sleep(0.1)


def _data(folder: Path) -> tuple[bytes, bytes, str]:
    if (folder / "interactions.csv").exists():
        return (folder / "interactions.csv").read_bytes(), (folder / "item-meta.csv").read_bytes(), str(folder)
    import io

    from personalize_local.engine.synthetic import generate

    data = generate(n_users=2000, n_items=2000, n_interactions=100_000)
    inter, items = io.StringIO(), io.StringIO()
    data.interactions[["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"]].to_csv(inter, index=False)
    data.items[["ITEM_ID", "GENRE"]].assign(YEAR=None).to_csv(items, index=False)
    return inter.getvalue().encode(), items.getvalue().encode(), "synthetic (engine.synthetic)"


def setup(stack, folder: Path) -> dict:
    """Imports, trains, creates the campaign and filters; returns ARNs, user ids and timings."""
    pz, s3 = stack.client("personalize"), stack.client("s3")
    inter, items, source = _data(folder)
    s3.create_bucket(Bucket="bench")
    s3.put_object(Bucket="bench", Key="interactions.csv", Body=inter)
    s3.put_object(Bucket="bench", Key="items.csv", Body=items)
    group = pz.create_dataset_group(name="bench")["datasetGroupArn"]
    _wait(lambda: pz.describe_dataset_group(datasetGroupArn=group), "datasetGroup")
    for dtype, schema, key in (
        ("INTERACTIONS", INTERACTIONS_SCHEMA, "interactions.csv"),
        ("ITEMS", ITEMS_SCHEMA, "items.csv"),
    ):
        schema_arn = pz.create_schema(name=f"bench-{dtype.lower()}", schema=json.dumps(schema))["schemaArn"]
        ds = pz.create_dataset(
            name=f"bench-{dtype.lower()}", datasetGroupArn=group, datasetType=dtype, schemaArn=schema_arn
        )["datasetArn"]
        _wait(lambda ds=ds: pz.describe_dataset(datasetArn=ds), "dataset")
        job = pz.create_dataset_import_job(
            jobName=f"bench-{dtype.lower()}",
            datasetArn=ds,
            dataSource={"dataLocation": f"s3://bench/{key}"},
            roleArn=ROLE,
        )["datasetImportJobArn"]
        _wait(lambda job=job: pz.describe_dataset_import_job(datasetImportJobArn=job), "datasetImportJob")
    solution = pz.create_solution(
        name="bench-up", datasetGroupArn=group, recipeArn="arn:aws:personalize:::recipe/aws-user-personalization"
    )["solutionArn"]
    _wait(lambda: pz.describe_solution(solutionArn=solution), "solution")
    t = time.perf_counter()
    version = pz.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    _wait(lambda: pz.describe_solution_version(solutionVersionArn=version), "solutionVersion")
    train_s = time.perf_counter() - t
    campaign = pz.create_campaign(name="bench", solutionVersionArn=version, minProvisionedTPS=1)["campaignArn"]
    _wait(lambda: pz.describe_campaign(campaignArn=campaign), "campaign")
    filters = {}
    for name, (expression, _values) in FILTERS.items():
        arn = pz.create_filter(name=f"bench-{name}", datasetGroupArn=group, filterExpression=expression)["filterArn"]
        _wait(lambda arn=arn: pz.describe_filter(filterArn=arn), "filter")
        filters[name] = arn
    users = sorted({line.split(b",", 1)[0].decode() for line in inter.splitlines()[1:] if line})
    return {"campaign": campaign, "filters": filters, "users": users, "train_s": train_s, "source": source}


def bodies(setup_info: dict, scenario: str, n: int = 2000, seed: int = 0) -> list[bytes]:
    """Request bodies for a scenario ("none" or a FILTERS key): random known users, 10% unknown."""
    rng = random.Random(seed)
    out = []
    for k in range(n):
        user = rng.choice(setup_info["users"]) if k % 10 else f"unknown-{k}"
        body = {"campaignArn": setup_info["campaign"], "userId": user, "numResults": 25}
        if scenario != "none":
            body["filterArn"] = setup_info["filters"][scenario]
            if FILTERS[scenario][1]:
                body["filterValues"] = FILTERS[scenario][1]
        out.append(json.dumps(body).encode())
    return out


# -- load generator (runs in its own process) ---------------------------------------------------------------
def _client(host, port, reqs, schedule, results, errors, stop_at):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    for k, body in enumerate(reqs):
        if schedule is not None:
            due = schedule[k]
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        else:
            due = time.perf_counter()
            if due >= stop_at:
                break
        try:
            conn.request("POST", "/recommendations", body=body, headers=HEADERS)
            resp = conn.getresponse()
            data = resp.read()
            ok = resp.status == 200 and b'"itemList"' in data
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=10)
        done = time.perf_counter()
        if ok:
            results.append((done - due) * 1000)
        else:
            errors.append(k)
    conn.close()


def run_load(endpoint: str, reqs: list[bytes], clients: int, rate: float | None, seconds: float) -> dict:
    """Open loop at `rate` requests/s (None: closed loop, as fast as answers come) for `seconds`."""
    host, port = endpoint.removeprefix("http://").split(":")
    results: list[float] = []
    errors: list[int] = []
    start = time.perf_counter() + 0.2
    threads = []
    for c in range(clients):
        if rate:
            count = int(rate * seconds / clients)
            interval = clients / rate
            schedule = [start + c * interval / clients + j * interval for j in range(count)]
            mine = [reqs[(c + j * clients) % len(reqs)] for j in range(count)]
        else:
            schedule = None
            mine = [reqs[(c + j * clients) % len(reqs)] for j in range(200_000)]
        threads.append(
            threading.Thread(
                target=_client,
                args=(host, int(port), mine, schedule, results, errors, start + seconds),
            )
        )
    if not rate:
        time.sleep(max(0.0, start - time.perf_counter()))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - (start if rate else start)
    lat = sorted(results)
    return {
        "requests": len(lat) + len(errors),
        "errors": len(errors),
        "rate": (len(lat) + len(errors)) / elapsed,
        "median": statistics.median(lat) if lat else float("nan"),
        "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan"),
    }


def _in_process(args):
    return run_load(*args)


def measure(pool, server, endpoint, reqs, clients, rate, seconds) -> dict:
    """run_load in the load-generator process; adds the server's CPU time per request (psutil)."""
    before = sum(server.cpu_times()[:2])
    result = pool.apply(_in_process, ((endpoint, reqs, clients, rate, seconds),))
    result["cpu_ms"] = (sum(server.cpu_times()[:2]) - before) * 1000 / max(result["requests"], 1)
    return result


def main() -> None:
    from personalize_local.stack import LocalStack

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--ceiling-seconds", type=float, default=5.0)
    args = ap.parse_args()
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp, LocalStack(tmp, min_delay=0.05) as stack, ctx.Pool(1) as pool:
        info = setup(stack, args.data)
        server = psutil.Process(stack.procs["personalize"].pid)
        print(
            f"data: {info['source']}; {len(info['users'])} users; user-personalization trained in "
            f"{info['train_s']:.1f}s; load generator: plain HTTP/1.1 keep-alive (botocore REST-JSON shape), "
            f"{args.clients} client threads in a separate process"
        )
        rows = []
        for scenario in ("none", *FILTERS):
            reqs = bodies(info, scenario)
            measure(pool, server, stack.endpoint, reqs[:200], 4, None, 1.0)  # warm-up: model, filter masks
            steady = measure(pool, server, stack.endpoint, reqs, args.clients, args.rate, args.seconds)
            ceiling = measure(pool, server, stack.endpoint, reqs, args.clients, None, args.ceiling_seconds)
            rows.append((scenario, steady, ceiling))
        print(
            f"{'filter':10}{'target/s':>9}{'sent/s':>8}{'median ms':>10}{'p99 ms':>8}{'errors':>7}"
            f"{'ceiling/s':>10}{'ceil p50':>9}{'ceil p99':>9}{'errors':>7}{'srv CPU ms/req':>15}"
        )
        for scenario, s, c in rows:
            print(
                f"{scenario:10}{args.rate:9.0f}{s['rate']:8.0f}{s['median']:10.2f}{s['p99']:8.2f}{s['errors']:7d}"
                f"{c['rate']:10.0f}{c['median']:9.2f}{c['p99']:9.2f}{c['errors']:7d}{c['cpu_ms']:15.2f}"
            )
        print("targets: p99 < 25 ms at the steady rate; ceiling >= 500 requests/s")


if __name__ == "__main__":
    main()
