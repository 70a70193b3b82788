"""The live view's data: the agent table (filtered and paged), latency per direction, the summary. Answered from
the rows in memory (``liveview.LiveView`` keeps them), so the first page at 10,000 agents costs a filter and a
slice, not a store scan."""

from __future__ import annotations

import bisect
import datetime as dt
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from presence_sync.runtime_config import RuntimeConfig

from .metrics import LATENCY_BUCKETS

if TYPE_CHECKING:
    from .feeds import CxoneFeed, SalesforceFeed
    from .reconciler import Reconciler
    from .store import Store


class ServiceView(Protocol):
    """What the live view reads of the service (``service.SyncService``, which builds the view: a protocol, so that
    the view does not import the service back)."""

    @property
    def config(self) -> RuntimeConfig: ...
    @property
    def store(self) -> Store: ...
    @property
    def reconciler(self) -> Reconciler: ...
    @property
    def clock(self) -> Callable[[], float]: ...
    @property
    def cxone_feed(self) -> CxoneFeed: ...
    @property
    def salesforce_feed(self) -> SalesforceFeed: ...
    def ready(self) -> tuple[bool, str]: ...


__all__ = [
    "API_VERSION",
    "DEFAULT_WINDOW_SECONDS",
    "SIDE_NAMES",
    "STATUSES",
    "LiveViewState",
    "ServiceView",
    "Sync",
    "iso",
]

API_VERSION = 1
DEFAULT_WINDOW_SECONDS = 900
MAX_PAGE = 500
STATUSES = ("in_step", "pending", "failing", "out_of_step")
SIDE_NAMES = {"acd": "cxone", "sf": "salesforce"}


def iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def percentile(ordered: list[float], fraction: float) -> float | None:
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Sync:
    """The last write the runtime made for an agent."""

    at: float
    latency: float | None
    direction: str


class LiveViewState:
    """The state the live view's parts share (set up by ``LiveView.__init__``), and the API's answers."""

    service: ServiceView
    config: RuntimeConfig
    reconciler: Reconciler
    clock: Any
    _lock: threading.Lock
    _rows: dict[int, dict[str, Any]]
    _order: list[int]
    _samples: deque[tuple[float, str, float]]  # (at, direction, seconds)
    _errors: deque[dict[str, Any]]
    _subscribers: set[queue.SimpleQueue[tuple[str, str] | None]]
    _stopped: threading.Event
    _day: str
    _calls_at_day_start: dict[str, int]
    rule_names: list[str]
    teams: list[int]

    def agents(
        self,
        *,
        status: str | None = None,
        rule: str | None = None,
        team: int | None = None,
        q: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> dict[str, Any]:
        """A page of rows in agent id order. ``status``: one of STATUSES, or ``not_in_step`` (all but in_step);
        ``rule``: a rule's name, ``(none)`` for agents no rule covers; ``team``: a team id; ``q``: e-mail or id."""
        needle = (q or "").strip().lower()
        with self._lock:
            rows = [self._rows[a] for a in self._order if a in self._rows]
        if status == "not_in_step":
            rows = [r for r in rows if r["status"] != "in_step"]
        elif status:
            rows = [r for r in rows if r["status"] == status]
        if rule:
            rows = [r for r in rows if (r["rule"] or "") == ("" if rule == "(none)" else rule)]
        if team is not None:
            rows = [r for r in rows if r["team_id"] == team]
        if needle:
            rows = [r for r in rows if needle in (r["email"] or "").lower() or needle in str(r["agent_id"])]
        limit = max(1, min(MAX_PAGE, limit))
        offset = max(0, offset)
        return {
            "version": API_VERSION,
            "total": len(rows),
            "offset": offset,
            "limit": limit,
            "agents": rows[offset : offset + limit],
        }

    def latency(self, window: float) -> dict[str, Any]:
        since = self.clock() - window
        with self._lock:
            samples = [(d, s) for at, d, s in self._samples if at >= since]
        result: dict[str, Any] = {}
        for direction in ("cxone_to_salesforce", "salesforce_to_cxone"):
            values = sorted(s for d, s in samples if d == direction)
            counts = [0] * (len(LATENCY_BUCKETS) + 1)
            for value in values:
                counts[bisect.bisect_left(LATENCY_BUCKETS, value)] += 1
            result[direction] = {
                "count": len(values),
                "p50": percentile(values, 0.5),
                "p99": percentile(values, 0.99),
                "max": values[-1] if values else None,
                "histogram": counts,
            }
        return {"window_seconds": window, "bucket_upper_bounds": [*LATENCY_BUCKETS, None], "directions": result}

    def _api_calls(self) -> dict[str, Any]:
        today = dt.datetime.fromtimestamp(self.clock(), dt.UTC).date().isoformat()
        totals: dict[str, int] = {}
        for vendor, feed in (("cxone", self.service.cxone_feed), ("salesforce", self.service.salesforce_feed)):
            client = getattr(feed, "client", None)
            calls = getattr(client, "api_calls", None)
            auth = getattr(client, "auth_calls", None)
            totals[vendor] = (calls if isinstance(calls, int) else 0) + (auth if isinstance(auth, int) else 0)
        with self._lock:
            if self._day != today:  # counted from the first look of the day (or the start) on
                self._day, self._calls_at_day_start = today, dict(totals) if self._day else {v: 0 for v in totals}
            used = {vendor: total - self._calls_at_day_start.get(vendor, 0) for vendor, total in totals.items()}
        return {"date": today, **used}

    def summary(self, window: float = DEFAULT_WINDOW_SECONDS) -> dict[str, Any]:
        with self._lock:
            rows = list(self._rows.values())
            errors = list(self._errors)[::-1][:20]
        counts = dict.fromkeys(STATUSES, 0)
        for row in rows:
            counts[row["status"]] += 1
        circuits = {}
        for side, breaker in self.reconciler.breakers.items():
            retry_in = breaker.retry_in()
            state = "closed" if not breaker.is_open else ("open" if retry_in > 0 else "half-open")
            circuits[SIDE_NAMES[side]] = {"state": state, "retry_in_seconds": round(retry_in, 3)}
        feeds = {}
        for feed in (self.service.cxone_feed, self.service.salesforce_feed):
            feeds[feed.name] = {"last_success": iso(feed.last_success), "failing": feed.last_error is not None}
        ready, reason = self.service.ready()
        return {
            "version": API_VERSION,
            "generated_at": iso(self.clock()),
            "ready": {"ok": ready, "reason": reason},
            "agents": {
                "total": len(rows),
                **counts,
                "not_in_step": len(rows) - counts["in_step"],
                "unmatched": len(self.config.unmatched),
            },
            "latency": self.latency(window),
            "circuits": circuits,
            "feeds": feeds,
            "api_calls_today": self._api_calls(),
            "errors": errors,
            "rules": self.rule_names,
            "teams": self.teams,
        }

    def _service_stopping(self) -> bool:
        stop = getattr(self.service, "_stop", None)
        return bool(stop is not None and stop.is_set())
