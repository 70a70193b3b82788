"""Fakes for reconciler tests: a settable clock and writers that record (or fail) instead of calling vendors."""

from __future__ import annotations

from pathlib import Path

from presence_sync.clients.errors import InvalidRequest, ServiceUnavailable, VendorError
from presence_sync.runtime_config import AgentLink, RuntimeConfig
from runtime.reconciler import CircuitBreaker, Reconciler
from runtime.store import PendingWrite, SqliteStore

from .test_rules import CHAT


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeWriter:
    def __init__(self, vendor: str) -> None:
        self.vendor = vendor
        self.made: list[tuple[int, str, str]] = []  # (agent, target, command id)
        self.fail_with: type[VendorError] | None = None
        self.attempts = 0

    def write(self, pending: PendingWrite, link: AgentLink) -> None:
        self.attempts += 1
        if self.fail_with is not None:
            status = 503 if issubclass(self.fail_with, ServiceUnavailable) else None  # TRANSIENT is a 503
            raise self.fail_with("injected", vendor=self.vendor, operation="write", status=status)  # type: ignore[arg-type]
        self.made.append((pending.agent_id, pending.target, pending.command_id))

    def targets(self) -> list[str]:
        return [target for _, target, _ in self.made]


TRANSIENT = ServiceUnavailable
PERMANENT = InvalidRequest


def config(**overrides: object) -> RuntimeConfig:
    values: dict[str, object] = {
        "rules": (CHAT,),
        "agents": (
            AgentLink(agent_id=7, salesforce_user_id="005ADA", team_id=1),
            AgentLink(agent_id=8, salesforce_user_id="005GRACE", team_id=1),
        ),
        "echo_window_seconds": 30.0,
    }
    values.update(overrides)
    return RuntimeConfig.model_validate(values)


def reconciler(path: Path, clock: Clock, **overrides: object) -> tuple[Reconciler, FakeWriter, FakeWriter]:
    cxone, omni = FakeWriter("cxone"), FakeWriter("salesforce")
    breakers = {"acd": CircuitBreaker("cxone", clock=clock), "sf": CircuitBreaker("salesforce", clock=clock)}
    rec = Reconciler(
        config(**overrides),
        SqliteStore(path),
        {"acd": cxone, "sf": omni},
        clock=clock,
        clock_skew=0.05,
        rand=lambda: 0.5,
        breakers=breakers,  # type: ignore[arg-type]
    )
    return rec, cxone, omni
