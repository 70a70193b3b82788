"""In-memory stand-ins for the kinds' proxies: each holds the vendor's objects in a dict and keeps the proxy's
contract (what a read returns, what "already gone" means), so a provider's paths run without an engine or a
vendor. A test reaches into ``live`` to make drift, or sets ``fail_next`` to make the vendor refuse."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from presence_sync.clients.errors import NotFound, ServiceUnavailable, VendorError

SF_ID = "0N5000000000{:03d}AAA"


@dataclass
class FakeVendor:
    """What every fake shares: numbered ids, the calls made, and a failure to raise on the next write."""

    calls: list[str] = field(default_factory=list)
    fail_next: VendorError | None = None
    _next: int = 1

    def new_id(self, pattern: str = SF_ID) -> str:
        self._next += 1
        return pattern.format(self._next)

    def write(self, call: str) -> None:
        self.calls.append(call)
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error


def unavailable(operation: str, vendor: Literal["salesforce", "cxone"] = "salesforce") -> ServiceUnavailable:
    return ServiceUnavailable("the vendor is down", vendor=vendor, operation=operation, status=503)


def gone(operation: str, about: str, vendor: Literal["salesforce", "cxone"] = "salesforce") -> NotFound:
    return NotFound("no such object", vendor=vendor, operation=operation, object=about, status=404)


def outs(result: Any) -> dict[str, Any]:
    """The outputs of a CreateResult/UpdateResult/ReadResult (never None once written)."""
    assert result.outs is not None
    return dict(result.outs)


class FakeDirectory:
    """The names -> ids that ``providers.lookups`` serves (CXone teams, agents, codes; Salesforce status ids),
    installed in its place by ``install``."""

    def __init__(self) -> None:
        from presence_sync.clients.cxone import Agent, Team, UnavailableCode

        self.teams = [
            Team.model_validate(t)
            for t in ({"teamId": 2001, "teamName": "Chat"}, {"teamId": 2002, "teamName": "Voice"})
        ]
        self.agents = [
            Agent.model_validate({"agentId": 100001, "emailAddress": "ada@example.com", "teamId": 2001}),
            Agent.model_validate({"agentId": 100002, "emailAddress": "grace@example.com", "teamId": 2002}),
            Agent.model_validate({"agentId": 100009, "emailAddress": "gone@example.com", "isActive": False}),
        ]
        self.codes = [
            UnavailableCode.model_validate({"id": i, "name": n}) for i, n in ((3001, "Break"), (3002, "Lunch"))
        ]
        self.team_codes = {2001: {3001, 3002}, 2002: {3001}}
        self.status_ids = {"Available_Chat": "0N5000000000001AAA", "Busy": "0N5000000000002AAA"}

    def install(self, monkeypatch: Any) -> None:
        from providers import base, lookups

        monkeypatch.setattr(lookups, "teams", lambda: self.teams)
        monkeypatch.setattr(lookups, "agents", lambda: self.agents)
        monkeypatch.setattr(lookups, "unavailable_codes", lambda: self.codes)
        monkeypatch.setattr(lookups, "team_code_ids", lambda team_id: self.team_codes.get(team_id, set()))

        def status_ids(names: list[str]) -> dict[str, str]:
            missing = [name for name in names if name not in self.status_ids]
            if missing:
                raise base.ProviderError(f"Salesforce presence status(es) {', '.join(missing)} do not exist")
            return {name: self.status_ids[name] for name in names}

        monkeypatch.setattr(lookups, "salesforce_status_ids", status_ids)
