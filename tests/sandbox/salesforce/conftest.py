"""Every Salesforce emulator test leaves faults and org settings as it found them."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce

from sandbox.testing import SandboxHandle
from tests.sandbox.support import login


@pytest.fixture(scope="module")
def module_sf(shared_sandbox: SandboxHandle) -> Salesforce:
    """simple-salesforce logged in as the admin, once per test module."""
    return login(shared_sandbox.env)


@pytest.fixture(autouse=True)
def _restore_sandbox(sandbox_env: dict[str, str]) -> None:
    """Requesting ``sandbox_env`` resets faults and org settings after the test."""
