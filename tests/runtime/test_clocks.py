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
