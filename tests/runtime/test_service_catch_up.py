"""Each feed catches up on its own: a restart during one vendor's outage never stalls the other direction."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from presence_sync.clients.errors import ServiceUnavailable
from presence_sync.clients.salesforce_models import PresenceChangeEvent, PresenceCommand
from runtime.feeds import CxoneFeed, SalesforceFeed
from runtime.reconciler import Observation
from runtime.service import SyncService
from runtime.store import SqliteStore

from .fakes import config
from .support import wait_until
from .test_rules import AVAILABLE, BUSY

ADA, ADA_USER = 7, "005ADA"


class CxoneReadsDown:
    """CXone's agent-state reads hang and then answer 503 (its real-time API is down, slowly); the agent API
    still takes writes."""

    def __init__(self) -> None:
        self.written: list[tuple[str, str | None]] = []
        self.released = threading.Event()

    def agent_states(self, updated_since: Any = None) -> tuple[list[Any], str | None]:
        self.released.wait()  # until the test ends: the catch-up of this feed never completes
        raise ServiceUnavailable("real-time API down", vendor="cxone", operation="agent_states")

    def agent_state(self, agent_id: int) -> Any:
        raise ServiceUnavailable("real-time API down", vendor="cxone", operation="agent_state")

    def join_agent_session(self, agent_id: int) -> str:
        return f"session-{agent_id}"

    def set_agent_state(self, session_id: str, state: str, reason: str | None = None) -> None:
        self.written.append((state, reason))


class SalesforceWithOneChange:
    """The change stream has one change after the durable replay id: Ada went Busy in Omni."""

    def __init__(self) -> None:
        self.delivered = threading.Event()

    def read_presence_changes(
        self, after_replay_id: int | None, wait_ms: int = 0, limit: int = 100
    ) -> tuple[list[PresenceChangeEvent], int | None]:
        if after_replay_id is not None and after_replay_id >= 2:
            time.sleep(min(wait_ms, 50) / 1000)  # a short long-poll: nothing new
            return [], after_replay_id
        self.delivered.set()
        event = PresenceChangeEvent(
            replay_id=2,
            change_type="CREATE",
            record_id="0Pw2",
            user_id=ADA_USER,
            status_id=BUSY.status_id,
            is_current=True,
            commit_user=ADA_USER,
            commit_timestamp=datetime.now(UTC),
        )
        return [event], 2

    def poll_current_presence(self, since: Any = None) -> tuple[list[Any], Any]:
        return [], since

    def current_presence(self, user_id: str) -> Any:
        return None

    def publish_presence_commands(self, commands: Sequence[PresenceCommand]) -> list[str | Exception]:
        return [f"e-{c.command_id}" for c in commands]


def test_a_restart_during_a_cxone_read_outage_still_carries_omni_changes_to_cxone(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    settings = config(store_path=str(path), metrics_port=0, poll_interval_seconds=0.2, stream_wait_seconds=0.1)
    # A store from an earlier run: both feeds have cursors, Ada was in step (Available on both sides).
    earlier = SqliteStore(path)
    earlier.set_cursor(CxoneFeed.CURSOR, "2026-12-02T06:00:00.000Z")
    earlier.set_cursor(SalesforceFeed.CURSOR, "1")
    earlier.close()
    cxone, salesforce = CxoneReadsDown(), SalesforceWithOneChange()
    service = SyncService(settings, salesforce=salesforce, cxone=cxone)
    service.reconciler.observe("acd", [Observation(ADA, "Available", time.time() - 60)], baseline=True)
    service.reconciler.observe("sf", [Observation(ADA, AVAILABLE.status_id, time.time() - 60)], baseline=True)
    # Started in a thread: a catch-up that waited for both feeds (as before) would never return here.
    starting = threading.Thread(target=service.start, daemon=True)
    starting.start()
    try:
        wait_until(lambda: cxone.written, timeout=30, what="Ada's Omni change written to CXone")
        assert cxone.written == [("Unavailable", "Break")]
        assert service.cxone_feed.last_success is None  # while CXone's own feed has not caught up
    finally:
        cxone.released.set()
        starting.join(timeout=30)
        service.stop()
