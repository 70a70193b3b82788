"""The presence statuses one Salesforce profile may use (Setup > Profile > Enabled Service Presence Status
Access): SetupEntityAccess rows on the permission set that the profile owns.

Those rows have no update, so a changed set of statuses is applied as grants and revokes of the difference,
never as a replace of the whole resource. Grants of statuses this resource does not list are left alone:
someone else (or another stack) may manage them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckFailure
from pydantic import field_validator

from presence_sync.clients.salesforce_models import Profile
from providers import context, lookups
from providers.base import CheckContext, ProviderError, ProviderInputs, SpecProvider, Written


class ProfilePresenceAccessInputs(ProviderInputs):
    profile: str
    statuses: list[str]

    @field_validator("statuses")
    @classmethod
    def _sorted(cls, statuses: list[str]) -> list[str]:
        return sorted(set(statuses))


def find_profile(name: str) -> Profile:
    profiles = context.salesforce().cached_list_profiles()
    for profile in profiles:
        if profile.name == name:
            return profile
    known = ", ".join(sorted(p.name for p in profiles)) or "none"
    raise ProviderError(f"Salesforce profile {name!r} does not exist. Profiles in the org: {known}")


def granted(permission_set_id: str) -> dict[str, str]:
    """Status id -> grant id for the permission set, from one cached list of all status grants."""
    return {
        grant.status_id: grant.id
        for grant in context.salesforce().cached_list_status_grants()
        if grant.permission_set_id == permission_set_id
    }


class ProfilePresenceAccessProvider(SpecProvider[ProfilePresenceAccessInputs, Any]):
    kind = "Salesforce profile presence access"
    vendor = "org"
    inputs_model = ProfilePresenceAccessInputs
    replace_on = ("profile",)

    def describe(self, inputs: ProfilePresenceAccessInputs) -> str:
        return f"{self.kind} for profile {inputs.profile!r}"

    def plan_checks(self, inputs: ProfilePresenceAccessInputs, found: CheckContext) -> list[CheckFailure]:
        # The statuses may be created in this very run: they are resolved when granting, not here.
        if "profile" in found.unknown:
            return []
        try:
            find_profile(inputs.profile)
        except ProviderError as error:
            return [CheckFailure("", f"{self.describe(inputs)}: profile: {error}")]
        return []

    def find_existing(self, inputs: ProfilePresenceAccessInputs) -> tuple[str, dict[str, Any]] | None:
        return None  # grants are facts, not named objects: rows that already exist are simply kept

    def create_object(self, inputs: ProfilePresenceAccessInputs) -> Written:
        profile = find_profile(inputs.profile)
        self._apply(profile.permission_set_id, add=inputs.statuses, remove=[])
        return Written(profile.permission_set_id)

    def update_object(self, id_: str, old: Mapping[str, Any], inputs: ProfilePresenceAccessInputs) -> Written:
        before = set(old.get("statuses") or [])
        after = set(inputs.statuses)
        # Everything in the new set is (re)granted, so grants removed by hand come back; only statuses that
        # this resource used to list are revoked.
        self._apply(id_, add=sorted(after), remove=sorted(before - after))
        return Written(id_)

    def read_object(self, id_: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
        profiles = {p.permission_set_id: p for p in context.salesforce().cached_list_profiles()}
        if id_ not in profiles:
            return None
        grants = granted(id_)
        statuses = context.salesforce().cached_list_presence_statuses()
        id_by_name = {s.developer_name: s.id for s in statuses}
        listed = [name for name in props.get("statuses") or [] if id_by_name.get(name) in grants]
        return {
            "profile": profiles[id_].name,
            "profileId": profiles[id_].id,
            "permissionSetId": id_,
            "statuses": sorted(listed),
            "grantIds": {name: grants[id_by_name[name]] for name in sorted(listed)},
        }

    def delete_object(self, id_: str, props: Mapping[str, Any]) -> None:
        self._apply(id_, add=[], remove=list(props.get("statuses") or []))

    @staticmethod
    def _apply(permission_set_id: str, *, add: list[str], remove: list[str]) -> None:
        client = context.salesforce()
        current = granted(permission_set_id)
        for status_id in lookups.salesforce_status_ids(add).values():
            if status_id not in current:
                client.grant_status(permission_set_id, status_id)
        known = {s.developer_name: s.id for s in client.cached_list_presence_statuses()}
        for name in remove:
            grant_id = current.get(known.get(name, ""))
            if grant_id:
                client.revoke_grant(grant_id)
