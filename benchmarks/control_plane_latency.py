"""Control-plane request overhead of personalize_local on loopback.

Starts a local stack, creates one dataset group with a few solutions, then:
1. steady load: 300 requests/s (open loop, scheduled sends) from 50 concurrent keep-alive clients for
   `--seconds`, half DescribeDatasetGroup, half ListSolutions; median / p99 latency per operation;
2. ceiling: the same 50 clients closed-loop (next request as soon as the answer arrives) -> requests/s.
Requests are the exact awsJson1_1 requests botocore sends (POST /, X-Amz-Target, JSON body), over
http.client, so the numbers measure the service rather than client-side signing.

    .venv/bin/python -m benchmarks.control_plane_latency [--rate 300] [--clients 50] [--seconds 10]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import tempfile
import threading
import time
from urllib.parse import urlsplit

from personalize_local.stack import LocalStack

OPS = ("DescribeDatasetGroup", "ListSolutions")
AUTH = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/personalize/aws4_request"


def setup(stack: LocalStack) -> dict[str, bytes]:
    pz = stack.client("personalize")
    group = pz.create_dataset_group(name="bench")["datasetGroupArn"]
    while pz.describe_dataset_group(datasetGroupArn=group)["datasetGroup"]["status"] != "ACTIVE":
        time.sleep(0.05)
    for n in range(5):
        pz.create_solution(
            name=f"bench-{n}",
            datasetGroupArn=group,
            recipeArn="arn:aws:personalize:::recipe/aws-popularity-count",
        )
    return {
        "DescribeDatasetGroup": json.dumps({"datasetGroupArn": group}).encode(),
        "ListSolutions": json.dumps({"datasetGroupArn": group}).encode(),
    }


class Client:
    """One keep-alive connection sending awsJson1_1 requests."""

    def __init__(self, endpoint: str):
        url = urlsplit(endpoint)
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)

    def call(self, op: str, body: bytes) -> float:
        started = time.perf_counter()
        self.conn.request(
            "POST",
            "/",
            body=body,
            headers={
                "X-Amz-Target": f"AmazonPersonalize.{op}",
                "Content-Type": "application/x-amz-json-1.1",
                "Authorization": AUTH,
            },
        )
        resp = self.conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{op} answered {resp.status}")
        return time.perf_counter() - started


def steady(endpoint: str, bodies: dict, rate: float, clients: int, seconds: float) -> tuple[dict, float]:
    """Open loop: client i sends at t0 + i/rate + k*clients/rate. Returns latencies per op, max lateness."""
    results = {op: [] for op in OPS}
    lateness = []
    lock = threading.Lock()
    t0 = time.perf_counter() + 0.5
    interval = clients / rate

    def run(i: int) -> None:
        client = Client(endpoint)
        k = 0
        local = {op: [] for op in OPS}
        late = []
        while True:
            due = t0 + i / rate + k * interval
            if due > t0 + seconds:
                break
            now = time.perf_counter()
            if due > now:
                time.sleep(due - now)
            late.append(max(0.0, time.perf_counter() - due))
            op = OPS[(i + k) % 2]
            local[op].append(client.call(op, bodies[op]))
            k += 1
        with lock:
            for op in OPS:
                results[op] += local[op]
            lateness.extend(late)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, max(lateness) if lateness else 0.0


def ceiling(endpoint: str, bodies: dict, clients: int, seconds: float) -> tuple[float, list[float]]:
    """Closed loop: as fast as the service answers. Returns requests/s and all latencies."""
    stop = time.perf_counter() + seconds
    latencies: list[float] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        client = Client(endpoint)
        local = []
        k = 0
        while time.perf_counter() < stop:
            op = OPS[(i + k) % 2]
            local.append(client.call(op, bodies[op]))
            k += 1
        with lock:
            latencies.extend(local)

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) / (time.perf_counter() - started), latencies


def server_side(log, offset: int) -> list[float]:
    """Handler durations (seconds) of the benchmark requests, from the service's per-request log lines."""
    with open(log, "rb") as fh:
        fh.seek(offset)
        lines = fh.read().decode(errors="replace").splitlines()
    return [
        float(line.rsplit(" ", 1)[1][:-2]) / 1000
        for line in lines
        if any(f" {op} " in line for op in OPS) and line.endswith("ms")
    ]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pz-bench-") as tmp, LocalStack(tmp, min_delay=0.05) as stack:
        bodies = setup(stack)
        for op in OPS:  # warm up
            Client(stack.endpoint).call(op, bodies[op])
        load_before = os.getloadavg()[0]
        log = stack.dir / "personalize.log"
        offset = log.stat().st_size
        results, late = steady(stack.endpoint, bodies, args.rate, args.clients, args.seconds)
        server = server_side(log, offset)
        rps, closed = ceiling(stack.endpoint, bodies, args.clients, min(args.seconds, 5))
        load_after = os.getloadavg()[0]
    total = sum(len(v) for v in results.values())
    print(
        f"\npersonalize_local control plane, loopback, {args.clients} clients, {os.cpu_count()} CPUs, "
        f"load average {load_before:.1f} -> {load_after:.1f}"
    )
    print(
        f"steady phase: {total} requests in {args.seconds:.0f} s at a target of {args.rate:.0f}/s "
        f"(max send lateness {late * 1000:.1f} ms)\n"
    )
    print(f"| {'operation':<22} | {'requests':>8} | {'median ms':>9} | {'p99 ms':>7} | {'max ms':>7} |")
    print(f"|{'-' * 24}|{'-' * 10}|{'-' * 11}|{'-' * 9}|{'-' * 9}|")
    for op in OPS:
        lat = results[op]
        print(
            f"| {op:<22} | {len(lat):>8} | {statistics.median(lat) * 1000:>9.2f} | {pct(lat, 0.99):>7.2f} | "
            f"{max(lat) * 1000:>7.2f} |"
        )
    both = results[OPS[0]] + results[OPS[1]]
    median = statistics.median(both) * 1000
    print(
        f"| {'both':<22} | {len(both):>8} | {median:>9.2f} | {pct(both, 0.99):>7.2f} | "
        f"{max(both) * 1000:>7.2f} |"
    )
    if server:
        print(
            f"| {'(inside the service)':<22} | {len(server):>8} | {statistics.median(server) * 1000:>9.2f} | "
            f"{pct(server, 0.99):>7.2f} | {max(server) * 1000:>7.2f} |"
        )
    print(
        f"\nthroughput ceiling (closed loop, {args.clients} clients): {rps:.0f} requests/s, "
        f"median {statistics.median(closed) * 1000:.2f} ms, p99 {pct(closed, 0.99):.2f} ms"
    )


if __name__ == "__main__":
    main()
