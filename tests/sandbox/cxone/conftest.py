"""Fixtures: each test gets a fresh, reset CXone sandbox (``cxone``) or starts and restarts one itself
(``start``), with a clock it can move forward (``clock``)."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

from tests.sandbox.cxone.harness import FakeClock, Sandbox, Tls


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    directory = tmp_path_factory.mktemp("cxone-tls")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    paths = Tls(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    ca.cert_pem.write_to_path(str(paths.ca))
    server.private_key_and_cert_chain_pem.write_to_path(str(paths.cert))
    server.private_key_pem.write_to_path(str(paths.key))
    return paths


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def start(tmp_path: pathlib.Path, tls: Tls, clock: FakeClock) -> Iterator[Any]:
    """Start a sandbox on ``tmp_path/cxone.db`` (stopped at the end of the test); call it again to restart."""
    running: list[Sandbox] = []

    def start_sandbox(*, reset: bool = False, **options: Any) -> Sandbox:
        sandbox = Sandbox(tmp_path / "cxone.db", tls, clock, reset=reset, **options)
        running.append(sandbox)
        return sandbox

    yield start_sandbox
    for sandbox in running:
        sandbox.stop()


@pytest.fixture
def cxone(start: Any) -> Sandbox:
    """A fresh sandbox with the seeded demo tenant."""
    sandbox: Sandbox = start(reset=True)
    return sandbox
