"""Bounded retries for both vendor clients.

``call_with_retry`` runs one vendor call:

* a ``TransientVendorError`` is retried with exponential backoff and jitter, at most
  ``RetryPolicy.attempts`` tries in all and never past ``RetryPolicy.budget`` seconds of wall time
  (a ``Retry-After`` the vendor sent is honoured, capped at ``max_delay``);
* a ``SessionExpired`` triggers one re-authentication (``reauthenticate``) and one immediate repeat;
  a second expiry in the same call is raised (the new token was rejected too: a credential problem);
* any other error is raised at once.

Only calls that are safe to repeat are repeated blindly. A caller marks a call ``idempotent=False`` when
doing it twice can differ from doing it once (a CXone agent-state write: repeated after a lost answer it can
overwrite a change the agent made in between; a create; an event publish). Such a call is retried only after
an error proving the vendor did not act on it (``certainly_not_processed``: connection refused or DNS
failure, a connect timeout, 429, 503, or an error the client marked ``not_processed``). Any other transient
error -- a read timeout, a connection reset after the request was sent, 500/502/504 -- may hide a write that
landed: it is raised at once as ``OutcomeUnknown`` (a ``TransientVendorError``, the original as its
``__cause__``), and the caller reads the current state before deciding to write again. A 401 is a rejection
before any processing, so the one re-authentication and repeat happens for every call.

The loop is tenacity's (the project's one retry library); sleep, clock and randomness are injectable so tests
assert the exact schedule without waiting.
"""

from __future__ import annotations

import logging
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import requests
import tenacity
import urllib3.exceptions

from presence_sync.clients.errors import (
    ConnectionFailed,
    OutcomeUnknown,
    RateLimited,
    SessionExpired,
    TransientVendorError,
    VendorError,
)

__all__ = ["RetryPolicy", "call_with_retry", "certainly_not_processed", "never_sent"]

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


# Failures that happen before a request leaves the client: no connection was ever made. (urllib3's
# NewConnectionError -- refused, unreachable -- and NameResolutionError are ConnectTimeoutErrors.)
_NOT_SENT = (
    requests.exceptions.ConnectTimeout,
    urllib3.exceptions.ConnectTimeoutError,
    ConnectionRefusedError,
    socket.gaierror,
)
_NOT_PROCESSED_STATUSES = (429, 503)  # the vendor answered that it did not take the request on


def never_sent(exc: BaseException | None) -> bool:
    """Whether a transport exception (``requests``/``urllib3``/socket, however wrapped) happened before the
    request was sent: refused, unreachable, DNS, connect timeout. A read timeout or a connection closed or reset
    after sending is *not* this: the vendor may have received and processed the request."""
    stack, seen = [exc], set()
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, _NOT_SENT):
            return True
        stack.extend([getattr(current, "reason", None), current.__cause__, current.__context__])
        stack.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
    return False


def certainly_not_processed(exc: VendorError) -> bool:
    """Whether ``exc`` proves the vendor did not act on the request, so repeating a non-idempotent call
    cannot apply it twice: marked so by the client, 429/503 or a rate limit, or a connection that never
    carried the request (see ``never_sent``; also read from the error's ``__context__``, which the clients'
    ``raise ... from None`` keeps)."""
    if isinstance(exc, OutcomeUnknown):
        return False
    if exc.not_processed or exc.status in _NOT_PROCESSED_STATUSES or isinstance(exc, RateLimited):
        return True
    if isinstance(exc, ConnectionFailed):
        return exc.error_code == "ConnectTimeout" or never_sent(exc.__cause__ or exc.__context__)
    return False


class _Backoff(tenacity.wait.wait_base):
    """tenacity's wait for ``RetryPolicy.delay``: equal jitter, and at least the vendor's Retry-After."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = failure.retry_after if isinstance(failure, VendorError) else None
        return self.policy.delay(retry_state.attempt_number, retry_after)


class _GiveUp(tenacity.stop.stop_base):
    """Stop after ``attempts`` tries, or when the coming wait would run past the call's ``budget`` (measured on
    the policy's clock, so tests drive it without waiting)."""

    def __init__(self, policy: RetryPolicy, describe: str) -> None:
        self.policy, self.describe = policy, describe
        self.started = policy.clock()

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        tries, policy = retry_state.attempt_number, self.policy
        if tries >= policy.attempts:
            log.warning("%s: giving up after %d attempts: %s", self.describe, tries, failure)
            return True
        elapsed = policy.clock() - self.started
        if elapsed + retry_state.upcoming_sleep > policy.budget:
            log.warning("%s: giving up after %.1fs (budget %.1fs): %s", self.describe, elapsed, policy.budget, failure)
            return True
        return False


def _retryable(exc: BaseException) -> bool:
    # OutcomeUnknown is transient too, but repeating it blindly is exactly what it forbids.
    return isinstance(exc, TransientVendorError) and not isinstance(exc, OutcomeUnknown)


def call_with_retry(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    reauthenticate: Callable[[], None] | None = None,
    describe: str = "vendor call",
    idempotent: bool = True,
) -> T:
    """Run ``fn`` under ``policy``; see the module docstring for the rules. The retry loop is tenacity's; the
    decisions (which errors, which waits, when to stop) are the policy's.

    ``idempotent=False``: ``fn`` is repeated only after errors that prove it was not processed; any other
    transient error is raised as ``OutcomeUnknown``.
    """
    reauthenticated = False

    def attempt() -> T:
        nonlocal reauthenticated
        try:
            try:
                return fn()
            except SessionExpired:
                if reauthenticate is None or reauthenticated:
                    raise
                reauthenticated = True
                log.info("%s: session expired; re-authenticating once", describe)
                reauthenticate()
                return fn()
        except TransientVendorError as exc:
            if not idempotent and not isinstance(exc, OutcomeUnknown) and not certainly_not_processed(exc):
                log.warning("%s: %s; not repeated (the write may have been applied)", describe, exc)
                raise OutcomeUnknown.after(exc) from exc
            raise

    def announce(retry_state: tenacity.RetryCallState) -> None:
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        log.warning(
            "%s: %s; retry %d/%d in %.2fs",
            describe,
            failure,
            retry_state.attempt_number,
            policy.attempts - 1,
            retry_state.upcoming_sleep,
        )

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(_retryable),
        wait=_Backoff(policy),
        stop=_GiveUp(policy, describe),
        sleep=policy.sleep,
        before_sleep=announce,
        reraise=True,
    )
    return retrying(attempt)
