"""runtime/engines.py: with ``engine: nice`` the runtime only watches (NICE's engine in CXone Agent Embedded
syncs), with ``engine: presence-sync`` it writes as always.

End to end against the sandbox, the runtime as its own process. Rule "Chat agents" (stacks/sandbox.yaml) covers
Ada's team: CXone Available <-> Omni Available_for_Chats, CXone Unavailable:Break <-> Omni Busy. Writes are
counted in the emulators' request logs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .support import (
    ADA,
    OMNI_COMMAND,
    STATUS_CXONE_WRITE,
    Agent,
    RuntimeProcess,
    SandboxSetup,
    last_seq,
    prepare,
    sandbox_config,
    wait_until,
    writes,
)

pytestmark = pytest.mark.slow

DISAGREEING = "presence_sync_engine_disagreeing_agents"


@pytest.fixture
def setup(sandbox: Any) -> SandboxSetup:
    return prepare(sandbox)


def runtime_with(setup: SandboxSetup, work: Path, engine: str) -> Iterator[RuntimeProcess]:
    process = RuntimeProcess(sandbox_config(setup, work, engine=engine), work, setup.sandbox.env)
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture
def observing(setup: SandboxSetup, tmp_path: Path) -> Iterator[RuntimeProcess]:
    yield from runtime_with(setup, tmp_path, "nice")


@pytest.fixture
def writing(setup: SandboxSetup, tmp_path: Path) -> Iterator[RuntimeProcess]:
    yield from runtime_with(setup, tmp_path, "presence-sync")


def ada_on_shift(setup: SandboxSetup) -> Agent:
    ada = Agent(setup, ADA, "ada.lovelace@example.com")
    ada.omni_login("Available_for_Chats")
    ada.cxone_login()
    return ada


def vendor_writes(setup: SandboxSetup, sf_since: int, cx_since: int) -> tuple[int, int]:
    sandbox = setup.sandbox
    return (
        len(writes(sandbox.salesforce_operator, OMNI_COMMAND, sf_since)),
        len(writes(sandbox.cxone_operator, STATUS_CXONE_WRITE, cx_since)),
    )


def disagreements(runtime: RuntimeProcess, side: str) -> float:
    return runtime.metric(f'presence_sync_engine_disagreements_total{{side="{side}"}}')


def test_engine_nice_makes_no_vendor_write_and_reports_where_the_sides_disagree(
    setup: SandboxSetup, observing: RuntimeProcess
) -> None:
    ada = ada_on_shift(setup)
    sf0, cx0 = last_seq(setup.sandbox.salesforce_operator), last_seq(setup.sandbox.cxone_operator)

    ada.cxone_set("Unavailable", "Break")  # the rule wants Omni Busy; NICE's engine has not applied it
    wait_until(lambda: disagreements(observing, "sf") >= 1, what="the disagreement on the Salesforce side")
    assert observing.metric(DISAGREEING) == 1
    logged = [e for e in observing.logs() if e["message"].startswith("sides disagree")]
    assert logged[-1]["agent_id"] == ADA and logged[-1]["side"] == "sf"

    ada.omni_set("Busy")  # what NICE's engine does: the sides agree again
    wait_until(lambda: observing.metric(DISAGREEING) == 0, what="the agreement, seen")
    ada.omni_set("Available_for_Chats")  # the agent in Omni: the rule wants CXone Available
    wait_until(lambda: disagreements(observing, "acd") >= 1, what="the disagreement on the CXone side")

    observing.wait_for_reads_after(time.time())  # both feeds read past every change above
    observing.wait_for_reads_after(time.time())
    assert vendor_writes(setup, sf0, cx0) == (0, 0)
    assert observing.metric('presence_sync_writes_total{side="sf"}') == 0
    assert observing.metric('presence_sync_writes_total{side="acd"}') == 0
    assert (ada.cxone_state(), ada.omni_status()) == ("Unavailable:Break", "Available_for_Chats")


def test_engine_presence_sync_writes_as_always_and_reports_no_disagreement(
    setup: SandboxSetup, writing: RuntimeProcess
) -> None:
    ada = ada_on_shift(setup)
    sf0, cx0 = last_seq(setup.sandbox.salesforce_operator), last_seq(setup.sandbox.cxone_operator)

    ada.cxone_set("Unavailable", "Break")
    wait_until(lambda: ada.omni_status() == "Busy", what="Omni follows CXone")

    assert vendor_writes(setup, sf0, cx0)[0] == 1
    assert DISAGREEING not in writing.metrics()
