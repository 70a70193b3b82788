"""End to end against the real sandbox, the runtime running as its own process (``python -m runtime``).

The sandbox is set up the way `pulumi up` of stacks/sandbox.yaml leaves it (statuses, grants, the command event)
and the runtime's config is built from that spec with ``build_config``. Rule "Chat agents" (team Support Tier 1,
user Grace): CXone Available <-> Omni Available_for_Chats, CXone Unavailable:Break <-> Omni Busy, and CXone
LoggedOut -> Omni "previous". Writes are counted in the emulators' request logs.

No test sleeps to let something (not) happen: a test that shows a write did NOT happen waits until the runtime
has provably moved past the point where it would have been made (the echo was recognised, the feeds read past
the change, the write counts held still over full read cycles of both feeds), and no test bounds wall-clock time.
"""

from __future__ import annotations

import itertools
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from runtime.vendor_values import parse_time

from .support import (
    ADA,
    EDSGER,
    GRACE,
    OMNI_COMMAND,
    STATUS_CXONE_WRITE,
    Agent,
    RuntimeProcess,
    SandboxSetup,
    console_results,
    last_seq,
    prepare,
    sandbox_config,
    wait_until,
    writes,
)

pytestmark = pytest.mark.slow

QUIET_ROUNDS = 2  # full read cycles of both feeds with no new write: what a late echo could cause has happened


@pytest.fixture
def setup(sandbox: Any) -> SandboxSetup:
    return prepare(sandbox, extra_statuses=("Lunch",))


@pytest.fixture
def runtime(setup: SandboxSetup, tmp_path: Path) -> Iterator[RuntimeProcess]:
    process = RuntimeProcess(sandbox_config(setup, tmp_path), tmp_path, setup.sandbox.env)
    yield process
    process.stop()


def agent(setup: SandboxSetup, agent_id: int) -> Agent:
    emails = {
        ADA: "ada.lovelace@example.com",
        GRACE: "grace.hopper@example.com",
        EDSGER: "edsger.dijkstra@example.com",
        100003: "alan.turing@example.com",
        100004: "katherine.johnson@example.com",
    }
    return Agent(setup, agent_id, emails[agent_id])


def on_shift(setup: SandboxSetup, agent_id: int, omni: str = "Busy") -> Agent:
    """Logged in on both sides: CXone Unavailable (no code), Omni ``omni``."""
    person = agent(setup, agent_id)
    person.omni_login(omni)
    person.cxone_login()
    return person


def counts(setup: SandboxSetup, sf_since: int, cx_since: int) -> tuple[int, int]:
    """(Omni commands published, CXone state changes requested) since the given log positions."""
    sandbox = setup.sandbox
    return (
        len(writes(sandbox.salesforce_operator, OMNI_COMMAND, sf_since)),
        len(writes(sandbox.cxone_operator, STATUS_CXONE_WRITE, cx_since)),
    )


def positions(setup: SandboxSetup) -> tuple[int, int]:
    return last_seq(setup.sandbox.salesforce_operator), last_seq(setup.sandbox.cxone_operator)


def settled_counts(setup: SandboxSetup, runtime: RuntimeProcess, sf_since: int, cx_since: int) -> tuple[int, int]:
    """``counts`` once the runtime has gone quiet: nothing queued and no new write while both feeds completed
    ``QUIET_ROUNDS`` reads in a row, each begun after the last write counted. A write's echo is read in the first
    round; whatever it would wrongly cause (a bounce) is written by the end of the next."""
    quiet, latest = 0, counts(setup, sf_since, cx_since)
    for _ in range(20):
        runtime.wait_for_reads_after(time.time())
        now = counts(setup, sf_since, cx_since)
        quiet = quiet + 1 if now == latest and runtime.metric("presence_sync_outbox_pending") == 0 else 0
        if quiet >= QUIET_ROUNDS:
            return now
        latest = now
    raise AssertionError(f"the runtime kept writing: {latest} (Omni commands, CXone state changes)")


def echoes(runtime: RuntimeProcess, side: str) -> float:
    return runtime.metric(f'presence_sync_echoes_suppressed_total{{side="{side}"}}')


def changes_seen(runtime: RuntimeProcess, side: str) -> float:
    return runtime.metric(f'presence_sync_changes_seen_total{{side="{side}"}}')


def omni_change(runtime: RuntimeProcess, person: Agent, status: str) -> None:
    """``person`` sets Omni to ``status``, and the runtime has taken the change in."""
    before = changes_seen(runtime, "sf")
    person.omni_set(status)
    wait_until(lambda: changes_seen(runtime, "sf") > before, what=f"the runtime takes in Omni {status}")


def vendor_errors(runtime: RuntimeProcess, vendor: str) -> float:
    """Errors counted for ``vendor`` (writes and feed reads)."""
    return sum(
        value
        for sample, value in runtime.metrics().items()
        if sample.startswith("presence_sync_errors_total{") and f'vendor="{vendor}"' in sample
    )


# ------------------------------------------------------------------------------------------ the two directions


def test_a_cxone_change_moves_the_omni_status_with_one_write_and_no_echo(
    setup: SandboxSetup, runtime: RuntimeProcess
) -> None:
    ada = on_shift(setup, ADA)
    runtime.start()
    sf0, cx0 = positions(setup)

    ada.cxone_set("Available")
    wait_until(lambda: ada.omni_status() == "Available_for_Chats", what="Omni follows CXone")
    wait_until(lambda: echoes(runtime, "sf") >= 1, what="the command's echo, recognised on the Omni feed")

    assert settled_counts(setup, runtime, sf0, cx0) == (1, 0)  # one command, and its echo did not come back
    assert ada.cxone_state() == "Available"
    metrics = runtime.metrics()
    assert metrics['presence_sync_writes_total{side="sf"}'] == 1
    assert metrics['presence_sync_echoes_suppressed_total{side="sf"}'] == 1


def test_an_omni_change_moves_the_cxone_state_with_one_write_and_no_echo(
    setup: SandboxSetup, runtime: RuntimeProcess
) -> None:
    ada = on_shift(setup, ADA, omni="Available_for_Chats")
    runtime.start()
    sf0, cx0 = positions(setup)

    ada.omni_set("Busy")
    wait_until(lambda: ada.cxone_state() == "Unavailable:Break", what="CXone follows Omni")
    wait_until(lambda: echoes(runtime, "acd") >= 1, what="the state change's echo, recognised on the CXone feed")

    assert settled_counts(setup, runtime, sf0, cx0) == (0, 1)
    assert ada.omni_status() == "Busy"


def test_back_and_forth_on_both_sides_never_loops(setup: SandboxSetup, runtime: RuntimeProcess) -> None:
    ada = on_shift(setup, ADA)
    runtime.start()
    sf0, cx0 = positions(setup)

    ada.cxone_set("Available")
    wait_until(lambda: ada.omni_status() == "Available_for_Chats", what="Omni follows")
    ada.omni_set("Busy")
    wait_until(lambda: ada.cxone_state() == "Unavailable:Break", what="CXone follows")
    ada.cxone_set("Available")
    ada.cxone_set("Unavailable", "Break")  # two quick opposite changes
    commands, states = settled_counts(setup, runtime, sf0, cx0)  # quiet: nothing bounces

    assert ada.omni_status() == "Busy" and ada.cxone_state() == "Unavailable:Break"
    assert states == 1 and commands in (1, 2, 3)  # the quick pair may collapse; never more than one per change


def test_previous_state_is_restored_when_the_agent_logs_out_of_cxone(
    setup: SandboxSetup, runtime: RuntimeProcess
) -> None:
    ada = on_shift(setup, ADA, omni="Lunch")  # her own choice before any rule acts
    runtime.start()

    ada.cxone_set("Available")
    wait_until(lambda: ada.omni_status() == "Available_for_Chats", what="Omni follows")
    ada.cxone_set("Unavailable", "Break")
    wait_until(lambda: ada.omni_status() == "Busy", what="Omni follows")
    ada.cxone_logout()
    wait_until(lambda: ada.omni_status() == "Lunch", what="Omni restores the status from before the rule")


def test_commands_that_pile_up_share_a_salesforce_call_and_each_agent_gets_exactly_its_own(
    setup: SandboxSetup, tmp_path: Path
) -> None:
    people = [on_shift(setup, agent_id) for agent_id in (ADA, GRACE, 100003, 100004)]
    # One publish call under way at a time, each taking 0.4 s: the commands that come meanwhile must queue.
    config = sandbox_config(setup, tmp_path, omni_publish_calls_in_flight=1)
    runtime = RuntimeProcess(config, tmp_path, setup.sandbox.env).start()
    operator = setup.sandbox.salesforce_operator
    try:
        operator.set_faults(latency_ms=400, path_prefix="/services/data/")
        sf0, cx0 = positions(setup)
        started = time.time()
        for person in people:
            person.cxone_set("Available")
        wait_until(
            lambda: all(p.omni_status() == "Available_for_Chats" for p in people),
            timeout=15,
            what="every agent's Omni follows",
        )
        settled_counts(setup, runtime, sf0, cx0)
    finally:
        operator.clear_faults()
        runtime.stop()

    commands = writes(operator, OMNI_COMMAND, sf0)
    calls = {e["seq"] for e in commands}
    assert len(commands) == 4 and all(e["status"] == 201 for e in commands)
    assert len(calls) < len(commands), "commands that waited for the call in flight left together"
    results = console_results(setup.sandbox)
    applied = sorted(r["userId"] for r in results if r["success"] and (parse_time(r["at"]) or 0.0) >= started)
    assert applied == sorted(p.user_id for p in people)  # one command applied per agent, none repeated
    assert counts(setup, sf0, cx0)[1] == 0  # and no echo came back to CXone


def test_agents_no_rule_covers_are_not_touched(setup: SandboxSetup, runtime: RuntimeProcess) -> None:
    edsger = on_shift(setup, EDSGER)
    runtime.start()
    sf0, cx0 = positions(setup)
    edsger.cxone_set("Available")
    runtime.wait_for_reads_after(time.time(), feeds=("cxone",))  # the runtime has seen his change

    assert settled_counts(setup, runtime, sf0, cx0) == (0, 0) and edsger.omni_status() == "Busy"


# ------------------------------------------------------------------------------------------ chaos


def test_kill_9_mid_burst_then_restart_delivers_every_change_once(setup: SandboxSetup, runtime: RuntimeProcess) -> None:
    people = [on_shift(setup, agent_id) for agent_id in (ADA, GRACE, 100003, 100004)]
    runtime.start()
    sf0, cx0 = positions(setup)
    states = [("Available", None), ("Unavailable", "Break")] * 3 + [("Available", None)]  # ends away from Busy
    omni_for = {"Available": "Available_for_Chats", "Unavailable": "Busy"}

    for number, (state, reason) in enumerate(states):
        for person in people:
            person.cxone_set(state, reason)
        if number == 2:
            runtime.kill9()
        time.sleep(0.05)  # pacing, not waiting: the agents' changes are spread over the kill, as people's would be
    runtime.start()

    final = omni_for[states[-1][0]]
    wait_until(lambda: all(p.omni_status() == final for p in people), timeout=15, what="every agent converges")
    settled_counts(setup, runtime, sf0, cx0)
    commands = [e for e in setup.sandbox.salesforce_operator.operations(sf0) if OMNI_COMMAND in e["path"]]
    assert commands and all(e["status"] == 201 for e in commands)
    results = console_results(setup.sandbox)
    by_user: dict[str, list[str]] = {}
    for result in results:
        by_user.setdefault(result["userId"], []).append(result["statusId"])
    for person in people:
        applied = by_user[person.user_id]
        repeats = [a for a, b in itertools.pairwise(applied) if a == b]
        assert repeats == [], f"agent {person.agent_id}: a command was repeated: {applied}"
        assert len(applied) <= len(states)  # at most one write per change (bursts may collapse)
    assert counts(setup, sf0, cx0)[1] == 0  # and no echo came back to CXone


def test_an_outage_of_one_vendor_converges_after_and_the_other_direction_keeps_working(
    setup: SandboxSetup, runtime: RuntimeProcess
) -> None:
    ada = on_shift(setup, ADA, omni="Available_for_Chats")
    grace = on_shift(setup, GRACE)
    runtime.start()
    cxone_ops = setup.sandbox.cxone_operator
    # CXone's agent API answers 503 (its real-time API keeps answering)
    cxone_ops.set_faults(error_rate=1.0, error_status=503, path_prefix="/incontactapi/services/v34.0/agent-sessions")
    try:
        ada.omni_set("Busy")  # Salesforce -> CXone: must wait
        grace.cxone_set("Available")  # CXone -> Salesforce: keeps working
        wait_until(lambda: grace.omni_status() == "Available_for_Chats", what="the other direction")
        wait_until(lambda: runtime.metrics().get("presence_sync_outbox_pending", 0) >= 1, what="a queued write")
        assert ada.cxone_state() == "Unavailable"
    finally:
        cxone_ops.clear_faults()
    wait_until(lambda: ada.cxone_state() == "Unavailable:Break", timeout=15, what="convergence after the outage")


def test_an_outage_that_opens_the_circuit_queues_that_side_collapses_the_backlog_and_converges_after(
    setup: SandboxSetup, runtime: RuntimeProcess
) -> None:
    """A long outage, measured in what the runtime went through rather than in seconds: every change was taken in,
    CXone's circuit opened, and its probes kept failing (each cooldown longer than the last) until lifted."""
    ada = on_shift(setup, ADA, omni="Available_for_Chats")
    grace = on_shift(setup, GRACE)
    runtime.start()
    cxone_ops = setup.sandbox.cxone_operator
    _, cx0 = positions(setup)
    outage = "/incontactapi/services/v34.0/agent-sessions"  # CXone's agent API down; its real-time API answers
    cxone_ops.set_faults(error_rate=1.0, error_status=503, path_prefix=outage)
    try:
        # Ada changes her mind three times while CXone cannot be written: level-triggered, so one write later.
        for status in ("Busy", "Available_for_Chats", "Busy"):
            omni_change(runtime, ada, status)
        grace.cxone_set("Available")  # the other direction keeps working through the outage
        wait_until(lambda: grace.omni_status() == "Available_for_Chats", what="the other direction")
        wait_until(
            lambda: runtime.metric('presence_sync_circuit_open{vendor="cxone"}') == 1,
            timeout=20,
            what="CXone's circuit opens",
        )
        failed_when_open = vendor_errors(runtime, "cxone")
        wait_until(
            lambda: vendor_errors(runtime, "cxone") >= failed_when_open + 2,
            timeout=30,
            what="two more failed probes of the open circuit",
        )
        assert ada.cxone_state() == "Unavailable", "nothing reached CXone during the outage"
    finally:
        cxone_ops.clear_faults()
    wait_until(lambda: ada.cxone_state() == "Unavailable:Break", timeout=30, what="convergence after the outage")
    settled_counts(setup, runtime, 0, cx0)
    delivered = [e for e in writes(cxone_ops, STATUS_CXONE_WRITE, cx0) if e["status"] < 300]
    assert len(delivered) == 1, "the backlog collapses to the latest desired state: one write"


def test_connections_refused_by_salesforce_for_a_while_then_converges(
    setup: SandboxSetup, runtime: RuntimeProcess
) -> None:
    ada = on_shift(setup, ADA)
    runtime.start()
    operator = setup.sandbox.salesforce_operator
    operator.set_faults(refuse_seconds=600)  # lifted below, once the refusal has provably held a write back
    try:
        ada.cxone_set("Available")
        wait_until(
            lambda: (
                runtime.metric("presence_sync_outbox_pending") >= 1 and operator.faults()["refused_connections"] >= 1
            ),
            what="the Omni command queued after a refused connection",
        )
        assert ada.omni_status() == "Busy"
    finally:
        operator.clear_faults()
    wait_until(lambda: ada.omni_status() == "Available_for_Chats", timeout=20, what="convergence after the outage")


def test_expired_tokens_are_refreshed(setup: SandboxSetup, runtime: RuntimeProcess) -> None:
    ada = on_shift(setup, ADA)
    runtime.start()
    setup.sandbox.salesforce_operator.expire_tokens()
    setup.sandbox.cxone_operator.expire_tokens()
    sf0, cx0 = positions(setup)

    ada.cxone_set("Available")
    wait_until(lambda: ada.omni_status() == "Available_for_Chats", what="Omni follows with a new token")
    ada.omni_set("Busy")
    wait_until(lambda: ada.cxone_state() == "Unavailable:Break", what="CXone follows with a new token")

    sf_logins = [e for e in setup.sandbox.salesforce_operator.requests(sf0) if e["path"] == "/services/oauth2/token"]
    cx_logins = [e for e in setup.sandbox.cxone_operator.requests(cx0) if e["path"] == "/auth/token"]
    assert sf_logins and cx_logins


# ------------------------------------------------------------------------------------------ operability


def test_health_readiness_metrics_and_a_graceful_sigterm(setup: SandboxSetup, runtime: RuntimeProcess) -> None:
    runtime.start()
    assert requests.get(f"{runtime.url}/healthz", timeout=2).status_code == 200
    assert requests.get(f"{runtime.url}/readyz", timeout=2).status_code == 200
    text = requests.get(f"{runtime.url}/metrics", timeout=2).text
    for name in (
        "presence_sync_changes_seen",
        "presence_sync_writes",
        "presence_sync_echoes_suppressed",
        "presence_sync_end_to_end_seconds",
        "presence_sync_feed_lag_seconds",
        "presence_sync_errors",
    ):
        assert name in text
    assert runtime.process is not None
    runtime.process.send_signal(signal.SIGTERM)
    assert runtime.process.wait(15) == 0
    logs = runtime.logs()
    assert logs[-1]["message"] == "runtime stopped"
    secrets = [v for k, v in setup.sandbox.env.items() if "SECRET" in k or "PASSWORD" in k]
    text = runtime.log_path.read_text()
    assert not [s for s in secrets if s in text]


def test_changes_made_while_the_runtime_is_down_are_delivered_when_it_returns(
    setup: SandboxSetup, runtime: RuntimeProcess
) -> None:
    ada = on_shift(setup, ADA)
    grace = on_shift(setup, GRACE, omni="Available_for_Chats")
    runtime.start()
    assert runtime.stop() == 0
    ada.cxone_set("Available")
    grace.omni_set("Busy")
    sf0, cx0 = positions(setup)
    runtime.start()
    wait_until(lambda: ada.omni_status() == "Available_for_Chats", what="Ada's CXone change, read from the cursor")
    wait_until(lambda: grace.cxone_state() == "Unavailable:Break", what="Grace's Omni change, read from the replay id")
    assert settled_counts(setup, runtime, sf0, cx0) == (1, 1)


def test_without_the_change_stream_omni_changes_are_polled(setup: SandboxSetup, tmp_path: Path) -> None:
    config = sandbox_config(setup, tmp_path, salesforce_feed="poll")
    process = RuntimeProcess(config, tmp_path, setup.sandbox.env)
    ada = on_shift(setup, ADA, omni="Available_for_Chats")
    process.start()
    try:
        ada.omni_set("Busy")
        wait_until(lambda: ada.cxone_state() == "Unavailable:Break", what="CXone follows a polled Omni change")
        polls = [e for e in setup.sandbox.salesforce_operator.requests() if "UserServicePresence" in e["query"]]
        assert polls  # SOQL on UserServicePresence, within the configured budget
    finally:
        process.stop()
