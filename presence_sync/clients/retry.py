"""Bounded retries for both vendor clients.

``call_with_retry`` runs one vendor call:

* a ``TransientVendorError`` is retried with exponential backoff and jitter, at most
  ``RetryPolicy.attempts`` tries in all and never past ``RetryPolicy.budget`` seconds of wall time
  (a ``Retry-After`` the vendor sent is honoured, capped at ``max_delay``);
* a ``SessionExpired`` triggers one re-authentication (``reauthenticate``) and one immediate repeat;
  a second expiry in the same call is raised (the new token was rejected too: a credential problem);
* any other error is raised at once.

Writes are retried too. A create whose response was lost can come back as ``AlreadyExists`` on the
retry; callers that create read back by name before reporting that (the providers do).

Sleep, clock and randomness are injectable so tests assert the exact schedule without waiting.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from presence_sync.clients.errors import SessionExpired, TransientVendorError

__all__ = ["RetryPolicy", "call_with_retry"]

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry transient errors. The defaults ride out a vendor hiccup of ~15 seconds."""

    attempts: int = 5  # tries in all, the first included
    base_delay: float = 0.5  # seconds before the first retry (before jitter)
    max_delay: float = 8.0  # cap on any single wait
    budget: float = 30.0  # cap on the whole call, waits included
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.budget < 0:
            raise ValueError("RetryPolicy delays and budget must not be negative")

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based): 'equal jitter' backoff.

        Half of the exponential step is fixed and half random, so waits grow (no thundering herd
        of zero-second retries) yet concurrent callers spread out.
        """
        step = min(self.max_delay, self.base_delay * (2 ** (retry_number - 1)))
        wait = step / 2 + self.random() * step / 2
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_delay))
        return wait

    @classmethod
    def none(cls) -> RetryPolicy:
        """One try, no waiting: for callers that do their own retrying (the runtime's requeue)."""
        return cls(attempts=1, budget=0)


def call_with_retry(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    reauthenticate: Callable[[], None] | None = None,
    describe: str = "vendor call",
) -> T:
    """Run ``fn`` under ``policy``; see the module docstring for the rules."""
    started = policy.clock()
    retries = 0
    reauthenticated = False
    while True:
        try:
            return fn()
        except SessionExpired:
            if reauthenticate is None or reauthenticated:
                raise
            reauthenticated = True
            log.info("%s: session expired; re-authenticating once", describe)
            reauthenticate()
        except TransientVendorError as exc:
            retries += 1
            if retries >= policy.attempts:
                log.warning("%s: giving up after %d attempts: %s", describe, retries, exc)
                raise
            wait = policy.delay(retries, exc.retry_after)
            elapsed = policy.clock() - started
            if elapsed + wait > policy.budget:
                log.warning("%s: giving up after %.1fs (budget %.1fs): %s", describe, elapsed, policy.budget, exc)
                raise
            log.warning("%s: %s; retry %d/%d in %.2fs", describe, exc, retries, policy.attempts - 1, wait)
            policy.sleep(wait)
