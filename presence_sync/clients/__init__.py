"""Vendor API clients: the only code in presence-sync that speaks HTTP to Salesforce or CXone.

* ``SalesforceClient`` (``salesforce``): presence statuses, grants, OAuth apps, users, presence feed.
* ``CxoneClient`` (``cxone``): agents, teams, unavailable codes, agent states and sessions; its
  ``adapters`` property is the Presence Sync configuration model (``cxone_adapters``).
* ``errors``: the exception tree; ``retry``: the backoff policy; ``settings``: environment variables.
"""

from presence_sync.clients.cxone import CxoneClient
from presence_sync.clients.errors import (
    AlreadyExists,
    AuthenticationFailed,
    ConnectionFailed,
    InvalidRequest,
    NotFound,
    PermanentVendorError,
    PermissionDenied,
    QuotaExhausted,
    RateLimited,
    ServiceUnavailable,
    SessionExpired,
    TransientVendorError,
    VendorError,
)
from presence_sync.clients.retry import RetryPolicy
from presence_sync.clients.salesforce import SalesforceClient
from presence_sync.clients.settings import CxoneSettings, SalesforceSettings, SettingsError

__all__ = [
    "AlreadyExists",
    "AuthenticationFailed",
    "ConnectionFailed",
    "CxoneClient",
    "CxoneSettings",
    "InvalidRequest",
    "NotFound",
    "PermanentVendorError",
    "PermissionDenied",
    "QuotaExhausted",
    "RateLimited",
    "RetryPolicy",
    "SalesforceClient",
    "SalesforceSettings",
    "ServiceUnavailable",
    "SessionExpired",
    "SettingsError",
    "TransientVendorError",
    "VendorError",
]
