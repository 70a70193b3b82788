"""Text in a spec, and text about a spec: what a value may contain, and how a value is quoted in a problem.

Every spec value ends up in a Salesforce or CXone field, most of them through SOAP (XML 1.0) or a one-line
Setup field, so a value is one line of printable text: no control characters (C0, DEL, C1; a tab or a line
break included), no line or paragraph separators, no bidirectional formatting controls (they make a label
read differently from what it is), no lone surrogates and no noncharacters (neither can be sent as XML).

A problem quotes a value so the reader can find it, never so the value is reproduced: `shown` keeps a
short prefix of a long value (a 5 MB name is quoted as its first 80 characters and its length).
"""

from __future__ import annotations

import unicodedata

__all__ = ["SHOWN_MAX", "bad_character", "describe_character", "one_line", "shown"]

MESSAGE_MAX = 400  # a safety net: no message or hint line is longer, whatever went into it

SHOWN_MAX = 80  # Salesforce's longest name or label: a valid one is quoted whole

_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _is_bad(char: str) -> bool:
    code = ord(char)
    if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp"):
        return True
    if char in _BIDI_CONTROLS:
        return True
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE  # noncharacters


def bad_character(value: str) -> tuple[int, str] | None:
    """(index, character) of the first character a spec value may not contain; None when it is clean."""
    if value.isascii() and value.isprintable():  # the common case, at C speed
        return None
    for index, char in enumerate(value):
        if _is_bad(char):
            return index, char
    return None


def describe_character(char: str) -> str:
    """'a line break (U+000A)', 'a control character (U+0007)', ..."""
    code = f"U+{ord(char):04X}"
    if char in "\n\r\u0085\u2028\u2029":
        return f"a line break ({code})"
    if char == "\t":
        return f"a tab ({code})"
    if char in _BIDI_CONTROLS:
        return f"a bidirectional text control ({code})"
    if unicodedata.category(char) == "Cs":
        return f"a lone surrogate ({code})"
    if unicodedata.category(char) == "Cc":
        return f"a control character ({code})"
    return f"a noncharacter ({code})"


def shown(value: object, limit: int = SHOWN_MAX) -> str:
    """`value` quoted for a problem message: its repr, or the repr of its first `limit` characters and its
    length when it is longer. Always one line (repr escapes line breaks and control characters)."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}... ({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def one_line(text: str) -> str:
    """Messages are built to be one short line; this makes sure, whatever a library put into one."""
    text = " ".join(text[: MESSAGE_MAX * 2].split())
    bad = bad_character(text)
    while bad is not None:
        text = text[: bad[0]] + f"\\u{ord(bad[1]):04x}" + text[bad[0] + 1 :]
        bad = bad_character(text)
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 3] + "..."
