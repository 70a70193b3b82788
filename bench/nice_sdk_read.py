"""How long NICE's agent SDK takes to read and parse the presence-sync rule from the sandbox (prints figures).

    .venv/bin/python -m bench.nice_sdk_read [--runs 10] [--lines 20]

One sandbox, one selected account mapping and one active rule of ``--lines`` publisher and subscriber lines for
Ada's team; then ``--runs`` reads by the SDK's own code (tests/nice_sdk/read_rule.mjs, a fresh Node process each,
as an agent application starting up), each timed whole (process start, discovery, the rule's GET, parsing) and
by the sandbox's answer alone (its request log's duration for the rule read).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import requests

from sandbox.testing import running_sandbox
from tests.nice_sdk.test_agent_sdk_reads_the_rule import agent_token, org_id, sdk_read
from tests.support import vendors

ADA = 100001
STATUS = "0N5000000000{:03d}AAA"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--lines", type=int, default=20, help="lines per map (publisher and subscriber)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work, running_sandbox(Path(work) / "sandbox", reset=True) as sandbox:
        admin = vendors.Cxone(sandbox.env)
        adapters = f"{admin.base}/adapter-apis/v1/salesforce"

        def post(path: str, body: dict[str, object]) -> None:
            requests.post(f"{adapters}/{path}", json=body, headers=admin.headers, verify=admin.verify, timeout=10)

        post(
            "account-mappings",
            {
                "name": "Bench",
                "accessKeyAgentId": 100000,
                "isSelected": True,
                "salesforceEnvironment": {
                    "name": "Bench org",
                    "instanceUrl": "https://bench.my.salesforce.com",
                    "consumerKey": "key",
                    "consumerSecret": "secret",
                },
            },
        )
        states = ["Available", "Unavailable", "LoggedOut", "Break", "Lunch", "Busy", "InboundContact", "Dialer"]
        publisher = [
            {"incontactAgentState": state, "partnerAgentState": STATUS.format(i)}
            for i, state in enumerate(states[: min(args.lines, len(states))])
        ]
        subscriber = [
            {"incontactAgentState": "Available" if i % 2 else "Break", "partnerAgentState": STATUS.format(100 + i)}
            for i in range(args.lines)
        ]
        post(
            "presence-rules",
            {"name": "Bench rule", "teamIds": [2001], "publisherStateMap": publisher, "subscriberStateMap": subscriber},
        )
        token, partner = agent_token(sandbox, ADA), org_id(sandbox)
        whole: list[float] = []
        for _ in range(args.runs):
            started = time.perf_counter()
            read = sdk_read(sandbox, token, partner)
            whole.append(time.perf_counter() - started)
            assert read.get("error") is None, read
        served = [
            float(entry["duration_ms"])
            for entry in sandbox.cxone_operator.requests()
            if "/rule/" in entry["path"] and "duration_ms" in entry
        ]
    lines = len(publisher) + len(subscriber)
    print(f"NICE agent SDK rule read, {args.runs} runs, {lines} map lines")
    median, worst = statistics.median(whole), max(whole)
    print(f"  whole read (node start, discovery, GET, parse): median {median:.3f} s, max {worst:.3f} s")
    if served:
        median, worst = statistics.median(served), max(served)
        print(f"  the sandbox's answer to the rule GET: median {median:.1f} ms, max {worst:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
