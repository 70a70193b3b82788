"""Backoff bounds, budget, Retry-After, and the one re-authentication."""

from __future__ import annotations

import pytest

from presence_sync.clients.errors import InvalidRequest, ServiceUnavailable, SessionExpired
from presence_sync.clients.retry import RetryPolicy, call_with_retry


def _flaky(failures: list[Exception], result: str = "ok"):
    calls = []

    def fn() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return result

    return fn, calls


def _transient(retry_after: float | None = None) -> ServiceUnavailable:
    return ServiceUnavailable("down", vendor="salesforce", operation="op", status=503, retry_after=retry_after)


def _expired() -> SessionExpired:
    return SessionExpired("expired", vendor="salesforce", operation="op", status=401)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _policy(clock: FakeClock, **kw) -> RetryPolicy:
    return RetryPolicy(sleep=clock.sleep, clock=lambda: clock.now, **kw)


def test_transient_errors_are_retried_with_growing_jittered_waits() -> None:
    clock = FakeClock()
    fn, calls = _flaky([_transient(), _transient(), _transient()])
    assert call_with_retry(fn, policy=_policy(clock, attempts=5, base_delay=1, max_delay=100, budget=100)) == "ok"
    assert len(calls) == 4
    for n, wait in enumerate(clock.sleeps, start=1):
        step = 2 ** (n - 1)
        assert step / 2 <= wait <= step


def test_attempts_bound_the_tries() -> None:
    clock = FakeClock()
    fn, calls = _flaky([_transient() for _ in range(10)])
    with pytest.raises(ServiceUnavailable):
        call_with_retry(fn, policy=_policy(clock, attempts=3, base_delay=0.1, budget=100))
    assert len(calls) == 3 and len(clock.sleeps) == 2


def test_single_waits_are_capped_and_the_budget_stops_early() -> None:
    clock = FakeClock()
    fn, _calls = _flaky([_transient() for _ in range(50)])
    policy = _policy(clock, attempts=50, base_delay=1, max_delay=4, budget=10)
    with pytest.raises(ServiceUnavailable):
        call_with_retry(fn, policy=policy)
    assert max(clock.sleeps) <= 4
    assert clock.now <= 10


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    clock = FakeClock()
    fn, _ = _flaky([_transient(retry_after=3), _transient(retry_after=60)])
    call_with_retry(fn, policy=_policy(clock, attempts=5, base_delay=0.01, max_delay=5, budget=100, random=lambda: 0))
    assert clock.sleeps == [3, 5]


def test_permanent_errors_are_not_retried() -> None:
    clock = FakeClock()
    fn, calls = _flaky([InvalidRequest("bad", vendor="cxone", operation="op")])
    with pytest.raises(InvalidRequest):
        call_with_retry(fn, policy=_policy(clock))
    assert len(calls) == 1 and clock.sleeps == []


def test_expired_session_reauthenticates_once_then_repeats() -> None:
    clock = FakeClock()
    logins = []
    fn, calls = _flaky([_expired()])
    assert call_with_retry(fn, policy=_policy(clock), reauthenticate=lambda: logins.append(1)) == "ok"
    assert len(logins) == 1 and len(calls) == 2 and clock.sleeps == []


def test_a_second_expiry_is_raised() -> None:
    logins = []
    fn, calls = _flaky([_expired(), _expired(), _expired()])
    with pytest.raises(SessionExpired):
        call_with_retry(fn, policy=_policy(FakeClock()), reauthenticate=lambda: logins.append(1))
    assert len(logins) == 1 and len(calls) == 2


def test_no_reauthenticate_means_expiry_is_raised() -> None:
    fn, calls = _flaky([_expired()])
    with pytest.raises(SessionExpired):
        call_with_retry(fn, policy=_policy(FakeClock()))
    assert len(calls) == 1


def test_policy_validation_and_none() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    fn, calls = _flaky([_transient()])
    with pytest.raises(ServiceUnavailable):
        call_with_retry(fn, policy=RetryPolicy.none())
    assert len(calls) == 1
