"""`salesforce:ProfilePresenceAccess`: the statuses one profile may use."""

from __future__ import annotations

import re
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from presence_sync.spec.models import ProfileAccess
from providers.profile_presence_access import ProfilePresenceAccessProvider


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


class ProfilePresenceAccess(Resource, module="salesforce", name="ProfilePresenceAccess"):
    @property
    def permission_set_id(self) -> pulumi.Output[str]:
        return self.permissionSetId  # type: ignore[attr-defined]

    def __init__(
        self, access: ProfileAccess, opts: pulumi.ResourceOptions | None = None, *, location: str | None = None
    ) -> None:
        props: dict[str, Any] = {
            "profile": access.profile,
            "statuses": list(access.statuses),  # the provider's check normalises (sorts, de-duplicates) them
            "providerVersion": ProfilePresenceAccessProvider.version,
            "specLocation": location,  # for messages only (never compared)
            "profileId": None,
            "permissionSetId": None,
            "grantIds": None,
        }
        super().__init__(ProfilePresenceAccessProvider(), f"profile-access-{slug(access.profile)}", props, opts)
