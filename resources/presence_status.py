"""`salesforce:PresenceStatus`: one Omni-Channel presence status of the spec."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from presence_sync.spec.models import PresenceStatus as PresenceStatusSpec
from providers.presence_status import PresenceStatusProvider


class PresenceStatus(Resource, module="salesforce", name="PresenceStatus"):
    # Outputs are attributes named as in the state (camelCase); these read them in Python's style.
    @property
    def status_id(self) -> pulumi.Output[str]:
        return self.statusId  # type: ignore[attr-defined]

    def __init__(
        self,
        status: PresenceStatusSpec,
        opts: pulumi.ResourceOptions | None = None,
        *,
        location: str | None = None,
        channels: Sequence[pulumi.Input[str]] | None = None,
    ) -> None:
        """``channels``: the status's channels when some come from resources of the stack (their developer-name
        outputs: the status then waits for them, and its check skips channels not created yet)."""
        props: dict[str, Any] = {
            "developerName": status.name,
            "label": status.label,
            # the provider's check normalises (sorts) them
            "channels": list(status.channels if channels is None else channels),
            "adopt": status.adopt,
            "replaces": status.replaces,  # a status whose grants this one takes over when created
            "providerVersion": PresenceStatusProvider.version,
            "specLocation": location,  # for messages only (never compared)
            "statusId": None,  # output: the record Id
        }
        super().__init__(PresenceStatusProvider(), f"status-{status.name}", props, opts)
