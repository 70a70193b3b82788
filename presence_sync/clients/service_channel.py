"""Service channels (ServiceChannel): the only code that reads them in the org. Presence statuses name them
(``channels``); the spec checks those names against this list."""

from __future__ import annotations

from presence_sync.clients.salesforce_models import ServiceChannelRecord, channel_from_record
from presence_sync.clients.salesforce_session import Connection, SalesforceSession

__all__ = ["ServiceChannelProxy"]

_LIST_SOQL = "SELECT Id, DeveloperName, MasterLabel, RelatedEntity FROM ServiceChannel ORDER BY DeveloperName"


class ServiceChannelProxy:
    def __init__(self, session: SalesforceSession) -> None:
        self.session = session

    def list_all(self) -> list[ServiceChannelRecord]:
        def run(conn: Connection) -> list[ServiceChannelRecord]:
            return [channel_from_record(row) for row in self.session.query_all(conn, _LIST_SOQL)]

        return self.session.run("list_service_channels", "ServiceChannel", run)

    def cached_all(self) -> list[ServiceChannelRecord]:
        return self.session.cached("channels", self.list_all)
