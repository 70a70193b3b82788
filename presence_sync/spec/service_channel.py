"""A service channel in the spec (``salesforce.serviceChannels[]``): the Omni-Channel channel of one kind of work
(cases, leads, messaging sessions). A status's ``channels`` refer to channels by developer name: the org's own
(``Case``, ``sfdc_livemessage``...) or one listed here, which the stack creates. Salesforce keeps one channel per
object (``relatedEntity``). The same name in every layer: the org's calls are in
``presence_sync/clients/service_channel.py``, the provider in ``providers/``, the resource in ``resources/``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import Field

from .base import Issue, Path, SpecModel, StrictBool, blank, duplicates, name_issues
from .names import DEVELOPER_NAME_PATTERN, LABEL_MAX, STATUS_NAME_MAX
from .text import shown as _q

__all__ = ["ServiceChannel"]

_OBJECT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*(__c)?$")


class ServiceChannel(SpecModel):
    """An Omni-Channel service channel this spec manages (Setup > Service Channels)."""

    developer_name: str = Field(
        description="DeveloperName (the Metadata API's fullName).",
        json_schema_extra={"pattern": DEVELOPER_NAME_PATTERN, "maxLength": STATUS_NAME_MAX},
    )
    label: str = Field(description="Service Channel Name shown in Setup.", json_schema_extra={"maxLength": LABEL_MAX})
    related_entity: str = Field(
        description="API name of the object whose work items the channel routes, e.g. Lead or Incident__c "
        "(one channel per object)."
    )
    adopt: StrictBool = Field(default=False, description="Take over a channel that already exists instead of failing.")

    @classmethod
    def check_entries(cls, channels: Sequence[ServiceChannel]) -> list[Issue]:
        """salesforce.serviceChannels: names, labels, objects; one entry per developer name and per object."""
        issues: list[Issue] = []
        for i, channel in enumerate(channels):
            at: Path = ("salesforce", "serviceChannels", i)
            issues += name_issues((*at, "developerName"), channel.developer_name, STATUS_NAME_MAX, "developer name")
            if blank(channel.label):
                issues.append(Issue((*at, "label"), "label is empty", "give the Service Channel Name Setup shows"))
            elif len(channel.label) > LABEL_MAX:
                issues.append(Issue((*at, "label"), f"label is longer than {LABEL_MAX} characters"))
            if not _OBJECT_NAME.match(channel.related_entity):
                issues.append(
                    Issue(
                        (*at, "relatedEntity"),
                        f"relatedEntity {_q(channel.related_entity)} is not an object's API name",
                        "e.g. Lead, or a custom object such as Incident__c",
                    )
                )
        for field, what in (("developer_name", "developer name"), ("related_entity", "object")):
            values = [getattr(channel, field) for channel in channels]
            for i, first in duplicates(values):
                issues.append(
                    Issue(
                        ("salesforce", "serviceChannels", i, "relatedEntity" if what == "object" else "developerName"),
                        f"{what} {_q(values[i])} has a second channel (also serviceChannels[{first}])",
                        "Salesforce keeps one channel per object and per developer name; remove one",
                    )
                )
        return issues
