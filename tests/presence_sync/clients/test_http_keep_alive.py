"""The vendor clients' sessions and stale keep-alive connections (issue 18).

A request sent on a pooled connection just as the server closed it for idleness fails before any byte of the
response. The clients' transport repeats it once when its method is idempotent (GET, PUT, DELETE, ...) and
never repeats a POST. Shown against the CXone emulator with its keep-alive shortened to 1 s, counted in its
request log, and, for what cannot be staged over a socket (a read timeout), on urllib3's retry decision itself.
"""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import Iterator
from http.client import RemoteDisconnected
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ProtocolError, ReadTimeoutError
from urllib3.util.retry import Retry

from presence_sync.clients._http import CallCounter, MeteredAdapter, build_session, retry_once_on_stale_connection
from sandbox.testing import SandboxHandle
from tests.sandbox.support import (
    pooled_connections_used_after_the_server_closed_them,
    sandbox_closing_idle_connections_after,
)

API = "/incontactapi/services/v34.0"
TEAM = 2001  # seeded: Support Tier 1


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    data_dir = pathlib.Path(tmp_path_factory.mktemp("http-keep-alive")) / "sandbox"
    with sandbox_closing_idle_connections_after(1, data_dir) as handle:
        yield handle


class CxoneApi:
    """Raw CXone API calls through a session built the way the clients build theirs."""

    def __init__(self, sandbox: SandboxHandle, transport: HTTPAdapter | None = None) -> None:
        env = sandbox.env
        token = requests.post(
            f"{env['CXONE_AUTH_URL']}/auth/token",
            verify=sandbox.ca_bundle,
            timeout=10,
            auth=(env["CXONE_CLIENT_ID"], env["CXONE_CLIENT_SECRET"]),
            data={
                "grant_type": "password",
                "username": env["CXONE_ACCESS_KEY_ID"],
                "password": env["CXONE_ACCESS_KEY_SECRET"],
            },
        )
        token.raise_for_status()
        self.calls = CallCounter()
        self.session = build_session(transport, counter=self.calls, timeout=10, ca_bundle=sandbox.ca_bundle)
        self.session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        self.base = sandbox.cxone_url + API
        self.log = sandbox.cxone_operator

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.base + path, **kwargs)

    def logged(self, method: str, path: str, since: int) -> int:
        return sum(1 for e in self.log.requests(since) if e["method"] == method and e["path"] == API + path)

    def last_seq(self) -> int:
        entries = self.log.requests()
        return int(entries[-1]["seq"]) if entries else 0


@pytest.fixture
def cxone(sandbox: SandboxHandle) -> Iterator[CxoneApi]:
    api = CxoneApi(sandbox)
    yield api
    api.session.close()


def new_code(cxone: CxoneApi) -> int:
    created = cxone("POST", "/unavailable-codes", json={"name": f"Idle_{uuid.uuid4().hex[:8]}"})
    assert created.status_code == 200, created.text
    return int(created.json()["id"])


def test_get_put_and_delete_are_repeated_once_on_a_connection_the_server_closed(cxone: CxoneApi) -> None:
    code = new_code(cxone)  # also leaves a kept-alive connection in the pool
    since = cxone.last_seq()

    with pooled_connections_used_after_the_server_closed_them() as reused:
        listed = cxone("GET", "/agents")
    with pooled_connections_used_after_the_server_closed_them():
        assigned = cxone("PUT", f"/teams/{TEAM}/unavailable-codes", json={"unavailableCodes": [{"outstateId": code}]})
    with pooled_connections_used_after_the_server_closed_them():
        removed = cxone("DELETE", f"/teams/{TEAM}/unavailable-codes", json={"codes": [{"outstateId": code}]})

    assert reused, "the GET went out on the connection the server had closed"
    assert listed.status_code == 200 and listed.json()["agents"]
    assert assigned.status_code == 200 and assigned.json()["resultSet"]["errorCount"] == 0
    assert removed.status_code == 200 and removed.json()["errorCount"] == 0
    # Each reached the server once, and each counts as one API call however often the transport sent it.
    assert cxone.logged("GET", "/agents", since) == 1
    assert cxone.logged("PUT", f"/teams/{TEAM}/unavailable-codes", since) == 1
    assert cxone.logged("DELETE", f"/teams/{TEAM}/unavailable-codes", since) == 1
    assert cxone.calls.value == 4  # the POST above and these three


def test_a_post_on_a_connection_the_server_closed_fails_and_is_not_repeated(cxone: CxoneApi) -> None:
    cxone("GET", "/unavailable-codes").raise_for_status()  # a kept-alive connection in the pool
    since = cxone.last_seq()
    name = f"Once_{uuid.uuid4().hex[:8]}"

    with pooled_connections_used_after_the_server_closed_them() as reused, pytest.raises(requests.ConnectionError):
        cxone("POST", "/unavailable-codes", json={"name": name})

    assert len(reused) == 1
    assert cxone.logged("POST", "/unavailable-codes", since) == 0  # not silently sent again
    # Nothing was created: the same name is still free. (Whether to send a write again is the caller's decision,
    # e.g. the clients' RetryPolicy; on a new connection it goes through.)
    assert cxone("POST", "/unavailable-codes", json={"name": name}).status_code == 200


def test_the_runtimes_pooled_transport_gets_the_same_repeat(sandbox: SandboxHandle) -> None:
    """runtime/__main__.py hands the clients an HTTPAdapter sized for its workers, without retries."""
    cxone = CxoneApi(sandbox, transport=HTTPAdapter(pool_connections=4, pool_maxsize=8))
    try:
        cxone("GET", "/agents").raise_for_status()
        with pooled_connections_used_after_the_server_closed_them() as reused:
            assert cxone("GET", "/agents").status_code == 200
        assert len(reused) == 1
    finally:
        cxone.session.close()


# ------------------------------------------------------------------------------------------ the retry decision

DROPPED = ProtocolError("Connection aborted.", RemoteDisconnected("Remote end closed connection without response"))
RESET = ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE"])
@pytest.mark.parametrize("error", [DROPPED, RESET], ids=["remote-disconnected", "reset"])
def test_an_idempotent_request_dropped_before_its_response_is_repeated_once(method: str, error: Exception) -> None:
    retry = retry_once_on_stale_connection()

    again = retry.increment(method, "/x", error=error)

    with pytest.raises(MaxRetryError):
        again.increment(method, "/x", error=error)  # the repeat failing too is the caller's error


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_post_or_patch_dropped_before_its_response_is_not_repeated(method: str) -> None:
    with pytest.raises(ProtocolError):
        retry_once_on_stale_connection().increment(method, "/x", error=DROPPED)


def test_a_read_timeout_is_not_repeated_and_stays_a_timeout() -> None:
    timed_out = ReadTimeoutError(None, "/x", "Read timed out.")  # type: ignore[arg-type]

    with pytest.raises(ReadTimeoutError):
        retry_once_on_stale_connection().increment("GET", "/x", error=timed_out)


def test_a_transport_with_its_own_retry_keeps_it() -> None:
    own = Retry(total=3, backoff_factor=0.1)
    transport = HTTPAdapter(max_retries=own)

    MeteredAdapter(transport, counter=CallCounter(), timeout=1.0)

    assert transport.max_retries is own
