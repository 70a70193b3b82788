"""Salesforce developer names (API names): the syntax rules, and the derivation from a label that Setup does.

Rules (ServicePresenceStatus object reference, field DeveloperName): "can contain only underscores and
alphanumeric characters ... must begin with a letter, not include spaces, not end with an underscore, and not
contain two consecutive underscores". Letters and digits are ASCII.

Derivation: Setup fills "Developer Name" from the label. We match `generateApiName` in `@salesforce/core`
(lib/util/generateApiName.js, documented as "Matches what the UI does"): every run of characters other than
ASCII letters and digits becomes one underscore, a leading underscore is dropped, a leading digit gets an ``X``
in front, the result is cut to the length limit and a trailing underscore is dropped.
NICE's procedure shows the same result: "Available for Chats" -> ``Available_for_Chats``.

Length limits (see docs/spec.md for the sources): 40 for an External Client App (object reference,
ExternalClientApplication: "must be 40 characters or fewer"); 80 for a presence status's DeveloperName and
MasterLabel (Field Reference, ServicePresenceStatus: both string, length 80); 80 for Connected Apps, the
usual Setup limit but NOT found verbatim for that type -- the providers report the org's own answer when it
differs.
"""

from __future__ import annotations

import re

__all__ = [
    "CONNECTED_APP_NAME_MAX",
    "EXTERNAL_CLIENT_APP_NAME_MAX",
    "LABEL_MAX",
    "STATUS_NAME_MAX",
    "derive_developer_name",
    "developer_name_problems",
    "is_developer_name",
]

STATUS_NAME_MAX = 80
LABEL_MAX = 80
EXTERNAL_CLIENT_APP_NAME_MAX = 40
CONNECTED_APP_NAME_MAX = 80

_NOT_ALNUM_RUN = re.compile(r"[^A-Za-z0-9]+")
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_]")
# Letters and digits, single underscores only between them: the whole rule set except the length.
DEVELOPER_NAME_PATTERN = r"^[A-Za-z](_?[A-Za-z0-9])*$"
_VALID = re.compile(DEVELOPER_NAME_PATTERN)
# Names of objects we only reference (channels, existing statuses) may carry a managed-package namespace.
_NAMESPACED = re.compile(r"^[A-Za-z](_?[A-Za-z0-9])*__(?P<name>.+)$")


def derive_developer_name(label: str, max_length: int = STATUS_NAME_MAX) -> str:
    """The developer name Setup proposes for `label`; "" when the label has no letters or digits at all."""
    name = _NOT_ALNUM_RUN.sub("_", label)
    name = name.removeprefix("_")
    if name[:1].isdigit():
        name = "X" + name
    return name[:max_length].removesuffix("_")


def is_developer_name(name: str, max_length: int = STATUS_NAME_MAX) -> bool:
    return not developer_name_problems(name, max_length)


def developer_name_problems(name: str, max_length: int, *, allow_namespace: bool = False) -> list[str]:
    """Each rule `name` breaks, as a phrase that completes "developer name 'X' ..."; empty when valid.

    `allow_namespace` accepts a ``ns__Name`` prefix, for objects that managed packages may own.
    """
    if allow_namespace and (match := _NAMESPACED.match(name)):
        return developer_name_problems(match["name"], max_length)
    if not name:
        return ["is empty"]
    problems: list[str] = []
    if not name[0].isascii() or not name[0].isalpha():
        problems.append("must begin with a letter (A-Z or a-z)")
    bad = sorted(set(_NOT_ALLOWED.findall(name)))
    if bad:
        shown = ", ".join(repr(ch) for ch in bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        problems.append(f"may contain only letters, digits and underscores, not {shown}")
    if "__" in name:
        problems.append("must not contain two consecutive underscores")
    if name.endswith("_"):
        problems.append("must not end with an underscore")
    if len(name) > max_length:
        problems.append(f"is {len(name)} characters long; the limit is {max_length}")
    return problems
