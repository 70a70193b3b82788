"""Shared test harness: free ports, a throwaway Pulumi backend, and the `pulumi` marker.

Tests marked `pulumi` run the real engine. They fail (not skip) when no CLI is on PATH, because
`make test` puts the one `make setup` built there; set PRESENCE_SYNC_ALLOW_NO_PULUMI=1 to skip them
when running pytest by hand without it.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox.testing import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_PASSPHRASE = "presence-sync-sandbox-demo-only"  # the sandbox stack's passphrase; never used for real stacks


@pytest.fixture
def port() -> int:
    return free_port()


@dataclass(frozen=True)
class PulumiBackend:
    """An isolated file backend and PULUMI_HOME for one test, plus the environment that selects them."""

    state_dir: Path
    home_dir: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "PULUMI_BACKEND_URL": f"file://{self.state_dir}",
            "PULUMI_HOME": str(self.home_dir),
            "PULUMI_CONFIG_PASSPHRASE": DEMO_PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "1",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        }


@pytest.fixture
def pulumi_backend(tmp_path: Path) -> PulumiBackend:
    backend = PulumiBackend(state_dir=tmp_path / "state", home_dir=tmp_path / "pulumi-home")
    backend.state_dir.mkdir()
    backend.home_dir.mkdir()
    return backend


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if shutil.which("pulumi"):
        return
    allow_skip = os.environ.get("PRESENCE_SYNC_ALLOW_NO_PULUMI") == "1"
    for item in items:
        if "pulumi" not in item.keywords:
            continue
        if allow_skip:
            item.add_marker(pytest.mark.skip(reason="no Pulumi CLI on PATH (PRESENCE_SYNC_ALLOW_NO_PULUMI=1)"))
        else:
            item.add_marker(pytest.mark.usefixtures("_require_pulumi_cli"))


@pytest.fixture
def _require_pulumi_cli() -> Iterator[None]:
    pytest.fail("this test runs the real Pulumi engine and no `pulumi` is on PATH: run `make setup`, then `make test`")
    yield


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh sandbox (both emulators, seeded) in its own process, for one test. The test process trusts
    its CA, as any requests program would through REQUESTS_CA_BUNDLE (zeep inside simple-salesforce too)."""
    from sandbox.testing import running_sandbox

    with running_sandbox(tmp_path / "sandbox", reset=True) as handle:
        # Like a shell that sourced .sandbox/sandbox.env: inline Pulumi programs run in this process.
        for key, value in handle.env.items():
            monkeypatch.setenv(key, str(value))
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(handle.ca_bundle))
        yield handle


@pytest.fixture
def engine_env(sandbox: Any, pulumi_backend: PulumiBackend) -> dict[str, str]:
    """Environment for a real-engine run of an inline program whose providers talk to the sandbox.

    PULUMI_PYTHON_CMD tells the dynamic-provider plugin which Python to run, since an inline program has no
    language host to pass the virtualenv on. (Not for projects run through the language host: that host joins
    it onto the virtualenv's bin directory.)"""
    return {**pulumi_backend.env, **sandbox.env, "PULUMI_PYTHON_CMD": sys.executable}
