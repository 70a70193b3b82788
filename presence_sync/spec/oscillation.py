"""Do a rule's publisher and subscriber maps settle, or can they bounce an agent between states forever?

Model (the worst case: the runtime reacts to its own writes, i.e. echo suppression failed):
an agent's state is a pair (ACD state, Salesforce status). Someone changes one side. The runtime then applies
the map from that side (publisher for an ACD change, subscriber for a Salesforce change), which may change
the other side, then the map from the other side, and so on, alternately.

It *settles* when an application changes nothing, that is when
- the map has no entry for the current state (the rule doesn't cover it), or
- the target is ``previous`` (it restores a state that was consistent before the rule changed it), or
- the other side already is at the target (for ACD: `acd.satisfies`).
A settled pair with no missing mapping is a fixed point: publisher(acd) == sf and subscriber(sf) == acd.

The maps are finite and deterministic, so the run either settles or returns to a situation it was in
before -- (acd, sf, map to apply next) -- and then repeats forever: a cycle. `find_cycles` starts from every
state that either map mentions, on both sides. A situation determines everything after it, so a run that
reaches a situation an earlier run went through stops there (that run already found where it leads): each
situation is stepped through once, and a rule of n entries costs O(n), not O(n^2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .acd import PREVIOUS, AcdState, AcdTarget, lookup_source, satisfies

__all__ = ["Cycle", "Outcome", "Step", "find_cycles", "settle", "start_states"]

Side = Literal["acd", "salesforce"]
Publisher = Mapping[AcdState, str]  # ACD source -> Salesforce developer name, or "previous"
Subscriber = Mapping[str, AcdTarget]  # Salesforce developer name -> ACD target, or "previous"
_EXPLAIN_STEPS = 8


@dataclass(frozen=True)
class Step:
    """One state change in a run: who changed (`via`) which side to what."""

    side: Side
    state: str
    via: Literal["change", "publisher", "subscriber"]

    def __str__(self) -> str:
        where = "ACD" if self.side == "acd" else "Salesforce"
        return f"{where} {self.state}"


@dataclass(frozen=True)
class Outcome:
    """Where a run from one change ends: settled (with the reason), or in a cycle from `trail[cycle_from]`."""

    trail: tuple[Step, ...]
    reason: Literal["no mapping", "previous", "already there", "cycle", "explored"]
    final_acd: AcdState | None
    final_sf: str | None
    cycle_from: int | None = None

    @property
    def settled(self) -> bool:
        return self.cycle_from is None

    @property
    def loop(self) -> tuple[Step, ...]:
        """The steps that repeat forever (the last step of `trail` is the first of the loop again)."""
        return () if self.cycle_from is None else self.trail[self.cycle_from : -1]

    @property
    def overrides_change(self) -> bool:
        """Settled, but the side the change was made on ended somewhere else: the maps are not inverse."""
        start = self.trail[0]
        final = str(self.final_acd) if start.side == "acd" else self.final_sf
        return self.settled and final != start.state


@dataclass(frozen=True)
class Cycle:
    """A run that never settles: the change, the steps leading into the loop, and the loop itself."""

    trail: tuple[Step, ...]
    loop: tuple[Step, ...]

    def explain(self) -> str:
        """E.g. "ACD Available → (publisher) Salesforce A → (subscriber) ACD Unavailable:Break → ... → (publisher)
        Salesforce A → ... (repeats from Salesforce A)"."""
        steps = (*self.trail, self.loop[0])
        parts = [str(steps[0])] + [f"({step.via}) {step}" for step in steps[1:]]
        if len(parts) > _EXPLAIN_STEPS:  # a long loop is named by its ends, so the message stays one short line
            head, tail = parts[: _EXPLAIN_STEPS // 2], parts[-(_EXPLAIN_STEPS // 2) :]
            parts = [*head, f"... {len(parts) - len(head) - len(tail)} more steps ...", *tail]
        return " → ".join(parts) + f" → ... (repeats from {self.loop[0]})"


def settle(
    publisher: Publisher,
    subscriber: Subscriber,
    start_side: Side,
    start_state: str | AcdState,
    explored: set[tuple[AcdState | None, str | None, str]] | None = None,
) -> Outcome:
    """Apply the maps alternately after a change of `start_side` to `start_state`; see the module docstring.

    `explored`: situations earlier runs went through; the run stops (reason "explored") on reaching one, and
    adds its own situations to it."""
    acd: AcdState | None = start_state if isinstance(start_state, AcdState) else None
    sf: str | None = start_state if isinstance(start_state, str) else None
    if (start_side == "acd") != (acd is not None):
        raise ValueError("an ACD start needs an AcdState, a Salesforce start a developer name")
    next_map: Literal["publisher", "subscriber"] = "publisher" if start_side == "acd" else "subscriber"
    trail: list[Step] = [Step(start_side, str(start_state), "change")]
    seen: dict[tuple[AcdState | None, str | None, str], int] = {}

    def stop(reason: Literal["no mapping", "previous", "already there", "explored"]) -> Outcome:
        if explored is not None:
            explored.update(seen)
        return Outcome(tuple(trail), reason, acd, sf)

    while True:
        situation = (acd, sf, next_map)
        if situation in seen:
            if explored is not None:
                explored.update(seen)
            return Outcome(tuple(trail), "cycle", acd, sf, cycle_from=seen[situation])
        if explored is not None and situation in explored:
            return stop("explored")
        seen[situation] = len(trail) - 1
        if next_map == "publisher":
            assert acd is not None
            source = lookup_source(publisher, acd)
            if source is None:
                return stop("no mapping")
            sf_target = publisher[source]
            if sf_target == PREVIOUS:
                return stop("previous")
            if sf_target == sf:
                return stop("already there")
            sf = sf_target
            trail.append(Step("salesforce", sf, "publisher"))
            next_map = "subscriber"
        else:
            assert sf is not None
            acd_target = subscriber.get(sf)
            if acd_target is None:
                return stop("no mapping")
            if acd_target == PREVIOUS:
                return stop("previous")
            assert isinstance(acd_target, AcdState)
            if acd is not None and satisfies(acd, acd_target):
                return stop("already there")
            acd = acd_target
            trail.append(Step("acd", str(acd), "subscriber"))
            next_map = "publisher"


def start_states(publisher: Publisher, subscriber: Subscriber) -> list[tuple[Side, str | AcdState]]:
    """Every state either map mentions, ACD side first, in a stable order."""
    acd_states = set(publisher) | {t for t in subscriber.values() if isinstance(t, AcdState)}
    sf_states = set(subscriber) | {t for t in publisher.values() if t != PREVIOUS}
    starts: list[tuple[Side, str | AcdState]] = [("acd", a) for a in sorted(acd_states, key=AcdState.sort_key)]
    starts += [("salesforce", s) for s in sorted(sf_states)]
    return starts


def find_cycles(publisher: Publisher, subscriber: Subscriber) -> list[Cycle]:
    """The distinct cycles reachable from any state the maps mention (empty when the rule always settles)."""
    cycles: dict[frozenset[tuple[str, str]], Cycle] = {}
    explored: set[tuple[AcdState | None, str | None, str]] = set()
    for side, state in start_states(publisher, subscriber):
        outcome = settle(publisher, subscriber, side, state, explored)
        loop = outcome.loop
        if not loop:
            continue
        key = frozenset((step.side, step.state) for step in loop)
        cycles.setdefault(key, Cycle(outcome.trail[:-1], loop))
    return list(cycles.values())
