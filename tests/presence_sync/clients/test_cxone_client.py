"""CxoneClient and the Presence Sync model against a fake transport."""

from __future__ import annotations

import base64
import json
import logging
import traceback

import pytest
from pydantic import SecretStr

from presence_sync.clients.cxone import CxoneClient
from presence_sync.clients.cxone_account_mapping import (
    AccountMappingProxy,
    AccountMappingSpec,
    SalesforceEnvironmentSpec,
)
from presence_sync.clients.errors import (
    AlreadyExists,
    AuthenticationFailed,
    InvalidRequest,
    NotFound,
    RateLimited,
    ServiceUnavailable,
)
from presence_sync.clients.presence_rule import (
    PresenceRuleProxy,
    PresenceRuleSpec,
    StateMapping,
)
from presence_sync.clients.retry import RetryPolicy
from presence_sync.clients.settings import CxoneSettings
from tests.presence_sync.clients.client_fakes import CX_API, CX_AUTH, FakeTransport, Recorded, Reply
from tests.presence_sync.clients.conftest import CX_SECRETS

V = "/incontactapi/services/v34.0"


def _token(n: int, expires_in: int = 3600, id_token: str | None = None) -> Reply:
    body = {
        "access_token": f"cx-access-{n}",
        "refresh_token": f"cx-refresh-{n}",
        "expires_in": expires_in,
        "token_type": "Bearer",
    }
    if id_token:
        body["id_token"] = id_token
    return Reply(200, body)


def test_token_request_uses_basic_client_auth_and_the_access_key(cx: CxoneClient, cx_transport: FakeTransport) -> None:
    cx_transport.on("GET", f"{V}/teams", Reply(200, {"teams": [{"teamId": 1, "teamName": "T"}], "totalRecords": 1}))
    assert [t.team_name for t in cx.list_teams()] == ["T"]
    login = cx_transport.matching("POST", "/auth/token")[0]
    assert login.url == f"{CX_AUTH}/auth/token"
    assert login.headers["Content-Type"] == "application/x-www-form-urlencoded"
    basic = base64.b64decode(login.headers["Authorization"].split()[1]).decode()
    assert basic == f"cx-client-id:{CX_SECRETS['CXONE_CLIENT_SECRET']}"
    assert "AKID%2Fwith%2Bodd%3Dchars%3D" in login.text  # '=' and '+' URL-encoded
    assert login.form == {
        "grant_type": "password",
        "username": "AKID/with+odd=chars=",
        "password": CX_SECRETS["CXONE_ACCESS_KEY_SECRET"],
    }
    call = cx_transport.matching("GET", f"{V}/teams")[0]
    assert call.url.startswith(CX_API) and call.headers["Authorization"] == "Bearer cx-access-1"


def test_bad_access_key_is_authentication_failed(cx: CxoneClient, cx_transport: FakeTransport) -> None:
    cx_transport.on("POST", "/auth/token", Reply(400, {"error": "invalid_grant", "error_description": "bad key"}))
    with pytest.raises(AuthenticationFailed, match="CXONE_ACCESS_KEY_ID"):
        cx.authenticate()
    assert cx.auth_calls == 1


def test_api_base_is_discovered_with_the_tenant_from_the_id_token(
    cx_env: dict[str, str], cx_transport: FakeTransport, policy: RetryPolicy
) -> None:
    claims = base64.urlsafe_b64encode(json.dumps({"tenantId": "11ee-tenant"}).encode()).decode().rstrip("=")
    cx_transport.on("POST", "/auth/token", _token(1, id_token=f"h.{claims}.s"))
    cx_transport.on("GET", "/.well-known/cxone-configuration", Reply(200, {"api_endpoint": "https://api-b32.test/"}))
    cx_transport.on("GET", f"{V}/agents", Reply(200, {"agents": [], "totalRecords": 0}))
    env = {k: v for k, v in cx_env.items() if k != "CXONE_API_URL"}
    client = CxoneClient(CxoneSettings.from_mapping(env), retry=policy, transport=cx_transport)
    assert client.list_agents() == []
    discovery = cx_transport.matching("GET", "/.well-known/cxone-configuration")[0]
    assert discovery.url.startswith(CX_AUTH) and discovery.param("tenantId") == "11ee-tenant"
    assert cx_transport.requests[-1].url.startswith(f"https://api-b32.test{V}/agents")


def test_lists_are_paginated_with_skip_and_top(cx: CxoneClient, cx_transport: FakeTransport) -> None:
    agents = [{"agentId": n, "userName": f"a{n}", "emailAddress": f"a{n}@x", "teamId": 1} for n in range(250)]

    def page(recorded: Recorded) -> Reply:
        skip, top = int(recorded.param("skip") or 0), int(recorded.param("top") or 0)
        return Reply(200, {"agents": agents[skip : skip + top], "totalRecords": len(agents)})

    cx_transport.on("GET", f"{V}/agents", page)
    result = cx.list_agents()
    assert [a.agent_id for a in result] == list(range(250)) and result[3].email == "a3@x"
    assert [r.param("skip") for r in cx_transport.matching("GET", f"{V}/agents")] == ["0", "100", "200"]


def test_unavailable_codes_accept_both_casings(cx: CxoneClient, cx_transport: FakeTransport) -> None:
    cx_transport.on(
        "GET",
        f"{V}/unavailable-codes",
        Reply(
            200, {"unavailableCodes": [{"id": 5, "name": "Break", "isActive": True, "isACW": False}], "totalRecords": 1}
        ),
    )
    cx_transport.on(
        "GET",
        f"{V}/teams/3/unavailable-codes",
        Reply(
            200,
            {
                "teamId": 3,
                "unavailableCodes": [
                    {"outstateId": 5, "outstateName": "Break", "isActive": True, "isAcw": False},
                    {"outStateId": 6, "outStateName": "Lunch"},
                ],
            },
        ),
    )
    assert [(c.id, c.name) for c in cx.list_unavailable_codes()] == [(5, "Break")]
    assert [(c.outstate_id, c.outstate_name) for c in cx.list_team_unavailable_codes(3)] == [(5, "Break"), (6, "Lunch")]


def test_expired_token_is_refreshed_once_on_401(cx: CxoneClient, cx_transport: FakeTransport) -> None:
    cx_transport.on("POST", "/auth/token", _token(1), _token(2))
    cx_transport.on(
        "GET",
        f"{V}/teams",
        Reply(401, {"error": "invalid_token", "error_description": "the access token has expired"}),
        Reply(200, {"teams": [], "totalRecords": 0}),
    )
    assert cx.list_teams() == []
    logins = cx_transport.matching("POST", "/auth/token")
    assert [r.form["grant_type"] for r in logins] == ["password", "refresh_token"]
    assert logins[1].form["refresh_token"] == "cx-refresh-1"
    assert cx_transport.requests[-1].headers["Authorization"] == "Bearer cx-access-2"


def test_token_is_renewed_before_it_expires(
    cx_env: dict[str, str], cx_transport: FakeTransport, policy: RetryPolicy
) -> None:
    now = [1000.0]
    cx_transport.on("POST", "/auth/token", _token(1, expires_in=300), _token(2, expires_in=300))
    cx_transport.on("GET", f"{V}/teams", Reply(200, {"teams": [], "totalRecords": 0}))
    client = CxoneClient(CxoneSettings.from_mapping(cx_env), retry=policy, transport=cx_transport, clock=lambda: now[0])
    client.list_teams()
    now[0] += 200
    client.list_teams()
    assert client.auth_calls == 1
    now[0] += 50  # within a minute of expiry
    client.list_teams()
    assert client.auth_calls == 2 and cx_transport.requests[-1].headers["Authorization"] == "Bearer cx-access-2"


def test_rejected_refresh_falls_back_to_the_access_key(cx: CxoneClient, cx_transport: FakeTransport) -> None:
    cx_transport.on(
        "POST",
        "/auth/token",
        _token(1),
        Reply(400, {"error": "invalid_grant", "error_description": "refresh token revoked"}),
        _token(3),
    )
    cx_transport.on(
        "GET",
        f"{V}/teams",
        Reply(401, {"error": "invalid_token", "error_description": "expired"}),
        Reply(200, {"teams": [], "totalRecords": 0}),
    )
    cx.list_teams()
    assert [r.form["grant_type"] for r in cx_transport.matching("POST", "/auth/token")] == [
        "password",
        "refresh_token",
        "password",
    ]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(400, {"error": "InvalidRequest", "error_description": "teamIds must be a list"}), InvalidRequest),
        (Reply(404, {"error": "NotFound", "error_description": "no"}), NotFound),
        (Reply(409, {"error": "Conflict", "error_description": "a rule named X exists"}), AlreadyExists),
    ],
)
def test_error_bodies_map_to_our_tree(cx: CxoneClient, cx_transport: FakeTransport, reply, expected) -> None:
    cx_transport.on("GET", f"{V}/teams", reply)
    with pytest.raises(expected) as info:
        cx.list_teams()
    assert info.value.vendor == "cxone" and info.value.error_code == reply.body["error"]
    assert reply.body["error_description"] in str(info.value)
    assert len(cx_transport.matching("GET", f"{V}/teams")) == 1


def test_field_is_read_from_the_description(cx: CxoneClient, cx_transport: FakeTransport) -> None:
    cx_transport.on(
        "GET",
        f"{V}/teams",
        Reply(400, {"error": "InvalidRequest", "error_description": "accessKeyAgentId is immutable"}),
    )
    with pytest.raises(InvalidRequest) as info:
        cx.list_teams()
    assert info.value.field == "accessKeyAgentId"


def test_transient_errors_are_retried_honouring_retry_after(
    cx: CxoneClient, cx_transport: FakeTransport, sleeps: list[float]
) -> None:
    cx_transport.on(
        "GET",
        f"{V}/teams",
        Reply(429, {"error": "TooManyRequests", "error_description": "slow down"}, {"Retry-After": "3"}),
        Reply(503, {"error": "ServiceUnavailable", "error_description": "down"}),
        Reply(200, {"teams": [], "totalRecords": 0}),
    )
    assert cx.list_teams() == []
    assert sleeps[0] == 3 and len(sleeps) == 2 and cx.api_calls == 3


def test_retries_give_up(cx: CxoneClient, cx_transport: FakeTransport) -> None:
    cx_transport.on("GET", f"{V}/teams", Reply(503, {"error": "ServiceUnavailable", "error_description": "down"}))
    with pytest.raises(ServiceUnavailable):
        cx.list_teams()
    cx_transport.on("GET", f"{V}/teams", Reply(429, {"error": "TooManyRequests", "error_description": "x"}))
    with pytest.raises(RateLimited):
        cx.list_teams()


def test_agent_states_cursor(cx: CxoneClient, cx_transport: FakeTransport) -> None:
    cx_transport.on(
        "GET",
        f"{V}/agents/states",
        Reply(
            200,
            {
                "lastPollTime": "2026-01-01T10:00:00.000Z",
                "totalRecords": 1,
                "agentStates": [
                    {
                        "agentId": 7,
                        "agentStateId": 2,
                        "agentStateName": "Unavailable",
                        "outStateId": 5,
                        "outStateDescription": "Break",
                    }
                ],
            },
        ),
        Reply(204),
    )
    states, cursor = cx.agent_states()
    # <settled>/<head>: settled = lastPollTime less the overlap (1 s) a sweep reads again, head = lastPollTime
    # (the next poll reads from it): see test_cxone_feed
    assert cursor == "2026-01-01T09:59:59.000Z/2026-01-01T10:00:00.000Z" and states[0].out_state_id == 5
    assert cx_transport.requests[-1].param("updatedSince") == "0"
    assert cx_transport.requests[-1].param("orderBy") == "lastUpdateTime"
    states, cursor2 = cx.agent_states(cursor)
    assert states == [] and cursor2 == cursor
    assert cx_transport.requests[-1].param("updatedSince") == "2026-01-01T10:00:00.000Z"


def test_join_session_and_set_state(cx: CxoneClient, cx_transport: FakeTransport) -> None:
    cx_transport.on("POST", f"{V}/agent-sessions/join", Reply(202, {"sessionId": "sess-1"}))
    cx_transport.on("POST", f"{V}/agent-sessions/sess-1/state", Reply(202))
    session = cx.join_agent_session(7)
    assert session == "sess-1" and cx_transport.requests[-1].param("asAgentId") == "7"
    cx.set_agent_state(session, "Unavailable", "Break")
    assert cx_transport.requests[-1].json == {"state": "Unavailable", "reason": "Break"}
    calls = len(cx_transport.requests)
    with pytest.raises(InvalidRequest):
        cx.set_agent_state(session, "InboundContact")
    assert len(cx_transport.requests) == calls


# ---------------------------------------------------------------------------------------------- adapters

ADAPTERS = "/adapter-apis/v1/salesforce"
MAPPING = AccountMappingSpec(
    name="Prod org",
    access_key_agent_id=7,
    salesforce_environment=SalesforceEnvironmentSpec(
        name="prod",
        instance_url="https://org.my.salesforce.com",
        consumer_key="3MVG9key",
        consumer_secret=SecretStr("consumer-secret-XYZ"),
    ),
)
MAPPING_ANSWER = {
    "mappingId": 11,
    "name": "Prod org",
    "accessKeyAgentId": 7,
    "accessKeyId": "AK",
    "salesforceEnvironment": {
        "name": "prod",
        "instanceUrl": "https://org.my.salesforce.com",
        "consumerKey": "3MVG9key",
        "hasConsumerSecret": True,
    },
    "isSelected": True,
    "lastModified": "2026-01-01T00:00:00Z",
}


def test_account_mapping_create_sends_the_secret_and_returns_the_key_secret(
    cx: CxoneClient, cx_transport: FakeTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cx_transport.on(
        "POST",
        f"{ADAPTERS}/account-mappings",
        Reply(201, {**MAPPING_ANSWER, "accessKeySecret": "access-key-secret-ABC"}),
    )
    created = AccountMappingProxy(cx).create_account_mapping(MAPPING)
    sent = cx_transport.requests[-1]
    assert sent.url == f"{CX_API}{ADAPTERS}/account-mappings"
    assert sent.json == {
        "name": "Prod org",
        "accessKeyAgentId": 7,
        "isSelected": True,
        "salesforceEnvironment": {
            "name": "prod",
            "instanceUrl": "https://org.my.salesforce.com",
            "consumerKey": "3MVG9key",
            "consumerSecret": "consumer-secret-XYZ",
        },
    }
    assert created.mapping.mapping_id == 11 and created.mapping.salesforce_environment.has_consumer_secret
    assert created.access_key_secret is not None
    assert created.access_key_secret.get_secret_value() == "access-key-secret-ABC"
    for secret in ("access-key-secret-ABC", "consumer-secret-XYZ"):
        assert secret not in repr(created) and secret not in repr(MAPPING) and secret not in caplog.text


def test_account_mapping_update_without_secret_keeps_it(cx: CxoneClient, cx_transport: FakeTransport) -> None:
    cx_transport.on("PUT", f"{ADAPTERS}/account-mappings/11", Reply(200, MAPPING_ANSWER))
    spec = MAPPING.model_copy(
        update={"salesforce_environment": MAPPING.salesforce_environment.model_copy(update={"consumer_secret": None})}
    )
    AccountMappingProxy(cx).update_account_mapping(11, spec)
    assert "consumerSecret" not in cx_transport.requests[-1].json["salesforceEnvironment"]


def test_missing_mapping_and_rule_read_as_none_and_delete_is_idempotent(
    cx: CxoneClient, cx_transport: FakeTransport
) -> None:
    gone = Reply(404, {"error": "NotFound", "error_description": "no such thing"})
    cx_transport.on("GET", f"{ADAPTERS}/account-mappings/99", gone)
    cx_transport.on("DELETE", f"{ADAPTERS}/account-mappings/99", gone)
    cx_transport.on("GET", f"{ADAPTERS}/presence-rules/99", gone)
    cx_transport.on("DELETE", f"{ADAPTERS}/presence-rules/99", gone)
    assert AccountMappingProxy(cx).get_account_mapping(99) is None
    assert PresenceRuleProxy(cx).get_presence_rule(99) is None
    AccountMappingProxy(cx).delete_account_mapping(99)
    PresenceRuleProxy(cx).delete_presence_rule(99)


RULE = PresenceRuleSpec(
    name="Voice",
    priority=1,
    is_active=False,
    publisher_state_map=[
        StateMapping(incontact_agent_state="InboundContact", partner_agent_state="0N5000000000002AAA"),
        StateMapping(incontact_agent_state="Available", partner_agent_state="PreviousState"),
    ],
    subscriber_state_map=[StateMapping(incontact_agent_state="Lunch", partner_agent_state="0N5000000000003AAA")],
    team_ids=[3],
)


def test_presence_rule_round_trip(cx: CxoneClient, cx_transport: FakeTransport) -> None:
    def echo(recorded: Recorded) -> Reply:
        return Reply(201, {**recorded.json, "ruleId": 21, "lastModified": "2026-01-01T00:00:00Z"})

    cx_transport.on("POST", f"{ADAPTERS}/presence-rules", echo)
    rule = PresenceRuleProxy(cx).create_presence_rule(RULE)
    assert cx_transport.requests[-1].json == {
        "name": "Voice",
        "priority": 1,
        "isActive": False,
        "teamIds": [3],
        "agentIds": [],
        "publisherStateMap": [
            {"incontactAgentState": "InboundContact", "partnerAgentState": "0N5000000000002AAA"},
            {"incontactAgentState": "Available", "partnerAgentState": "PreviousState"},
        ],
        "subscriberStateMap": [{"incontactAgentState": "Lunch", "partnerAgentState": "0N5000000000003AAA"}],
    }
    assert rule.rule_id == 21 and rule.spec() == RULE


def test_cxone_secrets_never_reach_errors_or_logs(
    cx: CxoneClient, cx_transport: FakeTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cx_transport.on(
        "GET", f"{V}/teams", Reply(400, {"error": "InvalidRequest", "error_description": "token cx-access-1 is odd"})
    )
    with pytest.raises(InvalidRequest) as info:
        cx.list_teams()
    blob = "\n".join(
        [
            str(info.value),
            repr(info.value),
            "".join(traceback.format_exception(info.value)),
            repr(cx),
            repr(cx.settings),
            caplog.text,
            repr(cx._token),
        ]
    )
    for secret in ("cx-access-1", "cx-refresh-1", *CX_SECRETS.values()):
        assert secret not in blob, secret


def test_concurrent_first_calls_get_one_token(cx: CxoneClient, cx_transport: FakeTransport) -> None:
    import threading

    cx_transport.on("GET", f"{V}/teams", Reply(200, {"teams": [], "totalRecords": 0}))
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        cx.list_teams()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (cx.auth_calls, cx.api_calls) == (1, 4)
