"""Command line: `serve` (the service in the foreground) and `stack up|down --dir DIR` (moto + service)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from personalize_local.access import ALLOWED_HOSTS_ENV, DEFAULT_MAX_BODY_BYTES
from personalize_local.kinds import DEFAULT_ACCOUNT

ACCOUNT_ID_ENV = "PERSONALIZE_LOCAL_ACCOUNT_ID"
IAM_ENDPOINT_ENV = "PERSONALIZE_LOCAL_IAM_ENDPOINT"
AUTO_TRAINING_DAY_ENV = "PERSONALIZE_LOCAL_AUTO_TRAINING_SECONDS_PER_DAY"
ATTRIBUTION_PUBLISH_ENV = "PERSONALIZE_LOCAL_ATTRIBUTION_PUBLISH_SECONDS"


def account_id(value: str) -> str:
    if not (len(value) == 12 and value.isascii() and value.isdigit()):
        raise argparse.ArgumentTypeError(f"{value!r} is not an AWS account id (12 digits, e.g. 123456789012)")
    return value


def seconds_per_day(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number of seconds")
    return seconds


def add_seconds(parser: argparse.ArgumentParser, flag: str, env: str, default: float, help: str) -> None:
    """A positive SECONDS option whose default is the environment variable ``env``, else ``default``."""
    parser.add_argument(flag, type=seconds_per_day, default=os.environ.get(env) or default, metavar="SECONDS",
                        help=help)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m personalize_local")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the local Personalize service in the foreground")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=4567)
    serve.add_argument("--data-dir", type=Path, required=True)
    serve.add_argument("--s3-endpoint", default=None)
    serve.add_argument("--min-delay", type=float, default=0.2, help="seconds spent in each transient status")
    serve.add_argument(
        "--faults",
        type=json.loads,
        default=None,
        help='JSON, e.g. {"throttle_fraction": 0.3, "seed": 1, "fail_next_import": "reason"}',
    )
    serve.add_argument(
        "--max-resumes",
        type=int,
        default=3,
        help="restarts an in-flight job survives before it ends CREATE FAILED",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="larger request bodies are answered 413 (default 4 MiB: a PutItems batch at its maxima is ~1.9 MB)",
    )
    serve.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help=f"a Host name to answer besides 127.0.0.1, localhost and ::1 (repeatable; also {ALLOWED_HOSTS_ENV}, "
        "comma-separated), e.g. a Compose service name",
    )
    serve.add_argument(
        "--account-id",
        type=account_id,
        default=os.environ.get(ACCOUNT_ID_ENV) or DEFAULT_ACCOUNT,
        help=f"the 12-digit account id in the ARNs it issues (also {ACCOUNT_ID_ENV}; default {DEFAULT_ACCOUNT}); "
        "the region is each request's signing region",
    )
    serve.add_argument(
        "--iam-endpoint",
        default=os.environ.get(IAM_ENDPOINT_ENV) or None,
        metavar="URL",
        help=f"check that every roleArn names a role existing in the IAM served there, e.g. the stack's moto server "
        f"(also {IAM_ENDPOINT_ENV}; default: roleArn is only checked to be an IAM role ARN)",
    )
    add_seconds(
        serve, "--auto-training-seconds-per-day", AUTO_TRAINING_DAY_ENV, 86400.0,
        f"how long a day of automatic training schedules lasts (also {AUTO_TRAINING_DAY_ENV}; default 86400, real "
        "time): 1 trains a solution with rate(1 day) every second, its first automatic version 1/24 s after it is "
        "ACTIVE",
    )  # fmt: skip
    add_seconds(
        serve, "--attribution-publish-seconds", ATTRIBUTION_PUBLISH_ENV, 900.0,
        f"how often PutEvents metrics of metric attributions are published to S3 (also {ATTRIBUTION_PUBLISH_ENV}; "
        "default 900, the 15-minute window)",
    )  # fmt: skip
    serve.add_argument("--log-level", default="INFO")
    stack = sub.add_parser("stack", help="moto server (S3, IAM) + the service in the background")
    stack.add_argument("action", choices=["up", "down"])
    stack.add_argument("--dir", type=Path, required=True)
    stack.add_argument("--min-delay", type=float, default=0.2)
    stack.add_argument("--account-id", type=account_id, default=None, help=f"as for serve (default {DEFAULT_ACCOUNT})")
    stack.add_argument(
        "--check-roles", action="store_true", help="roleArn must name a role created in the stack's moto IAM"
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        return run_server(args)
    from personalize_local.stack import LocalStack, running_from_dir, stop_from_dir

    if args.action == "up":
        alive = running_from_dir(args.dir)
        if alive:
            print(f"a stack already runs from {args.dir} (pids {alive}); stop it with `stack down --dir`")
            return 1
        stop_from_dir(args.dir)  # clears pid files left by a stack that died (e.g. a reboot)
        st = LocalStack(
            args.dir, min_delay=args.min_delay, account_id=args.account_id, check_roles=args.check_roles
        ).start()
        print(json.dumps({"s3": st.s3_endpoint, "personalize": st.endpoint, "dir": str(st.dir)}))
        st.procs.clear()  # leave them running; `stack down --dir` stops them via the pid files
        return 0
    stopped = stop_from_dir(args.dir)
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def run_server(args) -> int:
    from personalize_local.backend import Backend
    from personalize_local.faults import Faults
    from personalize_local.lifecycle import warm_up
    from personalize_local.server import PersonalizeServer

    logging.basicConfig(level=args.log_level, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    # Request threads hand the GIL back and forth around short numpy/BLAS calls; with the default 5 ms
    # switch interval a thread that released it waits up to 5 ms to get it back (convoy effect).
    sys.setswitchinterval(0.001)
    backend = Backend(
        args.data_dir,
        min_delay=args.min_delay,
        s3_endpoint=args.s3_endpoint,
        faults=Faults(**(args.faults or {})),
        max_resumes=args.max_resumes,
        account_id=args.account_id,
        iam_endpoint=args.iam_endpoint,
        auto_training_day_seconds=args.auto_training_seconds_per_day,
        attribution_publish_seconds=args.attribution_publish_seconds,
    )
    backend.start()
    server = PersonalizeServer(
        (args.host, args.port), backend, max_body_bytes=args.max_body_bytes, allow_hosts=tuple(args.allow_host)
    )
    warm_up()

    def shutdown(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    logging.getLogger("personalize_local").info(
        "personalize_local listening on %s (account %s, data %s, s3 %s, iam %s, Host names %s)",
        server.url,
        args.account_id,
        args.data_dir,
        args.s3_endpoint,
        args.iam_endpoint or "-",
        ", ".join(sorted(server.allowed_hosts)),
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        backend.close()
    # Stopped (SIGTERM/SIGINT): a job still running in its worker thread (a training, an import) is not waited for,
    # which could take minutes. The store is closed, so the job stays CREATE IN_PROGRESS and resumes on the next
    # start, as after a crash.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
