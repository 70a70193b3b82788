"""Throughput and latency of the Salesforce emulator over HTTPS keep-alive, as the product's clients see it.

    .venv/bin/python -m bench.sandbox_throughput [--requests 600]

Starts a sandbox subprocess, then times a simple SOQL query and an sObject create (ServicePresenceStatus),
sequentially on one ``requests.Session`` and from 4 threads with a session each. No latency is injected.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable

import requests

from sandbox.testing import running_sandbox

TARGET_RPS = 300
TARGET_P99_MS = 20.0
QUERY = "SELECT Id, DeveloperName, MasterLabel FROM ServicePresenceStatus ORDER BY DeveloperName LIMIT 50"

Call = Callable[[requests.Session], requests.Response]


def session(ca_bundle: str, token: str) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    s.verify = ca_bundle
    return s


def run(
    calls: int, threads: int, make_session: Callable[[], requests.Session], call: Call
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    per_thread = calls // threads

    def worker() -> None:
        s = make_session()
        call(s).raise_for_status()  # warm the connection (TLS handshake) outside the timing
        mine = []
        for _ in range(per_thread):
            started = time.perf_counter()
            response = call(s)
            mine.append(time.perf_counter() - started)
            response.raise_for_status()
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - started, latencies


def report(name: str, elapsed: float, latencies: list[float], server_ms: list[float]) -> bool:
    latencies.sort()
    server_ms.sort()
    rps = len(latencies) / elapsed
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    ok = rps >= TARGET_RPS and p99 <= TARGET_P99_MS
    server_p99 = server_ms[min(len(server_ms) - 1, int(len(server_ms) * 0.99))] if server_ms else float("nan")
    print(
        f"{name:<28} {rps:6.0f} req/s (target >= {TARGET_RPS})  p50 {p50:6.2f} ms  "
        f"p99 {p99:6.2f} ms (target <= {TARGET_P99_MS:.0f})  {'OK' if ok else 'BELOW TARGET':<12}  "
        f"[in-app p99 {server_p99:.2f} ms]"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="requests per measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_sandbox(pathlib.Path(tmp) / "sandbox") as sandbox:
        env = sandbox.env
        os.environ["REQUESTS_CA_BUNDLE"] = sandbox.ca_bundle  # the contract; it also beats Session.verify
        token = requests.post(
            f"{env['SF_LOGIN_URL']}/services/oauth2/token",
            verify=sandbox.ca_bundle,
            timeout=10,
            data={
                "grant_type": "password",
                "client_id": env["SF_CLIENT_ID"],
                "client_secret": env["SF_CLIENT_SECRET"],
                "username": env["SF_USERNAME"],
                "password": env["SF_PASSWORD"],
            },
        ).json()["access_token"]
        base = f"{sandbox.salesforce_url}/services/data/v59.0"

        def query(s: requests.Session) -> requests.Response:
            return s.get(f"{base}/query/", params={"q": QUERY})

        def create(s: requests.Session) -> requests.Response:
            name = f"Bench_{uuid.uuid4().hex[:12]}"
            return s.post(f"{base}/sobjects/ServicePresenceStatus/", json={"DeveloperName": name, "MasterLabel": name})

        def make() -> requests.Session:
            return session(sandbox.ca_bundle, token)

        def measure(name: str, threads: int, call: Call) -> bool:
            sandbox.salesforce_operator.clear_requests()
            elapsed, latencies = run(args.requests, threads, make, call)
            in_app = [e["duration_ms"] for e in sandbox.salesforce_operator.requests()]
            return report(name, elapsed, latencies, in_app)

        print(
            f"sandbox {sandbox.salesforce_url}, {args.requests} requests per line, HTTPS keep-alive, "
            f"client and server on this machine ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})"
        )
        results = [
            measure("SOQL query, sequential", 1, query),
            measure("SOQL query, 4 threads", 4, query),
            measure("sObject create, sequential", 1, create),
            measure("sObject create, 4 threads", 4, create),
        ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
