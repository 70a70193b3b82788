"""Chaos run of the sync runtime against the sandbox, measured from the vendors' side (a script that prints
figures and sets its exit code; not a test).

    .venv/bin/python -m bench.chaos [--agents 200] [--changes 1200] [--seed 1] [--phase-seconds 36]
                                    [--outage-seconds 20] [--poll-seconds 2] [--json]

1. The sandbox (one process per vendor) set up like the sandbox stack, ``--agents`` agents logged in on both
   sides (Omni Busy, CXone Unavailable:Break), and ``python -m runtime`` as a real process at the service's
   defaults except a ``--poll-seconds`` CXone poll.
2. For ``--phase-seconds`` the agents change state on both sides, about ``--changes`` changes in all, from a
   plan drawn from ``--seed``: runs of changes on one side ``--fast-gap`` apart (faster than the poll, so each
   pair returns the side to its previous state between two polls), a change on the other side 0.3-1 s after
   one on this side (both sides close together), and pauses. Meanwhile, the faults: a kill -9 of the runtime
   at 30% of the phase and an immediate restart; a ``--outage-seconds`` window of 503s on CXone's agent API
   (the sandbox's fault injection, ``/agent-sessions``) ending with the phase; every access token expired on
   the Salesforce side, then on the CXone side, during that window.
3. From the end of the last fault, every ``--converge-interval`` the vendors' current states are read until
   every agent is in step (or ``--converge-timeout``), then the run settles ``--settle-seconds`` and the
   vendors' own records are read: CXone's state history (who changed what: the agent or the API), the
   Salesforce console's command results, the agents' own clicks as the Omni widget answered them, and the
   CXone request log.

What "in step" means, per agent: the agent's latest change by the vendor's clock (on either side) is still
what that side shows, and ``runtime.rules.decide`` on the two final states with that side as the source has
nothing to write (the other side shows what the governing rule maps it to). Two changes on opposite sides
closer than ``--ambiguity-ms`` may be ordered either way.

Writes (CXone: the agent API's ``.../state`` calls that succeeded, from the request log; Salesforce: every
``Omni_Presence_Command__e`` the console received) are each traced to their cause: the latest change on the
other side, at or before the write, whose mapping is what was written. Caused by an agent's change: the first
such write per change and side is the propagation, any further one a *duplicate*. Caused by a write of the
runtime's own: an *echo*. A write that landed over a newer change the agent made on that side (after the cause)
is counted as *over a newer change*; one with no cause at all as *unexplained*.

Exit code: 0 when every target is met (0 out of step, 0 duplicates, 0 echoes, converged within
``--converge-target`` seconds of the last fault), 1 when one is missed, 2 when the run itself failed. Every
process it starts (the emulators, the runtime) is stopped on the way out, by PID, also on errors, Ctrl-C,
SIGTERM and when ``--max-seconds`` runs out. All traffic goes to the emulators on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import bisect
import concurrent.futures
import json
import os
import pathlib
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from requests.adapters import HTTPAdapter  # noqa: E402
from urllib3.util.retry import Retry  # noqa: E402

from bench._sandbox_run import (  # noqa: E402 -- `python bench/chaos.py` needs the path above
    PopulatedSandbox,
    http_session,
    log_in_everywhere,
    populated_sandbox,
    require_loopback,
    ts,
)
from presence_sync.clients.pubsub.feed import EARLIEST, PubSubPresenceFeed  # noqa: E402
from presence_sync.runtime_config import RuntimeConfig  # noqa: E402
from presence_sync.spec import parse_acd  # noqa: E402
from presence_sync.spec.acd import AcdState, satisfies  # noqa: E402
from runtime.rules import AgentView, Side, decide, other, rule_for  # noqa: E402

AGENT_API = "/incontactapi/services/v34.0/agent-sessions"  # CXone's agent API: the 503 window's target
SIDES: tuple[Side, Side] = ("acd", "sf")
CXONE_STATES = ("Available", "Unavailable:Break")
OMNI_STATES = ("Available_for_Chats", "Busy")  # developer names; the sides hold status ids
START_ACD, START_OMNI = "Unavailable:Break", "Busy"
CLICK_TOLERANCE = 0.005  # s: a click made a change when the vendor's change time is not before it was sent
# s: CXone stamps a state row to the millisecond (rounded down) inside the call, while the request log's arrival
# is the call's end less its duration as the middleware timed it: a row may look a little older than its call.
ROW_STAMP_SLACK = 0.005


class OutOfTime(Exception):
    """``--max-seconds`` ran out."""


# ------------------------------------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class Planned:
    at: float  # seconds after the phase started
    agent_id: int
    side: Side
    kind: str  # first | fast (same side, --fast-gap after the last) | cross (other side, 0.3-1 s) | slow


def plan(agent_ids: list[int], changes: int, phase: float, fast_gap: float, seed: int) -> list[Planned]:
    """Each agent's clicks: runs on one side ``fast_gap`` apart, quick switches to the other side, pauses; the
    pause length is chosen so that about ``changes`` clicks fall within ``phase`` seconds."""
    rng = random.Random(seed)
    fast_p, cross_p, cross_mean = 0.45, 0.20, 0.65
    mean_gap = len(agent_ids) * phase / max(1, changes)
    slow_mean = max(fast_gap, (mean_gap - fast_p * fast_gap - cross_p * cross_mean) / (1 - fast_p - cross_p))
    events: list[Planned] = []
    for agent_id in agent_ids:
        at, side, kind = rng.uniform(0, min(phase, mean_gap)), rng.choice(SIDES), "first"
        while at < phase:
            events.append(Planned(at, agent_id, side, kind))
            roll = rng.random()
            if roll < fast_p:
                at, kind = at + fast_gap * rng.uniform(0.97, 1.03), "fast"
            elif roll < fast_p + cross_p:
                at, side, kind = at + rng.uniform(0.3, 1.0), other(side), "cross"
            else:
                at, side, kind = at + slow_mean * rng.uniform(0.5, 1.5), rng.choice(SIDES), "slow"
    return sorted(events, key=lambda e: e.at)


# ------------------------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class Change:
    """A change of one side's state, by the vendor's clock; ``human`` = the agent made it, else the runtime."""

    at: float
    side: Side
    state: str  # ACD notation (acd) or status id (sf)
    human: bool


@dataclass
class Click:
    """One action of an agent as the emulator answered it."""

    agent_id: int
    side: Side
    kind: str
    target: str
    sent: float
    vendor_at: float
    changed: bool
    retried: bool = False  # the first click found the side already there; the agent clicked the other state


def notation(view: dict[str, Any]) -> str:
    code = view.get("outStateDescription")
    return f"{view['agentStateName']}:{code}" if code else str(view["agentStateName"])


class Agents:
    """The people: click in CXone's softphone or the Omni widget, and read both sides back."""

    def __init__(self, run: PopulatedSandbox, statuses: dict[str, str]) -> None:
        self.run = run
        self.sf_url, self.cx_url = run.sandbox.salesforce_url, run.sandbox.cxone_url
        require_loopback(self.sf_url, self.cx_url)
        self.http = http_session(run.sandbox.ca_bundle, pool=32)
        # The emulators close keep-alive connections idle for 5 s; setting a state again is harmless.
        retry = Retry(total=3, connect=3, read=3, status=0, allowed_methods=None, backoff_factor=0.05)
        self.http.mount("https://", HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=retry))
        self.status_ids = statuses  # developer name -> id
        self.user_of = {agent_id: run.users[email] for agent_id, email in run.agents}
        self.agent_of_user = {user: agent for agent, user in self.user_of.items()}
        self.known: dict[tuple[int, Side], str] = {}
        for agent_id in self.user_of:
            self.known[agent_id, "acd"] = START_ACD
            self.known[agent_id, "sf"] = statuses[START_OMNI]
        self.locks = {agent_id: threading.Lock() for agent_id in self.user_of}
        self.clicks: list[Click] = []
        self._clicks_lock = threading.Lock()

    def _set(self, agent_id: int, side: Side, target: str) -> tuple[str, float]:
        """Click ``target`` on ``side``; (the side's state, its last change time) as the vendor answers."""
        if side == "acd":
            body = {"state": "Available"} if target == "Available" else {"state": "Unavailable", "reason": "Break"}
            response = self.http.post(f"{self.cx_url}/__sandbox/agent/{agent_id}/state", json=body, timeout=10)
            response.raise_for_status()
            view = response.json()
            return notation(view), ts(view["lastUpdateTime"])
        response = self.http.post(
            f"{self.sf_url}/__sandbox/console/status",
            json={"user": self.user_of[agent_id], "status": target},
            timeout=10,
        )
        response.raise_for_status()
        view = response.json()
        return str(view["statusId"]), ts(view["since"])

    def toggle(self, planned: Planned) -> None:
        """The agent changes ``side`` to the other of its two states; when the side turns out to be there
        already (the runtime moved it meanwhile), they click the other state at once."""
        agent_id, side = planned.agent_id, planned.side
        choices = CXONE_STATES if side == "acd" else tuple(self.status_ids[n] for n in OMNI_STATES)
        with self.locks[agent_id]:
            retried = False
            for _ in range(2):
                target = choices[1] if self.known[agent_id, side] == choices[0] else choices[0]
                sent = time.time()
                state, vendor_at = self._set(agent_id, side, target)
                self.known[agent_id, side] = state
                changed = state == target and vendor_at >= sent - CLICK_TOLERANCE
                if changed:
                    break
                retried = True
            with self._clicks_lock:
                self.clicks.append(Click(agent_id, side, planned.kind, target, sent, vendor_at, changed, retried))

    def cxone_view(self, agent_id: int) -> dict[str, Any]:
        response = self.http.get(f"{self.cx_url}/__sandbox/agent/{agent_id}", timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def current(self, threads: int = 8) -> dict[int, tuple[str | None, str | None]]:
        """Every agent's (CXone state, Omni status id) as the emulators show them now."""
        response = self.http.get(f"{self.sf_url}/__sandbox/console/agents", timeout=30)
        response.raise_for_status()
        omni = {a["userId"]: a["statusId"] for a in response.json()["agents"]}
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            views = dict(zip(self.user_of, pool.map(self.cxone_view, self.user_of), strict=True))
        return {agent_id: (notation(views[agent_id]), omni.get(user)) for agent_id, user in self.user_of.items()}

    def history(self, agent_id: int, after: int = 0) -> list[dict[str, Any]]:
        response = self.http.get(
            f"{self.cx_url}/__sandbox/agent/{agent_id}/history", params={"after": after}, timeout=10
        )
        response.raise_for_status()
        return list(response.json()["changes"])

    def omni_changes(self) -> list[Any]:
        """Every status row the org created (UserServicePresence change events, from the oldest retained)."""
        stream = PubSubPresenceFeed(self.run.setup.salesforce)  # the org's Pub/Sub API, from the earliest
        after: str | int | None = EARLIEST
        events: list[Any] = []
        try:
            for _ in range(1000):  # bounded: 1,000 pages of up to 1,000
                page, after = stream.read_presence_changes(after, 2000, 1000)
                events.extend(e for e in page if e.change_type == "CREATE" and e.user_id in self.agent_of_user)
                if not page:
                    break
        finally:
            stream.close()
        return events

    def console_results(self, after: int = 0) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for _ in range(1000):  # bounded: 1,000 pages of 1,000
            response = self.http.get(
                f"{self.sf_url}/__sandbox/console/results", params={"after": after, "limit": 1000}, timeout=30
            )
            response.raise_for_status()
            page = response.json()["results"]
            results.extend(page)
            if len(page) < 1000:
                break
            after = int(page[-1]["sequence"])
        return results


class RequestLogReader:
    """CXone's request log read as it grows (it is a ring of 5,000: read often enough, and say if it wrapped)."""

    def __init__(self, operator: Any) -> None:
        self.operator = operator
        entries = operator.requests()
        self.seen = int(entries[-1]["seq"]) if entries else 0
        self.entries: list[dict[str, Any]] = []
        self.lost = 0

    def read(self) -> None:
        fresh = self.operator.requests(self.seen)
        if fresh:
            self.lost += max(0, int(fresh[0]["seq"]) - self.seen - 1)
            self.seen = int(fresh[-1]["seq"])
            self.entries.extend(fresh)


# ------------------------------------------------------------------------------------------------ judging


@dataclass
class Judge:
    """The governing rule's view of an agent's two sides (``runtime.rules``, as the runtime decides)."""

    config: RuntimeConfig
    ambiguity: float
    teams: dict[int, int | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.teams = {link.agent_id: link.team_id for link in self.config.agents}

    def view(self, agent_id: int, acd: str | None, sf: str | None, source: Side) -> AgentView:
        return AgentView(agent_id, self.teams.get(agent_id), acd=acd, sf=sf, source=source)

    def maps_to(self, agent_id: int, side: Side, state: str) -> str | None:
        """What the rule writes on the other side for ``state`` on ``side`` (against a state it is not)."""
        unlike = {"acd": "LoggedIn", "sf": "0N5000000000000XXX"}  # neither is ever a rule's target
        acd, sf = (state, unlike["sf"]) if side == "acd" else (unlike["acd"], state)
        write = decide(self.config.rules, self.view(agent_id, acd, sf, side))
        return write.target if write is not None else None

    @staticmethod
    def meets(side: Side, written: str, wanted: str) -> bool:
        if side == "sf":
            return written == wanted
        actual, target = parse_acd(written), parse_acd(wanted)
        return isinstance(actual, AcdState) and isinstance(target, AcdState) and satisfies(actual, target)

    def agree(self, agent_id: int, acd: str | None, sf: str | None, source: Side) -> bool:
        return decide(self.config.rules, self.view(agent_id, acd, sf, source)) is None

    def in_step(self, agent_id: int, acd: str | None, sf: str | None, changes: list[Change]) -> tuple[bool, str]:
        """(in step, why not): ``changes`` are the agent's own, any order."""
        if rule_for(self.config.rules, agent_id, self.teams.get(agent_id)) is None:
            return True, ""
        final = {"acd": acd, "sf": sf}
        ordered = sorted(changes, key=lambda c: c.at)
        if not ordered:  # never changed: the sides must agree, whichever is read as the source
            ok = self.agree(agent_id, acd, sf, "acd") or self.agree(agent_id, acd, sf, "sf")
            return ok, "" if ok else "sides disagree"
        latest = ordered[-1]
        candidates = [latest]
        rival = next((c for c in reversed(ordered) if c.side != latest.side), None)
        if rival is not None and latest.at - rival.at <= self.ambiguity:
            candidates.append(rival)
        for change in candidates:
            if final[change.side] == change.state and self.agree(agent_id, acd, sf, change.side):
                return True, ""
        consistent = self.agree(agent_id, acd, sf, "acd") or self.agree(agent_id, acd, sf, "sf")
        return False, "sides agree on an older change" if consistent else "sides disagree"


def human_changes(clicks: list[Click]) -> dict[int, list[Change]]:
    out: dict[int, list[Change]] = {}
    for click in clicks:
        if click.changed:
            out.setdefault(click.agent_id, []).append(Change(click.vendor_at, click.side, click.target, True))
    return out


def out_of_step_now(agents: Agents, judge: Judge) -> tuple[int, Counter[str]]:
    """How many agents are out of step now (the clicks as the widgets answered them, the states as shown)."""
    with agents._clicks_lock:
        clicks = list(agents.clicks)
    changes = human_changes(clicks)
    reasons: Counter[str] = Counter()
    for agent_id, (acd, sf) in agents.current().items():
        ok, why = judge.in_step(agent_id, acd, sf, changes.get(agent_id, []))
        if not ok:
            reasons[why] += 1
    return sum(reasons.values()), reasons


# ------------------------------------------------------------------------------------------------ the run


def run_chaos(args: argparse.Namespace) -> dict[str, Any]:
    from tests.runtime.support import RuntimeProcess, last_seq, sandbox_config

    timeline: dict[str, float] = {}
    work = pathlib.Path(tempfile.mkdtemp(prefix="bench-chaos-"))
    runtime: RuntimeProcess | None = None
    stop = threading.Event()
    pool: concurrent.futures.ThreadPoolExecutor | None = None
    dispatcher: threading.Thread | None = None
    started = time.monotonic()
    with populated_sandbox(work, args.agents) as run:
        try:
            sandbox = run.sandbox
            http = http_session(sandbox.ca_bundle)
            log_in_everywhere(run, http, omni=START_OMNI, cxone_reason="Break")
            agents = Agents(run, run.setup.statuses)
            config = sandbox_config(
                run.setup,
                work,
                poll_interval_seconds=args.poll_seconds,
                stream_wait_seconds=5.0,
                echo_window_seconds=30.0,
                workers=32,
            )
            judge = Judge(config, args.ambiguity_ms / 1000)
            history_from = {
                agent_id: max((int(r["id"]) for r in agents.history(agent_id)), default=0)
                for agent_id in agents.user_of
            }
            results_from = max((int(r["sequence"]) for r in agents.console_results()), default=0)
            cx_log = RequestLogReader(sandbox.cxone_operator)
            sf_seq0 = last_seq(sandbox.salesforce_operator)

            runtime = RuntimeProcess(config, work, sandbox.env)
            runtime.start()
            time.sleep(1.0)

            planned = plan(list(agents.user_of), args.changes, args.phase_seconds, args.fast_gap, args.seed)
            errors: list[str] = []
            lateness: list[float] = []
            pool = concurrent.futures.ThreadPoolExecutor(args.driver_threads)
            phase_start = time.monotonic()
            timeline["phase_start"] = time.time()

            def click(item: Planned) -> None:
                if stop.is_set():
                    return
                try:
                    agents.toggle(item)
                except Exception as exc:  # counted and reported; the run goes on
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])

            def dispatch() -> None:
                assert pool is not None
                for item in planned:
                    while not stop.is_set() and (wait := phase_start + item.at - time.monotonic()) > 0:
                        stop.wait(min(wait, 0.05))
                    if stop.is_set():
                        return
                    lateness.append(time.monotonic() - phase_start - item.at)
                    pool.submit(click, item)

            dispatcher = threading.Thread(target=dispatch, name="chaos-driver", daemon=True)
            dispatcher.start()

            phase = args.phase_seconds
            outage_start = max(0.0, phase - args.outage_seconds)
            actions: list[tuple[float, str]] = sorted(
                [
                    (0.3 * phase, "kill"),
                    (outage_start, "outage"),
                    (outage_start + 0.25 * args.outage_seconds, "expire-salesforce"),
                    (outage_start + 0.5 * args.outage_seconds, "expire-cxone"),
                    (phase, "outage-end"),
                ]
            )
            for due, action in actions:
                while (wait := phase_start + due - time.monotonic()) > 0:
                    time.sleep(min(wait, 1.0))
                    cx_log.read()
                if action == "kill":
                    runtime.kill9()
                    timeline["killed"] = time.time()
                    time.sleep(args.restart_after)
                    runtime.start()  # the same store and config; waits for /readyz
                    timeline["restarted"] = time.time()
                elif action == "outage":
                    sandbox.cxone_operator.set_faults(error_rate=1.0, error_status=503, path_prefix=AGENT_API)
                    timeline["outage_start"] = time.time()
                elif action == "expire-salesforce":
                    sandbox.salesforce_operator.expire_tokens()
                    timeline["expired_salesforce"] = time.time()
                elif action == "expire-cxone":
                    sandbox.cxone_operator.expire_tokens()
                    timeline["expired_cxone"] = time.time()
                elif action == "outage-end":
                    sandbox.cxone_operator.clear_faults()
                    timeline["outage_end"] = time.time()
                cx_log.read()
            dispatcher.join(timeout=30)
            pool.shutdown(wait=True)
            last_fault = max(v for k, v in timeline.items() if k != "phase_start")
            timeline["last_fault"] = last_fault
            timeline["last_click"] = max((c.vendor_at for c in agents.clicks if c.changed), default=last_fault)

            # Convergence, as the vendors show it.
            converged_at: float | None = None
            out_now = -1
            deadline = time.time() + args.converge_timeout
            polls = 0
            while time.time() < deadline:
                polls += 1
                out_now, _ = out_of_step_now(agents, judge)
                cx_log.read()
                if out_now == 0:
                    converged_at = time.time()
                    break
                time.sleep(args.converge_interval)
            time.sleep(args.settle_seconds)
            cx_log.read()

            # The vendors' records.
            final = agents.current()
            histories = {agent_id: agents.history(agent_id, history_from[agent_id]) for agent_id in agents.user_of}
            results = [r for r in agents.console_results(results_from) if r.get("userId") in agents.agent_of_user]
            omni_rows = [
                e for e in agents.omni_changes() if e.commit_timestamp.timestamp() >= timeline["phase_start"] - 1
            ]
            sessions = {agents.cxone_view(agent_id)["sessionId"]: agent_id for agent_id in agents.user_of}
            sf_requests = sandbox.salesforce_operator.operations(sf_seq0)
            metrics = runtime.metrics()
            runtime_pid = runtime.process.pid if runtime.process else None
            runtime.stop()
            figures = measure(
                args,
                judge,
                agents,
                final,
                histories,
                results,
                omni_rows,
                sessions,
                cx_log,
                sf_requests,
                timeline["phase_start"],
            )
            figures.update(
                planned_clicks=len(planned),
                clicks_by_kind=dict(Counter(c.kind for c in agents.clicks if c.changed)),
                clicks_retried=sum(1 for c in agents.clicks if c.retried),
                clicks_without_change=sum(1 for c in agents.clicks if not c.changed),
                driver_errors=len(errors),
                driver_error_samples=errors[:3],
                driver_late_p99_s=sorted(lateness)[int(0.99 * (len(lateness) - 1))] if lateness else 0.0,
                converged=converged_at is not None and figures["out_of_step"] == 0,
                converge_seconds_after_last_fault=(converged_at - last_fault) if converged_at else None,
                converge_seconds_after_last_click=(converged_at - timeline["last_click"]) if converged_at else None,
                converge_polls=polls,
                out_of_step_when_polling_stopped=out_now,
                timeline={k: round(v - timeline["phase_start"], 2) for k, v in timeline.items()},
                runtime_metrics={
                    k: v
                    for k, v in metrics.items()
                    if k.startswith(
                        (
                            "presence_sync_writes_total",
                            "presence_sync_echoes_suppressed_total",
                            "presence_sync_changes_seen_total",
                            "presence_sync_outbox_pending",
                        )
                    )
                },
                runtime_pid=runtime_pid,
                work_dir=str(work),
            )
        finally:
            stop.set()
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
            if runtime is not None:
                runtime.stop()  # by the child's PID: terminate, then kill
            if dispatcher is not None:
                dispatcher.join(timeout=5)
    figures["run_seconds"] = time.monotonic() - started
    return figures


def measure(
    args: argparse.Namespace,
    judge: Judge,
    agents: Agents,
    final: dict[int, tuple[str | None, str | None]],
    histories: dict[int, list[dict[str, Any]]],
    results: list[dict[str, Any]],
    omni_rows: list[Any],
    sessions: dict[str, int],
    cx_log: RequestLogReader,
    sf_requests: list[dict[str, Any]],
    origin: float,
) -> dict[str, Any]:
    """The figures, from the vendors' records only (``origin``: the phase's start, for the samples' times)."""
    names = {v: k for k, v in agents.status_ids.items()}

    def shown(side: Side, state: str | None) -> str | None:
        return names.get(state, state) if side == "sf" and state is not None else state

    def sample(c: Change) -> dict[str, Any]:
        return {
            "at": round(c.at - origin, 3),
            "side": c.side,
            "state": shown(c.side, c.state),
            "by": "agent" if c.human else "runtime",
        }

    # Every change per agent and side: CXone from its state history (source agent / api), Salesforce from the
    # agents' clicks as the widget answered them plus the commands the console applied.
    changes: dict[int, list[Change]] = {agent_id: [] for agent_id in agents.user_of}
    for agent_id, rows in histories.items():
        for row in rows:
            changes[agent_id].append(Change(ts(row["lastUpdateTime"]), "acd", notation(row), row["source"] == "agent"))
    # Salesforce: every status row the org created (its change events), each the runtime's when the console
    # applied one of its commands in that very commit, the agent's otherwise.
    applied = {(r["userId"], r["statusId"], round(ts(r["at"]), 3)) for r in results if r.get("success")}
    for row in omni_rows:
        at = row.commit_timestamp.timestamp()
        ours = (row.user_id, row.status_id, round(at, 3)) in applied
        changes[agents.agent_of_user[row.user_id]].append(Change(at, "sf", row.status_id, not ours))
    ambiguous_clicks = 0  # none: the change events say what changed, the console's results who did it

    # The runtime's writes: (time, side, target).
    writes: dict[int, list[tuple[float, Side, str]]] = {agent_id: [] for agent_id in agents.user_of}
    for result in results:
        writes[agents.agent_of_user[result["userId"]]].append((ts(result["at"]), "sf", result["statusId"]))
    cx_failed = 0
    calls: dict[int, list[float]] = {}  # agent -> arrival times of its successful state calls
    for entry in cx_log.entries:
        path = entry["path"]
        if entry["method"] != "POST" or not path.startswith(AGENT_API) or not path.endswith("/state"):
            continue
        if entry["status"] >= 300:
            cx_failed += 1
            continue
        owner = sessions.get(path[len(AGENT_API) + 1 : -len("/state")])
        if owner is not None:  # the log stamps a call when it ended: it arrived its duration earlier
            calls.setdefault(owner, []).append(float(entry["time"]) - float(entry.get("duration_ms") or 0) / 1000)
    for owner, arrivals in calls.items():
        # What each call set. The log has no bodies, so the API's state rows are paired with the calls: a row
        # belongs to the latest call that had arrived before it (the runtime makes one call per agent at a
        # time). A call left without a row repeated the agent's current state.
        arrivals.sort()
        made: dict[int, str] = {}
        for change in sorted((c for c in changes[owner] if c.side == "acd" and not c.human), key=lambda c: c.at):
            index = bisect.bisect_right(arrivals, change.at + ROW_STAMP_SLACK) - 1
            if index >= 0 and index not in made:
                made[index] = change.state
        for index, arrived in enumerate(arrivals):
            state = made.get(index)
            if state is None:
                before_call = [c for c in changes[owner] if c.side == "acd" and c.at <= arrived]
                state = max(before_call, key=lambda c: c.at).state if before_call else START_ACD
            writes[owner].append((arrived, "acd", state))

    out_of_step: Counter[str] = Counter()
    out_agents: list[int] = []
    duplicates = {"acd": 0, "sf": 0}
    echoes = {"acd": 0, "sf": 0}
    over_newer = {"acd": 0, "sf": 0}
    unexplained = {"acd": 0, "sf": 0}
    written = {"acd": 0, "sf": 0}
    write_samples: dict[str, list[dict[str, Any]]] = {"duplicate": [], "echo": [], "over_newer": []}

    def keep(kind: str, agent_id: int, at: float, side: Side, target: str, cause: Change) -> None:
        if len(write_samples[kind]) < 3:
            write_samples[kind].append(
                {
                    "agent_id": agent_id,
                    "write": {"at": round(at - origin, 3), "side": side, "state": shown(side, target)},
                    "cause": sample(cause),
                }
            )

    for agent_id in agents.user_of:
        acd, sf = final[agent_id]
        mine = sorted(changes[agent_id], key=lambda c: c.at)
        ok, why = judge.in_step(agent_id, acd, sf, [c for c in mine if c.human])
        if not ok:
            out_of_step[why] += 1
            out_agents.append(agent_id)
        per_cause: Counter[tuple[float, Side]] = Counter()
        for at, side, target in sorted(writes[agent_id]):
            written[side] += 1
            source = other(side)
            causes = [
                c
                for c in mine
                if c.side == source
                and c.at <= at
                and (m := judge.maps_to(agent_id, source, c.state)) is not None
                and judge.meets(side, target, m)
            ]
            if not causes:
                unexplained[side] += 1
                continue
            cause = causes[-1]
            if not cause.human:
                echoes[side] += 1
                keep("echo", agent_id, at, side, target, cause)
                continue
            per_cause[cause.at, side] += 1
            if per_cause[cause.at, side] > 1:
                duplicates[side] += 1
                keep("duplicate", agent_id, at, side, target, cause)
            if any(c.human and c.side == side and cause.at < c.at <= at and c.state != target for c in mine):
                over_newer[side] += 1
                keep("over_newer", agent_id, at, side, target, cause)
    human = [c for agent_id in agents.user_of for c in changes[agent_id] if c.human]
    samples: list[dict[str, Any]] = []
    for agent_id in out_agents[:5]:
        tail = sorted(changes[agent_id], key=lambda c: c.at)[-4:]
        acd, sf = final[agent_id]
        samples.append(
            {
                "agent_id": agent_id,
                "final": {"acd": acd, "sf": shown("sf", sf)},
                "last_changes": [sample(c) for c in tail],
            }
        )
    omni_calls = {e["seq"] for e in sf_requests if e["method"] == "POST" and "Omni_Presence_Command__e" in e["path"]}
    return {
        "agents": len(agents.user_of),
        "changes": len(human),
        "changes_cxone": sum(1 for c in human if c.side == "acd"),
        "changes_salesforce": sum(1 for c in human if c.side == "sf"),
        "ambiguous_clicks_left_out": ambiguous_clicks,
        "out_of_step": sum(out_of_step.values()),
        "out_of_step_by_reason": dict(out_of_step),
        "out_of_step_samples": samples,
        "writes_cxone": written["acd"],
        "writes_salesforce": written["sf"],
        "cxone_writes_refused": cx_failed,
        "omni_publish_calls": len(omni_calls),
        "duplicates": sum(duplicates.values()),
        "duplicates_by_side": duplicates,
        "echoes": sum(echoes.values()),
        "echoes_by_side": echoes,
        "writes_over_a_newer_change": sum(over_newer.values()),
        "writes_over_a_newer_change_by_side": over_newer,
        "writes_unexplained": sum(unexplained.values()),
        "write_samples": write_samples,  # times in seconds after the phase started
        "cxone_request_log_entries_lost": cx_log.lost,
    }


# ------------------------------------------------------------------------------------------------ main


def report(figures: dict[str, Any], args: argparse.Namespace) -> list[tuple[str, bool]]:
    converge = figures["converge_seconds_after_last_fault"]
    targets = [
        ("0 agents out of step", figures["out_of_step"] == 0),
        ("0 duplicate writes", figures["duplicates"] == 0),
        ("0 echoes", figures["echoes"] == 0),
        (
            f"converged <= {args.converge_target:g} s after the last fault",
            figures["converged"] and converge is not None and converge <= args.converge_target,
        ),
    ]
    load = os.getloadavg()
    t = figures["timeline"]
    print(
        f"presence-sync chaos run (seed {args.seed}; {os.cpu_count()} CPUs, load {load[0]:.1f} {load[1]:.1f}; "
        f"measured from the emulators' records)"
    )
    rows = [
        (
            "agents / changes (CXone + Omni)",
            f"{figures['agents']} / {figures['changes']} "
            f"({figures['changes_cxone']} + {figures['changes_salesforce']})",
        ),
        ("  by kind", ", ".join(f"{k} {v}" for k, v in sorted(figures["clicks_by_kind"].items()))),
        ("  clicks that found the side there already", f"{figures['clicks_retried']} (clicked the other state)"),
        (
            "faults (s into the phase)",
            f"kill -9 {t.get('killed', 0):.1f}, ready again {t.get('restarted', 0):.1f}; CXone 503 "
            f"{t.get('outage_start', 0):.1f}-{t.get('outage_end', 0):.1f}; tokens expired "
            f"{t.get('expired_salesforce', 0):.1f} (SF), {t.get('expired_cxone', 0):.1f} (CXone)",
        ),
        (
            "agents out of step at the end",
            f"{figures['out_of_step']} of {figures['agents']}  "
            + ", ".join(f"{k}: {v}" for k, v in figures["out_of_step_by_reason"].items()),
        ),
        (
            "runtime writes CXone / Omni",
            f"{figures['writes_cxone']} / {figures['writes_salesforce']} "
            f"({figures['cxone_writes_refused']} CXone calls refused, {figures['omni_publish_calls']} Omni calls)",
        ),
        (
            "duplicate writes",
            f"{figures['duplicates']}  (CXone {figures['duplicates_by_side']['acd']}, "
            f"Omni {figures['duplicates_by_side']['sf']})",
        ),
        (
            "echoes",
            f"{figures['echoes']}  (CXone {figures['echoes_by_side']['acd']}, Omni {figures['echoes_by_side']['sf']})",
        ),
        ("writes over a newer agent change", f"{figures['writes_over_a_newer_change']}"),
        ("writes with no cause found", f"{figures['writes_unexplained']}"),
        (
            "converged after the last fault",
            f"{converge:.1f} s"
            if figures["converged"] and converge is not None
            else f"no (not within {args.converge_timeout:g} s; {figures['out_of_step_when_polling_stopped']} out of "
            f"step when polling stopped)",
        ),
        ("run time", f"{figures['run_seconds']:.0f} s"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    notes = []
    if figures["driver_errors"]:
        notes.append(f"{figures['driver_errors']} clicks failed: {figures['driver_error_samples']}")
    if figures["cxone_request_log_entries_lost"]:
        notes.append(f"{figures['cxone_request_log_entries_lost']} CXone request-log entries lost (ring wrapped)")
    if figures["ambiguous_clicks_left_out"]:
        notes.append(
            f"{figures['ambiguous_clicks_left_out']} Omni clicks left out (a command of that status landed "
            "while the click was under way)"
        )
    if figures["driver_late_p99_s"] > 0.5:
        notes.append(f"the driver ran late: p99 {figures['driver_late_p99_s']:.2f} s behind its plan")
    for note in notes:
        print(f"  note: {note}")
    for name, met in targets:
        print(f"  [{'met' if met else 'MISSED'}] {name}")
    return targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--changes", type=int, default=1200, help="about this many agent changes, both sides")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--phase-seconds", type=float, default=36.0, help="how long the agents keep changing")
    parser.add_argument(
        "--outage-seconds", type=float, default=20.0, help="503s on CXone's agent API, ending with the phase"
    )
    parser.add_argument("--poll-seconds", type=float, default=2.0, help="the runtime's CXone poll interval")
    parser.add_argument("--fast-gap", type=float, default=1.5, help="seconds between an agent's quick changes")
    parser.add_argument("--restart-after", type=float, default=0.5, help="seconds between the kill -9 and restart")
    parser.add_argument(
        "--ambiguity-ms",
        type=float,
        default=100.0,
        help="changes on opposite sides this close may be ordered either way",
    )
    parser.add_argument("--converge-target", type=float, default=10.0)
    parser.add_argument("--converge-timeout", type=float, default=30.0, help="stop polling after this long")
    parser.add_argument("--converge-interval", type=float, default=0.5)
    parser.add_argument(
        "--settle-seconds",
        type=float,
        default=3.0,
        help="wait after converging (or giving up) before the final reading",
    )
    parser.add_argument("--driver-threads", type=int, default=12)
    parser.add_argument("--max-seconds", type=int, default=600, help="hard bound on the whole run")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()

    def out_of_time(signum: int, frame: FrameType | None) -> None:
        raise OutOfTime(f"the run took more than {args.max_seconds} s")

    def terminated(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.signal(signal.SIGTERM, terminated)
    signal.alarm(args.max_seconds)
    try:
        figures = run_chaos(args)
    except (Exception, KeyboardInterrupt) as exc:  # every process is already stopped (finally blocks)
        print(f"chaos run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        signal.alarm(0)
    targets = report(figures, args)
    if args.json:
        print(json.dumps({**figures, "args": vars(args), "targets": dict(targets)}, indent=2, default=str))
    return 0 if all(met for _, met in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
