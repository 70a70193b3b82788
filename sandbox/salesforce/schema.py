"""The sObjects the emulator knows: fields, key prefixes and the calls each object supports.

Supported calls follow the object reference (see sandbox/README.md, SOURCES). Platform events
(``X__e``) are added at run time when their CustomObject metadata is deployed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["CREATED_FIELDS", "STANDARD_OBJECTS", "STRING_TYPES", "FieldDef", "ObjectDef"]

STRING_TYPES = frozenset({"string", "picklist", "email", "textarea", "phone", "url"})


@dataclasses.dataclass(frozen=True)
class FieldDef:
    name: str
    type: str  # id | string | picklist | email | textarea | boolean | int | double | datetime | reference
    label: str = ""
    createable: bool = False
    updateable: bool = False
    nillable: bool = True
    defaulted: bool = False
    length: int = 0
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    picklist: tuple[str, ...] = ()

    @property
    def required_on_create(self) -> bool:
        return self.createable and not self.nillable and not self.defaulted

    def describe(self) -> dict[str, Any]:
        soap_types = {
            "id": "tns:ID",
            "reference": "tns:ID",
            "boolean": "xsd:boolean",
            "int": "xsd:int",
            "double": "xsd:double",
            "datetime": "xsd:dateTime",
        }
        return {
            "name": self.name,
            "label": self.label or self.name,
            "type": self.type,
            "soapType": soap_types.get(self.type, "xsd:string"),
            "length": self.length,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "defaultedOnCreate": self.defaulted,
            "filterable": True,
            "sortable": self.type != "textarea",
            "groupable": self.type not in ("double", "datetime", "textarea"),
            "custom": self.name.endswith("__c"),
            "unique": False,
            "externalId": False,
            "idLookup": self.type == "id",
            "nameField": self.name == "Name",
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v} for v in self.picklist
            ],
        }


@dataclasses.dataclass(frozen=True)
class ObjectDef:
    name: str
    key_prefix: str
    label: str
    label_plural: str
    fields: tuple[FieldDef, ...]
    calls: frozenset[str]  # create, update, delete, query, retrieve
    is_event: bool = False

    def field(self, name: str) -> FieldDef | None:
        return self._by_lower().get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        lowered = name.lower()
        for f in self.fields:
            if f.relationship_name and f.relationship_name.lower() == lowered:
                return f
        return None

    def _by_lower(self) -> dict[str, FieldDef]:
        cache = self.__dict__.get("_lower")
        if cache is None:
            cache = {f.name.lower(): f for f in self.fields}
            object.__setattr__(self, "_lower", cache)
        return cache

    def url(self, version: str) -> dict[str, str]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}

    def describe_global(self, version: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label_plural,
            "keyPrefix": self.key_prefix,
            "custom": self.name.endswith(("__c", "__e")),
            "createable": "create" in self.calls,
            "updateable": "update" in self.calls,
            "deletable": "delete" in self.calls,
            "queryable": "query" in self.calls,
            "retrieveable": "retrieve" in self.calls,
            "searchable": False,
            "layoutable": False,
            "triggerable": not self.is_event,
            "replicateable": not self.is_event,
            "undeletable": False,
            "mergeable": False,
            "feedEnabled": False,
            "activateable": False,
            "deprecatedAndHidden": False,
            "customSetting": False,
            "urls": self.url(version),
        }

    def describe(self, version: str) -> dict[str, Any]:
        return {
            **self.describe_global(version),
            "fields": [f.describe() for f in self.fields],
            "childRelationships": [],
            "recordTypeInfos": [],
            "supportedScopes": [],
        }


def _by_user(name: str, label: str, relationship: str) -> FieldDef:
    """A system field naming the User who did something to the record (CreatedById, LastModifiedById)."""
    return FieldDef(
        name,
        "reference",
        label,
        nillable=False,
        defaulted=True,
        length=18,
        reference_to=("User",),
        relationship_name=relationship,
    )


# Who created a record and when: on every sObject, platform events included.
CREATED_FIELDS = (
    FieldDef("CreatedDate", "datetime", "Created Date", nillable=False, defaulted=True),
    _by_user("CreatedById", "Created By ID", "CreatedBy"),
)


def _system_fields() -> tuple[FieldDef, ...]:
    return (
        FieldDef("Id", "id", "Record ID", nillable=False, defaulted=True, length=18),
        FieldDef("IsDeleted", "boolean", "Deleted", nillable=False, defaulted=True),
        *CREATED_FIELDS,
        FieldDef("LastModifiedDate", "datetime", "Last Modified Date", nillable=False, defaulted=True),
        _by_user("LastModifiedById", "Last Modified By ID", "LastModifiedBy"),
        FieldDef("SystemModstamp", "datetime", "System Modstamp", nillable=False, defaulted=True),
    )


def _cu(
    name: str, type_: str, label: str, *, length: int = 0, nillable: bool = False, update: bool = True, **kwargs: Any
) -> FieldDef:
    """A createable field (updateable unless ``update=False``)."""
    return FieldDef(name, type_, label, createable=True, updateable=update, nillable=nillable, length=length, **kwargs)


def _ro(name: str, type_: str, label: str, **kwargs: Any) -> FieldDef:
    return FieldDef(name, type_, label, **kwargs)


LANGUAGES = ("en_US", "de", "es", "fr", "it", "ja", "pt_BR")
ENTITY_TYPES = (
    "ApexClass",
    "ApexPage",
    "ConnectedApplication",
    "CustomPermission",
    "ServiceProvider",
    "TabSet",
    "CustomEntityDefinition",
    "ServicePresenceStatus",
)

_OBJECTS = (
    ObjectDef(
        "ServicePresenceStatus",
        "0N5",
        "Presence Status",
        "Presence Statuses",
        (
            *_system_fields(),
            _cu("DeveloperName", "string", "Developer Name", length=80),
            _cu("MasterLabel", "string", "Label", length=80),
            _cu("Language", "picklist", "Language", nillable=True, defaulted=True, length=40, picklist=LANGUAGES),
            _ro("NamespacePrefix", "string", "Namespace Prefix", length=15),
        ),
        frozenset({"create", "query", "update", "retrieve"}),
    ),
    ObjectDef(
        "ServiceChannel",
        "0N1",
        "Service Channel",
        "Service Channels",
        (
            *_system_fields(),
            _cu("DeveloperName", "string", "Developer Name", length=80),
            _cu("MasterLabel", "string", "Label", length=80),
            _cu("RelatedEntity", "picklist", "Salesforce Object", length=40),
            _cu("Language", "picklist", "Language", nillable=True, defaulted=True, length=40, picklist=LANGUAGES),
            _ro("NamespacePrefix", "string", "Namespace Prefix", length=15),
        ),
        frozenset({"create", "delete", "query", "update", "retrieve"}),
    ),
    ObjectDef(
        "ServiceChannelStatus",
        "0N2",
        "Service Channel Status",
        "Service Channel Statuses",
        (
            *_system_fields(),
            _cu(
                "ServiceChannelId",
                "reference",
                "Service Channel ID",
                length=18,
                update=False,
                reference_to=("ServiceChannel",),
                relationship_name="ServiceChannel",
            ),
            _cu(
                "ServicePresenceStatusId",
                "reference",
                "Presence Status ID",
                length=18,
                nillable=True,
                update=False,
                reference_to=("ServicePresenceStatus",),
                relationship_name="ServicePresenceStatus",
            ),
        ),
        frozenset({"create", "delete", "query", "update", "retrieve"}),
    ),
    ObjectDef(
        "Profile",
        "00e",
        "Profile",
        "Profiles",
        (
            *_system_fields(),
            _ro("Name", "string", "Name", nillable=False, length=255),
            _ro("UserType", "picklist", "User Type", length=40, picklist=("Standard", "PowerPartner", "CsnOnly")),
            _ro("Description", "string", "Description", length=255),
        ),
        frozenset({"query", "retrieve"}),
    ),
    ObjectDef(
        "PermissionSet",
        "0PS",
        "Permission Set",
        "Permission Sets",
        (
            *_system_fields(),
            _ro("Name", "string", "Name", nillable=False, length=80),
            _ro("Label", "string", "Label", nillable=False, length=80),
            _ro("IsOwnedByProfile", "boolean", "Is Owned By Profile", nillable=False),
            _ro("IsCustom", "boolean", "Custom", nillable=False),
            _ro(
                "ProfileId",
                "reference",
                "Profile ID",
                length=18,
                reference_to=("Profile",),
                relationship_name="Profile",
            ),
            _ro("Description", "string", "Description", length=255),
            _ro("NamespacePrefix", "string", "Namespace Prefix", length=15),
        ),
        frozenset({"query", "retrieve"}),
    ),
    ObjectDef(
        "SetupEntityAccess",
        "0J0",
        "Setup Entity Access",
        "Setup Entity Access",
        (
            FieldDef("Id", "id", "Setup Entity Access ID", nillable=False, defaulted=True, length=18),
            _cu(
                "ParentId",
                "reference",
                "Parent ID",
                length=18,
                update=False,
                reference_to=("PermissionSet",),
                relationship_name="Parent",
            ),
            _cu(
                "SetupEntityId",
                "reference",
                "Setup Entity ID",
                length=18,
                update=False,
                reference_to=(
                    "ServicePresenceStatus",
                    "ApexClass",
                    "ApexPage",
                    "ConnectedApplication",
                    "CustomPermission",
                ),
            ),
            _ro("SetupEntityType", "picklist", "Setup Entity Type", length=40, picklist=ENTITY_TYPES),
            FieldDef("SystemModstamp", "datetime", "System Modstamp", nillable=False, defaulted=True),
        ),
        frozenset({"create", "delete", "query", "retrieve"}),
    ),
    ObjectDef(
        "User",
        "005",
        "User",
        "Users",
        (
            *_system_fields(),
            _ro("Username", "string", "Username", nillable=False, length=80),
            _ro("Email", "email", "Email", nillable=False, length=128),
            _ro("FirstName", "string", "First Name", length=40),
            _ro("LastName", "string", "Last Name", nillable=False, length=80),
            _ro("Name", "string", "Full Name", nillable=False, length=121),
            _ro("Alias", "string", "Alias", nillable=False, length=8),
            _ro("IsActive", "boolean", "Active", nillable=False),
            _ro(
                "ProfileId",
                "reference",
                "Profile ID",
                nillable=False,
                length=18,
                reference_to=("Profile",),
                relationship_name="Profile",
            ),
            _ro("UserType", "picklist", "User Type", length=40, picklist=("Standard",)),
            _ro("TimeZoneSidKey", "picklist", "Time Zone", nillable=False, length=40),
            _ro("FederationIdentifier", "string", "SAML Federation ID", length=512),
        ),
        frozenset({"query", "retrieve"}),
    ),
    ObjectDef(
        "UserServicePresence",
        "0Pw",
        "User Presence",
        "User Presences",
        (
            *_system_fields(),
            _ro("Name", "string", "Name", nillable=False, length=80),
            _ro(
                "OwnerId",
                "reference",
                "Owner ID",
                nillable=False,
                length=18,
                reference_to=("User",),
                relationship_name="Owner",
            ),
            _ro("UserId", "reference", "User ID", length=18, reference_to=("User",), relationship_name="User"),
            _ro(
                "ServicePresenceStatusId",
                "reference",
                "Presence Status ID",
                length=18,
                reference_to=("ServicePresenceStatus",),
                relationship_name="ServicePresenceStatus",
            ),
            _ro("IsAway", "boolean", "Away", nillable=False),
            _ro("IsCurrentState", "boolean", "Current State", nillable=False),
            _ro("StatusStartDate", "datetime", "Status Start Date"),
            _ro("StatusEndDate", "datetime", "Status End Date"),
            _ro("StatusDuration", "int", "Status Duration"),
            _ro("ConfiguredCapacity", "int", "Configured Capacity"),
            _ro("AtCapacityDuration", "int", "At Capacity Duration"),
            _ro("AverageCapacity", "double", "Average Capacity"),
            _ro("IdleDuration", "int", "Idle Duration"),
        ),
        frozenset({"delete", "query", "retrieve"}),
    ),
)

STANDARD_OBJECTS: dict[str, ObjectDef] = {o.name: o for o in _OBJECTS}
