"""Pure decision logic: which write, if any, brings an agent's two sides in line with the rules.

No I/O and no clock of its own: everything comes in as values, so every case is a plain unit test.

Vocabulary (per agent):
* *sides*: ``acd`` (CXone, a state in the spec's ACD notation: ``Available``, ``Unavailable:Break``,
  ``LoggedOut``...) and ``sf`` (Salesforce, a ServicePresenceStatus id; ``None`` = not logged in to Omni).
* *observed*: the latest state each feed reported.
* *source*: the side of the latest change the runtime did **not** cause. Its state is the truth the rule maps
  from (level-triggered: the decision only ever looks at the latest states, never at the event that woke it).
* *expected*: the target of a write of ours to a side that its feed has not confirmed yet; while it is pending
  the side counts as already there, so a burst of wake-ups makes one write, not several.
* *previous*: per side, the state it had before the runtime first changed it (kept across a run of rule
  writes, forgotten when the agent changes that side themselves); a rule targeting ``previous`` restores it.
* *echo ledger*: the writes we made within the echo window; an observation that equals one of them is our own
  change coming back on the other feed and is never propagated (``is_echo``). Matching consumes that entry and
  every older one of the same side, so two quick opposite writes (A then B) both come back as echoes.

Precedence: a rule naming the agent (user level) beats a rule naming their team; within each level the lower
priority number wins, then the rule listed first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from presence_sync.runtime_config import RuleConfig, StatusRef
from presence_sync.spec import PREVIOUS, AcdState, parse_acd
from presence_sync.spec.acd import lookup_source, satisfies

__all__ = [
    "AgentView",
    "LedgerEntry",
    "Side",
    "Write",
    "decide",
    "is_echo",
    "other",
    "previous_after_write",
    "rule_for",
]

Side = Literal["acd", "sf"]
LOGGED_OUT = "LoggedOut"


def other(side: Side) -> Side:
    return "sf" if side == "acd" else "acd"


@dataclass(frozen=True)
class Write:
    """Set ``side`` to ``target`` (notation for acd, status id for sf) because of ``rule``."""

    side: Side
    target: str
    rule: str
    restores_previous: bool = False


@dataclass(frozen=True)
class LedgerEntry:
    """A write of ours, recognisable on ``side``'s feed until ``expires_at``."""

    side: Side
    state: str
    written_at: float
    expires_at: float
    command_id: str = ""
    sent_at: float | None = None  # the attempt that landed: sent and answered (our clock); None until it landed
    acked_at: float | None = None


@dataclass
class AgentView:
    """Everything the decision needs about one agent (a snapshot; ``decide`` never mutates it)."""

    agent_id: int
    team_id: int | None = None
    acd: str | None = None  # observed ACD state (notation); None = never seen
    sf: str | None = None  # observed status id; None = offline in Omni or never seen
    source: Side | None = None
    expected: dict[Side, str] = field(default_factory=dict)  # unconfirmed write targets per side
    previous: dict[Side, str | None] = field(default_factory=dict)

    def current(self, side: Side) -> str | None:
        """Where ``side`` is, or will be once our pending write lands."""
        if side in self.expected:
            return self.expected[side]
        return self.acd if side == "acd" else self.sf


def rule_for(rules: Sequence[RuleConfig], agent_id: int, team_id: int | None) -> RuleConfig | None:
    """The one rule that governs an agent: user level beats team level; then lower priority; then spec order."""
    user_level = [(r.priority, i, r) for i, r in enumerate(rules) if agent_id in r.agent_ids]
    if user_level:
        return min(user_level, key=lambda t: (t[0], t[1]))[2]
    team_level = [(r.priority, i, r) for i, r in enumerate(rules) if team_id is not None and team_id in r.team_ids]
    if team_level:
        return min(team_level, key=lambda t: (t[0], t[1]))[2]
    return None


def decide(rules: Sequence[RuleConfig], view: AgentView) -> Write | None:
    """The write that makes the non-source side follow the source side, or None when nothing is to do."""
    if view.source is None:
        return None
    rule = rule_for(rules, view.agent_id, view.team_id)
    if rule is None:
        return None
    if view.source == "acd":
        return _publish(rule, view)
    return _subscribe(rule, view)


def _publish(rule: RuleConfig, view: AgentView) -> Write | None:
    """CXone -> Salesforce through the publisher map."""
    if view.acd is None:
        return None
    actual = parse_acd(view.acd)
    if not isinstance(actual, AcdState):
        return None
    sources = rule.publisher_sources()
    entry = lookup_source(sources, actual)
    if entry is None:
        return None
    target = sources[entry]
    restores = target == PREVIOUS
    if isinstance(target, StatusRef):
        status_id: str | None = target.status_id
    else:
        status_id = view.previous.get("sf")
    current = view.current("sf")
    # The bridge can only set a status for an agent logged in to Omni; and 'previous' may be unknown.
    if status_id is None or current is None or current == status_id:
        return None
    return Write("sf", status_id, rule.name, restores)


def _subscribe(rule: RuleConfig, view: AgentView) -> Write | None:
    """Salesforce -> CXone through the subscriber map."""
    if view.sf is None:
        return None
    notation = rule.subscriber.get(view.sf)
    if notation is None:
        return None
    restores = notation == PREVIOUS
    if restores:
        remembered = view.previous.get("acd")
        if remembered is None:
            return None
        notation = remembered
    target = parse_acd(notation)
    if not isinstance(target, AcdState) or not target.settable:
        return None  # only Available / Unavailable(+code) can be set through an agent session
    current = view.current("acd")
    if current is None or current == LOGGED_OUT:
        return None  # no session to join
    actual = parse_acd(current)
    if isinstance(actual, AcdState) and satisfies(actual, target):
        return None
    return Write("acd", str(target), rule.name, restores)


def previous_after_write(view: AgentView, side: Side, caused_by_us: bool) -> str | None:
    """The ``previous`` to remember for ``side`` when we write it: the state before our first write of a run."""
    if caused_by_us:
        return view.previous.get(side)
    return view.acd if side == "acd" else view.sf


def is_echo(
    ledger: Iterable[LedgerEntry],
    side: Side,
    state: str | None,
    now: float,
    changed_at: float | None = None,
    skew: float = 0.05,
    apply_delay: float | None = None,
) -> LedgerEntry | None:
    """The ledger entry an observation of ``side`` in ``state`` echoes, or None (a change someone else made).

    Of the unexpired writes of that state, the newest one written before the change happened (``changed_at``,
    the vendor's timestamp, give or take ``skew`` seconds of clock difference) -- so A, B, A written quickly and
    observed one by one match A1, B, A2 in turn, and observed collapsed (only the last A) match A2. The caller
    consumes the match and every older entry of that side. A write whose attempt has ended (``acked_at``) is
    applied within ``apply_delay`` after it, so a change stamped later than that (give or take ``skew``) is not
    its echo.
    """
    if state is None:
        return None
    matches = [e for e in ledger if e.side == side and e.state == state and e.expires_at > now]
    if changed_at is not None:
        matches = [e for e in matches if e.written_at <= changed_at + skew]
        if apply_delay is not None:
            matches = [e for e in matches if e.acked_at is None or changed_at <= e.acked_at + apply_delay + skew]
    return max(matches, key=lambda e: e.written_at) if matches else None
