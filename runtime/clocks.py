"""How far each vendor's clock is from ours, learnt from the runtime's own writes and their echoes.

Every change a feed reports carries the vendor's timestamp (CXone ``lastUpdateTime``, Salesforce
``CommitTimestamp``). The runtime orders changes on the two sides by those times, and recognises its own
writes coming back by them, so it needs each vendor's time on its own clock. A write of ours is the one event
whose true time is known on both clocks: the vendor applied it after we sent it and before its answer came
back, so its echo's timestamp ``v`` bounds the offset (vendor minus ours) to ``[v - acked_at, v - sent_at]``.

``SkewEstimator`` keeps the recent bounds per vendor. While they overlap, the offset is the middle of their
intersection and the uncertainty its half width (plus the timestamps' resolution); when they stop overlapping
(the clock drifted, or an answer was delayed), the median of the samples' middles is used with their spread as
the uncertainty. Before the first sample the uncertainty is the configured ``clock_skew_seconds`` bound.

Where the vendor applies our write after answering (Salesforce: the Omni bridge in the agent's console applies
a published command), the answer bounds nothing: only ``v - sent_at`` does (the change came after we sent it),
and the console's delay widens the other end (``ASYNC_APPLY_ALLOWANCE``). There the offset is taken at the
tightest upper bound (the fastest application seen, assumed near instant) and the uncertainty spans the whole
interval, so it stays honest about the console's delay while the best guess is not biased by it.
"""

from __future__ import annotations

import collections
import statistics
import threading
from dataclasses import dataclass

__all__ = ["ASYNC_APPLY_ALLOWANCE", "SkewEstimate", "SkewEstimator"]

RESOLUTION = 0.01  # seconds: vendors stamp changes to the millisecond; a little more for rounding on both ends
# A Salesforce status change made by our command happens in the agent's console after the publish was answered;
# this much is allowed for it when that answer bounds the change's time.
ASYNC_APPLY_ALLOWANCE = 1.0
IMPLAUSIBLE = 60.0  # an offset beyond this is a mismatched sample (not our write), never a clock


@dataclass(frozen=True)
class SkewEstimate:
    offset: float  # vendor clock minus ours, seconds
    uncertainty: float  # the true offset lies within offset ± uncertainty

    def to_ours(self, vendor_time: float) -> float:
        return vendor_time - self.offset


class SkewEstimator:
    def __init__(self, initial_uncertainty: float, *, samples: int = 64, applied_after_answer: bool = False) -> None:
        self.initial = SkewEstimate(0.0, max(RESOLUTION, initial_uncertainty))
        self.applied_after_answer = applied_after_answer
        self._bounds: collections.deque[tuple[float, float]] = collections.deque(maxlen=samples)
        self._lock = threading.Lock()
        self._estimate = self.initial

    @property
    def estimate(self) -> SkewEstimate:
        with self._lock:
            return self._estimate

    @property
    def sample_count(self) -> int:
        with self._lock:
            return len(self._bounds)

    def sample(self, *, sent_at: float, acked_at: float, vendor_time: float) -> None:
        """Our write was sent at ``sent_at`` and answered at ``acked_at`` (our clock); its echo says ``vendor_time``."""
        applied_by = acked_at + (ASYNC_APPLY_ALLOWANCE if self.applied_after_answer else 0.0)
        low, high = vendor_time - applied_by, vendor_time - sent_at
        if high < low or abs(low) > IMPLAUSIBLE or abs(high) > IMPLAUSIBLE:
            return
        with self._lock:
            self._bounds.append((low, high))
            self._estimate = self._compute()

    def _compute(self) -> SkewEstimate:
        low = max(b[0] for b in self._bounds)
        high = min(b[1] for b in self._bounds)
        if low <= high:
            if self.applied_after_answer:
                return SkewEstimate(high, high - low + RESOLUTION)
            return SkewEstimate((low + high) / 2, (high - low) / 2 + RESOLUTION)
        middles = [(b[0] + b[1]) / 2 for b in self._bounds]
        offset = statistics.median(middles)
        reach = max(max(abs(b[0] - offset), abs(b[1] - offset)) for b in self._bounds)  # covers every sample
        return SkewEstimate(offset, reach + RESOLUTION)
