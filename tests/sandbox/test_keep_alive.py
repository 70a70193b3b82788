"""Idle keep-alive connections: the emulators close them after the configured timeout (as vendors do), and the
operator client survives a request sent on one just as it was closed (issue 18: ``RemoteDisconnected`` in
``clear_faults`` after a 30 s idle)."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest
import requests

from sandbox.testing import SandboxHandle
from tests.sandbox.support import (
    pooled_connections_used_after_the_server_closed_them,
    sandbox_closing_idle_connections_after,
)

KEEP_ALIVE_SECONDS = 1


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    data_dir = pathlib.Path(tmp_path_factory.mktemp("keep-alive")) / "sandbox"
    with sandbox_closing_idle_connections_after(KEEP_ALIVE_SECONDS, data_dir) as handle:
        yield handle


def test_without_a_retry_a_request_on_a_connection_the_emulator_closed_fails(sandbox: SandboxHandle) -> None:
    """What the tests hit before: a plain session (no retries) sends on the stale connection."""
    session = requests.Session()
    ready = f"{sandbox.cxone_url}/__sandbox/ready"
    try:
        assert session.get(ready, verify=sandbox.ca_bundle, timeout=10).status_code == 200
        with (
            pooled_connections_used_after_the_server_closed_them() as reused,
            pytest.raises(requests.ConnectionError, match=r"RemoteDisconnected|reset|aborted"),
        ):
            session.get(ready, verify=sandbox.ca_bundle, timeout=10)
        assert len(reused) == 1
    finally:
        session.close()


def test_operator_reads_and_writes_survive_a_connection_the_emulator_closed_while_idle(
    sandbox: SandboxHandle,
) -> None:
    operator = sandbox.cxone_operator
    operator.clear_faults()  # leaves a kept-alive connection in the pool

    with pooled_connections_used_after_the_server_closed_them() as reused:
        operator.set_faults(latency_ms=5)  # PUT
    assert operator.faults()["latency_ms"] == 5

    with pooled_connections_used_after_the_server_closed_them():
        operator.clear_faults()  # DELETE: the call that failed in issue 18
    with pooled_connections_used_after_the_server_closed_them():
        faults = operator.faults()  # GET
    with pooled_connections_used_after_the_server_closed_them():
        operator.clear_requests()  # DELETE

    assert faults["latency_ms"] == 0
    assert reused, "the PUT went out on the connection the emulator had closed"
