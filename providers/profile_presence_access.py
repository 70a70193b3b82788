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

from presence_sync.clients.profile_presence_access import ProfileAccessProxy
from presence_sync.clients.salesforce_models import Profile
from providers import context
from providers.base import CheckContext, ProviderError, ProviderInputs, SpecProvider, Written


class ProfilePresenceAccessInputs(ProviderInputs):
    profile: str
    statuses: list[str]

    @field_validator("statuses")
    @classmethod
    def _sorted(cls, statuses: list[str]) -> list[str]:
        return sorted(set(statuses))


class ProfilePresenceAccessProvider(SpecProvider[ProfilePresenceAccessInputs, ProfileAccessProxy]):
    kind = "Salesforce profile presence access"
    vendor = "org"
    version = "1"
    inputs_model = ProfilePresenceAccessInputs
    replace_on = ("profile",)

    def make_proxy(self) -> ProfileAccessProxy:
        return ProfileAccessProxy(context.salesforce())

    def find_profile(self, name: str) -> Profile:
        profiles = self.proxy.cached_profiles()
        for profile in profiles:
            if profile.name == name:
                return profile
        known = ", ".join(sorted(p.name for p in profiles)) or "none"
        raise ProviderError(f"Salesforce profile {name!r} does not exist. Profiles in the org: {known}")

    def granted(self, permission_set_id: str) -> dict[str, str]:
        """Status id -> grant id for the permission set, from one cached list of all status grants."""
        return {g.status_id: g.id for g in self.proxy.cached_grants() if g.permission_set_id == permission_set_id}

    def describe(self, inputs: ProfilePresenceAccessInputs) -> str:
        return f"{self.kind} for profile {inputs.profile!r}"

    def plan_checks(self, inputs: ProfilePresenceAccessInputs, found: CheckContext) -> list[CheckFailure]:
        # The statuses may be created in this very run: they are resolved when granting, not here.
        if "profile" in found.unknown:
            return []
        try:
            self.find_profile(inputs.profile)
        except ProviderError as error:
            return [CheckFailure("", f"{self.describe(inputs)}: profile: {error}")]
        return []

    def find_existing(self, inputs: ProfilePresenceAccessInputs) -> tuple[str, dict[str, Any]] | None:
        return None  # grants are facts, not named objects: rows that already exist are simply kept

    def create_object(self, inputs: ProfilePresenceAccessInputs) -> Written:
        profile = self.find_profile(inputs.profile)
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
        profiles = {p.permission_set_id: p for p in self.proxy.cached_profiles()}
        if id_ not in profiles:
            return None
        grants = self.granted(id_)
        id_by_name = self.proxy.cached_status_ids()
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

    def _apply(self, permission_set_id: str, *, add: list[str], remove: list[str]) -> None:
        current = self.granted(permission_set_id)
        known = self.proxy.cached_status_ids()
        missing = [name for name in add if name not in known]
        if missing:
            raise ProviderError(
                f"Salesforce presence status(es) {', '.join(missing)} do not exist in the org. "
                f"Statuses there: {', '.join(sorted(known)) or 'none'}"
            )
        for name in add:
            if known[name] not in current:
                self.proxy.grant_status(permission_set_id, known[name])
        for name in remove:
            grant_id = current.get(known.get(name, ""))
            if grant_id:
                self.proxy.revoke_grant(grant_id)
