"""A circuit per vendor: an outage costs one probe per cooldown instead of a call per queued write."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .backoff import delay, exponential

__all__ = ["CircuitBreaker"]

log = logging.getLogger("runtime.reconciler")


class CircuitBreaker:
    """Closed → open after ``threshold`` consecutive failures → half-open after a cooldown (one probe);
    the cooldown doubles on each failed probe, up to ``max_cooldown``, and starts again from ``cooldown`` when
    the vendor answers another call (``reachable``)."""

    def __init__(
        self,
        name: str,
        *,
        threshold: int = 3,
        cooldown: float = 0.5,
        max_cooldown: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.threshold = threshold
        self.base_cooldown = cooldown
        self.max_cooldown = max_cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._cooldowns = exponential(cooldown, max_cooldown)  # tenacity's: doubling per failed probe, capped
        self._failed_probes = 0
        self._open_until: float | None = None
        self._probing = False

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._open_until is not None

    def retry_in(self) -> float:
        with self._lock:
            return 0.0 if self._open_until is None else max(0.0, self._open_until - self._clock())

    def allow(self) -> bool:
        with self._lock:
            if self._open_until is None:
                return True
            if self._clock() >= self._open_until and not self._probing:
                self._probing = True  # half-open: exactly one caller probes
                return True
            return False

    def success(self) -> None:
        with self._lock:
            self._failures = 0
            self._open_until = None
            self._probing = False
            self._failed_probes = 0

    def reachable(self) -> bool:
        """The vendor answered another call (a feed read): an outage is over or partial, so an open circuit
        probes again after the base cooldown at most (a write probe that failed just after an outage -- one
        refused request -- kept the writes waiting for the longest cooldown once more). While only the writes
        fail, that is a probe per read at most. Returns whether the probe moved earlier."""
        with self._lock:
            self._failed_probes = 0
            sooner = self._clock() + self.base_cooldown
            if self._open_until is None or self._open_until <= sooner:
                return False
            self._open_until = sooner
            return True

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._probing:
                self._failed_probes += 1
            if self._probing or self._failures >= self.threshold:
                if self._open_until is None:
                    log.warning("circuit %s opened after %d failures", self.name, self._failures)
                self._open_until = self._clock() + delay(self._cooldowns, self._failed_probes + 1)
            self._probing = False
