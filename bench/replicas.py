"""Benchmark of the sharded runtime (a script that prints figures, not a test).

    .venv/bin/python -m bench.replicas [--agents 1000] [--changes 1000] [--replicas 1,2,3] [--store-changes 2000]

1. Per-change store cost, in process, on one thread: the real ``Reconciler`` syncs ``--store-changes`` changes
   (a CXone change observed, decided, written by a writer that returns at once, its echo observed) on
   ``SqliteStore`` (durability normal and full), on ``PostgresStore`` unfenced, fenced (one replica holding
   every shard's lease: every write transaction checks its lease), and fenced + routed (the feed's read goes
   through the inbox to the shard owner, as on a sharded runtime). PostgreSQL runs with fsync on.
2. Replicas: the sandbox with ``--agents`` agents on both sides; for each count in ``--replicas`` a fresh
   database on the same PostgreSQL, that many ``python -m runtime`` replicas (32 shards) and a burst of
   ``--changes`` changes, half made in CXone and half in Omni; changes/s and latency percentiles from the
   emulators' own records of when each write was applied (as bench/runtime_sync.py), ratios to 1 replica.

Everything runs on this machine: the replicas, PostgreSQL, the emulators and this driver share its cores, so
the replica figures show the coordination's cost and correctness under load, not a scale-out on more hardware.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import functools
import pathlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench._sandbox_run import (  # noqa: E402 -- `python bench/replicas.py` needs the path above
    http_session,
    log_in_everywhere,
    percentile,
    populated_sandbox,
    ts,
)

SHARDS = 32


def _reconciler_parts(agents: int) -> tuple[Any, Any]:
    from presence_sync.runtime_config import AgentLink, RuleConfig, RuntimeConfig, StatusRef

    rule = RuleConfig(
        name="r",
        priority=0,
        team_ids=(1,),
        publisher={
            "Available": StatusRef(status_id="0N5A", developer_name="A"),
            "Unavailable:Break": StatusRef(status_id="0N5B", developer_name="B"),
        },
        subscriber={"0N5A": "Available", "0N5B": "Unavailable:Break"},
    )
    links = tuple(
        AgentLink(agent_id=i, salesforce_user_id=f"005{i:015d}", team_id=1, email=f"a{i}@x") for i in range(agents)
    )
    return RuntimeConfig(rules=(rule,), agents=links), rule


class _Writer:
    def write(self, pending: Any, link: Any) -> None:
        pass


def store_cost(make_store: Callable[[], Any], changes: int, *, routed: bool = False) -> float:
    """Milliseconds of store work per change (wall time on one thread, the writer returning at once)."""
    from runtime.reconciler import Observation, Reconciler
    from runtime.sharding import FeedRouter, InboxConsumer, ShardedReconciler

    config, _ = _reconciler_parts(changes)
    store = make_store()
    fence = getattr(store, "fence", None)
    writers: dict[Any, Any] = {"acd": _Writer(), "sf": _Writer()}
    reconciler: Any = (ShardedReconciler if fence is not None else Reconciler)(config, store, writers)
    if fence is not None:
        reconciler.fence = fence
    everyone = range(changes)
    reconciler.observe("acd", [Observation(i, "Unavailable:Break", 1.0) for i in everyone], baseline=True)
    reconciler.observe("sf", [Observation(i, "0N5B", 1.0) for i in everyone], baseline=True)
    reconciler.drain()
    feed: Any = FeedRouter(reconciler, store) if routed else reconciler
    consumer = InboxConsumer(reconciler, store) if routed else None
    started = time.perf_counter()
    for first in range(0, changes, 32):  # feed reads of 32 changes, each then reconciled and its echo read
        batch = range(first, min(changes, first + 32))
        feed.observe("acd", [Observation(i, "Available", time.time()) for i in batch])
        while consumer is not None and consumer.once():
            pass
        reconciler.drain()
        feed.observe("sf", [Observation(i, "0N5A", time.time()) for i in batch])
        while consumer is not None and consumer.once():
            pass
        reconciler.drain()
    elapsed = time.perf_counter() - started
    store.close()
    return 1000 * elapsed / changes


def store_costs(server: Any, changes: int, rounds: int = 3) -> dict[str, float]:
    """Each store's cost per change: the median of ``rounds`` runs, the stores taking turns (the machine's load
    moves during a run; turns spread that over all of them)."""
    from runtime.leases import LeaseManager
    from runtime.store import Fence, SqliteStore
    from runtime.store.postgres import PostgresStore
    from tests.runtime.postgres import fresh_database

    work = pathlib.Path(tempfile.mkdtemp(prefix="bench-store-"))
    runs: dict[str, list[float]] = {}
    with contextlib.ExitStack() as stack:

        def postgres(fenced: bool) -> Callable[[], Any]:
            def make() -> Any:
                dsn = stack.enter_context(fresh_database(server))
                fence = Fence("bench", SHARDS) if fenced else None
                store = PostgresStore(dsn, fence=fence)
                if fence is not None:
                    LeaseManager(store.pool, fence, lease_seconds=60.0).tick()  # one replica: every shard
                return store

            return make

        for number in range(rounds):
            for name, make, routed in (
                ("sqlite (normal)", functools.partial(SqliteStore, work / f"normal{number}.db"), False),
                ("sqlite (full)", functools.partial(SqliteStore, work / f"full{number}.db", durability="full"), False),
                ("postgres", postgres(False), False),
                ("postgres, fenced", postgres(True), False),
                ("postgres, fenced + routed", postgres(True), True),
            ):
                runs.setdefault(name, []).append(store_cost(make, changes, routed=routed))
    return {name: statistics.median(values) for name, values in runs.items()}


def burst(run: Any, http: Any, agents: list[tuple[int, str]], forward: bool) -> dict[int, tuple[str, float]]:
    """Half the agents change in CXone, half in Omni (forward: to Available; back: to Break/Busy)."""
    changes: dict[int, tuple[str, float]] = {}

    def change(item: tuple[int, tuple[int, str]]) -> None:
        number, (agent_id, email) = item
        if number % 2 == 0:
            body = {"state": "Available"} if forward else {"state": "Unavailable", "reason": "Break"}
            view = http.post(f"{run.sandbox.cxone_url}/__sandbox/agent/{agent_id}/state", json=body, timeout=60).json()
            changes[agent_id] = ("cxone", ts(view["lastUpdateTime"]))
        else:
            body = {"user": run.users[email], "status": "Available_for_Chats" if forward else "Busy"}
            view = http.post(f"{run.sandbox.salesforce_url}/__sandbox/console/status", json=body, timeout=60).json()
            changes[agent_id] = ("salesforce", ts(view["since"]))

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(change, enumerate(agents)))
    return changes


def console_results(run: Any, http: Any) -> list[dict[str, Any]]:
    """Every Omni command outcome the console recorded (the emulator answers at most 1,000 a call: paged)."""
    results: list[dict[str, Any]] = []
    while True:
        url = f"{run.sandbox.salesforce_url}/__sandbox/console/results?after={len(results) and results[-1]['sequence']}"
        page = http.get(f"{url}&limit=1000", timeout=60).json()["results"]
        if not page:
            return results
        results += page


def landed_times(run: Any, http: Any, agents: list[tuple[int, str]], changes: dict[int, tuple[str, float]]) -> dict:
    """Agent -> when the write its change caused was applied (the console's results, CXone's history)."""
    by_user = {run.users[email]: agent_id for agent_id, email in agents}
    landed: dict[int, float] = {}
    for result in console_results(run, http):
        agent_id = by_user.get(result["userId"], -1)
        wanted = agent_id in changes and changes[agent_id][0] == "cxone" and result.get("success")
        if wanted and ts(result["at"]) >= changes[agent_id][1]:
            landed.setdefault(agent_id, ts(result["at"]))
    for agent_id, (side, changed_at) in changes.items():
        if side == "salesforce":
            rows = http.get(f"{run.sandbox.cxone_url}/__sandbox/agent/{agent_id}/history", timeout=60).json()
            api = [ts(r["lastUpdateTime"]) for r in rows["changes"] if r["source"] == "api"]
            after = [t for t in api if t >= changed_at]
            if after:
                landed[agent_id] = min(after)
    return landed


def replica_run(run: Any, server: Any, count: int, forward: bool, timeout: float) -> dict[str, float]:
    from tests.runtime.postgres import fresh_database
    from tests.runtime.replicas import running_replicas

    http = http_session(run.sandbox.ca_bundle)
    with (
        fresh_database(server) as dsn,
        running_replicas(
            run.setup,
            run.work / f"replicas-{count}",
            dsn,
            count,
            shards=SHARDS,
            lease_seconds=4.0,  # the shipped default
            workers=64,
            echo_window_seconds=30.0,
        ),
    ):
        started = time.time()
        changes = burst(run, http, run.agents, forward)
        deadline = time.time() + timeout
        landed: dict[int, float] = {}
        while time.time() < deadline:
            landed = landed_times(run, http, run.agents, changes)
            if len(landed) >= len(changes):
                break
            time.sleep(1.0)
    latencies = [landed[a] - changes[a][1] for a in landed]
    last = max(landed.values()) if landed else float("nan")
    return {
        "delivered": len(landed),
        "changes": len(changes),
        "changes_per_s": len(landed) / max(1e-9, last - started),
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--replicas", default="1,2,3")
    parser.add_argument("--store-changes", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    from tests.runtime.postgres import postgres_server

    with postgres_server(durable=True) as server:
        costs = store_costs(server, args.store_changes)
        print(f"per-change store cost, one thread, {args.store_changes} changes, median of 3 (ms per change):")
        for name, value in costs.items():
            print(f"  {name:<28} {value:7.2f}  ({value / costs['sqlite (normal)']:.1f}x sqlite normal)")
        work = pathlib.Path(tempfile.mkdtemp(prefix="bench-replicas-"))
        with populated_sandbox(work, args.agents) as run:
            log_in_everywhere(run, http_session(run.sandbox.ca_bundle))
            figures = {}
            for number, count in enumerate(int(c) for c in args.replicas.split(",")):
                figures[count] = replica_run(run, server, count, forward=number % 2 == 0, timeout=args.timeout)
    base = figures[min(figures)]
    print(f"\nreplicas on one PostgreSQL ({SHARDS} shards), a burst of {args.agents} changes, half each way:")
    print("  replicas  delivered  changes/s (ratio)   p50 s   p99 s (ratio)")
    for count, f in figures.items():
        print(
            f"  {count:>8}  {f['delivered']:>4}/{f['changes']:<4}  {f['changes_per_s']:8.1f} "
            f"({f['changes_per_s'] / base['changes_per_s']:.2f})  {f['p50']:6.2f}  {f['p99']:6.2f} "
            f"({f['p99'] / base['p99']:.2f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
