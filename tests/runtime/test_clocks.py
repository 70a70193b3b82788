"""Each vendor's clock offset, learnt from our writes (sent, answered) and the times their echoes carry.

Both vendors apply a write after answering it, so a write only says ``echo time - sent = offset + delay``."""

from __future__ import annotations

import pytest

from runtime.clocks import APPLY_ALLOWANCE, RESOLUTION, SkewEstimator


def feed(skew: SkewEstimator, offset: float, delays: list[float], start: float = 100.0) -> None:
    for number, delay in enumerate(delays):
        sent = start + number
        skew.sample(sent_at=sent, acked_at=sent + 0.05, vendor_time=sent + delay + offset)


def test_before_any_sample_the_configured_bound_is_the_uncertainty() -> None:
    estimate = SkewEstimator(2.0).estimate
    assert estimate.offset == 0.0 and estimate.uncertainty == 2.0


def test_a_clock_half_a_second_behind_is_found_from_the_fast_applications() -> None:
    skew = SkewEstimator(2.0)
    feed(skew, -0.5, [0.02, 0.3, 0.03, 0.6, 0.25, 0.04, 0.5, 0.1, 0.35, 0.45])
    estimate = skew.estimate
    assert estimate.offset == pytest.approx(-0.5 + 0.03)  # biased by a fast application's delay only
    assert estimate.offset - estimate.uncertainty <= -0.5 <= estimate.offset + estimate.uncertainty
    assert estimate.uncertainty <= APPLY_ALLOWANCE + 0.1 + RESOLUTION
    assert estimate.to_ours(1_000.0) == pytest.approx(1_000.0 - estimate.offset)


def test_a_change_the_agent_made_just_before_our_write_does_not_drag_the_offset() -> None:
    skew = SkewEstimator(2.0)
    feed(skew, 0.0, [0.05, 0.1, 0.06, 0.2, 0.08, 0.07, 0.09, 0.1, 0.05, 0.12])
    before = skew.estimate
    skew.sample(sent_at=200.0, acked_at=200.05, vendor_time=198.6)  # the agent's own change, taken for our echo
    assert skew.estimate == before  # refused: far outside what ten writes said


def test_an_implausible_sample_is_ignored() -> None:
    skew = SkewEstimator(2.0)
    skew.sample(sent_at=100.0, acked_at=100.1, vendor_time=100.0 + 3600)
    assert skew.sample_count == 0 and skew.estimate.uncertainty == 2.0


def test_the_samples_carry_over_a_restart() -> None:
    skew = SkewEstimator(2.0)
    feed(skew, -0.5, [0.02, 0.3, 0.03, 0.6])
    again = SkewEstimator(2.0)
    again.restore(skew.samples())
    assert again.estimate == skew.estimate and again.sample_count == 4


def test_an_agents_own_change_taken_first_for_our_echo_does_not_set_the_offset() -> None:
    skew = SkewEstimator(1.0)
    skew.sample(sent_at=100.0, acked_at=100.0, vendor_time=99.48)  # they chose our target half a second before
    assert skew.estimate == skew.initial  # one sample decides nothing
    feed(skew, 0.0, [0.03, 0.01, 0.05, 0.2])
    assert skew.estimate.offset == pytest.approx(0.01)


def test_one_mimicked_echo_among_three_leaves_the_clock_unmeasured() -> None:
    """Seed 1799: two echoes of Omni writes (applied 0.27 s and 0.73 s after they were sent) and an agent's own
    choice of our target 0.62 s before the third write went out, taken for its echo. Those bounds give two
    disjoint ranges as well supported: which are the echoes cannot be told yet (it set -0.62 s +- 0.13 s)."""
    skew = SkewEstimator(1.0)
    skew.sample(sent_at=2.116, acked_at=2.116, vendor_time=2.385)
    skew.sample(sent_at=4.116, acked_at=4.116, vendor_time=4.842)
    skew.sample(sent_at=6.116, acked_at=6.116, vendor_time=5.500)
    assert skew.estimate == skew.initial
    feed(skew, 0.0, [0.3, 0.5], start=8.0)  # more echoes settle it, on the true offset
    estimate = skew.estimate
    assert estimate.offset - estimate.uncertainty <= 0.0 <= estimate.offset + estimate.uncertainty
    assert estimate.offset > 0.0


def test_a_vendor_that_never_applies_at_once_is_placed_by_how_soon_its_changes_arrive() -> None:
    """Seed 2400: the Omni bridge applies our commands 0.45-0.8 s after they are sent, so the fastest echo says
    'offset at most 0.45 s'. Changes the stream delivers within 50 ms say 'at least -0.05 s': the offset is taken
    between the two, not at the slow end (which put Omni changes 0.5 s early and let an older CXone change win)."""
    skew = SkewEstimator(1.0)
    feed(skew, 0.0, [0.48, 0.76, 0.72, 0.53, 0.75])
    assert skew.estimate.offset == pytest.approx(0.48)
    for number in range(20):
        skew.arrived(vendor_time=200.0 + number, received_at=200.05 + number)
    estimate = skew.estimate
    assert abs(estimate.offset) < 0.3
    assert estimate.offset - estimate.uncertainty <= 0.0 <= estimate.offset + estimate.uncertainty
    again = SkewEstimator(1.0)
    again.restore(skew.samples())  # the arrivals' bound carries over a restart too
    assert again.estimate == estimate
