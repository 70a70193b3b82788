"""Deterministic simulation of the sync runtime against simulated vendors (issue 12: invariants I1-I4).

One seed is one run. Everything that could vary comes from ``random.Random(seed)`` and one simulated clock:

* **World**: N agents (3-8) whose humans change state on either side at random times (faster than the CXone
  poll, back to an earlier state, both sides within a few hundred ms), an event queue ordered by simulated
  time (ties by insertion order), and the runtime's schedule: CXone polls, Salesforce long-poll reads, the
  periodic resync, ledger pruning, and worker drains.
* **Vendors**: ``SimCxone`` and ``SimSalesforce`` each keep their agents' true states, stamp changes with their
  own clock (offset up to ``max_skew`` from true time, millisecond resolution, strictly increasing), and answer
  the real feeds (``CxoneFeed`` / ``SalesforceFeed``) and the real writers (``CxoneStateWriter`` /
  ``OmniCommandWriter``) through client methods of the same shape as ``presence_sync.clients``. A write is
  applied by the vendor after a random latency (CXone: the state call; Salesforce: the bridge in the agent's
  console applies the published command, dropping a repeated command id); it may fail before reaching the
  vendor, or land with its response lost (a transient error raised after it was scheduled).
  Faults: outages (reads and writes fail), token expiry (a transparent refresh, a failed refresh, or
  ``SessionExpired``), kill/restart of the runtime between steps or in the middle of a write.
* **Runtime**: the real ``Reconciler`` + ``SqliteStore`` + feeds + writers, restarted the way the service
  starts (catch up from the cursors, ``recover()``); ``:memory:`` when the seed never kills, a file otherwise.
* **Checker** (``Checker``): from the vendors' side only. It records every human change with its true time,
  every write the vendors applied, and when each human change was first returned by a vendor read. Safety
  (I3, I4) is checked at every landing; after the faults and humans stop and a quiet period, I1 and I2.

The invariants exactly as checked (W = 2 x max_skew + MARGIN, the ambiguity window):

I1  For every agent, ``rules.decide`` on the final true pair with ``source`` = the side of the latest human
    change finds nothing to write. When that change is *ambiguous* (below), either source is accepted.
I2  The side of the latest human change still shows that human's state, unless the change is ambiguous:
    (a) a human change on the other side lies within W of it (either order is then acceptable), or
    (b) a runtime write replaced it before any read of that vendor had returned it (the runtime could not
        have known; a write in flight, or a retry that raced the feed).
I3  At most one applied runtime write per human change per side: each applied write is attributed to the
    latest human change before the write was sent that justifies it -- a change on the other side whose
    mapping (governing rule) is the write's target, or the latest human change on the written side when the
    target is that human's own state (a restore) -- and each human change has a budget of one write per side.
    The same command applied twice is a violation too.
I4  No applied runtime write without a human cause: a write that no human change justifies (as above) is a
    violation; the message says when it is the echo of one of our own writes on the other side.

Rules in the simulation (no ``previous`` targets): ``chat`` (team 1, inverse maps, ``Unavailable:Meeting``,
plain ``Unavailable`` and the status ``0N5OTHER`` unmapped), ``voice`` (team 2, ``Unavailable`` with any code ->
Busy and Busy -> plain ``Unavailable``, Lunch -> ``Unavailable:Lunch``: non-inverse, so an echo that is taken for a
change writes something visible), a user-level ``lead`` rule for one agent, and team 3 with no rule.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import inspect
import logging
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from presence_sync.clients import errors
from presence_sync.clients.cxone import AgentState
from presence_sync.clients.errors import (
    ConnectionFailed,
    NotFound,
    ServiceUnavailable,
    SessionExpired,
    VendorError,
)
from presence_sync.clients.salesforce_models import CurrentPresence, PresenceChangeEvent, PresenceCommand
from presence_sync.runtime_config import AgentLink, RuleConfig, RuntimeConfig, StatusRef
from presence_sync.spec import PREVIOUS, AcdState, parse_acd
from presence_sync.spec.acd import lookup_source
from runtime.clocks import APPLY_ALLOWANCE
from runtime.feeds import CxoneFeed, SalesforceFeed
from runtime.metrics import Metrics
from runtime.reconciler import CircuitBreaker, Reconciler
from runtime.rules import AgentView, Side, decide, other, rule_for
from runtime.store import SqliteStore
from runtime.writers import CxoneStateWriter, OmniCommandWriter

from .fakes import config as make_config
from .test_rules import AVAILABLE, BUSY, LUNCH

__all__ = ["SimResult", "run_seed"]

# A write whose response was lost: the clients raise OutcomeUnknown where they have it (a transient error).
LOST: type[VendorError] = getattr(errors, "OutcomeUnknown", ConnectionFailed)

EPOCH = 1_800_000_000.0  # true time 0 of every run (the runtime's clock is EPOCH + simulated seconds)
MARGIN = 0.25  # added to 2 x max_skew: timestamp resolution and event ordering
SKEWS = (0.0, 0.25, 0.5, 1.0)
OTHER = StatusRef(status_id="0N5OTHER", developer_name="Other")
CODES = {11: "Break", 12: "Lunch", 13: "Meeting"}
CODE_IDS = {name: code for code, name in CODES.items()}
ACD_STATES = ("Available", "Unavailable:Break", "Unavailable:Lunch", "Unavailable:Meeting", "Unavailable", "LoggedOut")
SF_STATES: tuple[str | None, ...] = (AVAILABLE.status_id, BUSY.status_id, LUNCH.status_id, OTHER.status_id, None)

CHAT_RULE = RuleConfig(
    name="chat",
    priority=0,
    team_ids=(1,),
    publisher={"Available": AVAILABLE, "Unavailable:Break": BUSY, "Unavailable:Lunch": LUNCH},
    subscriber={
        AVAILABLE.status_id: "Available",
        BUSY.status_id: "Unavailable:Break",
        LUNCH.status_id: "Unavailable:Lunch",
    },
)
VOICE_RULE = RuleConfig(
    name="voice",
    priority=0,
    team_ids=(2,),
    publisher={"Available": AVAILABLE, "Unavailable": BUSY},
    subscriber={AVAILABLE.status_id: "Available", BUSY.status_id: "Unavailable", LUNCH.status_id: "Unavailable:Lunch"},
)


def lead_rule(agent_id: int) -> RuleConfig:
    return RuleConfig(
        name="lead",
        priority=5,
        agent_ids=(agent_id,),
        publisher={"Available": AVAILABLE, "Unavailable:Break": BUSY},
        subscriber={AVAILABLE.status_id: "Available", BUSY.status_id: "Unavailable:Break"},
    )


class SimKill(BaseException):
    """The runtime is killed in the middle of a call (nothing in the runtime may catch it)."""


def user_of(agent_id: int) -> str:
    return f"005U{agent_id:04d}"


def fmt_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def state_text(state: str | None) -> str:
    return "<logged out of Omni>" if state is None else state


# ----------------------------------------------------------------------------------------------- parameters


@dataclass
class Params:
    """Everything a seed decides up front (the rest is drawn as the run goes)."""

    agents: int
    teams: dict[int, int | None]
    lead: int | None
    mean_gap: float  # mean seconds between one agent's changes
    human_until: float
    poll_interval: float
    resync: float
    quiet: float
    max_skew: float
    offsets: dict[str, float]  # vendor -> clock offset from true time
    write_latency: tuple[float, float]
    bridge_latency: tuple[float, float]
    delivery: tuple[float, float]  # Salesforce stream delivery delay
    p_prefail: float
    p_lost: float
    outages: list[tuple[str, float, float]]
    expiries: list[tuple[str, float]]
    kills: list[float]
    p_kill_in_write: float
    max_kills: int

    @property
    def window(self) -> float:
        return 2 * self.max_skew + MARGIN

    def describe(self) -> str:
        outages = ", ".join(f"{v} {a:.1f}-{b:.1f}s" for v, a, b in self.outages) or "none"
        expiries = ", ".join(f"{v} {t:.1f}s" for v, t in self.expiries) or "none"
        kills = ", ".join(f"{t:.1f}s" for t in self.kills) or "none"
        return (
            f"{self.agents} agents (teams {self.teams}, lead rule: {self.lead}), human changes every "
            f"~{self.mean_gap:.1f}s until {self.human_until:.1f}s, CXone poll {self.poll_interval}s, resync "
            f"{self.resync}s, quiet {self.quiet:.1f}s; clock offsets cxone {self.offsets['cxone']:+.3f}s "
            f"salesforce {self.offsets['salesforce']:+.3f}s (max skew {self.max_skew}s, W={self.window:.2f}s); "
            f"write fails before landing p={self.p_prefail:.2f}, response lost p={self.p_lost:.2f}; outages "
            f"{outages}; token expiries {expiries}; kills at {kills}, in a write p={self.p_kill_in_write:.2f} "
            f"(at most {self.max_kills})"
        )


def draw_params(rng: random.Random) -> Params:
    agents = rng.randint(3, 8)
    teams: dict[int, int | None] = {a: rng.choice((1, 1, 2, 2, 3)) for a in range(1, agents + 1)}
    lead = rng.choice([None, *teams]) if rng.random() < 0.5 else None
    human_until = rng.uniform(15.0, 30.0)
    poll = rng.choice((1.0, 1.5, 2.0))
    resync = 10.0
    quiet = resync + 3 * poll + 12.0  # a full resync, a few polls, the longest circuit cooldown (10 s) + backoff
    max_skew = rng.choice(SKEWS)
    faulty = rng.random() < 0.8
    outages: list[tuple[str, float, float]] = []
    expiries: list[tuple[str, float]] = []
    kills: list[float] = []
    if faulty:
        for vendor in ("cxone", "salesforce"):
            for _ in range(rng.choice((0, 0, 1, 1, 2))):
                start = rng.uniform(1.0, human_until - 1.0)
                outages.append((vendor, start, min(human_until, start + rng.uniform(0.5, 15.0))))
            expiries.extend((vendor, rng.uniform(1.0, human_until)) for _ in range(rng.choice((0, 1, 2))))
        if rng.random() < 0.5:
            kills = sorted(rng.uniform(1.0, human_until) for _ in range(rng.randint(1, 2)))
    return Params(
        agents=agents,
        teams=teams,
        lead=lead,
        mean_gap=rng.uniform(0.7, 4.0),
        human_until=human_until,
        poll_interval=poll,
        resync=resync,
        quiet=quiet,
        max_skew=max_skew,
        offsets={"cxone": rng.uniform(-max_skew, max_skew), "salesforce": rng.uniform(-max_skew, max_skew)},
        write_latency=(0.01, rng.choice((0.05, 0.2, 0.5))),
        bridge_latency=(0.02, rng.choice((0.1, 0.3, 0.8))),
        delivery=(0.02, rng.choice((0.1, 0.4, 0.9))),
        p_prefail=rng.choice((0.0, 0.05, 0.15)) if faulty else 0.0,
        p_lost=rng.choice((0.0, 0.05, 0.1)) if faulty else 0.0,
        outages=outages,
        expiries=expiries,
        kills=kills,
        p_kill_in_write=rng.choice((0.0, 0.03)) if kills else 0.0,
        max_kills=len(kills) + 1 if kills else 0,
    )


# ----------------------------------------------------------------------------------------------- checker


@dataclass
class Change:
    """One change of one side of one agent, as the vendor saw it."""

    t: float  # true time it took effect
    side: str
    who: str  # human | initial | runtime
    state: str | None
    stamp: float | None = None  # the vendor's timestamp of it (epoch seconds)
    command_id: str | None = None
    issued_at: float | None = None
    shown: bool = False  # a vendor read returned it
    shown_at: float | None = None  # when a vendor read first returned it
    replaced_unseen: bool = False  # a runtime write replaced it before any read returned it
    budget: dict[str, str] = field(default_factory=dict)  # side -> command id of the write it justified


@dataclass
class Violation:
    invariant: str
    agent: int
    at: float
    message: str


class Checker:
    def __init__(self, world: World) -> None:
        self.world = world
        self.history: dict[int, list[Change]] = {a: [] for a in world.agent_ids}
        self.notes: dict[int, list[tuple[float, str]]] = {a: [] for a in world.agent_ids}
        self.current: dict[tuple[int, str], Change] = {}
        self.landed: set[tuple[int, str, str]] = set()
        self.violations: list[Violation] = []
        self.attempts: dict[int, list[tuple[str, str, float]]] = {a: [] for a in world.agent_ids}  # side, target, at

    def attempted(self, agent: int, side: str, target: str) -> None:
        """The runtime sent (or tried to send) a write: whatever became of it, it may land for a while."""
        self.attempts[agent].append((side, target, self.world.now))

    def mimicked_recently(self, agent: int, side: str, before: float, since: float | None = None) -> bool:
        """Whether the agent, shortly before ``before``, chose exactly the state of a write of ours on ``side`` that
        may still have been landing: the runtime may have taken it for our echo (and put back the change before
        it), which no one who sees only the vendors' feeds could tell apart."""
        landing = APPLY_ALLOWANCE + self.world.config.clock_skew_seconds
        start = before - 2 * landing if since is None else since
        return any(
            c.who == "human" and c.side == side and start <= c.t < before and self.mimics_a_write(agent, c)
            for c in self.history[agent]
        )

    def mimics_a_write(self, agent: int, change: Change) -> bool:
        """The agent chose exactly the state of a write of ours that may still have been landing: to anyone who
        does not see who made a change (the vendors' feeds do not say), the two are one. The bound is the one the
        runtime assumes before it has measured anything: the longest apply delay plus the clock bound."""
        skew = self.world.config.clock_skew_seconds  # clocks may put the echo up to this much before the send
        landing = APPLY_ALLOWANCE + skew
        # By true time or by the vendor's stamp (the runtime sees only the stamp, through its clock estimate).
        times = [change.t] + ([change.stamp - EPOCH] if change.stamp is not None else [])
        return any(
            side == change.side and target == change.state and at - skew <= t <= at + landing
            for side, target, at in self.attempts[agent]
            for t in times
        )

    def note(self, agent: int, text: str) -> None:
        self.notes[agent].append((self.world.now, text))

    def set_state(self, agent: int, change: Change) -> None:
        self.history[agent].append(change)
        self.current[(agent, change.side)] = change

    def shown(self, agent: int, side: str) -> None:
        change = self.current.get((agent, side))
        if change is not None:
            change.shown = True
            change.shown_at = self.world.now if change.shown_at is None else change.shown_at

    def mapped(self, agent: int, source: str, state: str | None) -> str | None:
        """The write the governing rule makes on the other side for ``source`` in ``state`` (no previous)."""
        rule = rule_for(self.world.config.rules, agent, self.world.params.teams[agent])
        if rule is None or state is None:
            return None
        if source == "acd":
            actual = parse_acd(state)
            if not isinstance(actual, AcdState):
                return None
            sources = rule.publisher_sources()
            entry = lookup_source(sources, actual)
            target = sources[entry] if entry is not None else None
            return target.status_id if isinstance(target, StatusRef) else None
        notation = rule.subscriber.get(state)
        if notation is None or notation == PREVIOUS:
            return None
        parsed = parse_acd(notation)
        return str(parsed) if isinstance(parsed, AcdState) and parsed.settable else None

    def runtime_write(
        self, agent: int, side: str, target: str, command_id: str, issued_at: float, applied_over: Change | None
    ) -> None:
        """A write of ours was applied by the vendor: I3 and I4, at once."""
        if (agent, side, command_id) in self.landed:
            self.fail("I3", agent, f"command {command_id[:8]} ({side} -> {state_text(target)}) applied twice")
        self.landed.add((agent, side, command_id))
        replaced = applied_over is not None and applied_over.who != "runtime" and applied_over.state != target
        if replaced and applied_over is not None and not applied_over.shown:
            applied_over.replaced_unseen = True
        cause: Change | None = None
        restore_checked = False
        for change in reversed(self.history[agent]):
            if change.who == "runtime" or change.t >= issued_at:
                continue
            if change.side != side and self.mapped(agent, change.side, change.state) == target:
                if change.shown_at is None or change.shown_at > issued_at:
                    continue  # not read yet when the write was decided: it cannot be what the write answers
                cause = change
                break
            if change.side == side and not restore_checked:
                if change.shown_at is None or change.shown_at > issued_at:
                    continue  # a later change of the agent's that no read had returned yet: unknown to the runtime
                restore_checked = True
                if change.state == target:
                    cause = change
                    break
        if cause is None and self.mimicked_recently(agent, side, issued_at):
            self.note(agent, f"write {side} -> {state_text(target)} follows a change that looked like our echo")
            return
        if cause is None:
            echo = [
                c
                for c in self.history[agent]
                if c.who == "runtime"
                and c.side != side
                and c.t < issued_at
                and self.mapped(agent, c.side, c.state) == target
            ]
            why = (
                f"the echo of our own write {echo[-1].side} -> {state_text(echo[-1].state)} applied at "
                f"{echo[-1].t:.3f}s"
                if echo
                else "no human change maps to it"
            )
            self.fail(
                "I4", agent, f"write {side} -> {state_text(target)} (sent {issued_at:.3f}s) has no human cause: {why}"
            )
            return
        previous = cause.budget.get(side)
        # Inside the ambiguity window either order of two changes on different sides is allowed (the model in
        # docs/runtime.md): a human change on the written side that close to the cause may have been ordered
        # before it, and then this write re-asserts the cause over it -- the write for the order chosen.
        window = self.world.params.window
        reordered = any(
            c.who == "human" and c.side == side and abs(c.t - cause.t) <= window and c.t < issued_at
            for c in self.history[agent]
        )
        # The agent chose, on the written side, the state of a write of ours that may still have been landing:
        # taken for its echo, the side looked as if the cause had been followed, and was followed again later.
        mimicked = self.mimicked_recently(agent, side, issued_at, since=cause.t - self.world.config.clock_skew_seconds)
        if previous is not None and previous != command_id and not reordered and not mimicked:
            self.fail(
                "I3",
                agent,
                f"second write to {side} ({state_text(target)}, sent {issued_at:.3f}s) for "
                f"the human change {cause.side} -> {state_text(cause.state)} at {cause.t:.3f}s",
            )
        cause.budget[side] = command_id

    def fail(self, invariant: str, agent: int, message: str) -> None:
        self.violations.append(Violation(invariant, agent, self.world.now, message))

    def final(self) -> None:
        """I1 and I2 after the quiet period."""
        window = self.world.params.window
        for agent in self.world.agent_ids:
            acd = self.world.cxone.state[agent]
            sf = self.world.salesforce.status[agent]
            humans = [c for c in self.history[agent] if c.who != "runtime"]
            latest = max(humans, key=lambda c: c.t)
            others = [c for c in humans if c.side != latest.side and abs(c.t - latest.t) <= window]
            ambiguous = (
                bool(others) or latest.replaced_unseen or latest.who == "initial" or self.mimics_a_write(agent, latest)
            )
            view = AgentView(agent_id=agent, team_id=self.world.params.teams[agent], acd=acd, sf=sf)
            sources = ("acd", "sf") if ambiguous else (latest.side,)
            writes = {}
            for source in sources:
                view.source = source  # type: ignore[assignment]
                writes[source] = decide(self.world.config.rules, view)
            if all(w is not None for w in writes.values()):
                detail = "; ".join(f"source {s}: {w.side} -> {w.target}" for s, w in writes.items() if w is not None)
                self.fail("I1", agent, f"sides disagree at the end: CXone {acd}, Omni {state_text(sf)} ({detail})")
            final = acd if latest.side == "acd" else sf
            if latest.who == "human" and final != latest.state and not ambiguous:
                self.fail(
                    "I2",
                    agent,
                    f"the latest human change ({latest.side} -> {state_text(latest.state)} at "
                    f"{latest.t:.3f}s) was overwritten: {latest.side} ends in {state_text(final)}",
                )

    def report(self, agent: int) -> str:
        lines = []
        events: list[tuple[float, int, str]] = []
        for change in self.history[agent]:
            stamp = f" stamp {change.stamp - EPOCH:.3f}s" if change.stamp is not None else ""
            if change.who == "runtime":
                text = (
                    f"RUNTIME {change.side} -> {state_text(change.state)} (sent {change.issued_at:.3f}s, "
                    f"cmd {str(change.command_id)[:8]}){stamp}"
                )
            else:
                flags = " [replaced unseen]" if change.replaced_unseen else ""
                text = f"{change.who.upper()} {change.side} -> {state_text(change.state)}{stamp}{flags}"
            events.append((change.t, 0, text))
        events.extend((t, 1, f"  . {text}") for t, text in self.notes[agent])
        events.extend((t, 1, f"  * {text}") for t, text in self.world.global_notes)
        for t, _, text in sorted(events, key=lambda e: (e[0], e[1])):
            lines.append(f"    {t:8.3f}s  {text}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------- vendors


class Vendor:
    name = "vendor"

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.rng
        self.down = 0  # overlapping outages nest
        self.token_expired = False
        self.last_ms = 0
        self.last_landing: dict[int, float] = {}

    def tick_ms(self) -> int:
        """The vendor's clock in ms: offset from true time, strictly increasing."""
        ms = math.floor((EPOCH + self.world.now + self.world.params.offsets[self.name]) * 1000)
        self.last_ms = max(ms, self.last_ms + 1)
        return self.last_ms

    def call(self, operation: str) -> None:
        """Every API call: an outage or an expired token may stop it."""
        vendor = self.name
        if self.down:
            if self.rng.random() < 0.7:  # the vendor answers 503: it did not take the request on
                raise ServiceUnavailable("simulated outage", vendor=vendor, operation=operation, status=503)  # type: ignore[arg-type]
            raise ConnectionFailed("simulated outage", vendor=vendor, operation=operation)  # type: ignore[arg-type]
        if self.token_expired:
            roll = self.rng.random()
            if roll < 0.5:
                self.token_expired = False  # the client re-authenticated and repeated the call
            elif roll < 0.8:
                raise ConnectionFailed("token endpoint unreachable", vendor=vendor, operation=operation)  # type: ignore[arg-type]
            else:
                self.token_expired = False
                raise SessionExpired("session expired", vendor=vendor, operation=operation)  # type: ignore[arg-type]

    def write_faults(self, operation: str, apply: Callable[[], None]) -> None:
        """A write call that reached the API: fail before, land, land with the response lost, or kill."""
        params, rng = self.world.params, self.rng
        if rng.random() < params.p_prefail:
            raise ConnectionFailed("write failed before reaching the vendor", vendor=self.name, operation=operation)  # type: ignore[arg-type]
        kill = self.world.kills_left() and rng.random() < params.p_kill_in_write
        if kill and rng.random() < 0.5:
            raise SimKill("before the write")
        apply()
        if kill:
            raise SimKill("after the write")
        if rng.random() < params.p_lost:
            raise LOST("response lost", vendor=self.name, operation=operation)  # type: ignore[arg-type]

    def landing_time(self, agent: int, latency: tuple[float, float]) -> float:
        at = max(self.world.now + self.rng.uniform(*latency), self.last_landing.get(agent, 0.0) + 0.001)
        self.last_landing[agent] = at
        return at


class SimCxone(Vendor):
    """CXone: agents' ACD states (``agents/states`` with ``updatedSince``) and agent sessions."""

    name = "cxone"

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.state: dict[int, str] = {}
        self.updated_ms: dict[int, int] = {}
        self.login: dict[int, int] = {}

    def human(self, agent: int, state: str) -> Change:
        if self.state.get(agent) == "LoggedOut" or agent not in self.state:
            self.login[agent] = self.login.get(agent, 0) + 1  # a new session
        return self._set(agent, state, "human")

    def _set(self, agent: int, state: str, who: str) -> Change:
        self.state[agent] = state
        ms = self.tick_ms()
        self.updated_ms[agent] = ms
        return Change(self.world.now, "acd", who, state, stamp=ms / 1000)

    # -- the client surface the runtime uses
    def agent_states(self, updated_since: str | datetime | None = None) -> tuple[list[AgentState], str | None]:
        self.call("agent_states")
        since = None
        if isinstance(updated_since, str) and updated_since:
            since = round(datetime.fromisoformat(updated_since.replace("Z", "+00:00")).timestamp() * 1000)
        states = []
        for agent in sorted(self.state, key=lambda a: (self.updated_ms[a], a)):
            if since is not None and self.updated_ms[agent] <= since:
                continue
            states.append(self._row(agent))
            self.world.checker.shown(agent, "acd")
        return states, fmt_ms(self.tick_ms())

    def agent_state(self, agent_id: int, *, updated_since: str | datetime | None = None) -> AgentState | None:
        """``agents/{id}/states``: one agent's current state (the writers re-read with it)."""
        self.call("agent_state")
        if agent_id not in self.state:
            return None
        self.world.checker.shown(agent_id, "acd")
        return self._row(agent_id)

    def _row(self, agent: int) -> AgentState:
        name, _, code = self.state[agent].partition(":")
        return AgentState.model_validate(
            {
                "agentId": agent,
                "agentStateName": name,
                "outStateId": CODE_IDS.get(code, 0),
                "outStateDescription": code,
                "lastUpdateTime": fmt_ms(self.updated_ms[agent]),
            }
        )

    def join_agent_session(self, agent_id: int) -> str:
        self.call("join_agent_session")
        if self.state.get(agent_id) == "LoggedOut":
            raise NotFound("agent has no session", vendor="cxone", operation="join_agent_session")
        return f"session-{agent_id}-{self.login[agent_id]}"

    def set_agent_state(self, session_id: str, state: str, reason: str | None = None) -> None:
        _, agent_text, login_text = session_id.split("-")
        agent, login = int(agent_text), int(login_text)
        self.world.checker.attempted(agent, "acd", f"{state}:{reason}" if reason else state)
        self.call("set_agent_state")
        if self.state.get(agent) == "LoggedOut" or self.login.get(agent) != login:
            raise NotFound("session ended", vendor="cxone", operation="set_agent_state")
        target = f"{state}:{reason}" if reason else state
        issued = self.world.now
        command = self.world.current_command

        def apply() -> None:
            at = self.landing_time(agent, self.world.params.write_latency)
            self.world.at(at, lambda: self._land(agent, login, target, command, issued))

        self.write_faults("set_agent_state", apply)

    def _land(self, agent: int, login: int, target: str, command: str, issued: float) -> None:
        if self.state.get(agent) == "LoggedOut" or self.login.get(agent) != login:
            self.world.checker.note(agent, f"CXone write -> {target} (sent {issued:.3f}s) not applied: session ended")
            return
        before = self.world.checker.current.get((agent, "acd"))
        self.world.checker.runtime_write(agent, "acd", target, command, issued, before)
        if self.state[agent] == target:
            self.world.checker.note(agent, f"CXone write -> {target} (sent {issued:.3f}s) applied, no change")
            return
        change = self._set(agent, target, "runtime")
        change.command_id, change.issued_at = command, issued
        self.world.checker.set_state(agent, change)


class SimSalesforce(Vendor):
    """Salesforce: Omni presence rows, the change-event stream, and the bridge applying published commands."""

    name = "salesforce"

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.status: dict[int, str | None] = {}
        self.record: dict[int, str | None] = {}
        self.modified_ms: dict[int, int] = {}
        self.events: list[tuple[float, PresenceChangeEvent, int, Change]] = []  # (visible at, event, agent, change)
        self.applied: set[str] = set()
        self.records = 0

    def human(self, agent: int, status: str | None) -> Change:
        return self._set(agent, status, "human")

    def _set(self, agent: int, status: str | None, who: str) -> Change:
        ms = self.tick_ms()
        change = Change(self.world.now, "sf", who, status, stamp=ms / 1000)
        stamp = datetime.fromtimestamp(ms / 1000, tz=UTC)
        user = user_of(agent)
        visible = max(
            self.world.now + self.rng.uniform(*self.world.params.delivery), self.events[-1][0] if self.events else 0.0
        )
        old = self.record.get(agent)
        if old is not None:
            self._event(
                visible,
                agent,
                change,
                PresenceChangeEvent(
                    replay_id=len(self.events) + 1,
                    change_type="UPDATE",
                    record_id=old,
                    is_current=False,
                    commit_user=user,
                    commit_timestamp=stamp,
                ),
            )
        new = None
        if status is not None:
            self.records += 1
            new = f"0Pw{self.records:06d}"
            self._event(
                visible,
                agent,
                change,
                PresenceChangeEvent(
                    replay_id=len(self.events) + 1,
                    change_type="CREATE",
                    record_id=new,
                    user_id=user,
                    status_id=status,
                    is_current=True,
                    commit_user=user,
                    commit_timestamp=stamp,
                ),
            )
        self.record[agent] = new
        self.status[agent] = status
        self.modified_ms[agent] = ms
        return change

    def _event(self, visible: float, agent: int, change: Change, event: PresenceChangeEvent) -> None:
        self.events.append((visible, event, agent, change))
        self.world.stream_event_at(visible)

    # -- the client surface the runtime uses
    def read_presence_changes(
        self, after_replay_id: int | None, wait_ms: int = 0, limit: int = 100
    ) -> tuple[list[PresenceChangeEvent], int | None]:
        self.call("read_presence_changes")
        if after_replay_id == -1:
            return [], len(self.events) or None
        start = 0 if after_replay_id is None or after_replay_id < 0 else after_replay_id
        batch = []
        for visible, event, _agent, change in self.events[start : start + limit]:
            if visible > self.world.now:
                break
            batch.append(event)
            change.shown = True
            change.shown_at = self.world.now if change.shown_at is None else change.shown_at
        return batch, batch[-1].replay_id if batch else after_replay_id

    def poll_current_presence(self, since: datetime | None = None) -> tuple[list[CurrentPresence], datetime | None]:
        self.call("poll_current_presence")
        since_ms = None if since is None else round(since.timestamp() * 1000)
        rows = []
        for agent in sorted(self.status, key=lambda a: (self.modified_ms[a], a)):
            status, record = self.status[agent], self.record[agent]
            if status is None or record is None or (since_ms is not None and self.modified_ms[agent] < since_ms):
                continue
            modified = datetime.fromtimestamp(self.modified_ms[agent] / 1000, tz=UTC)
            rows.append(CurrentPresence(id=record, user_id=user_of(agent), status_id=status, last_modified=modified))
            self.world.checker.shown(agent, "sf")
        newest = max((r.last_modified for r in rows if r.last_modified is not None), default=since)
        return rows, newest

    def current_presence(self, user_id: str) -> CurrentPresence | None:
        """One user's current Omni presence (the writers re-read with it); None: logged out of Omni."""
        self.call("current_presence")
        agent = self.world.agent_for_user(user_id)
        status, record = self.status.get(agent), self.record.get(agent)
        if status is None or record is None:
            return None
        self.world.checker.shown(agent, "sf")
        modified = datetime.fromtimestamp(self.modified_ms[agent] / 1000, tz=UTC)
        return CurrentPresence(id=record, user_id=user_id, status_id=status, last_modified=modified)

    def publish_presence_commands(self, commands: Sequence[PresenceCommand]) -> list[str | Exception]:
        for command in commands:
            self.world.checker.attempted(self.world.agent_for_user(command.user_id), "sf", command.status_id)
        self.call("publish_presence_commands")
        issued = self.world.now

        def apply() -> None:
            for command in commands:
                agent = self.world.agent_for_user(command.user_id)
                at = self.landing_time(agent, self.world.params.bridge_latency)
                self.world.at(at, functools.partial(self._bridge, agent, command, issued))

        self.write_faults("publish_presence_commands", apply)
        return [f"evt-{command.command_id[:8]}" for command in commands]

    def _bridge(self, agent: int, command: PresenceCommand, issued: float) -> None:
        """The Lightning bridge in the agent's console applies the command (a repeated command id is dropped)."""
        if command.command_id in self.applied:
            self.world.checker.note(agent, f"Omni command {command.command_id[:8]} repeated: dropped by the bridge")
            return
        if self.status.get(agent) is None:
            self.world.checker.note(
                agent, f"Omni command -> {command.status_id} (sent {issued:.3f}s) not applied: logged out of Omni"
            )
            return
        self.applied.add(command.command_id)
        before = self.world.checker.current.get((agent, "sf"))
        self.world.checker.runtime_write(agent, "sf", command.status_id, command.command_id, issued, before)
        if self.status[agent] == command.status_id:
            self.world.checker.note(
                agent, f"Omni command -> {command.status_id} (sent {issued:.3f}s) applied, no change"
            )
            return
        change = self._set(agent, command.status_id, "runtime")
        change.command_id, change.issued_at = command.command_id, issued
        self.world.checker.set_state(agent, change)


# ----------------------------------------------------------------------------------------------- runtime


class RecordingCxoneWriter(CxoneStateWriter):
    """The real writer; the world notes which command is being written (the CXone API has no command id)."""

    def __init__(self, client: SimCxone) -> None:
        if "unavailable_codes" in inspect.signature(CxoneStateWriter.__init__).parameters:
            super().__init__(client, unavailable_codes=CODES)  # type: ignore[arg-type,call-arg,unused-ignore]
        else:
            super().__init__(client)  # type: ignore[arg-type,unused-ignore]
        self.world = client.world

    def write(self, pending: Any, link: AgentLink) -> None:
        self.world.current_command = pending.command_id
        super().write(pending, link)


class SimRuntime:
    """The real reconciler, store, feeds and writers, wired as the service wires them."""

    def __init__(self, world: World) -> None:
        self.world = world
        clock = world.clock
        self.store = SqliteStore(world.store_path)
        breakers: dict[Side, CircuitBreaker] = {
            "acd": CircuitBreaker("cxone", clock=clock),
            "sf": CircuitBreaker("salesforce", clock=clock),
        }
        writers: dict[Side, Any] = {"acd": RecordingCxoneWriter(world.cxone), "sf": OmniCommandWriter(world.salesforce)}
        self.reconciler = Reconciler(
            world.config,
            self.store,
            writers,
            metrics=world.metrics,
            clock=clock,
            rand=world.runtime_rng.random,
            breakers=breakers,
        )
        self.cxone_feed = CxoneFeed(world.cxone, self.reconciler, world.config, metrics=world.metrics, clock=clock)
        self.salesforce_feed = SalesforceFeed(
            world.salesforce, self.reconciler, world.config, metrics=world.metrics, clock=clock
        )

    def start(self, fresh: bool) -> None:
        if hasattr(self.cxone_feed, "catch_up"):  # each feed catches up on its own; the outbox re-reads first
            if not fresh:
                self.reconciler.recover()
            for feed in (self.salesforce_feed, self.cxone_feed):
                if fresh:
                    feed.catch_up()
                else:
                    self.world.guard(feed.catch_up)
            return
        if fresh:  # the service's catch-up on a fresh store: a baseline of both sides, nothing propagates
            self.salesforce_feed.start_position()
            self.salesforce_feed.poll_once(full=True, baseline=True)
            self.cxone_feed.poll_once(full=True, baseline=True)
        else:  # after a restart: both feeds from their cursors, each on its own (one vendor's outage is its own)
            self.world.guard(self.cxone_feed.poll_once)
            self.world.guard(lambda: self.salesforce_feed.read_once(0))
        self.reconciler.recover()

    def close(self) -> None:
        self.store.close()


# ----------------------------------------------------------------------------------------------- world


@dataclass
class SimResult:
    seed: int
    params: Params
    violations: list[Violation]
    checker: Checker
    stats: dict[str, int]

    def summary(self) -> str:
        return ", ".join(sorted({v.invariant for v in self.violations}))

    def report(self, replay: str) -> str:
        lines = [
            f"seed {self.seed}: {len(self.violations)} violation(s) of {self.summary()}",
            f"  run: {self.params.describe()}",
            f"  stats: {self.stats}",
        ]
        shown: list[int] = []
        for violation in self.violations:
            lines.append(f"  {violation.invariant} agent {violation.agent} at {violation.at:.3f}s: {violation.message}")
        for violation in self.violations:
            if violation.agent not in shown and len(shown) < 2:
                shown.append(violation.agent)
                team = self.params.teams[violation.agent]
                lines.append(f"  history of agent {violation.agent} (team {team}; true times, runtime clock = true):")
                lines.append(self.checker.report(violation.agent))
        lines.append(f"  replay: {replay}")
        return "\n".join(lines)


class World:
    def __init__(self, seed: int, store_dir: Path) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.runtime_rng = random.Random(self.rng.getrandbits(64))
        self.params = draw_params(self.rng)
        self.now = 0.0
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = 0
        self.agent_ids = list(range(1, self.params.agents + 1))
        rules = [CHAT_RULE, VOICE_RULE] + ([lead_rule(self.params.lead)] if self.params.lead is not None else [])
        agents = tuple(
            AgentLink(agent_id=a, salesforce_user_id=user_of(a), team_id=self.params.teams[a]) for a in self.agent_ids
        )
        self.config: RuntimeConfig = make_config(
            rules=tuple(rules),
            agents=agents,
            unavailable_codes=CODES,
            poll_interval_seconds=self.params.poll_interval,
            resync_interval_seconds=self.params.resync,
        )
        self.users = {user_of(a): a for a in self.agent_ids}
        self.metrics = Metrics()
        self.store_path = ":memory:" if not self.params.kills else str(store_dir / f"sim-{seed}.sqlite3")
        self.checker = Checker(self)
        self.cxone = SimCxone(self)
        self.salesforce = SimSalesforce(self)
        self.global_notes: list[tuple[float, str]] = []
        self.current_command = ""
        self.next_stream_read: float | None = None
        self.runtime: SimRuntime | None = None
        self.kills = 0
        self.stats = {"human_changes": 0, "events": 0, "kills": 0, "reconciles": 0}
        self.crash: str | None = None

    # -- time
    def clock(self) -> float:
        return EPOCH + self.now

    def at(self, t: float, action: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (max(t, self.now), self._seq, action))

    def kills_left(self) -> bool:
        return self.kills < self.params.max_kills and self.now < self.params.human_until

    def agent_for_user(self, user_id: str) -> int:
        return self.users[user_id]

    def note(self, text: str) -> None:
        self.global_notes.append((self.now, text))

    # -- the runtime's side
    def guard(self, action: Callable[[], object]) -> None:
        """A feed read as the feed loops do it: a vendor error is logged and the loop goes on."""
        with contextlib.suppress(VendorError):
            action()

    def alive(self) -> SimRuntime | None:
        return self.runtime

    def step(self, action: Callable[[SimRuntime], object]) -> None:
        """Run one runtime step; a kill in the middle of it (in a write) is handled here."""
        runtime = self.runtime
        if runtime is None:
            return
        try:
            action(runtime)
        except SimKill as kill:
            self.kill(f"killed in a write ({kill})")
        except VendorError:
            pass

    def drain(self) -> None:
        def run(runtime: SimRuntime) -> None:
            self.stats["reconciles"] += runtime.reconciler.drain()

        self.step(run)

    def kill(self, why: str) -> None:
        if self.runtime is None:
            return
        self.kills += 1
        self.stats["kills"] += 1
        self.note(f"runtime {why}")
        self.runtime.close()  # the process is gone; committed transactions are all that is left
        self.runtime = None
        self.at(self.now + self.rng.uniform(0.0, 2.0), self.restart)

    def restart(self) -> None:
        self.note("runtime restarted: catch-up from the cursors, recover()")
        self.runtime = SimRuntime(self)
        self.step(lambda r: r.start(fresh=False))
        self.drain()

    def after_read(self) -> None:
        if self.rng.random() < 0.7:
            self.drain()
        else:
            self.at(self.now + self.rng.uniform(0.0, 0.3), self.drain)

    # -- schedules
    def cxone_poll(self) -> None:
        self.step(lambda r: r.cxone_feed.poll_once())
        self.after_read()
        self.at(self.now + self.params.poll_interval, self.cxone_poll)

    def stream_event_at(self, visible: float) -> None:
        """The long poll returns soon after an event becomes visible (batching whatever else arrived by then)."""
        want = max(self.now, visible + self.rng.uniform(0.0, 0.3))
        if self.next_stream_read is not None and self.next_stream_read <= want:
            return
        self.next_stream_read = want
        self.at(want, self.stream_read)

    def stream_read(self) -> None:
        self.next_stream_read = None
        runtime = self.runtime
        if runtime is None:
            self.stream_event_at(self.now + 0.5)
            return
        try:
            runtime.salesforce_feed.read_once(0)
        except VendorError:
            self.stream_event_at(self.now + 1.0)  # the feed loop waits a little after a failed read
            return
        self.after_read()
        if self.runtime is runtime:  # events not yet read (visible later): the long poll returns for them
            cursor = runtime.store.get_cursor(SalesforceFeed.CURSOR)
            following = int(cursor) if cursor else 0
            if following < len(self.salesforce.events):
                self.stream_event_at(self.salesforce.events[following][0])

    def stream_timeout(self) -> None:
        """The long poll's wait ends with nothing new: a read anyway (and a retry path after failures)."""
        self.stream_event_at(self.now)
        self.at(self.now + 5.0, self.stream_timeout)

    def resync(self) -> None:
        def run(runtime: SimRuntime) -> None:
            self.guard(lambda: runtime.cxone_feed.poll_once(full=True))
            self.guard(lambda: runtime.salesforce_feed.poll_once(full=True))
            runtime.reconciler.mark_all_dirty()

        self.step(run)
        self.drain()
        self.at(self.now + self.params.resync, self.resync)

    def housekeeping(self) -> None:
        self.step(lambda r: r.store.prune_ledger(self.clock() - self.config.echo_window_seconds))
        self.at(self.now + 1.0, self.housekeeping)

    def tick(self) -> None:
        self.drain()
        self.at(self.now + self.rng.uniform(0.05, 0.25), self.tick)

    # -- humans
    def human_change(self, agent: int, side: str, forced: str | None = None, use_forced: bool = False) -> None:
        if self.now > self.params.human_until:
            return
        current = self.cxone.state[agent] if side == "acd" else self.salesforce.status[agent]
        options: Sequence[str | None] = ACD_STATES if side == "acd" else SF_STATES
        earlier = [c.state for c in self.checker.history[agent] if c.side == side and c.state != current]
        if use_forced:
            state = forced
        elif earlier and self.rng.random() < 0.35:
            state = earlier[-1]  # back to where that side just was
        else:
            state = self.rng.choice([s for s in options if s != current])
        if state == current:
            return
        change = self.cxone.human(agent, state) if side == "acd" else self.salesforce.human(agent, state)  # type: ignore[arg-type]
        self.checker.set_state(agent, change)
        self.stats["human_changes"] += 1

    def human_loop(self, agent: int) -> None:
        if self.now > self.params.human_until:
            return
        side = self.rng.choice(("acd", "sf"))
        self.human_change(agent, side)
        if self.rng.random() < 0.15:  # the other side too, within a few hundred ms
            self.at(self.now + self.rng.uniform(0.0, 0.4), lambda: self.human_change(agent, other(side)))  # type: ignore[arg-type]
        self.at(self.now + self.rng.expovariate(1.0 / self.params.mean_gap), lambda: self.human_loop(agent))

    # -- the run
    def setup(self) -> None:
        for agent in self.agent_ids:
            rule = rule_for(self.config.rules, agent, self.params.teams[agent])
            pairs = [("Available", AVAILABLE.status_id)]
            if rule is not None:
                pairs = [
                    (source, target.status_id)
                    for source, target in rule.publisher.items()
                    if isinstance(target, StatusRef)
                ]
            acd, sf = self.rng.choice(pairs)
            first_acd = self.cxone.human(agent, acd)
            first_sf = self.salesforce.human(agent, sf)
            for change in (first_acd, first_sf):
                change.who, change.t = "initial", -1.0
                self.checker.set_state(agent, change)
        self.runtime = SimRuntime(self)
        self.runtime.start(fresh=True)

    def run(self) -> SimResult:
        self.setup()
        params = self.params
        end = params.human_until + params.quiet
        self.at(self.rng.uniform(0.0, params.poll_interval), self.cxone_poll)
        self.at(5.0, self.stream_timeout)
        self.at(params.resync, self.resync)
        self.at(1.0, self.housekeeping)
        self.at(0.0, self.tick)
        for agent in self.agent_ids:
            self.at(self.rng.uniform(0.2, params.mean_gap * 2), functools.partial(self.human_loop, agent))
        for vendor_name, start, stop in params.outages:
            vendor = self.cxone if vendor_name == "cxone" else self.salesforce
            self.at(start, functools.partial(self._outage, vendor, True))
            self.at(stop, functools.partial(self._outage, vendor, False))
        for vendor_name, t in params.expiries:
            vendor = self.cxone if vendor_name == "cxone" else self.salesforce
            self.at(t, functools.partial(self._expire, vendor))
        for t in params.kills:
            self.at(t, lambda: self.kill("killed between steps") if self.kills_left() else None)
        while self._queue and self._queue[0][0] <= end:
            t, _, action = heapq.heappop(self._queue)
            self.now = t
            self.stats["events"] += 1
            try:
                action()
            except Exception as exc:  # a bug in the runtime (the service would log it): report it, stop
                self.crash = f"{type(exc).__name__}: {exc}"
                self.checker.fail("crash", 0, f"the runtime raised {self.crash}")
                break
        self.now = end
        if self.crash is None:
            self.checker.final()
        if self.runtime is not None:
            self.runtime.close()
        for suffix in ("", "-wal", "-shm"):
            if self.store_path != ":memory:":
                Path(self.store_path + suffix).unlink(missing_ok=True)
        return SimResult(self.seed, params, self.checker.violations, self.checker, self.stats)

    def _outage(self, vendor: Vendor, down: bool) -> None:
        vendor.down += 1 if down else -1
        self.note(f"{vendor.name} outage {'begins' if down else 'ends'}")

    def _expire(self, vendor: Vendor) -> None:
        vendor.token_expired = True
        self.note(f"{vendor.name} token expires")


def run_seed(seed: int, store_dir: Path) -> SimResult:
    """One deterministic run; the runtime's own logs are silenced (the checker's report says what happened)."""
    logger = logging.getLogger("runtime")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        return World(seed, store_dir).run()
    finally:
        logger.setLevel(level)
