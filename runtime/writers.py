"""The two write directions, each through its vendor client (the only code that speaks HTTP).

* CXone (``acd``): join the agent's running session (``POST agent-sessions/join?asAgentId=``, the session id is
  cached per agent and re-joined once when the session is gone) and set the state: Available, or Unavailable
  with the unavailable code's *name* as the reason.
* Salesforce (``sf``): publish the ``Omni_Presence_Command__e`` platform event (UserId__c, StatusId__c,
  CommandId__c). The Lightning bridge in the agent's console applies it with the Omni toolkit; in the sandbox
  the emulator's console does. The command id is the outbox's, so a repeated publish is recognisable.
  Concurrent publishes share calls (group commit, see ``OmniCommandWriter``): every Salesforce API call counts
  against the org's daily allowance, and a burst of changes is exactly when commands pile up.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from presence_sync.clients.errors import NotFound, VendorError
from presence_sync.clients.salesforce_models import PresenceCommand
from presence_sync.runtime_config import AgentLink
from presence_sync.spec import AcdState, parse_acd

from .reconciler import Observation
from .store import PendingWrite
from .vendor_values import acd_notation, parse_time

__all__ = ["CxoneStateWriter", "OmniCommandWriter"]


class _Cxone(Protocol):
    def join_agent_session(self, agent_id: int) -> str: ...
    def set_agent_state(self, session_id: str, state: str, reason: str | None = None) -> None: ...
    def agent_state(self, agent_id: int) -> Any: ...


class _Salesforce(Protocol):
    def publish_presence_commands(self, commands: Sequence[PresenceCommand]) -> Sequence[str | Exception]: ...
    def current_presence(self, user_id: str) -> Any: ...


class CxoneStateWriter:
    def __init__(self, client: _Cxone, *, unavailable_codes: Mapping[int, str] | None = None) -> None:
        self.client = client
        self.codes = dict(unavailable_codes or {})
        self._sessions: dict[int, str] = {}
        self._lock = threading.Lock()

    def current(self, link: AgentLink) -> Observation | None:
        """The agent's CXone state now (one ``agents/{id}/states`` read), in the feed's notation and time."""
        state = self.client.agent_state(link.agent_id)
        if state is None:
            return None
        notation = acd_notation(state.agent_state_name, state.out_state_id, state.out_state_description, self.codes)
        return Observation(link.agent_id, notation, parse_time(state.last_update_time))

    def write(self, pending: PendingWrite, link: AgentLink) -> None:
        target = parse_acd(pending.target)
        if not isinstance(target, AcdState):
            raise ValueError(f"not a settable ACD state: {pending.target!r}")
        for attempt in (1, 2):
            session_id = self._session(link.agent_id, fresh=attempt == 2)
            try:
                self.client.set_agent_state(session_id, target.state, target.code)
                return
            except NotFound:
                if attempt == 2:
                    raise
                # The agent logged out and in again since we joined: join the new session once.

    def _session(self, agent_id: int, *, fresh: bool) -> str:
        with self._lock:
            cached = None if fresh else self._sessions.get(agent_id)
        if cached is not None:
            return cached
        try:
            session_id = self.client.join_agent_session(agent_id)
        except VendorError as exc:
            exc.not_processed = True  # the state write itself never went out: repeating it later is safe
            raise
        with self._lock:
            self._sessions[agent_id] = session_id
        return session_id


class _Slot:
    """One worker's command, waiting to be sent or for its outcome."""

    __slots__ = ("command", "done", "error")

    def __init__(self, command: PresenceCommand) -> None:
        self.command = command
        self.done = False
        self.error: BaseException | None = None


class OmniCommandWriter:
    """Publishes each worker's command; concurrent ones leave together (group commit).

    A worker that finds fewer than ``max_in_flight`` calls under way sends at once, taking every command that is
    waiting, its own included, up to ``batch_limit`` (the composite resource's 25): a lone command never waits for
    a batch to fill, while under a burst the commands that arrive during the calls in flight leave in the next
    one. Each worker returns (or raises) its own command's outcome, so the reconciler's outbox, retries and
    circuit see one write per command as before.
    """

    def __init__(self, client: _Salesforce, *, max_in_flight: int = 4, batch_limit: int = 25) -> None:
        self.client = client
        self.max_in_flight = max_in_flight
        self.batch_limit = batch_limit
        self._cond = threading.Condition()
        self._waiting: collections.deque[_Slot] = collections.deque()
        self._in_flight = 0

    def current(self, link: AgentLink) -> Observation | None:
        """The user's Omni status now (None: logged out of Omni). Its time is LastModifiedDate, not on the
        change events' basis, hence a snapshot."""
        row = self.client.current_presence(link.salesforce_user_id)
        if row is None:
            return Observation(link.agent_id, None, None, snapshot=True)
        return Observation(link.agent_id, row.status_id, parse_time(row.last_modified), snapshot=True)

    @property
    def queued(self) -> int:
        """Commands waiting for a call (the rest of a burst, while ``max_in_flight`` calls are under way)."""
        with self._cond:
            return len(self._waiting)

    def write(self, pending: PendingWrite, link: AgentLink) -> None:
        slot = _Slot(
            PresenceCommand(user_id=link.salesforce_user_id, status_id=pending.target, command_id=pending.command_id)
        )
        with self._cond:
            self._waiting.append(slot)
        while True:
            with self._cond:
                while not slot.done and not (self._waiting and self._in_flight < self.max_in_flight):
                    self._cond.wait()
                if slot.done:
                    break
                count = min(self.batch_limit, len(self._waiting))
                batch = [self._waiting.popleft() for _ in range(count)]
                self._in_flight += 1
            self._send(batch)  # may not hold this worker's own command (a long queue): then go round again
        if slot.error is not None:
            raise slot.error

    def _send(self, batch: list[_Slot]) -> None:
        outcomes: Sequence[str | BaseException]
        try:
            outcomes = self.client.publish_presence_commands([s.command for s in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"{len(outcomes)} outcomes for {len(batch)} commands")
        except BaseException as error:  # every waiting worker must wake up with it, whatever it is
            outcomes = [error] * len(batch)
        with self._cond:
            for slot, outcome in zip(batch, outcomes, strict=True):
                slot.error = outcome if isinstance(outcome, BaseException) else None
                slot.done = True
            self._in_flight -= 1
            self._cond.notify_all()
