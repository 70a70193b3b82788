"""Name -> id look-ups that several kinds share, read once per provider process (one `pulumi` run).

CXone teams, agents and unavailable codes are not written by this stack: each list is read once, in the
CXone session's read cache, and serves every rule and mapping of the run. Salesforce status ids come from
the presence status proxy's cached list (dropped by any write to the org, so a status created in this run is
found).
"""

from __future__ import annotations

import difflib

from presence_sync.clients.cxone import Agent, Team, UnavailableCode
from presence_sync.clients.presence_status import PresenceStatusProxy
from providers import context
from providers.base import ProviderError


def teams() -> list[Team]:
    cxone = context.cxone()
    return cxone.cached("teams", cxone.list_teams)


def agents() -> list[Agent]:
    cxone = context.cxone()
    return cxone.cached("agents", cxone.list_agents)


def unavailable_codes() -> list[UnavailableCode]:
    cxone = context.cxone()
    return cxone.cached("codes", cxone.list_unavailable_codes)


def team_code_ids(team_id: int) -> set[int]:
    cxone = context.cxone()
    return cxone.cached(
        f"team-codes:{team_id}", lambda: {code.outstate_id for code in cxone.list_team_unavailable_codes(team_id)}
    )


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
    statuses = {s.developer_name: s.id for s in PresenceStatusProxy(context.salesforce()).cached_all()}
    missing = [name for name in developer_names if name not in statuses]
    if missing:
        raise ProviderError(
            f"Salesforce presence status(es) {', '.join(missing)} do not exist in the org. "
            f"Statuses there: {', '.join(sorted(statuses)) or 'none'}"
        )
    return {name: statuses[name] for name in developer_names}
