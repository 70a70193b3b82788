"""Benchmark of the sync runtime against the sandbox (a script that prints figures, not a test).

    .venv/bin/python -m bench.runtime_sync [--agents 1000] [--changes 1000] [--latency-ms 20] [--rss-agents 10000]
                                           [--poll-interval S] [--cxone-budget N] [--workers N]

The runtime runs with the shipped defaults (``RuntimeConfig``) unless the options say otherwise; the first line
of figures says which.

1. Starts the sandbox, sets it up like the sandbox stack (statuses, grants, command event), adds ``--agents``
   agents on both sides (CXone through the emulator's setup endpoint; Salesforce users written into the org's
   store while the emulator is stopped -- it has no user-creation API) and logs them all in on both sides.
2. Injects ``--latency-ms`` on every vendor API call, starts ``python -m runtime`` and fires a mixed burst:
   half the changes made by agents in CXone, half in Omni, one per agent, as fast as the bench can send them.
   Omni changes reach the runtime over the Pub/Sub API (gRPC, ``/data/UserServicePresenceChangeEvent``), as in
   production; the figures from before, on the sandbox-only long-poll, are printed beside the new ones.
3. Reads the outcome from the emulators themselves: when each command was applied (console results) and
   when each CXone state was set (agent history), and counts the writes in the request logs.
4. RSS at ``--rss-agents`` agents: a synthetic in-process load (the reconciler and store with fake writers,
   in a child process that imports what the runtime imports), because the sandbox's seed and setup paths are
   not meant to hold 10,000 agents in reasonable time.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench._sandbox_run import (  # noqa: E402 -- `python bench/runtime_sync.py` needs the path above
    cpu_seconds,
    http_session,
    log_in_everywhere,
    percentile,
    populated_sandbox,
    rss_peak_mb,
    ts,
)

# The figures before Omni changes came over the Pub/Sub API (gRPC + Avro): the sandbox-only HTTP long-poll of
# /__sandbox/cdc, which no longer exists to run beside it. docs/runtime.md, four runs with the CXone feed
# polled every 0.1 s (`--poll-interval 0.1 --cxone-budget 6000`).
BEFORE = {
    "p99": "long-poll before, 0.1 s poll: 940-1,237 ms",
    "by_side": "long-poll before, 0.1 s poll: 976-1,264 / 616-829 ms",
    "rate": "long-poll before, 0.1 s poll: 365-418 changes/s",
}


def shipped(setting: str) -> Any:
    """The runtime's default for ``setting`` (what a spec that leaves it out gets)."""
    from presence_sync.runtime_config import RuntimeConfig

    return RuntimeConfig.model_fields[setting].default


def run_sync_bench(args: argparse.Namespace) -> dict[str, Any]:
    from presence_sync.runtime_config import Budgets
    from tests.runtime.support import RuntimeProcess, sandbox_config

    work = pathlib.Path(tempfile.mkdtemp(prefix="bench-runtime-"))
    with populated_sandbox(work, args.agents, one_process=args.one_sandbox_process) as run:
        sandbox, setup, agents, users = run.sandbox, run.setup, run.agents, run.users
        sandbox_pids = run.pids
        http = http_session(sandbox.ca_bundle)
        log_in_everywhere(run, http)

        config = sandbox_config(  # the shipped defaults but for what the command line changes
            setup,
            work,
            workers=args.workers,
            poll_interval_seconds=args.poll_interval,
            stream_wait_seconds=shipped("stream_wait_seconds"),
            echo_window_seconds=shipped("echo_window_seconds"),
            api_budget_per_minute={"salesforce": Budgets().salesforce, "cxone": args.cxone_budget},
        )
        runtime = RuntimeProcess(config, work, sandbox.env)
        runtime.start()
        assert runtime.process is not None
        time.sleep(1.0)
        for operator in (sandbox.salesforce_operator, sandbox.cxone_operator):
            operator.set_faults(latency_ms=args.latency_ms)
            operator.clear_requests()

        # The burst: even agents change in CXone (Break -> Available), odd ones in Omni (Busy -> Available).
        chosen = agents[: args.changes]
        changes: dict[int, tuple[str, float]] = {}

        def change(item: tuple[int, tuple[int, str]]) -> None:
            number, (agent_id, email) = item
            if number % 2 == 0:
                view = http.post(
                    f"{sandbox.cxone_url}/__sandbox/agent/{agent_id}/state", json={"state": "Available"}, timeout=30
                ).json()
                changes[agent_id] = ("cxone", ts(view["lastUpdateTime"]))
            else:
                view = http.post(
                    f"{sandbox.salesforce_url}/__sandbox/console/status",
                    json={"user": users[email], "status": "Available_for_Chats"},
                    timeout=30,
                ).json()
                changes[agent_id] = ("salesforce", ts(view["since"]))

        cpu_before = (
            cpu_seconds(runtime.process.pid),
            sum(cpu_seconds(pid) for pid in sandbox_pids()),
            time.process_time(),
        )  # this driver's own CPU (all its threads) competes for the same cores
        burst_started = time.time()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(change, enumerate(chosen)))
        burst_sent = time.time()

        cxone_path, omni_path = "/state", "/sobjects/Omni_Presence_Command__e"

        seen = {"sf": 0, "cx": 0}
        omni_calls: set[int] = set()  # the seq of each Salesforce call that carried commands
        counted = {"omni": 0, "states": 0, "joins": 0, "feed_gets": 0}

        def write_count() -> tuple[int, int, int]:
            # Only the entries logged since the last look (the log is fetched while the burst runs: re-reading
            # all of it every time would load the sandbox and this driver, the runtime's competitors for CPU).
            # operations(): a composite call's publishes one by one, each with the call's seq.
            sf_ops = sandbox.salesforce_operator.operations(seen["sf"])
            cx_ops = sandbox.cxone_operator.operations(seen["cx"])
            seen["sf"] = max([seen["sf"], *(e["seq"] for e in sf_ops)])
            seen["cx"] = max([seen["cx"], *(e["seq"] for e in cx_ops)])
            for entry in sf_ops:
                if entry["method"] == "POST" and omni_path in entry["path"]:
                    counted["omni"] += 1
                    omni_calls.add(entry["seq"])
            for entry in cx_ops:
                if entry["method"] == "POST" and entry["path"].endswith(cxone_path):
                    counted["states"] += 1
                elif entry["method"] == "POST" and entry["path"].endswith("/join"):
                    counted["joins"] += 1
                elif entry["method"] == "GET" and entry["path"].endswith("/agents/states"):
                    counted["feed_gets"] += 1  # the CXone feed's reads
            return counted["omni"], counted["states"], counted["joins"]

        deadline = time.time() + args.timeout
        while time.time() < deadline and sum(write_count()[:2]) < len(chosen):
            time.sleep(0.2)
        time.sleep(2.0)  # anything extra (echoes, repeats) would show up now
        omni, states, joins = write_count()
        cpu_after = (
            cpu_seconds(runtime.process.pid),
            sum(cpu_seconds(pid) for pid in sandbox_pids()),
            time.process_time(),
        )
        cpu_window = time.time() - burst_started
        for operator in (sandbox.salesforce_operator, sandbox.cxone_operator):
            operator.clear_faults()

        # When did each write land? Omni: the console's command results; CXone: the agent's state history.
        landed: dict[int, float] = {}
        by_user = {users[email]: agent_id for agent_id, email in chosen}
        results = http.get(f"{sandbox.salesforce_url}/__sandbox/console/results?limit=100000", timeout=30).json()
        for result in results["results"]:
            agent_id = by_user.get(result["userId"])
            if agent_id is not None and result.get("success"):
                landed.setdefault(agent_id, ts(result["at"]))
        for agent_id, (side, changed_at) in changes.items():
            if side == "salesforce":
                history = http.get(f"{sandbox.cxone_url}/__sandbox/agent/{agent_id}/history", timeout=30).json()
                rows = history["changes"]
                api = [
                    ts(r["lastUpdateTime"])
                    for r in rows
                    if r["source"] == "api" and ts(r["lastUpdateTime"]) >= changed_at
                ]
                if api:
                    landed[agent_id] = min(api)
        latencies = [landed[a] - changes[a][1] for a in changes if a in landed]
        by_side = {
            side: [landed[a] - changes[a][1] for a in changes if a in landed and changes[a][0] == side]
            for side in ("cxone", "salesforce")
        }
        last_landed = max(landed.values()) if landed else float("nan")
        logs = runtime.logs()
        stages = stage_breakdown(logs, changes, landed)
        polls = cxone_polls(logs, burst_started)
        rss = rss_peak_mb(runtime.process.pid)
        metrics = runtime.metrics()
        runtime.stop()
    return {
        "agents": args.agents,
        "changes": len(chosen),
        "delivered": len(latencies),
        "p50": percentile(latencies, 0.50),
        "p99": percentile(latencies, 0.99),
        "p99_cxone_to_salesforce": percentile(by_side["cxone"], 0.99),
        "p99_salesforce_to_cxone": percentile(by_side["salesforce"], 0.99),
        "max": max(latencies) if latencies else float("nan"),
        "mean": statistics.fmean(latencies) if latencies else float("nan"),
        "send_seconds": burst_sent - burst_started,
        "changes_per_s": len(latencies) / max(1e-9, last_landed - burst_started),
        # While the driver is still sending, the one sandbox process serves its changes and the runtime's writes;
        # after that, the runtime's own pace shows.
        "drain_per_s": sum(1 for t in landed.values() if t > burst_sent) / max(1e-9, last_landed - burst_sent),
        "writes": omni + states,
        "joins": joins,
        "omni_writes": omni,
        "omni_calls": len(omni_calls),
        "writes_per_change": (omni + states) / max(1, len(chosen)),
        "echoes_suppressed": sum(v for k, v in metrics.items() if k.startswith("presence_sync_echoes_suppressed_t")),
        "rss_mb": rss,
        "runtime_cpu_seconds": cpu_after[0] - cpu_before[0],
        "sandbox_cpu_seconds": cpu_after[1] - cpu_before[1],
        "driver_cpu_seconds": cpu_after[2] - cpu_before[2],
        "cpu_window_seconds": cpu_window,  # the burst, the wait for the writes and 2 s more
        "burst_wall_seconds": last_landed - burst_started,
        "send_rate": len(chosen) / max(1e-9, burst_sent - burst_started),
        "cxone_feed_requests": counted["feed_gets"],
        **polls,
        **stages,
    }


def stage_breakdown(
    logs: list[dict[str, Any]], changes: dict[int, tuple[str, float]], landed: dict[int, float]
) -> dict[str, float]:
    """Where the time goes, from the runtime's own log lines: vendor change -> the runtime sees it (feed) ->
    its write is answered (decide, queue, vendor call) -> the write lands (console / agent history)."""
    seen: dict[int, float] = {}
    written: dict[int, float] = {}
    for line in logs:
        agent_id = line.get("agent_id")
        if agent_id in changes:
            target = (
                seen
                if line.get("message") == "change seen"
                else written
                if line.get("message") == "write made"
                else None
            )
            if target is not None:
                target.setdefault(agent_id, ts(line["time"]))
    both = [a for a in changes if a in seen and a in written and a in landed]
    figures: dict[str, float] = {}
    for name, values in (
        ("feed", [seen[a] - changes[a][1] for a in both]),
        ("write", [written[a] - seen[a] for a in both]),
        ("land", [landed[a] - written[a] for a in both]),
    ):
        figures[f"{name}_p50"], figures[f"{name}_p99"] = percentile(values, 0.5), percentile(values, 0.99)
    return figures


def cxone_polls(logs: list[dict[str, Any]], since: float) -> dict[str, float]:
    """The CXone feed's polls that returned states, from its ``cxone poll: N states (S by a sweep) in P pages``
    lines: how many, the agents/states requests (pages) each took, and the rows a sweep returned (late ones, or
    changes newer than the poll's head that the sweep's last page carried); from ``since`` on (not the baseline)."""
    pattern = re.compile(r"cxone poll: (\d+) states \((\d+) by a sweep\) in (\d+) pages")
    burst = [line for line in logs if "time" in line and ts(line["time"]) >= since]
    found = [m for line in burst if (m := pattern.match(str(line.get("message", ""))))]
    pages = [int(m.group(3)) for m in found]
    return {
        "cxone_polls_with_states": len(found),
        "cxone_pages_per_poll_mean": statistics.fmean(pages) if pages else float("nan"),
        "cxone_pages_per_poll_max": max(pages) if pages else float("nan"),
        "cxone_states_per_poll_mean": statistics.fmean(int(m.group(1)) for m in found) if found else float("nan"),
        "cxone_swept_states": sum(int(m.group(2)) for m in found),
    }


def synthetic_rss(agents: int, workers: int) -> float:
    """Peak RSS of a child process that imports the runtime (and its clients) and syncs ``agents`` agents
    through the real reconciler and SQLite store, with fake writers."""
    code = f"""
import sys, tempfile, pathlib
sys.path.insert(0, {str(REPO_ROOT)!r})
import runtime.__main__  # everything the service imports: clients, simple-salesforce, zeep, prometheus
from presence_sync.runtime_config import AgentLink, RuleConfig, RuntimeConfig, StatusRef
from runtime.reconciler import Observation, Reconciler
from runtime.store import SqliteStore
class W:
    def write(self, pending, link): pass
rule = RuleConfig(name="r", priority=0, team_ids=(1,),
                  publisher={{"Available": StatusRef(status_id="0N5A", developer_name="A"),
                              "Unavailable:Break": StatusRef(status_id="0N5B", developer_name="B")}},
                  subscriber={{"0N5A": "Available", "0N5B": "Unavailable:Break"}})
links = tuple(AgentLink(agent_id=i, salesforce_user_id=f"005{{i:015d}}", team_id=1, email=f"a{{i}}@x")
              for i in range({agents}))
config = RuntimeConfig(rules=(rule,), agents=links)
store = SqliteStore(pathlib.Path(tempfile.mkdtemp()) / "s.db")
rec = Reconciler(config, store, {{"acd": W(), "sf": W()}})
rec.observe("acd", [Observation(i, "Unavailable:Break") for i in range({agents})], baseline=True)
rec.observe("sf", [Observation(i, "0N5B") for i in range({agents})], baseline=True)
rec.start({workers})
rec.observe("acd", [Observation(i, "Available") for i in range(0, {agents}, 2)])
rec.observe("sf", [Observation(i, "0N5A") for i in range(1, {agents}, 2)])
import time
while not rec.idle(): time.sleep(0.05)
rec.mark_all_dirty()
while not rec.idle(): time.sleep(0.05)
rec.stop()
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"): print(int(line.split()[1]) / 1024)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=1000, help="one per agent, half on each side")
    parser.add_argument("--latency-ms", type=int, default=20)
    from presence_sync.runtime_config import Budgets

    parser.add_argument(
        "--poll-interval",
        type=float,
        default=shipped("poll_interval_seconds"),
        help="the CXone feed's poll interval (default: the shipped default, %(default)s s); CXone -> Omni waits up "
        "to one interval before the runtime sees a change",
    )
    parser.add_argument(
        "--cxone-budget",
        type=int,
        default=Budgets().cxone,
        help="CXone feed calls a minute (default: the shipped default, %(default)s); the feed polls no faster "
        "than 60 / this",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=shipped("workers"),
        help="the runtime's reconcile workers (default: the shipped default, %(default)s): writes wait "
        "on the vendors, so concurrent writes = changes/s x write time",
    )
    parser.add_argument("--rss-agents", type=int, default=10000)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument(
        "--one-sandbox-process",
        action="store_true",
        help="both emulators in one process (the default runs one process per vendor)",
    )
    args = parser.parse_args()
    args.changes = min(args.changes, args.agents)

    defaults = (args.poll_interval, args.cxone_budget, args.workers) == (
        shipped("poll_interval_seconds"),
        Budgets().cxone,
        shipped("workers"),
    )
    figures = run_sync_bench(args)
    figures["rss_mb_at_rss_agents"] = synthetic_rss(args.rss_agents, args.workers)
    figures["rss_agents"] = args.rss_agents
    rows = [
        ("agents / changes / delivered", f"{figures['agents']} / {figures['changes']} / {figures['delivered']}", ""),
        ("injected API latency", f"{args.latency_ms} ms", ""),
        (
            "CXone poll interval / budget / workers",
            f"{args.poll_interval:g} s / {args.cxone_budget}/min / {args.workers}",
            "shipped defaults" if defaults else "not the shipped defaults",
        ),
        ("end-to-end latency p50", f"{figures['p50'] * 1000:.0f} ms", ""),
        ("end-to-end latency p99", f"{figures['p99'] * 1000:.0f} ms", f"target <= 1000 ms; {BEFORE['p99']}"),
        (
            "  p99 CXone -> Omni / Omni -> CXone",
            f"{figures['p99_cxone_to_salesforce'] * 1000:.0f} / {figures['p99_salesforce_to_cxone'] * 1000:.0f} ms",
            BEFORE["by_side"],
        ),
        (
            "  p50 / p99 by stage: feed (change -> seen)",
            f"{figures['feed_p50'] * 1000:.0f} / {figures['feed_p99'] * 1000:.0f} ms",
            "",
        ),
        (
            "    decide + vendor write (seen -> answered)",
            f"{figures['write_p50'] * 1000:.0f} / {figures['write_p99'] * 1000:.0f} ms",
            "",
        ),
        (
            "    applied (answered -> landed)",
            f"{figures['land_p50'] * 1000:.0f} / {figures['land_p99'] * 1000:.0f} ms",
            "",
        ),
        (
            "  CXone feed: polls with states / pages per poll mean, max",
            f"{figures['cxone_polls_with_states']} / {figures['cxone_pages_per_poll_mean']:.1f}, "
            f"{figures['cxone_pages_per_poll_max']:.0f}",
            f"{figures['cxone_feed_requests']} agents/states requests in all; "
            f"{figures['cxone_states_per_poll_mean']:.0f} states per poll, {figures['cxone_swept_states']} by sweeps",
        ),
        (
            "  CXone feed calls a minute in the burst",
            f"{figures['cxone_feed_requests'] / max(1e-9, figures['cpu_window_seconds']) * 60:.0f}",
            f"the rate over the burst's seconds; the budget is {args.cxone_budget} in any minute",
        ),
        ("throughput", f"{figures['changes_per_s']:.0f} changes/s", f"target >= 200 changes/s; {BEFORE['rate']}"),
        ("  the driver sent changes at", f"{figures['send_rate']:.0f} changes/s", ""),
        ("  after the driver finished sending", f"{figures['drain_per_s']:.0f} changes/s", ""),
        ("writes per change", f"{figures['writes_per_change']:.3f}", "target exactly 1.000"),
        ("  (session joins, cached per agent)", f"{figures['joins']}", "not counted as writes"),
        (
            "  Omni commands / Salesforce calls that carried them",
            f"{figures['omni_writes']} / {figures['omni_calls']}",
            "concurrent commands share a composite call",
        ),
        ("echoes suppressed", f"{figures['echoes_suppressed']:.0f}", "= writes: every echo recognised"),
        (
            "CPU seconds in the burst: runtime / sandbox / driver",
            f"{figures['runtime_cpu_seconds']:.1f} / {figures['sandbox_cpu_seconds']:.1f} / "
            f"{figures['driver_cpu_seconds']:.1f}",
            f"of {figures['cpu_window_seconds'] * (os.cpu_count() or 1):.1f} core-s (cores x wall)",
        ),
        (
            "runtime CPU per change",
            f"{figures['runtime_cpu_seconds'] / max(1, figures['delivered']) * 1000:.1f} ms",
            "CPU-bound ceiling = 1000 / this, per core",
        ),
        (f"peak RSS, runtime process ({figures['agents']} agents)", f"{figures['rss_mb']:.0f} MB", ""),
        (
            f"peak RSS, {args.rss_agents} agents (synthetic, in-process)",
            f"{figures['rss_mb_at_rss_agents']:.0f} MB",
            "target <= 150 MB",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    load = os.getloadavg()
    layout = "one process" if args.one_sandbox_process else "one process per vendor"
    print(
        f"presence-sync runtime benchmark ({os.cpu_count()} CPUs, load average "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; sandbox ({layout}), runtime and this driver share them)"
    )
    for name, value, target in rows:
        print(f"  {name:<{width}}  {value:>18}  {target}")
    if args.json:
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
