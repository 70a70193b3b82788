"""The read cache both vendor sessions share with their per-kind proxies: each list is loaded once per process
(a ``pulumi`` run's provider process serves many resources from one list) and dropped by a write.

Single flight: four concurrent provider calls that need the same list make one request, not four. A write
that lands while a list is loading makes that load stale, so it is not kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

T = TypeVar("T")

__all__ = ["ReadCache"]


class ReadCache:
    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._epoch = 0  # bumped by forgetting everything
        self._key_epochs: dict[str, int] = {}  # bumped by forgetting one list

    def get(self, key: str, load: Callable[[], T]) -> T:
        with self._lock:
            if key in self._values:
                return cast(T, self._values[key])
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._values:
                    return cast(T, self._values[key])
                epoch = (self._epoch, self._key_epochs.get(key, 0))
            value = load()
            with self._lock:
                if epoch == (self._epoch, self._key_epochs.get(key, 0)):  # a write during the load made it stale
                    self._values[key] = value
            return value

    def forget(self, *keys: str) -> None:
        """Drop the named lists (none named: every list), and any load of them still in flight; a write to one
        kind leaves the other lists (and their loads) alone."""
        with self._lock:
            if not keys:
                self._values.clear()
                self._epoch += 1
            for key in keys:
                self._values.pop(key, None)
                self._key_epochs[key] = self._key_epochs.get(key, 0) + 1
