"""Profile presence access: the presence statuses a profile may use are SetupEntityAccess rows (SetupEntityType
``ServicePresenceStatus``) on the permission set the profile owns. The only code that reads or writes them.

The rows have no update: a grant is created or deleted. An insert that the org refuses as a duplicate (also a
create whose answer was lost and that the retry repeated) returns the existing grant.
"""

from __future__ import annotations

from collections.abc import Iterable

from simple_salesforce import format_soql
from simple_salesforce.exceptions import SalesforceError

from presence_sync.clients.errors import AlreadyExists
from presence_sync.clients.presence_status import PresenceStatusProxy
from presence_sync.clients.salesforce_models import Grant, Profile, grant_from_record, profile_from_record
from presence_sync.clients.salesforce_session import Connection, SalesforceSession

__all__ = ["ProfileAccessProxy"]

_GRANT_ENTITY_TYPE = "ServicePresenceStatus"  # SetupEntityAccess.SetupEntityType for presence statuses
_ID_CHUNK = 200  # ids per IN (...) list: keeps each SOQL statement far below the 100k-character limit
_PROFILES_SOQL = (
    "SELECT Id, ProfileId, Profile.Name FROM PermissionSet WHERE IsOwnedByProfile = true ORDER BY Profile.Name"
)
_GRANTS_SOQL = "SELECT Id, ParentId, SetupEntityId FROM SetupEntityAccess WHERE SetupEntityType = {}"


class ProfileAccessProxy:
    def __init__(self, session: SalesforceSession) -> None:
        self.session = session

    def list_profiles(self) -> list[Profile]:
        """Profiles with the PermissionSet each owns (one SOQL query on PermissionSet)."""

        def run(conn: Connection) -> list[Profile]:
            rows = self.session.query_all(conn, _PROFILES_SOQL)
            return [profile_from_record(row) for row in rows if row.get("ProfileId")]

        return self.session.run("list_profiles", "Profile", run)

    def cached_profiles(self) -> list[Profile]:
        return self.session.cached("profiles", self.list_profiles)

    def cached_status_ids(self) -> dict[str, str]:
        """Developer name -> id of every presence status of the org (grants name statuses by id)."""
        return {status.developer_name: status.id for status in PresenceStatusProxy(self.session).cached_all()}

    def list_status_grants(self, permission_set_ids: Iterable[str] | None = None) -> list[Grant]:
        """Presence-status grants, optionally only those on some permission sets."""
        base = format_soql(_GRANTS_SOQL, _GRANT_ENTITY_TYPE)
        if permission_set_ids is None:
            statements = [base]
        else:
            ids = sorted(set(permission_set_ids))
            chunks = [ids[i : i + _ID_CHUNK] for i in range(0, len(ids), _ID_CHUNK)]
            statements = [base + format_soql(" AND ParentId IN {}", chunk) for chunk in chunks]

        def run(conn: Connection) -> list[Grant]:
            return [grant_from_record(row) for soql in statements for row in self.session.query_all(conn, soql)]

        return self.session.run("list_status_grants", "SetupEntityAccess", run) if statements else []

    def cached_grants(self) -> list[Grant]:
        """Every presence-status grant of the org, once per process until a write."""
        return self.session.cached("grants", self.list_status_grants)

    def grant_status(self, permission_set_id: str, status_id: str) -> Grant:
        """Grant a status to a (profile-owned) permission set. Already granted returns the existing grant."""
        about = f"SetupEntityAccess (PermissionSet {permission_set_id}, ServicePresenceStatus {status_id})"

        def run(conn: Connection) -> Grant:
            row = {"ParentId": permission_set_id, "SetupEntityId": status_id}
            result = self.session.sobject(conn, "SetupEntityAccess").create(row)
            return Grant(id=result["id"], permission_set_id=permission_set_id, status_id=status_id)

        try:
            return self.session.write("grant_status", about, run)
        except AlreadyExists:
            existing = [g for g in self.list_status_grants([permission_set_id]) if g.status_id == status_id]
            if existing:
                return existing[0]
            raise

    def revoke_grant(self, grant_id: str) -> None:
        """Delete a SetupEntityAccess row. Already gone is success."""

        def run(conn: Connection) -> None:
            try:
                self.session.sobject(conn, "SetupEntityAccess").delete(grant_id)
            except SalesforceError as exc:
                if exc.status == 404:
                    return
                raise

        self.session.write("revoke_grant", f"SetupEntityAccess {grant_id}", run)
