"""File-based Metadata types that only ``deploy`` writes: Apex classes, Aura and Lightning web component bundles
(the CRUD calls can read, list and delete them; see ``metadata_deploy``)."""

from __future__ import annotations

from .metadata_base import Listing, MetadataError, StoredHandler
from .metadata_xml import Raw
from .org import Org

__all__ = ["APEX_CLASS", "AURA_BUNDLE", "BUNDLE_HANDLERS", "LWC_BUNDLE", "BundleHandler"]


class BundleHandler(StoredHandler):
    """A file-based type that only ``deploy`` writes (the CRUD calls can read, list and delete it)."""

    file_suffix = ""

    def __init__(self, type_name: str, directory: str, suffix: str, key_prefix: str, file_suffix: str) -> None:
        self.type_name = type_name
        self.directory = directory
        self.suffix = suffix
        self.key_prefix = key_prefix
        self.file_suffix = file_suffix

    def create(self, org: Org, raw: Raw, user_id: str) -> None:
        raise MetadataError(
            "INVALID_OPERATION",
            f"The sandbox writes {self.type_name} only by deploy(): send it in a zip with package.xml",
        )

    def update(self, org: Org, raw: Raw, user_id: str) -> None:
        self.create(org, raw, user_id)

    def listing(self, org: Org) -> list[Listing]:
        return [
            Listing(s["fullName"][0], s["_id"], s["_created"], s["_createdBy"], s["_modified"], s["_modifiedBy"])
            for s in org.store.metadata_all(self.type_name)
        ]


APEX_CLASS = BundleHandler("ApexClass", "classes", "cls", "01p", ".cls")
AURA_BUNDLE = BundleHandler("AuraDefinitionBundle", "aura", "", "0Ab", "")
LWC_BUNDLE = BundleHandler("LightningComponentBundle", "lwc", "", "0Rb", "")
BUNDLE_HANDLERS = (APEX_CLASS, AURA_BUNDLE, LWC_BUNDLE)
