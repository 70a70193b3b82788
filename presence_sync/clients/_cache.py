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
        self._epoch = 0

    def get(self, key: str, load: Callable[[], T]) -> T:
        with self._lock:
            if key in self._values:
                return cast(T, self._values[key])
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._values:
                    return cast(T, self._values[key])
                epoch = self._epoch
            value = load()
            with self._lock:
                if self._epoch == epoch:  # a write during the load makes the value stale
                    self._values[key] = value
            return value

    def forget(self, *keys: str) -> None:
        """Drop the named lists (none named: every list), and any load still in flight."""
        with self._lock:
            for key in keys or list(self._values):
                self._values.pop(key, None)
            self._epoch += 1
