"""CXone ACD agent states as the spec writes them, and how states match rule entries.

Notation (one string, easy to review and to grep):

    Available, Unavailable, LoggedOut, LoggedIn,          CXone system states, spelled as the Real-time API's
    InboundContact, OutboundContact, InboundConsult,      `agentStateName` (GET /agents/states)
    OutboundConsult, Dialer
    Unavailable:<code name>                               Unavailable with that unavailable (reason) code,
                                                          e.g. ``Unavailable:Break``; the code name is
                                                          everything after the first colon, spaces included
    previous                                              "previous state": a rule target only

Which states may stand where:
- publisher sources (CXone -> Salesforce): any system state or ``Unavailable:<code>``;
- subscriber targets (Salesforce -> CXone): ``Available``, ``Unavailable``, ``Unavailable:<code>`` or
  ``previous`` -- CXone's agent API sets only Available or Unavailable (+ reason code); the other states are
  "controlled by the platform" (Studio SET AGENT STATE);
- ``previous`` is never a source.

Matching: a source ``Unavailable`` matches an agent who is unavailable with no code, or with a code that
the map has no ``Unavailable:<code>`` entry for (the most specific entry wins). A target ``Unavailable`` is
already met by an agent who is unavailable with any code, so the runtime doesn't erase a reason.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "PREVIOUS",
    "SETTABLE_STATES",
    "SYSTEM_STATES",
    "UNAVAILABLE",
    "AcdNotationError",
    "AcdState",
    "AcdTarget",
    "lookup_source",
    "parse_acd",
    "satisfies",
]

SYSTEM_STATES: tuple[str, ...] = (
    "Available",
    "Unavailable",
    "LoggedOut",
    "LoggedIn",
    "InboundContact",
    "OutboundContact",
    "InboundConsult",
    "OutboundConsult",
    "Dialer",
)
SETTABLE_STATES: tuple[str, ...] = ("Available", "Unavailable")
UNAVAILABLE = "Unavailable"
PREVIOUS: Literal["previous"] = "previous"


@dataclass(frozen=True)
class AcdState:
    """One ACD state: a system state, and for ``Unavailable`` optionally the unavailable code's name."""

    state: str
    code: str | None = None

    def __str__(self) -> str:
        return f"{self.state}:{self.code}" if self.code is not None else self.state

    def sort_key(self) -> tuple[str, str]:
        """System state, then code; plain ``Unavailable`` before its codes."""
        return (self.state, "" if self.code is None else f":{self.code}")

    @property
    def settable(self) -> bool:
        """Whether the CXone agent API can put an agent into this state."""
        return self.state in SETTABLE_STATES


AcdTarget = AcdState | Literal["previous"]


class AcdNotationError(ValueError):
    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def parse_acd(text: str) -> AcdTarget:
    """Parse one ACD state in the spec's notation; `AcdNotationError` says what is wrong and how to fix it."""
    if text == PREVIOUS:
        return PREVIOUS
    state, colon, code = text.partition(":")
    if colon:
        if state != UNAVAILABLE:
            raise AcdNotationError(
                f"only Unavailable takes a reason code, not {state!r}",
                hint=f"write 'Unavailable:{code.strip()}' for an unavailable code",
            )
        if not code.strip():
            raise AcdNotationError(
                "'Unavailable:' needs an unavailable code name after the colon",
                hint="e.g. 'Unavailable:Break', or plain 'Unavailable'",
            )
        if code != code.strip():
            raise AcdNotationError(
                f"unavailable code {code!r} has spaces around it",
                hint=f"write 'Unavailable:{code.strip()}'",
            )
        return AcdState(UNAVAILABLE, code)
    if text in SYSTEM_STATES:
        return AcdState(text)
    valid = ", ".join(SYSTEM_STATES)
    close = difflib.get_close_matches(text, [*SYSTEM_STATES, PREVIOUS], n=1, cutoff=0.6)
    lowered = {s.lower(): s for s in (*SYSTEM_STATES, PREVIOUS)}
    guess = lowered.get(text.lower()) or (close[0] if close else None)
    hint = f"did you mean {guess!r}? " if guess else ""
    raise AcdNotationError(
        f"unknown ACD state {text!r}",
        hint=f"{hint}system states are {valid}; unavailable codes are written 'Unavailable:<code name>'",
    )


def lookup_source(sources: Iterable[AcdState], actual: AcdState) -> AcdState | None:
    """The map entry source that applies to an agent in state `actual`: the exact state, else plain
    ``Unavailable`` for an agent who is unavailable with a code the map doesn't list."""
    candidates = set(sources)
    if actual in candidates:
        return actual
    plain = AcdState(UNAVAILABLE)
    if actual.state == UNAVAILABLE and plain in candidates:
        return plain
    return None


def satisfies(actual: AcdState, target: AcdState) -> bool:
    """Whether an agent in `actual` already is where `target` asks for (no write needed)."""
    if target.state == UNAVAILABLE and target.code is None:
        return actual.state == UNAVAILABLE
    return actual == target
