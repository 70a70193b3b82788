"""Presence statuses (ServicePresenceStatus): the only code that reads or writes them in the org.

Written through the Metadata API (a status is a metadata component whose fullName is its developer name;
its ``channels`` element lists ServiceChannel developer names, none for a Busy status), read through SOQL
(two queries however many statuses: the statuses, then their ServiceChannelStatus links).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from simple_salesforce import format_soql

from presence_sync.clients.salesforce_models import PresenceStatusRecord, statuses_from_records
from presence_sync.clients.salesforce_session import Connection, SalesforceSession
from presence_sync.clients.service_channel import ServiceChannelProxy

__all__ = ["PresenceStatusProxy"]

_STATUS_SOQL = "SELECT Id, DeveloperName, MasterLabel FROM ServicePresenceStatus"
_CHANNEL_LINK_SOQL = "SELECT ServicePresenceStatusId, ServiceChannel.DeveloperName FROM ServiceChannelStatus"
_TYPE = "ServicePresenceStatus"


class PresenceStatusProxy:
    def __init__(self, session: SalesforceSession) -> None:
        self.session = session

    def list_all(self) -> list[PresenceStatusRecord]:
        """All presence statuses with their channels."""

        def run(conn: Connection) -> list[PresenceStatusRecord]:
            statuses = self.session.query_all(conn, f"{_STATUS_SOQL} ORDER BY DeveloperName")
            links = self.session.query_all(conn, _CHANNEL_LINK_SOQL)
            return statuses_from_records(statuses, links)

        return self.session.run("list_presence_statuses", _TYPE, run)

    def cached_all(self) -> list[PresenceStatusRecord]:
        """``list``, once per process until a write (one list read serves every status of a run)."""
        return self.session.cached("statuses", self.list_all)

    def cached_get(self, developer_name: str) -> PresenceStatusRecord | None:
        return next((s for s in self.cached_all() if s.developer_name == developer_name), None)

    def channel_names(self) -> set[str]:
        """The org's service channels (developer names), which a status's ``channels`` must name."""
        return {channel.developer_name for channel in ServiceChannelProxy(self.session).cached_all()}

    def get(self, developer_name: str) -> PresenceStatusRecord | None:
        def run(conn: Connection) -> PresenceStatusRecord | None:
            rows = self.session.query_all(
                conn, format_soql(f"{_STATUS_SOQL} WHERE DeveloperName = {{}}", developer_name)
            )
            if not rows:
                return None
            links = self.session.query_all(
                conn, format_soql(f"{_CHANNEL_LINK_SOQL} WHERE ServicePresenceStatusId = {{}}", rows[0]["Id"])
            )
            return statuses_from_records(rows[:1], links)[0]

        return self.session.run("get_presence_status", _about(developer_name), run)

    def create(self, developer_name: str, label: str, channels: Iterable[str] = ()) -> PresenceStatusRecord:
        """Create by Metadata API, then read back by SOQL (the record reflects what Salesforce stored)."""
        return self._save("createMetadata", "create_presence_status", developer_name, label, channels)

    def update(self, developer_name: str, label: str, channels: Iterable[str] = ()) -> PresenceStatusRecord:
        """Replace label and channels (updateMetadata replaces the whole component), then read back."""
        return self._save("updateMetadata", "update_presence_status", developer_name, label, channels)

    def delete(self, developer_name: str) -> None:
        """Delete by Metadata API. Already gone is success."""

        def run(conn: Connection) -> None:
            self.session.metadata_delete(_TYPE, developer_name, conn)

        self.session.write("delete_presence_status", _about(developer_name), run)

    def read_metadata(self, developer_name: str) -> tuple[str, list[str]] | None:
        """(label, channels) as the Metadata API reports them; None if there is no such status."""

        def run(conn: Connection) -> tuple[str, list[str]] | None:
            record = self.session.metadata_read(conn, _TYPE, developer_name)
            if record is None:
                return None
            channels = list(getattr(record.channels, "channel", None) or []) if record.channels else []
            return str(record.label), sorted(channels)

        return self.session.run("read_presence_status_metadata", _about(developer_name), run)

    def _save(
        self, call: str, operation: str, developer_name: str, label: str, channels: Iterable[str]
    ) -> PresenceStatusRecord:
        component: dict[str, Any] = {"fullName": developer_name, "label": label}
        channel_list = sorted(set(channels))

        def run(conn: Connection) -> None:
            if channel_list:  # no <channels> element at all = a Busy status
                component["channels"] = self.session.metadata_type(conn, "ServiceChannelStatus", channel=channel_list)
            self.session.metadata_save(call, _TYPE, component, conn)

        about = _about(developer_name)
        self.session.write(operation, about, run)
        return self.session.read_back(operation, about, lambda: self.get(developer_name))


def _about(developer_name: str) -> str:
    return f"{_TYPE} {developer_name!r}"
