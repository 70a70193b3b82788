"""What the vendors' values mean in the runtime's terms: their timestamps as epoch seconds, and a CXone agent
state in the spec's notation. Shared by the feeds (what was read) and the writers (what a write answered)."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["acd_notation", "parse_time"]


def parse_time(value: str | datetime | None) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    try:
        text = value.replace("Z", "+00:00")
        if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # +0000 -> +00:00
            text = f"{text[:-2]}:{text[-2:]}"
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def acd_notation(state_name: str, out_state_id: int | None, description: str | None, codes: dict[int, str]) -> str:
    """A CXone agent state in the spec's notation: ``Unavailable:<code name>`` when a code is set."""
    if state_name == "Unavailable" and out_state_id:
        name = codes.get(int(out_state_id)) or (description or "").strip()
        if name:
            return f"Unavailable:{name}"
    return state_name
