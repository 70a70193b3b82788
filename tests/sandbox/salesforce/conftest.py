"""Every Salesforce emulator test leaves faults and org settings as it found them."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _restore_sandbox(sandbox_env: dict[str, str]) -> None:
    """Requesting ``sandbox_env`` resets faults and org settings after the test."""
