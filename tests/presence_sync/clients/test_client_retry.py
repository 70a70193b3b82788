"""Backoff bounds, budget, Retry-After, and the one re-authentication."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import urllib3.exceptions

from presence_sync.clients.errors import (
    ConnectionFailed,
    InvalidRequest,
    OutcomeUnknown,
    RateLimited,
    ServiceUnavailable,
    SessionExpired,
    TransientVendorError,
    VendorError,
)
from presence_sync.clients.retry import RetryPolicy, call_with_retry, certainly_not_processed, never_sent


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


# -------------------------------------------------------------------------- non-idempotent calls


def _error(cls: type[VendorError], status: int | None = None, **kw: Any) -> VendorError:
    return cls("boom", vendor="cxone", operation="set_agent_state", object="agent session s1", status=status, **kw)


def _refused() -> ConnectionFailed:
    """A ConnectionFailed raised while handling requests' 'connection refused', as the clients raise it."""
    pool_error = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection: refused")  # type: ignore[arg-type]
    try:
        raise requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/x", pool_error))  # type: ignore[arg-type]
    except requests.exceptions.ConnectionError:
        try:
            raise _error(ConnectionFailed, error_code="ConnectionError") from None
        except ConnectionFailed as exc:
            return exc


def _reset_after_send() -> ConnectionFailed:
    aborted = urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
    try:
        raise requests.exceptions.ConnectionError(aborted)
    except requests.exceptions.ConnectionError:
        try:
            raise _error(ConnectionFailed, error_code="ConnectionError") from None
        except ConnectionFailed as exc:
            return exc


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(lambda: _error(ServiceUnavailable, 503), id="503"),
        pytest.param(lambda: _error(RateLimited, 429), id="429"),
        pytest.param(lambda: _error(ConnectionFailed, error_code="ConnectTimeout"), id="connect-timeout"),
        pytest.param(lambda: _error(ConnectionFailed, not_processed=True), id="marked-not-processed"),
        pytest.param(_refused, id="refused"),
    ],
)
def test_a_write_is_repeated_after_errors_proving_it_was_not_processed(failure) -> None:
    clock = FakeClock()
    fn, calls = _flaky([failure()])
    assert call_with_retry(fn, policy=_policy(clock, attempts=3), idempotent=False) == "ok"
    assert len(calls) == 2


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(lambda: _error(ServiceUnavailable, 500), id="500"),
        pytest.param(lambda: _error(ServiceUnavailable, 502), id="502"),
        pytest.param(lambda: _error(ServiceUnavailable, 504), id="504"),
        pytest.param(lambda: _error(ConnectionFailed, error_code="ReadTimeout"), id="read-timeout"),
        pytest.param(_reset_after_send, id="reset-after-send"),
    ],
)
def test_a_write_that_may_have_landed_is_not_repeated_but_reported_unknown(failure) -> None:
    clock = FakeClock()
    original: VendorError = failure()
    fn, calls = _flaky([original])
    with pytest.raises(OutcomeUnknown) as info:
        call_with_retry(fn, policy=_policy(clock, attempts=5), idempotent=False)
    assert len(calls) == 1 and clock.sleeps == []
    assert isinstance(info.value, TransientVendorError) and info.value.__cause__ is original
    assert (info.value.vendor, info.value.operation, info.value.status) == ("cxone", "set_agent_state", original.status)
    assert "may have been applied" in str(info.value)


def test_the_same_errors_are_retried_for_idempotent_calls() -> None:
    clock = FakeClock()
    fn, calls = _flaky([_error(ServiceUnavailable, 500), _reset_after_send(), _error(ConnectionFailed)])
    assert call_with_retry(fn, policy=_policy(clock, attempts=5)) == "ok"
    assert len(calls) == 4


def test_a_503_then_a_read_timeout_is_unknown_and_a_503_to_the_end_is_not() -> None:
    clock = FakeClock()
    fn, calls = _flaky([_error(ServiceUnavailable, 503), _error(ConnectionFailed, error_code="ReadTimeout")])
    with pytest.raises(OutcomeUnknown):
        call_with_retry(fn, policy=_policy(clock, attempts=5), idempotent=False)
    assert len(calls) == 2
    fn, calls = _flaky([_error(ServiceUnavailable, 503) for _ in range(5)])
    with pytest.raises(ServiceUnavailable) as info:
        call_with_retry(fn, policy=_policy(clock, attempts=3), idempotent=False)
    assert not isinstance(info.value, OutcomeUnknown) and len(calls) == 3  # certainly not applied: safe later


def test_an_expired_session_is_renewed_and_the_write_repeated() -> None:
    clock = FakeClock()
    renewed = []
    fn, calls = _flaky([_expired()])
    assert call_with_retry(fn, policy=_policy(clock), reauthenticate=lambda: renewed.append(1), idempotent=False)
    assert len(calls) == 2 and renewed == [1]


def test_outcome_unknown_survives_pickling() -> None:
    import pickle

    error = OutcomeUnknown.after(_error(ServiceUnavailable, 502))
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is OutcomeUnknown and str(again) == str(error)
    marked = pickle.loads(pickle.dumps(_error(ConnectionFailed, not_processed=True)))
    assert marked.not_processed is True


def test_never_sent_reads_the_wrapped_transport_error() -> None:
    assert certainly_not_processed(_refused())
    assert not certainly_not_processed(_reset_after_send())
    assert not never_sent(requests.exceptions.ReadTimeout("read timed out"))
    assert never_sent(requests.exceptions.ConnectTimeout("connect timed out"))
