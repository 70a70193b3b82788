"""Name -> id look-ups, fetched once per provider process (one `pulumi` run) and shared by every resource.

Teams, agents and unavailable codes are not written by this stack, so they are loaded once; presence rules
and account mappings are listed once and the list is dropped whenever this process writes one. Salesforce
statuses come from the Salesforce client's own cache (also invalidated by writes).
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from presence_sync.clients.cxone import Agent, Team, UnavailableCode
from presence_sync.clients.cxone_adapters import AccountMapping, PresenceRule, PresenceSyncConfig
from providers import context
from providers.base import ProviderError

T = TypeVar("T")

_lock = threading.RLock()
_cache: dict[str, Any] = {}


def _cached(key: str, load: Callable[[], T]) -> T:
    with _lock:
        if key not in _cache:
            _cache[key] = load()
        return _cache[key]


def forget(*keys: str) -> None:
    """Drop cached lists after a write (no keys: everything; tests use that between runs)."""
    with _lock:
        for key in keys or list(_cache):
            _cache.pop(key, None)


def adapters() -> PresenceSyncConfig:
    return PresenceSyncConfig(context.cxone())


def teams() -> list[Team]:
    return _cached("teams", lambda: context.cxone().list_teams())


def agents() -> list[Agent]:
    return _cached("agents", lambda: context.cxone().list_agents())


def unavailable_codes() -> list[UnavailableCode]:
    return _cached("codes", lambda: context.cxone().list_unavailable_codes())


def team_code_ids(team_id: int) -> set[int]:
    return _cached(
        f"team-codes:{team_id}",
        lambda: {code.outstate_id for code in context.cxone().list_team_unavailable_codes(team_id)},
    )


def presence_rules() -> list[PresenceRule]:
    return _cached("rules", lambda: adapters().list_presence_rules())


def account_mappings() -> list[AccountMapping]:
    return _cached("mappings", lambda: adapters().list_account_mappings())


def _unknown(kind: str, name: str, known: list[str]) -> ProviderError:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    listing = ", ".join(sorted(known)) or "none"
    return ProviderError(f"CXone {kind} {name!r} does not exist.{hint} Valid names: {listing}")


def team_by_name(name: str) -> Team:
    found = [team for team in teams() if team.team_name == name]
    if not found:
        raise _unknown("team", name, [team.team_name for team in teams()])
    return found[0]


def agent_by_email(email: str) -> Agent:
    found = [agent for agent in agents() if (agent.email or "").lower() == email.lower()]
    if not found:
        raise _unknown("user", email, [agent.email for agent in agents() if agent.email])
    return found[0]


def code_by_name(name: str) -> UnavailableCode:
    found = [code for code in unavailable_codes() if code.name == name and code.is_active]
    if not found:
        raise _unknown("unavailable code", name, [code.name for code in unavailable_codes() if code.is_active])
    return found[0]


def code_name(code_id: int) -> str:
    for code in unavailable_codes():
        if code.id == code_id:
            return code.name
    return f"#{code_id}"


def salesforce_status_ids(developer_names: list[str]) -> dict[str, str]:
    statuses = {s.developer_name: s.id for s in context.salesforce().cached_list_presence_statuses()}
    missing = [name for name in developer_names if name not in statuses]
    if missing:
        raise ProviderError(
            f"Salesforce presence status(es) {', '.join(missing)} do not exist in the org. "
            f"Statuses there: {', '.join(sorted(statuses)) or 'none'}"
        )
    return {name: statuses[name] for name in developer_names}
