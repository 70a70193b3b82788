"""What the runtime keeps, whichever database holds it: ``AgentRecord``, ``PendingWrite`` and the ``Store`` protocol.

What is kept, and why:
* ``cursors``  -- where each feed resumes (CXone ``lastPollTime``, Salesforce replay id). Saved in the same
  transaction as the states read with it, so a crash can repeat a read but never skip one.
* ``agents``   -- per agent: the latest observed state of each side, the source side, the pending (expected)
  write per side, "previous" per side, whether each side's state was caused by us, the dirty flag.
* ``ledger``   -- the echo ledger: our writes, recognisable on the other feed until they expire.
* ``outbox``   -- decided but not yet confirmed writes, one per agent and side (a newer decision replaces
  the older one), each with a command id. A kill -9 between deciding and writing loses nothing; after a
  restart a pending write whose effect the feeds already show is dropped instead of repeated.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Protocol

from ..rules import AgentView, LedgerEntry, Side

__all__ = ["AgentRecord", "PendingWrite", "Store"]


@dataclass
class AgentRecord:
    """An agent's durable state; ``view()`` is what the rules see."""

    agent_id: int
    acd: str | None = None
    sf: str | None = None
    source: Side | None = None
    source_changed_at: float | None = None  # when the change that made ``source`` happened (our clock)
    seen_at: dict[str, float] = field(default_factory=dict)  # per side: the vendor's time of the latest state read
    human_at: dict[str, float] = field(default_factory=dict)  # per side: the agent's latest own change (our clock)
    human_state: dict[str, str | None] = field(default_factory=dict)  # per side: the state that change chose
    expected: dict[str, str] = field(default_factory=dict)
    expected_at: dict[str, float] = field(default_factory=dict)
    previous: dict[str, str | None] = field(default_factory=dict)
    caused_by_us: dict[str, bool] = field(default_factory=dict)
    dirty: bool = False

    def view(self, team_id: int | None) -> AgentView:
        return AgentView(
            agent_id=self.agent_id,
            team_id=team_id,
            acd=self.acd,
            sf=self.sf,
            source=self.source,
            expected=dict(self.expected),  # type: ignore[arg-type]
            previous=dict(self.previous),  # type: ignore[arg-type]
        )

    def to_json(self) -> str:
        """The record as stored (``dataclasses.asdict`` deep-copies through generic code: several times slower)."""
        return json.dumps(
            {
                "agent_id": self.agent_id,
                "acd": self.acd,
                "sf": self.sf,
                "source": self.source,
                "source_changed_at": self.source_changed_at,
                "seen_at": self.seen_at,
                "human_at": self.human_at,
                "human_state": self.human_state,
                "expected": self.expected,
                "expected_at": self.expected_at,
                "previous": self.previous,
                "caused_by_us": self.caused_by_us,
                "dirty": self.dirty,
            }
        )

    def observed(self, side: Side) -> str | None:
        return self.acd if side == "acd" else self.sf

    def set_observed(self, side: Side, state: str | None) -> None:
        if side == "acd":
            self.acd = state
        else:
            self.sf = state


@dataclass(frozen=True)
class PendingWrite:
    """A write in the outbox: set ``side`` of ``agent_id`` to ``target``; ``command_id`` makes it recognisable."""

    agent_id: int
    side: Side
    target: str
    command_id: str
    created_at: float
    source_changed_at: float | None = None
    attempts: int = 0
    next_attempt_at: float = 0.0
    maybe_landed: bool = False  # an attempt's outcome is unknown (no answer): re-read the side before repeating it


class Store(Protocol):
    def transaction(self) -> contextlib.AbstractContextManager[None]: ...
    def get_cursor(self, name: str) -> str | None: ...
    def set_cursor(self, name: str, value: str | None) -> None: ...
    def load_agent(self, agent_id: int) -> AgentRecord: ...
    def save_agent(self, record: AgentRecord) -> None: ...
    def dirty_agents(self) -> list[int]: ...
    def ledger(self, agent_id: int) -> list[LedgerEntry]: ...
    def add_ledger(self, agent_id: int, entry: LedgerEntry) -> None: ...
    def consume_ledger(self, agent_id: int, side: Side, upto_written_at: float) -> None: ...
    def ack_ledger(self, agent_id: int, command_id: str, sent_at: float | None, acked_at: float) -> None: ...
    def drop_ledger_acked_before(
        self, agent_id: int, side: Side, before: float, keep: Collection[str] = ()
    ) -> None: ...
    def unack_ledger(self, agent_id: int, command_id: str) -> None: ...
    def bound_ledger(self, agent_id: int, command_id: str, last_attempt: float) -> None: ...
    def prune_ledger(self, now: float) -> int: ...
    def put_write(self, write: PendingWrite) -> None: ...
    def pending_writes(self, agent_id: int | None = None) -> list[PendingWrite]: ...
    def delete_write(self, agent_id: int, side: Side, command_id: str) -> bool: ...
    def update_write(self, write: PendingWrite) -> bool: ...
    def drop_ledger_command(self, agent_id: int, command_id: str) -> None: ...
    def close(self) -> None: ...
