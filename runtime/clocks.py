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
RECOMPUTE_ALWAYS, RECOMPUTE_EVERY = 16, 8  # the estimate after every sample up to 16, then after every 8th
MIN_SPREAD = 0.1  # seconds: apply delays vary by hundreds of ms; a fast echo is no outlier within 3 x this


@dataclass(frozen=True)
class SkewEstimate:
    offset: float  # vendor clock minus ours, seconds
    uncertainty: float  # the true offset lies within offset ± uncertainty
    apply_delay: float = APPLY_ALLOWANCE  # how long after its answer a write of ours may still be applied

    def to_ours(self, vendor_time: float) -> float:
        return vendor_time - self.offset


class SkewEstimator:
    FEED_BOUNDS = 256  # recent changes whose arrival bounds the offset from below

    def __init__(self, initial_uncertainty: float, *, samples: int = 64) -> None:
        self.initial = SkewEstimate(0.0, max(RESOLUTION, initial_uncertainty), APPLY_ALLOWANCE)
        self._bounds: collections.deque[tuple[float, float]] = collections.deque(maxlen=samples)
        self._arrivals: collections.deque[float] = collections.deque(maxlen=self.FEED_BOUNDS)
        self._arrival_floor: float | None = None  # the highest of _arrivals
        self._arrived = 0  # arrivals seen in all
        self.accepted = 0  # samples taken in all (the caller keeps them every few: ``samples``)
        self._lock = threading.Lock()
        self._estimate = self.initial

    @property
    def estimate(self) -> SkewEstimate:
        with self._lock:
            return self._estimate

    def samples(self) -> list[tuple[float, float | None]]:
        """The samples as (low, high) bounds, and the arrivals' lower bounds as (low, None), to keep across a
        restart (``restore``)."""
        with self._lock:
            floor = [] if self._arrival_floor is None else [(self._arrival_floor, None)]
            return [*self._bounds, *floor]

    def restore(self, samples: list[tuple[float, float | None]]) -> None:
        with self._lock:
            self._bounds.clear()
            self._arrivals.clear()
            for low, high in samples:
                if high is None:
                    self._arrivals.append(float(low))
                else:
                    self._bounds.append((float(low), float(high)))
            self._arrival_floor = max(self._arrivals, default=None)
            self._estimate = self._compute()

    @property
    def sample_count(self) -> int:
        with self._lock:
            return len(self._bounds)

    def arrived(self, *, vendor_time: float, received_at: float) -> None:
        """A change stamped ``vendor_time`` had reached us by ``received_at`` (our clock), so it was made by then:
        whoever made it, the offset is at least ``vendor_time - received_at``."""
        low = vendor_time - received_at - RESOLUTION
        if not -self.initial.uncertainty <= low <= self.initial.uncertainty:
            return  # beyond the skew assumed at most: a stamp not of this change's time
        with self._lock:
            self._arrivals.append(low)
            self._arrived += 1
            floor = self._arrival_floor
            now_floor = low if floor is None else max(floor, low)
            if self._arrived % 64 == 0:  # the highest may have left the window
                now_floor = max(self._arrivals)
            self._arrival_floor = now_floor
            if floor is None or abs(now_floor - floor) >= RESOLUTION:  # (finer moves change nothing)
                self._estimate = self._compute()

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
            self.accepted += 1
            if self.accepted <= RECOMPUTE_ALWAYS or self.accepted % RECOMPUTE_EVERY == 0:
                self._estimate = self._compute()  # (a full window moves by one sample in 64: every few will do)

    def _compute(self) -> SkewEstimate:
        floor = self._arrival_floor
        agreeing = _agreeing([(low, high) for low, high in self._bounds if floor is None or high >= floor])
        if len(agreeing) < SETTLED:
            return self.initial  # too few echoes that agree: any of them could be an agent's change taken for ours
        highs = sorted(high for _, high in agreeing)
        # An echo that was really the agent choosing our target shortly before the write went out can still agree
        # (the bounds are as wide as the apply allowance), but says "before it was sent": far below the others.
        middle = statistics.median(highs)
        spread = max(statistics.median(abs(h - middle) for h in highs), MIN_SPREAD)
        highs = [h for h in highs if h >= middle - 3 * spread]
        high = highs[int(LOW_PERCENTILE * (len(highs) - 1))]  # the fast applications: the offset is at most this
        low = statistics.median(low for low, _ in agreeing)
        # The arrivals bound it from below, tightly where a feed delivers fast (a stream): the middle of the two
        # bounds then, since a vendor may never apply a write at once (the Omni bridge takes a few hundred ms).
        # (The uncertainty stays the spread down to the echoes' lower bounds: how late a write may still be applied
        # is measured from few echoes, and the echo window needs that slack.)
        offset = high if floor is None or floor <= low else (min(floor, high) + high) / 2
        apply_delay = min(APPLY_ALLOWANCE, 1.5 * (highs[int(HIGH_PERCENTILE * (len(highs) - 1))] - offset))
        return SkewEstimate(offset, max(0.0, offset - low, high - offset) + RESOLUTION, apply_delay + RESOLUTION)


def _agreeing(bounds: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The samples that agree on the offset (Marzullo's algorithm: the offsets inside the most samples' bounds),
    or none when no single range is inside more than half of them.

    Every true echo's bounds hold the real offset. An agent who chose our target just before our write went out
    gives bounds wholly below it, one who chose it again after our write landed bounds wholly above it: with
    few samples such a one would set the offset (a low percentile, a spread) as readily as a true echo. Two
    disjoint ranges with as many samples each mean that it cannot be told yet which are the echoes."""
    edges = sorted([(low, 0) for low, _ in bounds] + [(high, 1) for _, high in bounds])  # a start before an end
    best, count = 0, 0
    ranges: list[tuple[float, float]] = []
    for position, (value, is_end) in enumerate(edges):
        if is_end:
            count -= 1
            continue
        count += 1
        if count >= best:
            following = edges[position + 1][0]  # an end always follows the last start
            ranges = ([] if count > best else ranges) + [(value, following)]
            best = count
    if len(ranges) != 1 or 2 * best <= len(bounds):
        return []
    low_edge, high_edge = ranges[0]
    return [(low, high) for low, high in bounds if low <= low_edge and high_edge <= high]
