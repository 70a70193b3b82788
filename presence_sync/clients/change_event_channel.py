"""Custom change event channels (``/data/<Name>__chn``): the only code that reads or writes them in the org.

A channel is two Metadata API components: ``PlatformEventChannel`` ``<Name>__chn`` (channelType ``data``, label)
and one ``PlatformEventChannelMember`` per entity on it (eventChannel, selectedEntity); the runtime's stream needs
the member selecting ``UserServicePresenceChangeEvent``. Salesforce supports neither ``createMetadata()`` nor
``deleteMetadata()`` for them (docs/apis.md): both are written by a file-based deploy of the two components
(which creates or updates them) and removed by a deploy of ``destructiveChanges.xml`` naming the channel (its
members go with it), through the session's ``deploy_zip``; read with ``readMetadata``.
"""

from __future__ import annotations

import io
import zipfile
from xml.etree.ElementTree import Element, SubElement, tostring

from pydantic import BaseModel, ConfigDict

from presence_sync.clients.salesforce_deploy import deploy_zip
from presence_sync.clients.salesforce_session import Connection, SalesforceSession

__all__ = ["ChangeEventChannelProxy", "ChangeEventChannelRecord", "member_name"]

_CHANNEL, _MEMBER = "PlatformEventChannel", "PlatformEventChannelMember"
_NS = "http://soap.sforce.com/2006/04/metadata"
API_VERSION = "62.0"  # UserServicePresenceChangeEvent exists from 62.0
_HINT = "Check that the deploying user has Customize Application and that the org has Change Data Capture."


class ChangeEventChannelRecord(BaseModel):
    """A channel as the org holds it; ``selected_entity`` is None when no member selects an entity on it."""

    model_config = ConfigDict(frozen=True)

    name: str  # fullName, with __chn
    label: str
    channel_type: str
    member: str | None = None
    selected_entity: str | None = None


def member_name(channel: str, entity: str) -> str:
    """A member's fullName as Salesforce forms it: ``<channel>_<entity>`` with the channel's ``__`` as ``_``."""
    return f"{channel.replace('__', '_')}_{entity}"


class ChangeEventChannelProxy:
    def __init__(self, session: SalesforceSession, *, timeout: float = 120, poll_interval: float = 0.5) -> None:
        self.session = session
        self.timeout = timeout
        self.poll_interval = poll_interval

    def get(self, name: str) -> ChangeEventChannelRecord | None:
        """The channel and its member selecting an entity (readMetadata of both); None when there is no channel."""

        def run(conn: Connection) -> ChangeEventChannelRecord | None:
            channel = self.session.metadata_read(conn, _CHANNEL, name)
            if channel is None:
                return None
            return ChangeEventChannelRecord(
                name=name, label=str(channel.label or ""), channel_type=str(channel.channelType or "")
            )

        return self.session.run("get_change_event_channel", f"{_CHANNEL} {name!r}", run)

    def get_with_member(self, name: str, entity: str) -> ChangeEventChannelRecord | None:
        record = self.get(name)
        if record is None:
            return None
        member = member_name(name, entity)

        def run(conn: Connection) -> ChangeEventChannelRecord:
            found = self.session.metadata_read(conn, _MEMBER, member)
            if found is None or found.eventChannel != name:
                return record
            return record.model_copy(update={"member": member, "selected_entity": str(found.selectedEntity)})

        return self.session.run("get_change_event_channel_member", f"{_MEMBER} {member!r}", run)

    def save(self, name: str, label: str, entity: str) -> ChangeEventChannelRecord:
        """Deploy the channel and its member (created, or updated in place), then read both back."""
        member = member_name(name, entity)
        channel_xml = _component(_CHANNEL, channelType="data", label=label)
        member_xml = _component(_MEMBER, eventChannel=name, selectedEntity=entity)
        files = {
            "package.xml": _manifest({_CHANNEL: name, _MEMBER: member}),
            f"platformEventChannels/{name}.platformEventChannel": channel_xml,
            f"platformEventChannelMembers/{member}.platformEventChannelMember": member_xml,
        }
        self._deploy(files, "save_change_event_channel")
        about = f"{_CHANNEL} {name!r}"
        return self.session.read_back("save_change_event_channel", about, lambda: self.get_with_member(name, entity))

    def delete(self, name: str) -> None:
        """Remove the channel (and so its members) by a destructive deploy; already gone is success (a warning
        that ignoreWarnings lets pass)."""
        files = {"package.xml": _manifest({}), "destructiveChanges.xml": _manifest({_CHANNEL: name})}
        self._deploy(files, "delete_change_event_channel", ignoreWarnings=True)

    def _deploy(self, files: dict[str, bytes], operation: str, **options: bool) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for file_name, content in files.items():
                archive.writestr(file_name, content)
        deploy_zip(
            self.session,
            buffer.getvalue(),
            operation,
            timeout=self.timeout,
            poll_interval=self.poll_interval,
            hint=_HINT,
            **options,
        )


def _component(type_name: str, **fields: str) -> bytes:
    root = Element(type_name, xmlns=_NS)
    for field, value in fields.items():
        SubElement(root, field).text = value
    return tostring(root, encoding="utf-8", xml_declaration=True)


def _manifest(members: dict[str, str]) -> bytes:
    root = Element("Package", xmlns=_NS)
    for type_name, member in members.items():
        types = SubElement(root, "types")
        SubElement(types, "members").text = member
        SubElement(types, "name").text = type_name
    SubElement(root, "version").text = API_VERSION
    return tostring(root, encoding="utf-8", xml_declaration=True)
