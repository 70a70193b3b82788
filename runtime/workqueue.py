"""A keyed work queue, apart from what is done with a key (controller-runtime's shape).

    queue.add(key)                 # queue a key; one that is already queued is not queued twice
    key = queue.get()              # block until a key is due (None once shut down)
    ...                            # process it (no other worker gets the same key meanwhile)
    queue.done(key)                # a key added again while it was processed is queued once more now
    queue.add_at(key, when)        # process it again at ``when`` (a retry, a backoff, a re-read)

The guarantees are what the reconciler relies on, and nothing else: a key is processed by one worker at a
time; an ``add`` while it is processed is never lost (the key runs once more afterwards); many adds collapse
into one run. Time comes from the injected clock, so tests drive delayed keys without waiting.
"""

from __future__ import annotations

import collections
import heapq
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["KeyedWorkQueue"]

K = TypeVar("K", bound=Hashable)

_IDLE_WAIT = 0.5  # seconds a blocked get() sleeps when no delayed key is due sooner (a stop is noticed at once)


class KeyedWorkQueue(Generic[K]):
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._ready: collections.deque[K] = collections.deque()
        self._queued: set[K] = set()
        self._processing: set[K] = set()
        self._again: set[K] = set()
        self._delayed: list[tuple[float, int, K]] = []
        self._sequence = 0  # keeps heap entries with equal times in insertion order (keys need not be ordered)
        self._shut_down = False

    def add(self, key: K) -> None:
        with self._cond:
            self._add_locked(key)

    def add_at(self, key: K, when: float) -> None:
        """Queue ``key`` once the clock reaches ``when`` (at once if it already has)."""
        with self._cond:
            self._sequence += 1
            heapq.heappush(self._delayed, (when, self._sequence, key))
            self._cond.notify_all()

    def get(self, *, block: bool = True) -> K | None:
        """The next due key, now marked as being processed; None when shut down (or, unblocked, when none is due)."""
        with self._cond:
            while True:
                self._release_due()
                if self._ready:
                    key = self._ready.popleft()
                    self._queued.discard(key)
                    self._processing.add(key)
                    return key
                if not block or self._shut_down:
                    return None
                wait = _IDLE_WAIT
                if self._delayed:
                    wait = max(0.001, min(_IDLE_WAIT, self._delayed[0][0] - self._clock()))
                self._cond.wait(wait)

    def done(self, key: K) -> None:
        with self._cond:
            self._processing.discard(key)
            if key in self._again:
                self._again.discard(key)
                self._add_locked(key)

    def shut_down(self) -> None:
        with self._cond:
            self._shut_down = True
            self._cond.notify_all()

    def restart(self) -> None:
        with self._cond:
            self._shut_down = False

    def idle(self) -> bool:
        """Nothing queued and nothing being processed (delayed keys do not count)."""
        with self._cond:
            return not self._ready and not self._processing

    def next_delayed_at(self) -> float | None:
        with self._cond:
            return self._delayed[0][0] if self._delayed else None

    def _add_locked(self, key: K) -> None:
        if key in self._processing:
            self._again.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._ready.append(key)
            self._cond.notify()

    def _release_due(self) -> None:
        now = self._clock()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, key = heapq.heappop(self._delayed)
            self._add_locked(key)
