"""The Metadata API component types the emulator supports, by type name. Each handler has
create/read/update/delete/list; see metadata_presence, metadata_apps, metadata_objects, metadata_channels (custom
change event channels and their members, written only by ``deploy``) and metadata_deploy (ApexClass and the
Lightning bundles, written only by ``deploy``)."""

from __future__ import annotations

from .metadata_apps import ECA_OAUTH, GLOBAL_OAUTH, ConnectedAppHandler, ExternalClientAppHandler
from .metadata_base import Handler, MetadataError, one
from .metadata_bundles import BUNDLE_HANDLERS
from .metadata_channels import CHANNEL_HANDLERS
from .metadata_objects import CustomObjectHandler
from .metadata_presence import PresenceStatusHandler, ServiceChannelHandler

__all__ = ["HANDLERS", "Handler", "MetadataError", "one"]

HANDLERS: dict[str, Handler] = {
    h.type_name: h
    for h in (
        PresenceStatusHandler(),
        ServiceChannelHandler(),
        ConnectedAppHandler(),
        ExternalClientAppHandler(),
        GLOBAL_OAUTH,
        ECA_OAUTH,
        CustomObjectHandler(),
        *BUNDLE_HANDLERS,
        *CHANNEL_HANDLERS.values(),
    )
}
