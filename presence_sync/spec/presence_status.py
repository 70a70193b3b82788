"""A presence status in the spec (``salesforce.statuses[]``): its model, its checks, and how a live status
becomes a spec entry (``presence-sync export``). The same name in every layer: the org's calls are in
``presence_sync/clients/presence_status.py``, the provider in ``providers/``, the resource in ``resources/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from .acd import PREVIOUS
from .base import Issue, Path, SpecModel, StrictBool, blank, duplicates, name_issues
from .names import DEVELOPER_NAME_PATTERN, LABEL_MAX, STATUS_NAME_MAX, derive_developer_name
from .text import shown as _q

if TYPE_CHECKING:
    from presence_sync.clients.salesforce_models import PresenceStatusRecord

__all__ = ["PresenceStatus", "check_channels", "check_statuses", "exported_status"]


class PresenceStatus(SpecModel):
    """An Omni-Channel presence status this spec manages (Setup > Presence Statuses)."""

    label: str = Field(description="Status Name shown to agents.", json_schema_extra={"maxLength": LABEL_MAX})
    developer_name: str | None = Field(
        default=None,
        description="DeveloperName. Default: derived from the label the way Setup does (spaces -> _).",
        json_schema_extra={"pattern": DEVELOPER_NAME_PATTERN, "maxLength": STATUS_NAME_MAX},
    )
    kind: Literal["online", "busy"] = Field(
        description="online: agents can receive work on `channels`; busy: no channels (Salesforce marks it Away)."
    )
    channels: tuple[str, ...] = Field(default=(), description="ServiceChannel developer names, e.g. sfdc_livemessage.")
    adopt: StrictBool = Field(default=False, description="Take over a status that already exists instead of failing.")
    replaces: str | None = Field(
        default=None,
        description="The developer name of the status this one takes the place of (a rename: Salesforce cannot "
        "rename a status). `up` grants this one to every profile the old one is granted to, before the old one "
        "is deleted.",
        json_schema_extra={"pattern": DEVELOPER_NAME_PATTERN, "maxLength": STATUS_NAME_MAX},
    )

    @property
    def name(self) -> str:
        """The DeveloperName: as given, or derived from the label."""
        if self.developer_name is not None:
            return self.developer_name
        return derive_developer_name(self.label, STATUS_NAME_MAX)


def check_statuses(statuses: Sequence[PresenceStatus]) -> list[Issue]:
    """salesforce.statuses: labels, developer names (given or derived; unique ignoring case), channels."""
    issues: list[Issue] = []
    first_seen: dict[str, int] = {}
    for i, status in enumerate(statuses):
        at: Path = ("salesforce", "statuses", i)
        name_at: Path = (*at, "developerName") if status.developer_name is not None else (*at, "label")
        if blank(status.label):
            issues.append(Issue((*at, "label"), "label is empty", "give the Status Name agents see"))
        elif len(status.label) > LABEL_MAX:
            issues.append(
                Issue((*at, "label"), f"label is {len(status.label)} characters long; the limit is {LABEL_MAX}")
            )
        name = status.name
        if status.developer_name is not None:
            issues += name_issues(name_at, name, STATUS_NAME_MAX, "developer name")
        elif not name and not blank(status.label):
            issues.append(
                Issue(
                    name_at,
                    f"no developer name can be derived from label {_q(status.label)}: it has no letters or digits",
                    "set developerName explicitly",
                )
            )
        if name.casefold() == PREVIOUS:
            issues.append(
                Issue(
                    name_at,
                    "developer name 'previous' is reserved for the rule target 'previous state'",
                    "choose another developer name",
                )
            )
        if name and name.casefold() in first_seen:
            other = first_seen[name.casefold()]
            derived = "" if status.developer_name is not None else f" (derived from label {_q(status.label)})"
            issues.append(
                Issue(
                    name_at,
                    f"duplicate developer name {_q(name)}{derived}: salesforce.statuses[{other}] has it too",
                    "developer names are unique in the org, ignoring case; rename one or set developerName",
                )
            )
        elif name:
            first_seen[name.casefold()] = i
        issues += check_channels(at, status.kind, status.channels)
        if status.replaces is not None and status.replaces.casefold() == name.casefold():
            issues.append(
                Issue((*at, "replaces"), f"a status cannot replace itself ({_q(name)})", "name the old developer name")
            )
    return issues


def check_channels(at: Path, kind: str, channels: Sequence[str]) -> list[Issue]:
    if kind == "busy" and channels:
        return [
            Issue(
                (*at, "channels", 0),
                "a busy status has no channels (Salesforce makes a status without channels the busy kind)",
                "remove the channels, or make it kind: online",
            )
        ]
    if kind == "online" and not channels:
        return [
            Issue(
                (*at, "channels"),
                "an online status needs at least one service channel",
                "e.g. channels: [sfdc_livemessage]; or make it kind: busy",
            )
        ]
    issues: list[Issue] = []
    for k, channel in enumerate(channels):
        issues += name_issues((*at, "channels", k), channel, STATUS_NAME_MAX, "channel", namespace=True)
    for k, first in duplicates(channels):
        issues.append(
            Issue((*at, "channels", k), f"channel {_q(channels[k])} is listed twice (also channels[{first}])")
        )
    return issues


def exported_status(record: PresenceStatusRecord) -> dict[str, Any]:
    """The live status as a spec entry that adopts it (``presence-sync export``)."""
    channels = sorted(record.channels)
    entry: dict[str, Any] = {
        "adopt": True,
        "developerName": record.developer_name,
        "label": record.label,
        "kind": "online" if channels else "busy",
    }
    if channels:
        entry["channels"] = channels
    return entry
