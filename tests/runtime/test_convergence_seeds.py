"""The causes behind the simulation seeds 1,500-2,999 that broke an invariant, one regression test each (the
clock estimate's are in test_clocks.py): liveness after an outage, the ledger entry of a write sent only after
the agent's own choice, older echoes behind a mimicked one, and a re-read within the clocks' uncertainty."""

from __future__ import annotations

from pathlib import Path

import pytest

from presence_sync.clients.errors import ConnectionFailed
from runtime.reconciler import CircuitBreaker, Observation, Reconciler
from runtime.store import SqliteStore

from .fakes import TRANSIENT, Clock, FakeWriter, config, reconciler
from .test_reconciler import RereadableWriter
from .test_rules import AVAILABLE, BUSY, LUNCH

ADA = 7
OTHER = "0N5OTHER"  # an Omni status no subscriber map lists


@pytest.fixture
def clock() -> Clock:
    return Clock()


def settled(rec: Reconciler, clock: Clock) -> None:
    """Ada in step: Available / Available_for_Chats (a baseline)."""
    rec.observe("acd", [Observation(ADA, "Available", clock())], baseline=True)
    rec.observe("sf", [Observation(ADA, AVAILABLE.status_id, clock())], baseline=True)
    rec.drain()


def unmeasured(path: Path, clock: Clock) -> tuple[Reconciler, FakeWriter, FakeWriter]:
    """A reconciler with the shipped clock bound (1 s, nothing measured yet): echoes are matched that loosely."""
    cxone, omni = FakeWriter("cxone"), FakeWriter("salesforce")
    breakers = {"acd": CircuitBreaker("cxone", clock=clock), "sf": CircuitBreaker("salesforce", clock=clock)}
    rec = Reconciler(
        config(),
        SqliteStore(path),
        {"acd": cxone, "sf": omni},
        clock=clock,
        rand=lambda: 0.5,
        breakers=breakers,  # type: ignore[arg-type]
    )
    settled(rec, clock)
    return rec, cxone, omni


def test_after_an_outage_a_read_of_the_vendor_lets_the_waiting_write_go_before_the_longest_cooldown(
    tmp_path: Path, clock: Clock
) -> None:
    """Seed 2183: a long Omni outage grew the circuit's cooldown to 10 s; the probe just after the outage was
    refused once more (one request in seven failed), so the writes waited another 10 s, twice. Once the
    stream reads Omni again, the circuit probes after its base cooldown."""
    rec, _, omni = reconciler(tmp_path / "s.db", clock)
    settled(rec, clock)
    omni.fail_with = TRANSIENT
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    for _ in range(8):  # the outage: every probe fails, the cooldown doubles up to 10 s
        clock.advance(11.0)
        rec.drain()
    failed_probe = clock()
    assert rec.breakers["sf"].retry_in() == pytest.approx(10.0)
    omni.fail_with = None
    clock.advance(1.0)
    rec.observe("sf", [])  # the stream reads Omni again (nothing new)
    clock.advance(5.0)  # the write's own backoff is at most 5 s
    rec.drain()
    assert clock() < failed_probe + 10.0 and omni.targets() == [BUSY.status_id]


def test_an_agents_choice_of_the_target_before_our_write_first_went_out_is_their_change(
    tmp_path: Path, clock: Clock
) -> None:
    """Seed 2554: the Busy write waited out an Omni outage (every attempt refused with a 503), during which Ada
    chose Other and then Busy herself. The first attempt that may have landed (no answer) went out after the
    outage, so her Busy, stamped seconds before, is not its echo: nothing is put back over her choice."""
    rec, cxone, omni = unmeasured(tmp_path / "s.db", clock)
    decided = clock()
    omni.fail_with = TRANSIENT
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", decided)])
    rec.drain()
    for _ in range(4):
        clock.advance(0.75)
        rec.drain()
    omni.fail_with = ConnectionFailed  # after the outage: a request that went out, and no answer came back
    clock.advance(11.0)
    rec.drain()
    assert omni.attempts >= 5 and rec.store.pending_writes()[0].maybe_landed
    omni.fail_with = None
    clock.advance(0.2)
    her = [Observation(ADA, OTHER, decided + 0.2), Observation(ADA, BUSY.status_id, decided + 0.4)]
    rec.observe("sf", her)  # the stream catches up: both her changes
    rec.drain()
    clock.advance(30.0)
    rec.mark_all_dirty()
    rec.drain()
    assert omni.made == [] and cxone.made == []  # Other is not restored; CXone (Break) already follows Busy


def test_a_mimicked_echo_does_not_swallow_the_echo_of_the_write_before_it(tmp_path: Path, clock: Clock) -> None:
    """Seed 517: we wrote Available to Omni, then Busy 0.1 s later; Ada had chosen Busy herself just before the
    Busy write went out (indistinguishable from its echo), and our Available landed after her choice. Her Busy
    is taken for the Busy write's echo; the Available after it is still the Available write's echo, not her
    change to follow on CXone."""
    rec, cxone, omni = unmeasured(tmp_path / "s.db", clock)
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    clock.advance(0.3)
    rec.observe("sf", [Observation(ADA, BUSY.status_id, clock() - 0.1)])  # that write's echo
    rec.drain()
    clock.advance(5.0)
    start = clock()
    rec.observe("acd", [Observation(ADA, "Available", start)])
    rec.drain()
    clock.advance(0.1)
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", start + 0.1)])
    rec.drain()
    assert omni.targets() == [BUSY.status_id, AVAILABLE.status_id, BUSY.status_id]
    clock.advance(0.5)
    stream = [
        Observation(ADA, BUSY.status_id, start + 0.05),  # hers, just before our Busy went out
        Observation(ADA, AVAILABLE.status_id, start + 0.3),  # our Available, landing late
        Observation(ADA, BUSY.status_id, start + 0.4),  # our Busy
    ]
    rec.observe("sf", stream)
    rec.drain()
    assert cxone.made == []
    assert rec.metrics.echoes_suppressed.labels("sf")._value.get() == 3


def test_an_unanswered_write_is_not_repeated_when_its_side_changed_within_the_clock_uncertainty_of_it(
    tmp_path: Path, clock: Clock
) -> None:
    """Seed 2440: the Busy write got no answer; the read-back shows Lunch, stamped 30 ms before the write was
    decided by a vendor clock known to within 50 ms -- it may have come after our write landed. The write is not
    repeated as it is (the same command would be applied twice): the agent is decided again."""
    rec, _, _ = reconciler(tmp_path / "s.db", clock)
    settled(rec, clock)
    omni = RereadableWriter("salesforce")
    rec.writers["sf"] = omni
    omni.fail_with = ConnectionFailed
    decided = clock()
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", decided)])
    rec.drain()
    first = rec.store.pending_writes()[0].command_id
    omni.fail_with = None
    omni.shows = Observation(ADA, LUNCH.status_id, decided - 0.03)
    clock.advance(5.0)
    rec.drain()
    assert first not in {command for _, _, command in omni.made}
