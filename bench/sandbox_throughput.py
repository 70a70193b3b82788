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


def report(name: str, elapsed: float, latencies: list[float]) -> bool:
    latencies.sort()
    rps = len(latencies) / elapsed
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    ok = rps >= TARGET_RPS and p99 <= TARGET_P99_MS
    print(f"{name:<34} {rps:8.0f} req/s (target >= {TARGET_RPS})   p50 {p50:6.2f} ms   "
          f"p99 {p99:6.2f} ms (target <= {TARGET_P99_MS:.0f})   {'OK' if ok else 'BELOW TARGET'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="requests per measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_sandbox(pathlib.Path(tmp) / "sandbox") as sandbox:
        env = sandbox.env
        os.environ["REQUESTS_CA_BUNDLE"] = sandbox.ca_bundle  # the contract; it also beats Session.verify
        token = requests.post(f"{env['SF_LOGIN_URL']}/services/oauth2/token", verify=sandbox.ca_bundle, timeout=10,
                              data={"grant_type": "password", "client_id": env["SF_CLIENT_ID"],
                                    "client_secret": env["SF_CLIENT_SECRET"], "username": env["SF_USERNAME"],
                                    "password": env["SF_PASSWORD"]}).json()["access_token"]
        base = f"{sandbox.salesforce_url}/services/data/v59.0"

        def query(s: requests.Session) -> requests.Response:
            return s.get(f"{base}/query/", params={"q": QUERY})

        def create(s: requests.Session) -> requests.Response:
            name = f"Bench_{uuid.uuid4().hex[:12]}"
            return s.post(f"{base}/sobjects/ServicePresenceStatus/", json={"DeveloperName": name, "MasterLabel": name})

        def make() -> requests.Session:
            return session(sandbox.ca_bundle, token)

        print(f"sandbox {sandbox.salesforce_url}, {args.requests} requests per line, HTTPS keep-alive")
        results = [
            report("SOQL query, sequential", *run(args.requests, 1, make, query)),
            report("SOQL query, 4 threads", *run(args.requests, 4, make, query)),
            report("sObject create, sequential", *run(args.requests, 1, make, create)),
            report("sObject create, 4 threads", *run(args.requests, 4, make, create)),
        ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
