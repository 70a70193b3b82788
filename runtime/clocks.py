"""How far each vendor's clock is from ours, learnt from the runtime's own writes and their echoes.

Every change a feed reports carries the vendor's timestamp (CXone ``lastUpdateTime``, Salesforce
``CommitTimestamp``). The runtime orders changes on the two sides by those times, and recognises its own
writes coming back by them, so it needs each vendor's time on its own clock. A write of ours is the one event
whose time is known on both clocks: the vendor applied it after we sent it, so its echo's timestamp ``v``
says ``v - sent_at = offset + delay`` (offset: vendor minus ours; delay >= 0, the time until it applied).

Both vendors apply a write after answering it (CXone's agent API answers ``202 Accepted``; an Omni command is
applied by the bridge in the agent's console), so the answer does not bound the delay; ``APPLY_ALLOWANCE``
is what is allowed for it. ``SkewEstimator`` keeps the recent samples per vendor and takes a low percentile
of ``v - sent_at`` as the offset (the fast applications, where the delay is near zero; a low percentile
rather than the minimum, so that a mismatched sample -- the agent had chosen that state just before our write
-- does not drag it down; such samples far below the bulk are left out too), and as the uncertainty the spread
down to the samples' lower bounds (``v - acked_at - APPLY_ALLOWANCE``). Once it has a few samples, one far
outside the estimate is refused. Until it has ``SETTLED`` samples the offset is 0 and the uncertainty the
configured ``clock_skew_seconds``.
"""

from __future__ import annotations

import collections
import statistics
import threading
from dataclasses import dataclass

__all__ = ["APPLY_ALLOWANCE", "SkewEstimate", "SkewEstimator"]

RESOLUTION = 0.01  # seconds: vendors stamp changes to the millisecond; a little more for rounding on both ends
APPLY_ALLOWANCE = 1.0  # seconds a vendor may take to apply a write after answering it
LOW_PERCENTILE = 0.2
HIGH_PERCENTILE = 0.95
SETTLED = 3  # samples after which one far outside the estimate is refused, and the apply delay is measured


@dataclass(frozen=True)
class SkewEstimate:
    offset: float  # vendor clock minus ours, seconds
    uncertainty: float  # the true offset lies within offset ± uncertainty
    apply_delay: float = APPLY_ALLOWANCE  # how long after its answer a write of ours may still be applied

    def to_ours(self, vendor_time: float) -> float:
        return vendor_time - self.offset


class SkewEstimator:
    def __init__(self, initial_uncertainty: float, *, samples: int = 64) -> None:
        self.initial = SkewEstimate(0.0, max(RESOLUTION, initial_uncertainty), APPLY_ALLOWANCE)
        self._bounds: collections.deque[tuple[float, float]] = collections.deque(maxlen=samples)
        self._lock = threading.Lock()
        self._estimate = self.initial

    @property
    def estimate(self) -> SkewEstimate:
        with self._lock:
            return self._estimate

    def samples(self) -> list[tuple[float, float]]:
        """The samples as (low, high) bounds, to keep across a restart (``restore``)."""
        with self._lock:
            return list(self._bounds)

    def restore(self, samples: list[tuple[float, float]]) -> None:
        with self._lock:
            self._bounds.clear()
            self._bounds.extend((float(low), float(high)) for low, high in samples)
            self._estimate = self._compute() if self._bounds else self.initial

    @property
    def sample_count(self) -> int:
        with self._lock:
            return len(self._bounds)

    def sample(self, *, sent_at: float, acked_at: float, vendor_time: float) -> None:
        """Our write was sent at ``sent_at`` and answered at ``acked_at`` (our clock); its echo says ``vendor_time``."""
        low, high = vendor_time - acked_at - APPLY_ALLOWANCE, vendor_time - sent_at
        bound = self.initial.uncertainty
        if high < low or not -bound <= high <= bound + APPLY_ALLOWANCE:
            return  # beyond the skew assumed at most (clock_skew_seconds): not our write's echo
        with self._lock:
            current = self._estimate
            if len(self._bounds) >= SETTLED and not (
                current.offset - current.uncertainty <= high and low <= current.offset + current.uncertainty
            ):
                return  # far outside what the other writes said: not our write's echo, or a stalled vendor
            self._bounds.append((low, high))
            self._estimate = self._compute()

    def _compute(self) -> SkewEstimate:
        highs = sorted(high for _, high in self._bounds)
        if len(highs) < SETTLED:
            return self.initial  # one or two echoes could be an agent's own change taken for ours: wait for more
        # An echo that was really the agent choosing our target just before the write went out says "before it
        # was sent": far below the others. Drop what lies well below the bulk before taking the low end.
        middle = statistics.median(highs)
        spread = max(statistics.median(abs(h - middle) for h in highs), 0.05)
        highs = [h for h in highs if h >= middle - 3 * spread] or highs
        offset = highs[int(LOW_PERCENTILE * (len(highs) - 1))]
        floor = statistics.median(low for low, _ in self._bounds)
        apply_delay = APPLY_ALLOWANCE
        if len(highs) >= SETTLED:  # the slow applications seen, with room to spare: how late a write still lands
            apply_delay = min(APPLY_ALLOWANCE, 1.5 * (highs[int(HIGH_PERCENTILE * (len(highs) - 1))] - offset))
        return SkewEstimate(offset, max(0.0, offset - floor) + RESOLUTION, apply_delay + RESOLUTION)
