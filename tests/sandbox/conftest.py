"""Fixtures for the sandbox's own tests: one sandbox process per test session, driven through
simple-salesforce in direct session mode (token from /services/oauth2/token, then ``Salesforce(session_id=...)``).

The shared sandbox is fresh (``--reset``) at session start. Tests create what they need with unique names
and put faults and org settings back when they are done.
"""

from __future__ import annotations

import os
import pathlib
import uuid
from collections.abc import Iterator

import pytest
from simple_salesforce import Salesforce

from sandbox.testing import SandboxHandle, running_sandbox
from tests.sandbox.support import DEFAULT_SETTINGS, login, put_settings


@pytest.fixture(scope="session")
def shared_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    with running_sandbox(tmp_path_factory.mktemp("shared") / "sandbox", reset=True) as handle:
        previous = os.environ.get("REQUESTS_CA_BUNDLE")
        # simple-salesforce's REST session and zeep's own session both trust the sandbox CA through this.
        os.environ["REQUESTS_CA_BUNDLE"] = handle.ca_bundle
        try:
            yield handle
        finally:
            if previous is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = previous


@pytest.fixture
def sandbox_env(shared_sandbox: SandboxHandle) -> Iterator[dict[str, str]]:
    """The connection environment; faults and org settings are reset after the test."""
    yield shared_sandbox.env
    shared_sandbox.salesforce_operator.clear_faults()
    shared_sandbox.cxone_operator.clear_faults()
    put_settings(shared_sandbox, **DEFAULT_SETTINGS)


@pytest.fixture
def sf(sandbox_env: dict[str, str]) -> Salesforce:
    """A logged-in simple-salesforce handle on the shared sandbox (admin user)."""
    return login(sandbox_env)


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def data_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "sandbox"
