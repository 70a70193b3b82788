"""Backoff delays from tenacity's wait strategies (the project's one retry library), asked outside a retry loop.

The runtime never sleeps on a failure: the reconciler requeues the agent at a time, the circuit opens until a
time, the supervisor waits on an event it can be woken from. So each asks a tenacity wait strategy for the delay
of attempt ``n`` (``delay``), with the randomness injected: the simulation's runs are seeded.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import tenacity

__all__ = ["EqualJitter", "delay", "exponential"]

_NO_LOOP = tenacity.Retrying()  # a RetryCallState needs a retrying object; its own schedule is never used


class EqualJitter(tenacity.wait.wait_exponential):
    """Half of the capped exponential step is fixed and half random: waits grow, yet concurrent writes spread out
    (``RetryPolicy.delay``'s rule in the clients)."""

    def __init__(self, base: float, cap: float, rand: Callable[[], float] = random.random) -> None:
        super().__init__(multiplier=base, max=cap)
        self._rand = rand

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        step = super().__call__(retry_state)
        return step / 2 + self._rand() * step / 2


def exponential(base: float, cap: float) -> tenacity.wait.wait_exponential:
    """``base`` doubling per attempt, capped at ``cap``: attempt 1 waits ``base``."""
    return tenacity.wait_exponential(multiplier=base, max=cap)


def delay(strategy: tenacity.wait.wait_base, attempt: int) -> float:
    """The seconds ``strategy`` waits after failed attempt ``attempt`` (1-based)."""
    state = tenacity.RetryCallState(retry_object=_NO_LOOP, fn=None, args=(), kwargs={})
    state.attempt_number = max(1, attempt)
    return float(strategy(state))
