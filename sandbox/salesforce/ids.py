"""Salesforce-style record ids: 3-char key prefix, 2-char instance, 1 reserved, 9-char counter, and the
3-char case-safety suffix that turns a 15-char id into the 18-char form the API returns."""

from __future__ import annotations

import re

__all__ = ["ORG_ID", "id15", "is_id", "make_id", "same_id"]

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_INSTANCE = "Hs"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")


def _checksum(id15: str) -> str:
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _SUFFIX[bits]
    return suffix


def make_id(prefix: str, number: int) -> str:
    """The 18-char id of the ``number``-th record with key prefix ``prefix``."""
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    body = f"{prefix}{_INSTANCE}0{digits.rjust(9, '0')}"
    return body + _checksum(body)


def is_id(value: object) -> bool:
    if not isinstance(value, str) or not _ID_RE.match(value):
        return False
    return len(value) == 15 or _checksum(value[:15]) == value[15:]


def id15(value: str) -> str:
    return value[:15]


def same_id(a: str | None, b: str | None) -> bool:
    """Ids compare on their case-sensitive 15-char form, so a 15-char id matches its 18-char twin."""
    return a is not None and b is not None and a[:15] == b[:15]


ORG_ID = make_id("00D", 1)
