"""Backoff delays from tenacity's wait strategies (runtime/backoff.py), as the reconciler, circuit and supervisor
ask for them."""

from __future__ import annotations

import pytest

from runtime.backoff import EqualJitter, delay, exponential


def test_exponential_doubles_from_the_base_up_to_the_cap() -> None:
    assert [delay(exponential(0.5, 10.0), n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_equal_jitter_is_half_fixed_and_half_random_within_the_step() -> None:
    low, high = EqualJitter(0.2, 5.0, lambda: 0.0), EqualJitter(0.2, 5.0, lambda: 1.0)
    assert [delay(low, n) for n in (1, 2, 6, 9)] == pytest.approx([0.1, 0.2, 2.5, 2.5])
    assert [delay(high, n) for n in (1, 2, 6, 9)] == pytest.approx([0.2, 0.4, 5.0, 5.0])
