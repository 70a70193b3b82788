"""Spec texts for tests, built from the sandbox stack's spec (stacks/sandbox.yaml) so they match the seed."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED_SPEC = (REPO_ROOT / "stacks" / "sandbox.yaml").read_text()

SEED_PROFILES = ("Custom: Support Agent", "Custom: Support Supervisor", "Standard User", "System Administrator")


def with_extra_statuses(count: int, profiles: int = 1) -> str:
    """The seed spec plus `count` Busy statuses, each granted to the first `profiles` seeded profiles."""
    statuses = "".join(f"    - {{label: Extra {index:03d}, kind: busy}}\n" for index in range(count))
    names = ", ".join(["Available_for_Chats", "Busy", *(f"Extra_{index:03d}" for index in range(count))])
    grants = "".join(f'    - profile: "{profile}"\n      statuses: [{names}]\n' for profile in SEED_PROFILES[:profiles])
    text = SEED_SPEC.replace("  statuses:\n", "  statuses:\n" + statuses, 1)
    start = text.index("  profileAccess:\n")
    end = text.index("\n\n", start)
    return text[:start] + "  profileAccess:\n" + grants.rstrip("\n") + text[end:]
