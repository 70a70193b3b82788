"""One regression test per reconciler mechanism of issue 12, through the public interface with the fakes.

(a) a newer observation equal to the last known state, (b) vendor change time over arrival order, (c) an
unconfirmed write and the resync, skew (the vendor's clock 0.5 s behind), ledger (a write that never landed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.reconciler import CircuitBreaker, Observation, Reconciler
from runtime.store import SqliteStore

from .fakes import TRANSIENT, Clock, FakeWriter, config, reconciler
from .test_rules import AVAILABLE, BUSY

ADA = 7
UNMAPPED = "0N5OTHER"  # an Omni status no subscriber map lists


@pytest.fixture
def clock() -> Clock:
    return Clock()


def settled(rec: Reconciler, clock: Clock) -> None:
    """Ada in step: Available / Available_for_Chats (a baseline)."""
    rec.observe("acd", [Observation(ADA, "Available", clock())], baseline=True)
    rec.observe("sf", [Observation(ADA, AVAILABLE.status_id, clock())], baseline=True)
    rec.drain()


def cxone_echoes(rec: Reconciler, cxone: FakeWriter, clock: Clock) -> None:
    """CXone's feed shows the states we wrote (our echoes), as a poll 0.2 s later would."""
    clock.advance(0.2)
    rec.observe("acd", [Observation(ADA, target, clock() - 0.1) for target in cxone.targets()[-1:]])
    rec.drain()


def test_a_newer_change_back_to_the_known_state_cancels_the_queued_write(tmp_path: Path, clock: Clock) -> None:
    """(a) Omni is down, so the Busy write waits; meanwhile Ada sets Omni (back) to Available herself. The
    feed reports Available -- equal to the known state, but newer than the decision: her choice wins."""
    rec, cxone, omni = reconciler(tmp_path / "s.db", clock)
    settled(rec, clock)
    omni.fail_with = TRANSIENT
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    clock.advance(1.0)
    rec.observe("sf", [Observation(ADA, AVAILABLE.status_id, clock())])  # Lunch and back, folded: her change
    rec.drain()
    cxone_echoes(rec, cxone, clock)
    omni.fail_with = None
    clock.advance(60)
    rec.mark_all_dirty()
    rec.drain()
    assert omni.made == []  # the queued Busy never lands over her newer choice
    assert cxone.targets() == ["Available"]  # and CXone follows the latest change


def test_changes_are_ordered_by_the_vendors_change_time_not_by_arrival(tmp_path: Path, clock: Clock) -> None:
    """(b) CXone Break at t+1 reaches the runtime late (the CXone feed was down); Omni's newer change at t+2,
    to a status the rule does not map, arrived first. The newer change is the source: nothing is written."""
    rec, cxone, omni = reconciler(tmp_path / "s.db", clock)
    settled(rec, clock)
    start = clock()
    clock.advance(3.0)
    rec.observe("sf", [Observation(ADA, UNMAPPED, start + 2.0)])
    rec.drain()
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", start + 1.0)])
    rec.drain()
    assert omni.made == [] and cxone.made == []


def test_an_unconfirmed_write_and_a_later_change_do_not_make_the_resync_write_a_stale_target(
    tmp_path: Path, clock: Clock
) -> None:
    """(c) Busy is written to Omni, then Ada sets Omni back to Available; one stream batch folds both, so the
    Busy echo is never seen. The resync must not write Busy again over her change; CXone follows her."""
    rec, cxone, omni = reconciler(tmp_path / "s.db", clock)
    settled(rec, clock)
    start = clock()
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", start)])
    rec.drain()
    assert omni.targets() == [BUSY.status_id]
    clock.advance(1.0)
    rec.observe("sf", [Observation(ADA, AVAILABLE.status_id, start + 0.5)])  # Busy (ours), then hers: folded
    rec.drain()
    cxone_echoes(rec, cxone, clock)
    clock.advance(40.0)  # past the echo window; the resync re-reads both sides and reconciles everyone
    acd = cxone.targets()[-1] if cxone.made else "Unavailable:Break"
    rec.observe("acd", [Observation(ADA, acd, clock() - 40.0)])
    rec.observe("sf", [Observation(ADA, AVAILABLE.status_id, start + 0.5)])
    rec.mark_all_dirty()
    rec.drain()
    assert omni.targets() == [BUSY.status_id]  # no second, stale Busy
    assert cxone.targets() == ["Available"]


def test_echoes_are_recognised_when_the_vendors_clock_is_half_a_second_behind(tmp_path: Path, clock: Clock) -> None:
    """Skew: with the shipped tolerance (config default, no test override) and Salesforce's clock 0.5 s behind
    ours, each of three writes comes back as its echo -- none counts as Ada's change."""
    cxone, omni = FakeWriter("cxone"), FakeWriter("salesforce")
    breakers = {"acd": CircuitBreaker("cxone", clock=clock), "sf": CircuitBreaker("salesforce", clock=clock)}
    rec = Reconciler(
        config(),
        SqliteStore(tmp_path / "s.db"),
        {"acd": cxone, "sf": omni},
        clock=clock,
        rand=lambda: 0.5,
        breakers=breakers,  # type: ignore[arg-type]
    )
    settled(rec, clock)
    for state, status in (("Unavailable:Break", BUSY), ("Available", AVAILABLE), ("Unavailable:Break", BUSY)):
        clock.advance(2.0)
        rec.observe("acd", [Observation(ADA, state, clock())])
        rec.drain()
        landed = clock() + 0.1
        clock.advance(0.3)
        rec.observe("sf", [Observation(ADA, status.status_id, landed - 0.5)])  # the vendor's clock: 0.5 s behind
        rec.drain()
    assert omni.targets() == [BUSY.status_id, AVAILABLE.status_id, BUSY.status_id]
    assert cxone.made == []
    assert rec.metrics.echoes_suppressed.labels("sf")._value.get() == 3
    assert rec.metrics.changes_seen.labels("sf")._value.get() == 0


def test_a_ledger_entry_of_a_write_that_never_landed_does_not_swallow_a_later_change(
    tmp_path: Path, clock: Clock
) -> None:
    """Ledger: the Busy write fails and is then cancelled (Ada went back to Available on CXone). When Ada later
    sets Omni to Busy herself, that is her change, not our write's echo: CXone follows it, Omni is left alone."""
    rec, cxone, omni = reconciler(tmp_path / "s.db", clock)
    settled(rec, clock)
    omni.fail_with = TRANSIENT
    rec.observe("acd", [Observation(ADA, "Unavailable:Break", clock())])
    rec.drain()
    clock.advance(0.5)
    rec.observe("acd", [Observation(ADA, "Available", clock())])  # undone while the write waited
    rec.drain()
    omni.fail_with = None
    clock.advance(1.0)
    rec.observe("sf", [Observation(ADA, BUSY.status_id, clock())])  # her own change
    rec.drain()
    cxone_echoes(rec, cxone, clock)
    clock.advance(60)
    rec.mark_all_dirty()
    rec.drain()
    assert omni.made == []
    assert cxone.targets() == ["Unavailable:Break"]
