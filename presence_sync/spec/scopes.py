"""OAuth scope names, as people write them, and the Metadata API values they become.

The spec lists scopes by the token names Salesforce shows in Setup and accepts in `scope=` ("full", "api",
"refresh_token", ...). Connected Apps (`ConnectedAppOauthConfig.scopes`) and External Client Apps
(`ExtlClntAppOauthSettings.commaSeparatedOauthScopes`) store values of the `ConnectedAppOauthAccessScope`
enum instead ("Full", "Api", "RefreshToken", ...; the Metadata API WSDL v63 that simple-salesforce bundles).

Two names need a decision, because they don't map one to one:
- ``refresh_token`` and ``offline_access`` are one Setup item ("Perform requests at any time (refresh_token,
  offline_access)"); either name selects both enum values ``RefreshToken`` and ``OfflineAccess``, as the
  metadata Setup writes for that item does.
- ``visualforce`` has no enum value. Salesforce documents that a token with scope "web" or "full" contains
  "visualforce" (Visualforce Developer Guide, "OAuth 2.0 Authentication for JavaScript Remoting"), so we
  accept it and store ``Web``. The reviewer sees the mapping in `presence-sync validate` and docs/spec.md.

Only names whose enum value we could confirm are accepted; anything else is rejected with the list below.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["SCOPES", "metadata_scopes", "unknown_scopes"]

# Scope token -> enum values, in the order Setup lists them.
SCOPES: dict[str, tuple[str, ...]] = {
    "full": ("Full",),
    "api": ("Api",),
    "web": ("Web",),
    "visualforce": ("Web",),
    "refresh_token": ("RefreshToken", "OfflineAccess"),
    "offline_access": ("RefreshToken", "OfflineAccess"),
    "chatter_api": ("Chatter",),
    "custom_permissions": ("CustomPermissions",),
    "id": ("Basic",),
    "openid": ("OpenID",),
    "profile": ("Profile",),
    "email": ("Email",),
    "address": ("Address",),
    "phone": ("Phone",),
    "lightning": ("Lightning",),
    "content": ("Content",),
}


def unknown_scopes(names: Iterable[str]) -> list[str]:
    return [name for name in names if name not in SCOPES]


def metadata_scopes(names: Iterable[str]) -> tuple[str, ...]:
    """The enum values for `names`, without duplicates, in first-mention order. Unknown names are skipped:
    validation has rejected them already."""
    values: dict[str, None] = {}
    for name in names:
        for value in SCOPES.get(name, ()):
            values.setdefault(value)
    return tuple(values)
