"""Service channels (ServiceChannel): the only code that reads or writes them in the org. Presence statuses name
them (``channels``); a spec may also manage its own (``salesforce.serviceChannels``).

Read through SOQL (``ServiceChannel``: DeveloperName, MasterLabel, RelatedEntity), written through the Metadata
API (the ``ServiceChannel`` component: fullName, label, relatedEntityType), as presence statuses are.
"""

from __future__ import annotations

from functools import partial

from simple_salesforce import format_soql

from presence_sync.clients.salesforce_models import ServiceChannelRecord, channel_from_record
from presence_sync.clients.salesforce_session import Connection, SalesforceSession

_TYPE = "ServiceChannel"

__all__ = ["ServiceChannelProxy"]

_FIELDS = "SELECT Id, DeveloperName, MasterLabel, RelatedEntity FROM ServiceChannel"
_LIST_SOQL = f"{_FIELDS} ORDER BY DeveloperName"
_GET_SOQL = _FIELDS + " WHERE DeveloperName = {}"


class ServiceChannelProxy:
    def __init__(self, session: SalesforceSession) -> None:
        self.session = session

    def list_all(self) -> list[ServiceChannelRecord]:
        def run(conn: Connection) -> list[ServiceChannelRecord]:
            return [channel_from_record(row) for row in self.session.query_all(conn, _LIST_SOQL)]

        return self.session.run("list_service_channels", "ServiceChannel", run)

    def cached_all(self) -> list[ServiceChannelRecord]:
        return self.session.cached("channels", self.list_all)

    def cached_get(self, developer_name: str) -> ServiceChannelRecord | None:
        return next((c for c in self.cached_all() if c.developer_name == developer_name), None)

    def create(self, developer_name: str, label: str, related_entity: str) -> ServiceChannelRecord:
        """Create by Metadata API, then read back by SOQL."""
        return self._save("createMetadata", "create_service_channel", developer_name, label, related_entity)

    def update(self, developer_name: str, label: str, related_entity: str) -> ServiceChannelRecord:
        """Replace label and object (updateMetadata replaces the whole component), then read back."""
        return self._save("updateMetadata", "update_service_channel", developer_name, label, related_entity)

    def delete(self, developer_name: str) -> None:
        """Delete by Metadata API. Already gone is success."""

        def run(conn: Connection) -> None:
            self.session.metadata_delete(_TYPE, developer_name, conn)

        self.session.write("delete_service_channel", f"{_TYPE} {developer_name!r}", run)

    def _save(
        self, call: str, operation: str, developer_name: str, label: str, related_entity: str
    ) -> ServiceChannelRecord:
        component = {"fullName": developer_name, "label": label, "relatedEntityType": related_entity}
        about = f"{_TYPE} {developer_name!r}"
        self.session.write(operation, about, partial(self.session.metadata_save, call, _TYPE, component))
        return self.session.read_back(operation, about, lambda: self._get(developer_name))

    def _get(self, developer_name: str) -> ServiceChannelRecord | None:
        def run(conn: Connection) -> ServiceChannelRecord | None:
            rows = self.session.query_all(conn, format_soql(_GET_SOQL, developer_name))
            return channel_from_record(rows[0]) if rows else None

        return self.session.run("get_service_channel", f"{_TYPE} {developer_name!r}", run)
