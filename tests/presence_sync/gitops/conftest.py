"""Fixtures for the GitOps tests: a spec stack on the real engine against a fresh sandbox, and the CLI's stack
opener pointed at it (the inline program stands in for `auto.select_stack` on the project)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import resources.stack
from presence_sync.gitops import plan as plan_command
from tests.support.spec_stack import SpecStack, spec_stack

REPO_ROOT = Path(__file__).resolve().parents[3]
SEED_SPEC = (REPO_ROOT / "stacks" / "sandbox.yaml").read_text()


def _put_engine_on_path() -> None:
    """`.venv/bin/pytest tests/presence_sync/gitops` without `make`: the Pulumi CLI `make setup` built (when
    there is one) and this interpreter go on PATH, as `make test` puts them."""
    if shutil.which("pulumi"):
        return
    from engine import pulumi_engine

    directory = pulumi_engine.bin_dir()
    if (directory / "pulumi").exists():
        os.environ["PATH"] = os.pathsep.join(
            [str(directory), str(Path(sys.executable).parent), os.environ.get("PATH", "")]
        )
        os.environ.setdefault("PULUMI_SKIP_UPDATE_CHECK", "1")
        os.environ.setdefault("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")


_put_engine_on_path()


def with_python_on_path(env: dict[str, str]) -> dict[str, str]:
    """The dynamic-provider plugin starts `python3` from PATH: make it this interpreter's."""
    return {**env, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}


@pytest.fixture
def make_stack(tmp_path: Path, engine_env: dict[str, str], sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    # The inline program runs in this process: resources that read the connection at declaration time
    # (the runtime's settings) find the sandbox's here, as `pulumi up` would in its environment.
    for key, value in sandbox.env.items():
        monkeypatch.setenv(key, value)
    # These tests are about the reports on the five configuration kinds. The sync runtime (deployed last,
    # re-rendered on every rule change) has its own tests; leaving it out keeps the golden reports about
    # exactly the changes a test makes.
    monkeypatch.setattr(resources.stack, "runtime_available", lambda: False, raising=False)

    def make(name: str, spec_text: str) -> SpecStack:
        return spec_stack(name=name, work_dir=tmp_path, spec_text=spec_text, env=with_python_on_path(engine_env))

    return make


@pytest.fixture
def cli_stacks(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, SpecStack]]:
    """Register SpecStacks by name; `presence-sync plan/drift --stack NAME` then runs on them."""
    registered: dict[str, SpecStack] = {}

    def open_stack(name: str, _work_dir: Path) -> Any:
        return registered[name].stack

    monkeypatch.setattr(plan_command, "open_stack", open_stack)
    yield registered


@pytest.fixture
def ca_bundle_env(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """simple-salesforce's Metadata API (zeep) trusts only REQUESTS_CA_BUNDLE from the environment."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.env["REQUESTS_CA_BUNDLE"])
