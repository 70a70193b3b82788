"""What goes with a presence status the plan deletes, so the reviewer sees it before `up` deletes it.

Salesforce cannot rename a status: a new developer name (a label edit, when the name is derived from the label)
is a new status, and the old one is deleted. With it go its grants (on every profile, managed by the stack or
not), the rules that name it, and the agents currently in it, who are left with no status. For each status the
plan deletes (and does not retain), this lists them, read-only: grants and current presences from the org,
rules from the stack's state. A status the same plan creates is named as the likely successor.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from presence_sync.clients.errors import VendorError
from presence_sync.clients.salesforce_models import CurrentPresence, Grant, PresenceStatusRecord, Profile

if TYPE_CHECKING:
    from presence_sync.gitops.steps import ResourceChange

STATUS_KIND = "salesforce:PresenceStatus"
RULE_KIND = "cxone:PresenceRule"


class OrgReads(Protocol):
    """The read-only calls this needs (SalesforceClient has them)."""

    def cached_list_presence_statuses(self) -> list[PresenceStatusRecord]: ...
    def list_profiles(self) -> list[Profile]: ...
    def list_status_grants(self) -> list[Grant]: ...
    def poll_current_presence(self) -> tuple[list[CurrentPresence], Any]: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Followers:
    """What follows one deleted status."""

    status: str
    successor: str | None
    profiles: tuple[str, ...]
    rules: tuple[str, ...]
    agents: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "successor": self.successor,
            "profiles": list(self.profiles),
            "rules": list(self.rules),
            "agents": self.agents,
        }


def deleted_statuses(changes: Sequence[ResourceChange]) -> list[tuple[str, str | None]]:
    """(developer name, the status the same plan creates, when exactly one) for each status deleted for good."""

    def name_of(change: ResourceChange, side: str) -> str | None:
        value = next((getattr(f, side) for f in change.fields if f.path == "developerName"), None)
        return value if isinstance(value, str) else None

    statuses = [c for c in changes if c.kind == STATUS_KIND]
    created = [name for c in statuses if c.op == "create" and (name := name_of(c, "new"))]
    successor = created[0] if len(created) == 1 else None
    gone = [name_of(c, "old") for c in statuses if c.op == "delete" and not c.retain]
    return [(name, successor) for name in gone if name]


def rules_naming(deployment: Mapping[str, Any], status: str) -> list[str]:
    """The stack's rules (as last applied) whose maps name the status."""
    names = []
    for resource in deployment.get("resources") or []:
        if not str(resource.get("type", "")).endswith(RULE_KIND):
            continue
        inputs = resource.get("inputs") or {}
        lines = [*(inputs.get("publisher") or []), *(inputs.get("subscriber") or [])]
        if any(isinstance(line, Mapping) and line.get("salesforce") == status for line in lines):
            names.append(str(inputs.get("name") or resource["urn"].split("::")[-1]))
    return sorted(names)


def followers(gone: Sequence[tuple[str, str | None]], org: OrgReads, deployment: Mapping[str, Any]) -> list[Followers]:
    ids = {record.developer_name: record.id for record in org.cached_list_presence_statuses()}
    by_permission_set = {profile.permission_set_id: profile.name for profile in org.list_profiles()}
    grants = org.list_status_grants()
    presences, _ = org.poll_current_presence()
    found = []
    for status, successor in gone:
        status_id = ids.get(status)
        profiles = {
            by_permission_set.get(g.permission_set_id, g.permission_set_id) for g in grants if g.status_id == status_id
        }
        agents = sum(1 for p in presences if status_id and p.status_id and p.status_id[:15] == status_id[:15])
        rules = rules_naming(deployment, status)
        found.append(Followers(status, successor, tuple(sorted(profiles)), tuple(rules), agents))
    return found


def org_from_environment(stack_dir: Path, stack_name: str) -> OrgReads:
    """A Salesforce client from the stack's connection settings, as `presence-sync export` builds it."""
    from presence_sync.clients.salesforce import SalesforceClient
    from presence_sync.gitops.export import connection_env

    client: OrgReads = SalesforceClient.from_env(connection_env(stack_dir, stack_name, None, os.environ))
    return client


def what_follows(
    changes: Sequence[ResourceChange], deployment: Mapping[str, Any], open_org: Any
) -> tuple[list[Followers], str | None]:
    """Followers of every status the changes delete, or an error line when the org could not be read (the
    plan still stands; it then says the list is missing)."""
    gone = deleted_statuses(changes)
    if not gone:
        return [], None
    try:
        org = open_org()
    except (VendorError, KeyError, OSError) as error:
        return [], f"could not read the org to list what follows the deleted status(es): {error}"
    try:
        return followers(gone, org, deployment), None
    except VendorError as error:
        return [], f"could not read the org to list what follows the deleted status(es): {error}"
    finally:
        org.close()
