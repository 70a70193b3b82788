"""Each vendor's clock offset, learnt from our writes (sent, answered) and the times their echoes carry."""

from __future__ import annotations

import pytest

from runtime.clocks import RESOLUTION, SkewEstimator


def test_before_any_sample_the_configured_bound_is_the_uncertainty() -> None:
    estimate = SkewEstimator(2.0).estimate
    assert estimate.offset == 0.0 and estimate.uncertainty == 2.0


def test_writes_narrow_the_offset_of_a_clock_half_a_second_behind() -> None:
    skew = SkewEstimator(2.0)
    true_offset = -0.5
    for sent, latency, applied_after in ((100.0, 0.08, 0.03), (101.0, 0.05, 0.01), (102.0, 0.12, 0.1)):
        skew.sample(sent_at=sent, acked_at=sent + latency, vendor_time=sent + applied_after + true_offset)
    estimate = skew.estimate
    assert estimate.offset - estimate.uncertainty <= true_offset <= estimate.offset + estimate.uncertainty
    assert estimate.uncertainty <= 0.05 + RESOLUTION  # the tightest sample bounds it
    assert estimate.to_ours(1_000.0) == pytest.approx(1_000.0 - estimate.offset)


def test_samples_that_stop_agreeing_fall_back_to_their_median_and_spread() -> None:
    skew = SkewEstimator(2.0)
    skew.sample(sent_at=100.0, acked_at=100.1, vendor_time=100.05)  # offset in [-0.05, 0.05]
    skew.sample(sent_at=200.0, acked_at=200.1, vendor_time=200.35)  # the clock drifted: offset in [0.25, 0.35]
    estimate = skew.estimate
    for low, high in ((-0.05, 0.05), (0.25, 0.35)):
        assert estimate.offset - estimate.uncertainty <= low and high <= estimate.offset + estimate.uncertainty


def test_an_implausible_sample_is_ignored() -> None:
    skew = SkewEstimator(2.0)
    skew.sample(sent_at=100.0, acked_at=100.1, vendor_time=100.0 + 3600)
    assert skew.sample_count == 0 and skew.estimate.uncertainty == 2.0


def test_where_the_vendor_applies_after_answering_the_fastest_application_sets_the_offset() -> None:
    skew = SkewEstimator(2.0, applied_after_answer=True)
    for sent, console_delay in ((100.0, 0.3), (101.0, 0.02), (102.0, 0.6)):  # our clocks agree: offset 0
        skew.sample(sent_at=sent, acked_at=sent + 0.05, vendor_time=sent + console_delay)
    estimate = skew.estimate
    assert estimate.offset == pytest.approx(0.02)  # biased by the fastest console delay only
    assert estimate.offset - estimate.uncertainty <= 0.0  # and honest that it could be less
