"""The two write directions, each through its vendor client (the only code that speaks HTTP).

* CXone (``acd``): join the agent's running session (``POST agent-sessions/join?asAgentId=``, the session id is
  cached per agent and re-joined once when the session is gone) and set the state: Available, or Unavailable
  with the unavailable code's *name* as the reason.
* Salesforce (``sf``): publish the ``Omni_Presence_Command__e`` platform event (UserId__c, StatusId__c,
  CommandId__c). The Lightning bridge in the agent's console applies it with the Omni toolkit; in the sandbox
  the emulator's console does. The command id is the outbox's, so a repeated publish is recognisable.
"""

from __future__ import annotations

import threading
from typing import Protocol

from presence_sync.clients.errors import NotFound
from presence_sync.spec import AcdState, parse_acd

from .config import AgentLink
from .store import PendingWrite

__all__ = ["CxoneStateWriter", "OmniCommandWriter"]


class _Cxone(Protocol):
    def join_agent_session(self, agent_id: int) -> str: ...
    def set_agent_state(self, session_id: str, state: str, reason: str | None = None) -> None: ...


class _Salesforce(Protocol):
    def publish_presence_command(self, user_id: str, status_id: str, command_id: str) -> str: ...


class CxoneStateWriter:
    def __init__(self, client: _Cxone) -> None:
        self.client = client
        self._sessions: dict[int, str] = {}
        self._lock = threading.Lock()

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
        session_id = self.client.join_agent_session(agent_id)
        with self._lock:
            self._sessions[agent_id] = session_id
        return session_id


class OmniCommandWriter:
    def __init__(self, client: _Salesforce) -> None:
        self.client = client

    def write(self, pending: PendingWrite, link: AgentLink) -> None:
        self.client.publish_presence_command(link.salesforce_user_id, pending.target, pending.command_id)
