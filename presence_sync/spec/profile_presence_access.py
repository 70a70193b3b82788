"""A profile's presence status access in the spec (``salesforce.profileAccess[]``): its model, its checks, and how
the org's grants become spec entries. The same name in every layer: the org's calls are in
``presence_sync/clients/profile_presence_access.py``, the provider in ``providers/``, the resource in
``resources/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field

from .base import Issue, Path, SpecModel, StatusNames, blank, duplicates, unknown_status
from .text import shown as _q

if TYPE_CHECKING:
    from presence_sync.clients.salesforce_models import Grant, Profile

__all__ = ["ProfileAccess", "check_profile_access", "exported_profile_access"]


class ProfileAccess(SpecModel):
    """Profile > Enabled Service Presence Status Access."""

    profile: str = Field(description="Profile name, e.g. 'Custom Support Profile'.")
    statuses: tuple[str, ...] = Field(description="Developer names of statuses to grant.")


def check_profile_access(entries: Sequence[ProfileAccess], statuses: StatusNames) -> list[Issue]:
    """salesforce.profileAccess: a profile once, statuses the spec defines or lists as existing, no repeats."""
    issues: list[Issue] = []
    profiles = [grant.profile for grant in entries]
    for i, grant in enumerate(entries):
        at: Path = ("salesforce", "profileAccess", i)
        if blank(grant.profile):
            issues.append(Issue((*at, "profile"), "profile name is empty", "e.g. profile: Custom Support Profile"))
        if not grant.statuses:
            issues.append(Issue((*at, "statuses"), "grants no status", "list developer names, or remove the entry"))
        for k, name in enumerate(grant.statuses):
            issues += unknown_status((*at, "statuses", k), name, statuses, "status")
        for k, first in duplicates(grant.statuses, fold=False):
            issues.append(
                Issue((*at, "statuses", k), f"status {_q(grant.statuses[k])} is granted twice (also statuses[{first}])")
            )
    for i, first in duplicates(profiles):
        issues.append(
            Issue(
                ("salesforce", "profileAccess", i, "profile"),
                f"profile {_q(profiles[i])} has a second entry (also profileAccess[{first}])",
                "merge the two entries' statuses into one",
            )
        )
    return issues


def exported_profile_access(
    profiles: Sequence[Profile], grants: Sequence[Grant], exported: Mapping[str, str]
) -> list[dict[str, Any]]:
    """For each profile, its grants of the exported statuses (``exported``: status id -> developer name), as
    spec entries; grants of other statuses are neither exported nor touched (the provider leaves them alone)."""
    entries = []
    for profile in sorted(profiles, key=lambda p: p.name):
        granted = sorted(
            exported[g.status_id]
            for g in grants
            if g.permission_set_id == profile.permission_set_id and g.status_id in exported
        )
        if granted:
            entries.append({"profile": profile.name, "statuses": granted})
    return entries
