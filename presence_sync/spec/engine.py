"""Which engine syncs presence (``runtime.engine``), in words for `validate`, `plan` and logs.

Only one engine may act on an agent, or both would write each change (docs/presence-rules.md, "Two engines").
"""

from __future__ import annotations

from .models import PresenceSpec

__all__ = ["ENGINES", "engine_line"]

ENGINES = {
    "presence-sync": "presence-sync's runtime writes; the CXone presence rules are stored inactive for NICE's engine",
    "nice": "NICE's engine (CXone Agent Embedded, in the agent's browser) applies the CXone presence rules; "
    "presence-sync's runtime only observes (no vendor writes) and reports disagreements",
}


def engine_line(spec: PresenceSpec) -> str:
    """E.g. ``engine: nice -- NICE's engine (CXone Agent Embedded ...) applies ...``."""
    return f"engine: {spec.runtime.engine} -- {ENGINES[spec.runtime.engine]}"
