"""CXone calls that are not safe to repeat (the agent-state write, creates) against a fake transport: repeated
only after errors proving CXone did not process them, otherwise ``OutcomeUnknown``; and the single-agent
state read that tells the caller what happened."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
import urllib3.exceptions

from presence_sync.clients.cxone import CxoneClient
from presence_sync.clients.errors import NotFound, OutcomeUnknown, ServiceUnavailable
from tests.presence_sync.clients.client_fakes import FakeTransport, Reply

V = "/incontactapi/services/v34.0"
STATE = f"{V}/agent-sessions/s1/state"


def _refused() -> Exception:
    reason = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection: [Errno 111] refused")  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, STATE, reason))  # type: ignore[arg-type]


def _reset_after_send() -> Exception:
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
    )


def _posts(transport: FakeTransport) -> int:
    return len(transport.matching("POST", STATE))


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(_refused, id="connection-refused"),
        pytest.param(lambda: requests.exceptions.ConnectTimeout("connect timed out"), id="connect-timeout"),
        pytest.param(lambda: Reply(503, {"error": "ServiceUnavailable", "error_description": "down"}), id="503"),
        pytest.param(lambda: Reply(429, {"error": "TooManyRequests", "error_description": "slow"}), id="429"),
    ],
)
def test_a_state_write_is_repeated_when_cxone_certainly_did_not_get_it(
    cx: CxoneClient, cx_transport: FakeTransport, first: Callable[[], object]
) -> None:
    cx_transport.on("POST", STATE, first(), Reply(202))  # type: ignore[arg-type]
    cx.set_agent_state("s1", "Available")
    assert _posts(cx_transport) == 2


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(lambda: requests.exceptions.ReadTimeout("read timed out"), id="read-timeout"),
        pytest.param(_reset_after_send, id="reset-after-send"),
        pytest.param(lambda: Reply(500, {"error": "InternalServerError", "error_description": "oops"}), id="500"),
        pytest.param(lambda: Reply(502, {"error": "BadGateway", "error_description": "upstream"}), id="502"),
        pytest.param(lambda: Reply(504, {"error": "GatewayTimeout", "error_description": "upstream"}), id="504"),
    ],
)
def test_a_state_write_that_may_have_landed_is_reported_unknown_and_not_repeated(
    cx: CxoneClient, cx_transport: FakeTransport, first: Callable[[], object]
) -> None:
    cx_transport.on("POST", STATE, first(), Reply(202))  # type: ignore[arg-type]
    with pytest.raises(OutcomeUnknown) as info:
        cx.set_agent_state("s1", "Unavailable", "Break")
    assert _posts(cx_transport) == 1
    assert info.value.operation == "set_agent_state" and info.value.object == "agent session s1"


def test_reads_and_session_joins_are_still_repeated_after_a_read_timeout(
    cx: CxoneClient, cx_transport: FakeTransport
) -> None:
    cx_transport.on("GET", f"{V}/teams", requests.exceptions.ReadTimeout("slow"), Reply(200, {"teams": []}))
    cx_transport.on("POST", f"{V}/agent-sessions/join", _reset_after_send(), Reply(202, {"sessionId": "s9"}))
    assert cx.list_teams() == []
    assert cx.join_agent_session(7) == "s9"


def test_a_create_that_may_have_landed_is_reported_unknown(cx: CxoneClient, cx_transport: FakeTransport) -> None:
    path = "/adapter-apis/v1/salesforce/presence-rules"
    cx_transport.on("POST", path, Reply(500, {"error": "InternalServerError", "error_description": "oops"}))
    with pytest.raises(OutcomeUnknown):
        cx.request("POST", f"{cx.api_base}{path}", "create_presence_rule", "presence rule 'x'", body={"name": "x"})
    assert len(cx_transport.matching("POST", path)) == 1


def test_a_503_to_the_end_is_still_a_plain_transient_error(cx: CxoneClient, cx_transport: FakeTransport) -> None:
    cx_transport.on("POST", STATE, Reply(503, {"error": "ServiceUnavailable", "error_description": "down"}))
    with pytest.raises(ServiceUnavailable) as info:
        cx.set_agent_state("s1", "Available")
    assert not isinstance(info.value, OutcomeUnknown)  # never processed: repeating it later is safe


AGENT_7 = {
    "agentId": 7,
    "agentStateId": 2,
    "agentStateName": "Unavailable",
    "outStateId": 3001,
    "outStateDescription": "Break",
    "lastUpdateTime": "2026-01-01T10:00:00.250Z",
    "lastPollTime": "2026-01-01T10:00:01.000Z",
}


def test_one_agents_state_is_one_call(cx: CxoneClient, cx_transport: FakeTransport) -> None:
    cx_transport.on("GET", f"{V}/agents/7/states", Reply(200, {"agentStates": [AGENT_7]}), Reply(204))
    state = cx.agent_state(7)
    assert state is not None
    assert (state.agent_state_name, state.out_state_id, state.last_update_time, state.last_poll_time) == (
        "Unavailable",
        3001,
        "2026-01-01T10:00:00.250Z",
        "2026-01-01T10:00:01.000Z",
    )
    assert cx.agent_state(7, updated_since=state.last_poll_time) is None  # 204: unchanged since
    assert cx_transport.requests[-1].param("updatedSince") == "2026-01-01T10:00:01.000Z"
    assert cx.api_calls == 2


def test_one_unknown_agent_is_not_found(cx: CxoneClient, cx_transport: FakeTransport) -> None:
    cx_transport.on("GET", f"{V}/agents/4242/states", Reply(404, {"error": "NotFound", "error_description": "no"}))
    with pytest.raises(NotFound):
        cx.agent_state(4242)
