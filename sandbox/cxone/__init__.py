"""The NICE CXone emulator: auth, Admin / Real-time / Agent APIs, Presence Sync configuration (our model)
and an agent-side softphone, as one Starlette app backed by SQLite. See sandbox/CXONE.md."""

from sandbox.cxone.app import SEEDED_CREDENTIALS, create_app

__all__ = ["SEEDED_CREDENTIALS", "create_app"]
