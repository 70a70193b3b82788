"""Which engine syncs presence: ours (the runtime writes) or NICE's (CXone Agent Embedded applies the CXone
rules in the agent's browser, and the runtime only watches).

The spec decides (``runtime.engine``, carried into the runtime's config as ``engine``):

* ``presence-sync``: :class:`WritingEngine` -- the reconciler replays its outbox and its workers make the writes,
  as always. The CXone rules are stored inactive, so NICE's engine has nothing to apply.
* ``nice``: :class:`ObservingEngine` -- no outbox replay, no reconcile workers: nothing in this process calls a
  writer, so the runtime makes no vendor write at all. The feeds still record both sides; every agent whose
  record changes is checked against the rules (the same ``decide`` the writing engine acts on). An agent whose
  sides the rules say should differ from what they are is a *disagreement*: NICE's engine has not (yet) applied
  the rule, or applies it differently. Each one is logged with what the rule expects and counted in
  ``presence_sync_engine_disagreements_total{side}``; ``presence_sync_engine_disagreeing_agents`` is how many
  agents disagree now.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable
from typing import Protocol

from prometheus_client import Counter, Gauge

from presence_sync.runtime_config import RuntimeConfig

from .metrics import Metrics
from .rules import Write, decide
from .store import Store

__all__ = ["Engine", "ObservingEngine", "WritingEngine", "engine_for"]

log = logging.getLogger("runtime.engines")

ENGINE_OURS = "presence-sync"
ENGINE_NICE = "nice"


class _Reconciler(Protocol):
    on_change: Callable[[Iterable[int]], None] | None

    def recover(self) -> None: ...
    def start(self, workers: int | None = None) -> None: ...


class Engine(Protocol):
    name: str
    writes: bool

    def start(self) -> None: ...
    def stop(self) -> None: ...


class WritingEngine:
    """Ours: the reconciler decides and writes (its outbox first, so nothing decided before a restart is lost)."""

    name = ENGINE_OURS
    writes = True

    def __init__(self, reconciler: _Reconciler) -> None:
        self.reconciler = reconciler

    def start(self) -> None:
        self.reconciler.recover()
        self.reconciler.start()

    def stop(self) -> None:
        """The reconciler is stopped by the service."""


class ObservingEngine:
    """NICE's engine acts; this one only reports where the two sides disagree under the rules."""

    name = ENGINE_NICE
    writes = False

    def __init__(self, config: RuntimeConfig, store: Store, reconciler: _Reconciler, metrics: Metrics) -> None:
        self.config = config
        self.store = store
        self.reconciler = reconciler
        self.teams = {link.agent_id: link.team_id for link in config.agents}
        self.disagreeing: dict[int, Write] = {}
        self._touched: queue.SimpleQueue[list[int] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.disagreements = Counter(
            "presence_sync_engine_disagreements",
            "Observe-only (engine: nice): times an agent's sides came to disagree under the rules, by the side "
            "the rule says should change.",
            ["side"],
            registry=metrics.registry,
        )
        self.disagreeing_agents = Gauge(
            "presence_sync_engine_disagreeing_agents",
            "Observe-only (engine: nice): agents whose sides disagree under the rules now.",
            registry=metrics.registry,
        )

    def start(self) -> None:
        chained = self.reconciler.on_change

        def on_change(agent_ids: Iterable[int]) -> None:
            ids = list(agent_ids)
            if chained is not None:
                chained(ids)
            self._touched.put(ids)

        self.reconciler.on_change = on_change
        self._thread = threading.Thread(target=self._run, name="engine-observe", daemon=True)
        self._thread.start()
        log.info("engine nice: observe-only, no vendor writes")

    def stop(self) -> None:
        self._touched.put(None)
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def _run(self) -> None:
        while (ids := self._touched.get()) is not None:
            for agent_id in dict.fromkeys(ids):
                try:
                    self.check(agent_id)
                except Exception:
                    log.exception("disagreement check failed", extra={"agent_id": agent_id})

    def check(self, agent_id: int) -> Write | None:
        """Compare ``agent_id``'s sides with the rules; log and count a disagreement when it starts."""
        if agent_id not in self.teams:
            return None
        view = self.store.load_agent(agent_id).view(self.teams[agent_id])
        write = decide(self.config.rules, view)
        before = self.disagreeing.pop(agent_id, None)
        if write is not None:
            self.disagreeing[agent_id] = write
            if before != write:
                self.disagreements.labels(write.side).inc()
                log.warning(
                    "sides disagree under the rules; NICE's engine has not applied them (observe-only: not written)",
                    extra={"agent_id": agent_id, "side": write.side, "state": write.target, "rule": write.rule},
                )
        elif before is not None:
            log.info("sides agree again", extra={"agent_id": agent_id, "rule": before.rule})
        self.disagreeing_agents.set(len(self.disagreeing))
        return write


def engine_for(config: RuntimeConfig, store: Store, reconciler: _Reconciler, metrics: Metrics) -> Engine:
    if config.engine == ENGINE_NICE:
        return ObservingEngine(config, store, reconciler, metrics)
    return WritingEngine(reconciler)
