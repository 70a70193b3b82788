"""A custom change event channel (``/data/<Name>__chn``) the stack creates for the runtime's change stream.

It is not a list of its own in the spec: ``runtime.salesforceChanges.topic`` names it. The runtime subscribes to
that topic, so the topic is the one place an admin says which channel; naming a custom channel there is what
makes ``pulumi up`` create it (a ``PlatformEventChannel`` of type ``data`` and the ``PlatformEventChannelMember``
selecting ``UserServicePresenceChangeEvent``), before the runtime, and ``destroy`` remove it after the runtime.
``adoptChannel`` takes over a channel of that name made by hand (and leaves it in the org on destroy). The same
name in every layer: the org's calls are in ``presence_sync/clients/change_event_channel.py``, the provider in
``providers/``, the resource in ``resources/``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from .base import Issue, SpecModel, StrictBool
from .text import shown as _q

__all__ = ["CUSTOM_CHANNEL_TOPIC", "SELECTED_ENTITY", "ChangeEventChannel", "check_topic"]

SELECTED_ENTITY: Literal["UserServicePresenceChangeEvent"] = "UserServicePresenceChangeEvent"
# A channel's developer name: letters, digits, single underscores, starting with a letter, not ending with one.
CUSTOM_CHANNEL_TOPIC = r"^/data/([A-Za-z](?:_?[A-Za-z0-9])*)__chn$"


class ChangeEventChannel(SpecModel):
    """The channel a custom topic names: what the stack deploys for it."""

    name: str = Field(description="The channel's fullName, <Name>__chn.")
    label: str = Field(description="The channel's label (its developer name).")
    selected_entity: Literal["UserServicePresenceChangeEvent"] = SELECTED_ENTITY
    adopt: StrictBool = False

    @property
    def topic(self) -> str:
        return f"/data/{self.name}"

    @classmethod
    def for_topic(cls, topic: str, *, adopt: bool = False) -> ChangeEventChannel | None:
        """The custom channel ``topic`` names; None for the standard channel."""
        match = re.match(CUSTOM_CHANNEL_TOPIC, topic)
        if match is None:
            return None
        return cls(name=f"{match.group(1)}__chn", label=match.group(1), adopt=adopt)


def check_topic(topic: str) -> list[Issue]:
    """The topic is the standard channel, or a custom one whose name Salesforce accepts (a developer name)."""
    if topic == f"/data/{SELECTED_ENTITY}" or re.match(CUSTOM_CHANNEL_TOPIC, topic):
        return []
    custom = topic.startswith("/data/") and topic.endswith("__chn")
    return [
        Issue(
            ("runtime", "salesforceChanges", "topic"),
            f"topic {_q(topic)} "
            + (
                "names a custom channel whose name is not a developer name (letters, digits and single "
                "underscores, starting with a letter, not ending with an underscore)"
                if custom
                else "is neither the standard channel nor a custom channel /data/<Name>__chn"
            ),
            f"use /data/{SELECTED_ENTITY}, or e.g. /data/Presence_Sync__chn for a channel the stack creates",
        )
    ]
