"""Three replicas on one PostgreSQL against the sandbox: a burst of changes both ways while the owner of half the
agents is SIGKILLed and the owner of the other half is SIGSTOPped past its lease (then SIGCONTed). Every change
lands once: no agent is left behind, no write is repeated (the emulators' own records of what was applied), and
the paused replica's writes after its lease moved are refused by the store. The takeover time is printed.

Two shards, so "half the agents" is one shard: replica X owns one, Y the other, Z stands by (it owns nothing
until X dies and Y's lease expires). Y is the feed lease's holder whenever that is X or Y: the worst case, a
replica frozen mid-read holds the feed row too (its reads stop, and its routing transaction must not hold the
takeover up). Agents of both shards change on both sides.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bench._sandbox_run import http_session, log_in_everywhere, populated_sandbox, ts

from .postgres import fresh_database
from .replicas import holders, process_of, running_replicas
from .support import RuntimeProcess, wait_until

# In `make test`; `make test-failover` runs it alone, with its figures printed (pytest -s).
pytestmark = [pytest.mark.slow, pytest.mark.failover]

AGENTS = 1000  # one change each: 500 made in CXone, 500 in Omni
LEASE_SECONDS = 3.0


def burst(run: Any, http: Any, agents: list[tuple[int, str]], on_progress: Any) -> dict[int, str]:
    """Half the agents go Available in CXone, half Available_for_Chats in Omni (alternating in pairs, so each
    shard gets both); returns agent id -> the side the agent changed."""
    sides: dict[int, str] = {}
    sent = [0]
    lock = threading.Lock()

    def change(item: tuple[int, tuple[int, str]]) -> None:
        number, (agent_id, email) = item
        if (number // 2) % 2 == 0:
            url, body = f"{run.sandbox.cxone_url}/__sandbox/agent/{agent_id}/state", {"state": "Available"}
            sides[agent_id] = "cxone"
        else:
            url = f"{run.sandbox.salesforce_url}/__sandbox/console/status"
            body = {"user": run.users[email], "status": "Available_for_Chats"}
            sides[agent_id] = "omni"
        http.post(url, json=body, timeout=60).raise_for_status()
        with lock:
            sent[0] += 1
            on_progress(sent[0])

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(change, enumerate(agents)))
    return sides


def omni_writes(run: Any, http: Any) -> dict[str, list[float]]:
    """Salesforce user -> when each Omni command the console applied landed."""
    results = http.get(f"{run.sandbox.salesforce_url}/__sandbox/console/results?limit=100000", timeout=60).json()
    applied: dict[str, list[float]] = {}
    for result in results["results"]:
        if result.get("success"):
            applied.setdefault(result["userId"], []).append(ts(result["at"]))
    return applied


def cxone_writes(run: Any, http: Any, agent_id: int) -> list[float]:
    """When each state the runtime set on a CXone agent (the agent API, not the softphone) was applied."""
    rows = http.get(f"{run.sandbox.cxone_url}/__sandbox/agent/{agent_id}/history", timeout=60).json()["changes"]
    return [ts(row["lastUpdateTime"]) for row in rows if row["source"] == "api"]


def unconverged(run: Any, agents: list[tuple[int, str]]) -> dict[int, tuple[str | None, str | None]]:
    """The agents not yet Available in CXone and Available_for_Chats in Omni, with what each side shows."""
    states, _ = run.setup.cxone.agent_states(None)
    cxone = {s.agent_id: s.agent_state_name for s in states}
    http = http_session(run.sandbox.ca_bundle)
    omni = {
        a["userId"]: a["statusDeveloperName"]
        for a in http.get(f"{run.sandbox.salesforce_url}/__sandbox/console/agents", timeout=60).json()["agents"]
    }
    shown = {agent_id: (cxone.get(agent_id), omni.get(run.users[email])) for agent_id, email in agents}
    return {agent: pair for agent, pair in shown.items() if pair != ("Available", "Available_for_Chats")}


def stored_state(dsn: str, agents: list[int]) -> list[Any]:
    """Each agent's record and pending writes as the shared store has them (for a failure's message)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        records = conn.execute("SELECT agent_id, data FROM agents WHERE agent_id = ANY(%s)", (agents,)).fetchall()
        outbox = conn.execute("SELECT * FROM outbox WHERE agent_id = ANY(%s)", (agents,)).fetchall()
        inbox = conn.execute("SELECT * FROM inbox WHERE agent_id = ANY(%s)", (agents,)).fetchall()
    return [records, outbox, inbox]


def log_entries(process: RuntimeProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in process.log_path.read_text(errors="replace").splitlines() if line]


def logged_at(entry: dict[str, Any]) -> float:
    return datetime.fromisoformat(entry["time"].replace("Z", "+00:00")).timestamp()


def stale_writes(process: RuntimeProcess, lost_at: float) -> tuple[int, int]:
    """(refused, accepted): the paused replica's writes under the lease it lost, from its log. Refused: the
    store's StaleEpoch. Accepted: a vendor write it made after ``lost_at`` and before it was granted a lease
    again (each write is marked in the store first, under the epoch, and counts from then: this must be 0)."""
    entries = log_entries(process)
    refused = sum("write refused: lease" in json.dumps(entry) for entry in entries)
    regained = min(
        (logged_at(e) for e in entries if e["message"] == "lease taken" and logged_at(e) > lost_at),
        default=float("inf"),
    )
    # A write counts from when its attempt was marked in the store (under the epoch), not from its log line:
    # one marked under a valid lease can be logged after the takeover.
    accepted = sum(
        1 for e in entries if e["message"] == "write made" and lost_at < e.get("sent_at", logged_at(e)) < regained
    )
    return refused, accepted


def test_three_replicas_survive_a_sigkill_and_a_sigstop_mid_burst_with_every_change_landing_once(
    postgres_server: Any, tmp_path: Path
) -> None:
    with fresh_database(postgres_server) as dsn, populated_sandbox(tmp_path / "sandbox", AGENTS) as run:
        http = http_session(run.sandbox.ca_bundle)
        log_in_everywhere(run, http)
        with running_replicas(
            run.setup,
            tmp_path,
            dsn,
            3,
            shards=2,
            lease_seconds=LEASE_SECONDS,
            workers=32,
            # the shipped default: a write's echo must still be recognised after a takeover (lease + catch-up)
            echo_window_seconds=30.0,
            resync_interval_seconds=3600.0,  # what is shown is the failover, not the periodic full re-read,
        ) as replicas:
            owners = holders(dsn)
            feed_holder = process_of(owners["feed"], replicas)
            paused_shard = "shard.0" if process_of(owners["shard.0"], replicas) is feed_holder else "shard.1"
            killed_shard = "shard.1" if paused_shard == "shard.0" else "shard.0"
            killed, paused = process_of(owners[killed_shard], replicas), process_of(owners[paused_shard], replicas)
            assert killed is not None and paused is not None and killed is not paused
            standby = next(p for p in replicas if p not in (killed, paused))
            assert killed.process is not None and paused.process is not None
            moments: dict[str, float] = {}

            def strike(sent: int) -> None:  # a third of the way into the burst
                if sent == AGENTS // 3:
                    moments["kill"] = time.time()
                    killed.kill9()
                    os.kill(paused.process.pid, signal.SIGSTOP)  # type: ignore[union-attr]

            def taken_over() -> bool:  # when the standby first holds each shard (watched while the burst runs)
                for shard, holder in holders(dsn).items():
                    if shard not in moments and process_of(holder, replicas) is standby:
                        moments[shard] = time.time()
                return "shard.0" in moments and "shard.1" in moments

            with concurrent.futures.ThreadPoolExecutor(1) as watcher:
                watching = watcher.submit(wait_until, taken_over, 300, 0.02, "the standby to take both shards")
                sides = burst(run, http, run.agents, strike)
                watching.result()
            os.kill(paused.process.pid, signal.SIGCONT)  # its lease is gone: what it still tries is refused
            left: dict[int, Any] = {}

            def every_agent_converged() -> bool:
                left.clear()
                left.update(unconverged(run, run.agents))
                return not left

            try:
                wait_until(every_agent_converged, timeout=300, interval=1.0, what="every agent")
            except AssertionError:
                stuck = sorted(left)[:3]
                raise AssertionError(
                    f"{len(left)} agents never converged, e.g. {sorted(left.items())[:5]}; "
                    f"what the store holds for {stuck}: {stored_state(dsn, stuck)}"
                ) from None
            wait_until(lambda: paused.ready(), timeout=60, what="the paused replica to rejoin with a shard")

            applied_omni = omni_writes(run, http)
            applied = {
                agent_id: (
                    applied_omni.get(run.users[email], []),
                    cxone_writes(run, http, agent_id) if sides[agent_id] == "omni" else [],
                )
                for agent_id, email in run.agents
            }
            counts = {agent_id: (len(omni), len(cxone)) for agent_id, (omni, cxone) in applied.items()}
            expected = {a: ((1, 0) if sides[a] == "cxone" else (0, 1)) for a, _ in run.agents}
            lost = [a for a in counts if sum(counts[a]) < 1]
            duplicated = [a for a in counts if counts[a] != expected[a] and a not in lost]
            first_after = min(  # the killed replica's writes in flight may land just after the kill: not counted
                t
                for agent_id, (omni, cxone) in applied.items()
                if agent_id % 2 == int(killed_shard.removeprefix("shard."))
                for t in (*omni, *cxone)
                if t > moments[killed_shard]
            )
            refused, accepted = stale_writes(paused, moments[paused_shard])
            print(
                f"\n3 replicas, {AGENTS} changes: lost {len(lost)}, duplicated {len(duplicated)}; "
                f"{killed_shard} (killed) taken over {moments[killed_shard] - moments['kill']:.1f} s after the kill, "
                f"{paused_shard} (frozen{', with the feed' if paused is feed_holder else ''}) "
                f"{moments[paused_shard] - moments['kill']:.1f} s; "
                f"first write by the new owner {first_after - moments['kill']:.1f} s after it; "
                f"writes under a stale epoch: {refused} refused, {accepted} accepted"
            )
            assert lost == [] and duplicated == [] and accepted == 0, (
                f"lost {lost[:5]}; duplicated (agent, Omni and CXone write times) "
                f"{[(agent, applied[agent]) for agent in duplicated[:5]]}; {accepted} stale writes accepted"
            )
