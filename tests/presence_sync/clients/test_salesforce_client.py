"""SalesforceClient against a fake transport: requests built, answers mapped, retries, secrets kept out."""

from __future__ import annotations

import logging
import threading
import traceback
from urllib.parse import unquote_plus

import pytest
import requests

from presence_sync.clients.errors import (
    AlreadyExists,
    AuthenticationFailed,
    ConnectionFailed,
    InvalidRequest,
    ServiceUnavailable,
    SessionExpired,
    TransientVendorError,
)
from presence_sync.clients.salesforce import SalesforceClient
from presence_sync.clients.salesforce_models import OAuthAppSpec, PresenceCommand
from tests.presence_sync.clients.client_fakes import (
    SF_URL,
    FakeTransport,
    Recorded,
    Reply,
    read_result,
    save_failed,
    save_ok,
    sf_error,
    soap_fault,
    soap_op,
    soql,
    token_reply,
)
from tests.presence_sync.clients.conftest import SF_SECRETS

QUERY = "/services/data/v59.0/query/?"
SOAP = "/services/Soap/m/59.0/?"


def q(recorded: Recorded) -> str:
    return recorded.param("q") or ""


def route_queries(transport: FakeTransport, answers: dict[str, Reply]) -> None:
    """Answer SOQL by the FROM object named in it."""

    def handler(recorded: Recorded) -> Reply:
        text = q(recorded)
        for needle, reply in answers.items():
            if needle in text:
                return reply
        raise AssertionError(f"unexpected SOQL {text}")

    transport.on("GET", QUERY, handler)


STATUS_ROWS = [
    {"Id": "0N5000000000001AAA", "DeveloperName": "Available_for_Chats", "MasterLabel": "Available for Chats"},
    {"Id": "0N5000000000002AAA", "DeveloperName": "Busy", "MasterLabel": "Busy"},
]
LINK_ROWS = [
    {"ServicePresenceStatusId": "0N5000000000001AAA", "ServiceChannel": {"DeveloperName": "sfdc_livemessage"}},
    {"ServicePresenceStatusId": "0N5000000000001AAA", "ServiceChannel": {"DeveloperName": "Case"}},
]


# ---------------------------------------------------------------------------------------------- login


def test_login_posts_the_password_grant_and_uses_the_token(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    route_queries(sf_transport, {"FROM User": soql([])})
    sf.list_users()
    login = sf_transport.matching("POST", "/services/oauth2/token")[0]
    assert login.form == {
        "grant_type": "password",
        "client_id": "sf-client-id",
        "client_secret": SF_SECRETS["SF_CLIENT_SECRET"],
        "username": "integration@example.com",
        "password": SF_SECRETS["SF_PASSWORD"],
    }
    query = sf_transport.matching("GET", QUERY)[0]
    assert query.url.startswith(SF_URL) and query.headers["Authorization"] == "Bearer 00Dtoken!first"
    assert (sf.api_calls, sf.auth_calls) == (1, 1)


def test_bad_credentials_are_permanent_and_name_what_to_check(
    sf: SalesforceClient, sf_transport: FakeTransport
) -> None:
    sf_transport.on(
        "POST",
        "/services/oauth2/token",
        Reply(400, {"error": "invalid_grant", "error_description": "authentication failure"}),
    )
    with pytest.raises(AuthenticationFailed) as info:
        sf.authenticate()
    assert "SF_USERNAME" in str(info.value) and info.value.error_code == "invalid_grant"
    assert sf.auth_calls == 1  # not retried


def test_token_endpoint_outage_is_retried(sf: SalesforceClient, sf_transport: FakeTransport, sleeps) -> None:
    sf_transport.on("POST", "/services/oauth2/token", Reply(503, "down"), token_reply())
    sf.authenticate()
    assert sf.auth_calls == 2 and len(sleeps) == 1


# ---------------------------------------------------------------------------------------------- statuses


def test_list_presence_statuses_is_two_queries_and_joins_channels(
    sf: SalesforceClient, sf_transport: FakeTransport
) -> None:
    route_queries(
        sf_transport, {"FROM ServicePresenceStatus": soql(STATUS_ROWS), "FROM ServiceChannelStatus": soql(LINK_ROWS)}
    )
    statuses = sf.statuses.list_all()
    assert [(s.developer_name, s.label, s.channels) for s in statuses] == [
        ("Available_for_Chats", "Available for Chats", ["Case", "sfdc_livemessage"]),
        ("Busy", "Busy", []),
    ]
    texts = [q(r) for r in sf_transport.matching("GET", QUERY)]
    assert texts == [
        "SELECT Id, DeveloperName, MasterLabel FROM ServicePresenceStatus ORDER BY DeveloperName",
        "SELECT ServicePresenceStatusId, ServiceChannel.DeveloperName FROM ServiceChannelStatus",
    ]


def test_query_pages_are_followed(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    route_queries(
        sf_transport,
        {
            "FROM User": soql(
                [{"Id": "005000000000001AAA", "Username": "a@x"}], next_url="/services/data/v59.0/query/01gNEXT-2000"
            )
        },
    )
    sf_transport.on(
        "GET",
        "/services/data/v59.0/query/01gNEXT-2000",
        soql([{"Id": "005000000000002AAA", "Username": "b@x", "IsActive": False}]),
    )
    users = sf.list_users()
    assert [(u.username, u.is_active) for u in users] == [("a@x", True), ("b@x", False)]
    assert sf.api_calls == 2


def test_get_presence_status_quotes_the_name(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    route_queries(sf_transport, {"FROM ServicePresenceStatus": soql([])})
    assert sf.statuses.get("O'Brien\\x") is None
    assert q(sf_transport.requests[-1]).endswith("WHERE DeveloperName = 'O\\'Brien\\\\x'")


def test_create_presence_status_sends_metadata_and_reads_back(
    sf: SalesforceClient, sf_transport: FakeTransport
) -> None:
    sf_transport.on("POST", SOAP, save_ok("createMetadata", "Available_for_Chats"))
    route_queries(
        sf_transport,
        {"FROM ServicePresenceStatus": soql(STATUS_ROWS[:1]), "FROM ServiceChannelStatus": soql(LINK_ROWS)},
    )
    record = sf.statuses.create("Available_for_Chats", "Available for Chats", ["sfdc_livemessage", "Case"])
    assert record.id == "0N5000000000001AAA" and record.channels == ["Case", "sfdc_livemessage"]
    envelope = sf_transport.matching("POST", SOAP)[0]
    assert soap_op(envelope) == "createMetadata"
    assert 'xsi:type="ns0:ServicePresenceStatus"' in envelope.text
    assert "<ns0:fullName>Available_for_Chats</ns0:fullName>" in envelope.text
    assert "<ns0:channel>Case</ns0:channel><ns0:channel>sfdc_livemessage</ns0:channel>" in envelope.text
    assert "<ns0:sessionId>00Dtoken!first</ns0:sessionId>" in envelope.text


def test_busy_status_has_no_channels_element(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    sf_transport.on("POST", SOAP, save_ok("createMetadata", "Busy"))
    route_queries(
        sf_transport, {"FROM ServicePresenceStatus": soql(STATUS_ROWS[1:]), "FROM ServiceChannelStatus": soql([])}
    )
    assert sf.statuses.create("Busy", "Busy", []).channels == []
    assert "channels" not in sf_transport.matching("POST", SOAP)[0].text


def test_save_result_failure_maps_to_our_error(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    sf_transport.on(
        "POST",
        SOAP,
        save_failed(
            "createMetadata", "Busy", "DUPLICATE_DEVELOPER_NAME", "This Developer Name already exists", "fullName"
        ),
    )
    with pytest.raises(AlreadyExists) as info:
        sf.statuses.create("Busy", "Busy")
    error = info.value
    assert (error.error_code, error.field, error.operation) == (
        "DUPLICATE_DEVELOPER_NAME",
        "fullName",
        "create_presence_status",
    )
    assert error.object == "ServicePresenceStatus 'Busy'"
    assert len(sf_transport.matching("POST", SOAP)) == 1  # permanent: not retried


def test_soap_invalid_session_relogs_in_once(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    sf_transport.on("POST", "/services/oauth2/token", token_reply("00Dtoken!first"), token_reply("00Dtoken!second"))
    sf_transport.on(
        "POST",
        SOAP,
        soap_fault("sf:INVALID_SESSION_ID", "INVALID_SESSION_ID: Invalid Session ID"),
        save_ok("deleteMetadata", "Busy"),
    )
    sf.statuses.delete("Busy")
    envelopes = sf_transport.matching("POST", SOAP)
    assert len(envelopes) == 2 and sf.auth_calls == 2
    assert "00Dtoken!second" in envelopes[1].text


def test_rest_401_relogs_in_once_then_gives_up(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    sf_transport.on("GET", QUERY, sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid"))
    with pytest.raises(SessionExpired):
        sf.list_users()
    assert sf.auth_calls == 2 and sf.api_calls == 2


def test_transient_rest_errors_are_ridden_out(sf: SalesforceClient, sf_transport: FakeTransport, sleeps) -> None:
    ok = soql([])
    sf_transport.on("GET", QUERY, sf_error(503, "SERVER_UNAVAILABLE", "retry later"), Reply(500, "oops"), ok)
    assert sf.list_users() == []
    assert sf.api_calls == 3 and len(sleeps) == 2


def test_transient_errors_give_up_after_the_policy(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    sf_transport.on("GET", QUERY, sf_error(503, "SERVER_UNAVAILABLE", "retry later"))
    with pytest.raises(ServiceUnavailable) as info:
        sf.list_users()
    assert sf.api_calls == 4 and info.value.error_code == "SERVER_UNAVAILABLE"


def test_metadata_http_503_is_transient(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    json_503 = sf_error(503, "SERVER_UNAVAILABLE", "retry later")  # not a SOAP envelope: a gateway's answer
    sf_transport.on("POST", SOAP, Reply(503, b""), json_503, save_ok("deleteMetadata", "Busy"))
    sf.statuses.delete("Busy")
    assert len(sf_transport.matching("POST", SOAP)) == 3


def test_connection_refused_is_transient(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    sf_transport.on("GET", QUERY, requests.ConnectionError("refused"))
    with pytest.raises(ConnectionFailed):
        sf.list_users()
    assert sf.api_calls == 4


def test_read_of_missing_metadata_is_none(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    sf_transport.on("POST", SOAP, read_result("ServicePresenceStatus", None))
    assert sf.statuses.read_metadata("Nope") is None
    sf_transport.on(
        "POST",
        SOAP,
        read_result(
            "ServicePresenceStatus",
            "<fullName>A</fullName><channels><channel>x</channel></channels><label>A label</label>",
        ),
    )
    assert sf.statuses.read_metadata("A") == ("A label", ["x"])


def test_delete_of_missing_status_is_success(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    sf_transport.on("POST", SOAP, save_failed("deleteMetadata", "Gone", "INVALID_CROSS_REFERENCE_KEY", "no such"))
    sf.statuses.delete("Gone")


# ---------------------------------------------------------------------------------------------- grants


def test_list_profiles_reads_profile_owned_permission_sets(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    route_queries(
        sf_transport,
        {
            "FROM PermissionSet": soql(
                [{"Id": "0PS000000000001AAA", "ProfileId": "00e000000000001AAA", "Profile": {"Name": "Agent"}}]
            )
        },
    )
    assert [(p.id, p.name, p.permission_set_id) for p in sf.access.list_profiles()] == [
        ("00e000000000001AAA", "Agent", "0PS000000000001AAA")
    ]
    assert "WHERE IsOwnedByProfile = true" in q(sf_transport.requests[-1])


def test_list_status_grants_filters_by_type_and_chunks_ids(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    route_queries(sf_transport, {"FROM SetupEntityAccess": soql([])})
    ids = [f"0PS{n:015d}" for n in range(450)]
    assert sf.access.list_status_grants(ids) == []
    texts = [q(r) for r in sf_transport.matching("GET", QUERY)]
    assert len(texts) == 3
    assert all(
        t.startswith(
            "SELECT Id, ParentId, SetupEntityId FROM SetupEntityAccess "
            "WHERE SetupEntityType = 'ServicePresenceStatus' AND ParentId IN ('0PS"
        )
        for t in texts
    )
    assert sf.access.list_status_grants([]) == [] and len(sf_transport.matching("GET", QUERY)) == 3


def test_grant_posts_setup_entity_access(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    sf_transport.on(
        "POST",
        "/services/data/v59.0/sobjects/SetupEntityAccess/",
        Reply(201, {"id": "0J0000000000001AAA", "success": True, "errors": []}),
    )
    grant = sf.access.grant_status("0PS000000000001AAA", "0N5000000000001AAA")
    assert grant.id == "0J0000000000001AAA"
    assert sf_transport.requests[-1].json == {"ParentId": "0PS000000000001AAA", "SetupEntityId": "0N5000000000001AAA"}


def test_duplicate_grant_returns_the_existing_one(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    sf_transport.on(
        "POST",
        "/services/data/v59.0/sobjects/SetupEntityAccess/",
        sf_error(400, "DUPLICATE_VALUE", "duplicate value found"),
    )
    route_queries(
        sf_transport,
        {
            "FROM SetupEntityAccess": soql(
                [{"Id": "0J0000000000009AAA", "ParentId": "0PS000000000001AAA", "SetupEntityId": "0N5000000000001AAA"}]
            )
        },
    )
    assert sf.access.grant_status("0PS000000000001AAA", "0N5000000000001AAA").id == "0J0000000000009AAA"


def test_revoke_of_missing_grant_is_success(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    sf_transport.on(
        "DELETE",
        "/services/data/v59.0/sobjects/SetupEntityAccess/0J0000000000001AAA",
        sf_error(404, "NOT_FOUND", "The requested resource does not exist"),
    )
    sf.access.revoke_grant("0J0000000000001AAA")


def test_an_id_list_is_quoted_so_junk_cannot_escape_it(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    route_queries(sf_transport, {"FROM SetupEntityAccess": soql([])})
    assert sf.access.list_status_grants(["0PS000000000001AAA", "x' OR Id != '"]) == []
    assert q(sf_transport.requests[-1]).endswith("ParentId IN ('0PS000000000001AAA','x\\' OR Id != \\'')")


# ---------------------------------------------------------------------------------------------- cache


def test_cached_lists_load_once_across_threads_and_writes_invalidate(
    sf: SalesforceClient, sf_transport: FakeTransport
) -> None:
    route_queries(sf_transport, {"FROM User": soql([{"Id": "005000000000001AAA", "Username": "a@x"}])})
    sf.authenticate()
    barrier = threading.Barrier(4)
    results = []

    def worker() -> None:
        barrier.wait()
        results.append(sf.cached_list_users())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and sf.api_calls == 1
    sf_transport.on("DELETE", "/services/data/v59.0/sobjects/SetupEntityAccess/.*", Reply(204))
    sf.access.revoke_grant("0J0000000000001AAA")
    sf.cached_list_users()
    assert sf.api_calls == 3


# ---------------------------------------------------------------------------------------------- OAuth apps

ECA = OAuthAppSpec(
    name="Presence_Sync",
    label="Presence Sync",
    contact_email="ops@example.com",
    callback_url="https://example.com/cb",
    scopes=["api", "refresh_token", "Api"],
)


def _eca_reads(recorded: Recorded) -> Reply:
    text = recorded.text
    if "ExternalClientApplication</ns0:type>" in text:
        return read_result(
            "ExternalClientApplication",
            "<fullName>Presence_Sync</fullName><contactEmail>ops@example.com</contactEmail>"
            "<label>Presence Sync</label>",
        )
    if "ExtlClntAppGlobalOauthSettings</ns0:type>" in text:
        return read_result(
            "ExtlClntAppGlobalOauthSettings",
            "<fullName>Presence_Sync_glbloauth</fullName><callbackUrl>https://example.com/cb</callbackUrl>"
            "<consumerKey>3MVG9key</consumerKey><externalClientApplication>Presence_Sync"
            "</externalClientApplication><isConsumerSecretOptional>false</isConsumerSecretOptional>"
            "<isSecretRequiredForRefreshToken>true</isSecretRequiredForRefreshToken>",
        )
    return read_result(
        "ExtlClntAppOauthSettings",
        "<fullName>Presence_Sync_oauth</fullName><commaSeparatedOauthScopes>Api, RefreshToken"
        "</commaSeparatedOauthScopes><externalClientApplication>Presence_Sync</externalClientApplication>",
    )


def test_create_external_client_app(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    def handler(recorded: Recorded) -> Reply:
        if soap_op(recorded) == "createMetadata":
            return save_ok("createMetadata", "x")
        return _eca_reads(recorded)

    sf_transport.on("POST", SOAP, handler)
    created = sf.oauth_apps.create_oauth_app(ECA)
    creates = [r for r in sf_transport.matching("POST", SOAP) if soap_op(r) == "createMetadata"]
    assert [
        t
        for r in creates
        for t in ("ExternalClientApplication", "ExtlClntAppGlobalOauthSettings", "ExtlClntAppOauthSettings")
        if f'ns0:{t}"' in r.text
    ] == ["ExternalClientApplication", "ExtlClntAppGlobalOauthSettings", "ExtlClntAppOauthSettings"]
    secret = created.consumer_secret.get_secret_value()
    assert len(secret) == 64 and f"<ns0:consumerSecret>{secret}</ns0:consumerSecret>" in creates[1].text
    assert "<ns0:commaSeparatedOauthScopes>Api, RefreshToken</ns0:commaSeparatedOauthScopes>" in creates[2].text
    record = created.record
    assert (record.scopes, record.consumer_key, record.require_secret_for_web_server_flow) == (
        ["Api", "RefreshToken"],
        "3MVG9key",
        True,
    )
    assert secret not in repr(created) and secret not in str(created) and secret not in record.model_dump_json()


def test_failed_eca_create_rolls_back(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    def handler(recorded: Recorded) -> Reply:
        op = soap_op(recorded)
        if op == "createMetadata" and "ExtlClntAppGlobalOauthSettings" in recorded.text:
            return save_failed(
                "createMetadata",
                "Presence_Sync_glbloauth",
                "FIELD_INTEGRITY_EXCEPTION",
                "callbackUrl must be https",
                "callbackUrl",
            )
        return save_ok(op, "x")

    sf_transport.on("POST", SOAP, handler)
    with pytest.raises(InvalidRequest) as info:
        sf.oauth_apps.create_oauth_app(ECA)
    assert info.value.field == "callbackUrl"
    deletes = [r for r in sf_transport.matching("POST", SOAP) if soap_op(r) == "deleteMetadata"]
    assert len(deletes) == 1 and "<ns0:fullNames>Presence_Sync</ns0:fullNames>" in deletes[0].text


def test_unknown_scope_is_rejected_before_any_call(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    with pytest.raises(InvalidRequest, match="Visualforce"):
        sf.oauth_apps.create_oauth_app(ECA.model_copy(update={"scopes": ["visualforce"]}))
    assert sf_transport.requests == []


def test_read_connected_app(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    sf_transport.on(
        "POST",
        SOAP,
        read_result(
            "ConnectedApp",
            "<fullName>Legacy</fullName><contactEmail>a@b</contactEmail><label>Legacy</label><oauthConfig>"
            "<callbackUrl>https://cb</callbackUrl><consumerKey>3MVG9k</consumerKey>"
            "<isConsumerSecretOptional>true</isConsumerSecretOptional><scopes>Api</scopes><scopes>Web</scopes>"
            "</oauthConfig>",
        ),
    )
    record = sf.oauth_apps.read_oauth_app("connected_app", "Legacy")
    assert record is not None
    assert (record.scopes, record.require_secret_for_web_server_flow, record.require_secret_for_refresh_token) == (
        ["Api", "Web"],
        False,
        True,
    )


# ---------------------------------------------------------------------------------------------- runtime


def test_publish_presence_command(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    sf_transport.on(
        "POST",
        "/services/data/v59.0/sobjects/Omni_Presence_Command__e/",
        Reply(201, {"id": "e00000000000001AAA", "success": True, "errors": []}),
    )
    assert sf.publish_presence_command("005000000000001AAA", "0N5000000000001AAA", "cmd-1") == "e00000000000001AAA"
    assert sf_transport.requests[-1].json == {
        "UserId__c": "005000000000001AAA",
        "StatusId__c": "0N5000000000001AAA",
        "CommandId__c": "cmd-1",
    }


def commands(count: int) -> list[PresenceCommand]:
    return [
        PresenceCommand(user_id=f"005{n:015d}", status_id="0N5000000000001AAA", command_id=f"cmd-{n}")
        for n in range(count)
    ]


def composite_reply(*statuses: int) -> Reply:
    answers = [
        {
            "body": {"id": f"e00{n:015d}", "success": True, "errors": []}
            if status == 201
            else [{"errorCode": "INVALID_FIELD" if status == 400 else "SERVER_UNAVAILABLE", "message": "no"}],
            "httpHeaders": {},
            "httpStatusCode": status,
            "referenceId": f"command{n}",
        }
        for n, status in enumerate(statuses)
    ]
    return Reply(200, {"compositeResponse": answers})


def test_several_commands_go_out_in_one_composite_call(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    sf_transport.on("POST", "/services/data/v59.0/composite", composite_reply(201, 201, 201))

    assert sf.publish_presence_commands(commands(3)) == [f"e00{n:015d}" for n in range(3)]
    [call] = [r for r in sf_transport.requests if r.path.endswith("/composite")]
    assert call.json["allOrNone"] is False
    sent = [(s["method"], s["url"], s["referenceId"], s["body"]["CommandId__c"]) for s in call.json["compositeRequest"]]
    assert sent == [
        ("POST", "/services/data/v59.0/sobjects/Omni_Presence_Command__e", f"command{n}", f"cmd-{n}") for n in range(3)
    ]


def test_a_refused_command_is_its_own_error_and_the_others_are_published(
    sf: SalesforceClient, sf_transport: FakeTransport
) -> None:
    sf_transport.on("POST", "/services/data/v59.0/composite", composite_reply(201, 400, 503))

    published, refused, unavailable = sf.publish_presence_commands(commands(3))

    assert published == "e00000000000000000"
    assert isinstance(refused, InvalidRequest) and refused.error_code == "INVALID_FIELD"
    assert "user 005000000000000001" in str(refused)
    assert isinstance(unavailable, TransientVendorError)


def test_more_than_25_commands_take_one_composite_call_per_25(
    sf: SalesforceClient, sf_transport: FakeTransport
) -> None:
    sf_transport.on("POST", "/services/data/v59.0/composite", composite_reply(*[201] * 25), composite_reply(201, 201))

    assert len(sf.publish_presence_commands(commands(27))) == 27
    sizes = [len(r.json["compositeRequest"]) for r in sf_transport.requests if r.path.endswith("/composite")]
    assert sizes == [25, 2]


def test_a_lone_command_is_a_plain_publish(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    sf_transport.on(
        "POST",
        "/services/data/v59.0/sobjects/Omni_Presence_Command__e/",
        Reply(201, {"id": "e00000000000001AAA", "success": True, "errors": []}),
    )

    assert sf.publish_presence_commands(commands(1)) == ["e00000000000001AAA"]


def test_a_composite_answer_that_does_not_match_the_commands_is_unavailable(
    sf: SalesforceClient, sf_transport: FakeTransport
) -> None:
    sf_transport.on("POST", "/services/data/v59.0/composite", *[composite_reply(201)] * 10)

    with pytest.raises(ServiceUnavailable, match="one response per command"):
        sf.publish_presence_commands(commands(2))


def test_poll_current_presence(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    import datetime as dt

    route_queries(
        sf_transport,
        {
            "FROM UserServicePresence": soql(
                [
                    {
                        "Id": "0Lq000000000001AAA",
                        "UserId": "005000000000001AAA",
                        "ServicePresenceStatusId": "0N5000000000001AAA",
                        "ServicePresenceStatus": {"DeveloperName": "Busy"},
                        "IsAway": True,
                        "IsCurrentState": True,
                        "StatusStartDate": "2026-01-01T10:00:00.000+0000",
                        "LastModifiedDate": "2026-01-01T10:00:01.000+0000",
                    }
                ]
            )
        },
    )
    rows, newest = sf.poll_current_presence(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert rows[0].status_developer_name == "Busy" and rows[0].is_away
    assert newest == dt.datetime(2026, 1, 1, 10, 0, 1, tzinfo=dt.UTC)
    text = q(sf_transport.requests[-1])
    since = "LastModifiedDate >= 2026-01-01T00:00:00+00:00"  # format_soql's dateTime literal
    assert f"WHERE IsCurrentState = true AND {since} ORDER BY LastModifiedDate" in text


# ---------------------------------------------------------------------------------------------- secrets


@pytest.mark.parametrize("reconfigured", [False, True], ids=["as-configured", "after-dictConfig"])
def test_secrets_never_reach_errors_reprs_or_logs(
    sf: SalesforceClient, sf_transport: FakeTransport, caplog: pytest.LogCaptureFixture, reconfigured: bool
) -> None:
    if reconfigured:
        # What logging.config.dictConfig(disable_existing_loggers=False) -- uvicorn's -- does to every registered
        # logger; the process may run it after our module was imported.
        for logger in logging.Logger.manager.loggerDict.values():
            if isinstance(logger, logging.Logger):
                logger.disabled = False
    token = "00Dtoken!LEAKY-first"
    sf_transport.on("POST", "/services/oauth2/token", token_reply(token))
    # A vendor message that echoes the token and a secret back must not carry them further.
    sf_transport.on("GET", QUERY, sf_error(400, "INVALID_FIELD", f"bad session {token} {SF_SECRETS['SF_PASSWORD']}"))
    sf_transport.on("POST", SOAP, soap_fault("sf:INVALID_SESSION_ID", f"Illegal Session {token}"))
    caplog.set_level(logging.DEBUG)
    texts: list[str] = [repr(sf), str(sf.settings), repr(sf.settings)]
    for call in (sf.list_users, lambda: sf.statuses.delete("Busy")):
        with pytest.raises(Exception) as info:
            call()
        texts += [str(info.value), repr(info.value), "".join(traceback.format_exception(info.value))]
    created_secret = None
    sf_transport.on("POST", SOAP, save_failed("createMetadata", "X", "UNKNOWN_EXCEPTION", "boom"))
    with pytest.raises(InvalidRequest) as info:
        sf.oauth_apps.create_oauth_app(ECA.model_copy(update={"type": "connected_app"}))
    texts += [str(info.value), "".join(traceback.format_exception(info.value))]
    created_secret = [unquote_plus(r.text) for r in sf_transport.matching("POST", SOAP) if "consumerSecret" in r.text]
    assert created_secret  # the secret did go to Salesforce...
    texts.append(caplog.text)
    blob = "\n".join(texts)
    secret = created_secret[0].split("<ns0:consumerSecret>")[1].split("<")[0]
    for value in (token, secret, *SF_SECRETS.values()):  # ...and nowhere else
        assert value not in blob, value


def test_concurrent_first_calls_log_in_once(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    route_queries(sf_transport, {"FROM User": soql([])})
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        sf.list_users()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (sf.auth_calls, sf.api_calls) == (1, 4)


# ---------------------------------------------------------------------------------------------- deploy

DEPLOY = "/services/Soap/m/59.0/deployRequest"


def deploy_started(async_id: str = "0Af000000000001AAA") -> Reply:
    from tests.presence_sync.clients.client_fakes import soap

    return soap(
        f"<deployResponse><result><done>false</done><id>{async_id}</id><state>Queued</state></result></deployResponse>"
    )


def deploy_status(done: bool, status: str, details: str = "", deployed: int = 0, errors: int = 0) -> Reply:
    from tests.presence_sync.clients.client_fakes import soap

    return soap(
        "<checkDeployStatusResponse><result>"
        f"<details>{details}</details><done>{str(done).lower()}</done><id>0Af000000000001AAA</id>"
        f"<numberComponentErrors>{errors}</numberComponentErrors>"
        f"<numberComponentsDeployed>{deployed}</numberComponentsDeployed>"
        f"<numberComponentsTotal>{deployed + errors}</numberComponentsTotal><status>{status}</status>"
        f"<success>{str(status == 'Succeeded').lower()}</success></result></checkDeployStatusResponse>"
    )


BRIDGE_TESTS = ("OmniPresenceBridgeControllerTest",)


def test_deploy_bridge_sends_the_zip_and_polls_until_done(
    sf: SalesforceClient, sf_transport: FakeTransport, sleeps: list[float]
) -> None:
    success = (
        "<componentSuccesses><componentType>ApexClass</componentType><fullName>Bridge</fullName>"
        "<success>true</success></componentSuccesses>"
    )
    sf_transport.on("POST", DEPLOY, deploy_started())
    sf_transport.on(
        "POST",
        DEPLOY + "/0Af000000000001AAA",
        deploy_status(False, "InProgress"),
        deploy_status(True, "Succeeded", success, deployed=1),
    )

    outcome = sf.deploy_bridge(b"PK-zip-bytes", run_tests=BRIDGE_TESTS)

    assert (outcome.id, outcome.status, outcome.components_deployed, outcome.components) == (
        "0Af000000000001AAA",
        "Succeeded",
        1,
        ["ApexClass Bridge"],
    )
    [started] = sf_transport.matching("POST", DEPLOY)
    assert "<met:ZipFile>UEstemlwLWJ5dGVz</met:ZipFile>" in started.text  # base64 of the bytes
    assert "<met:rollbackOnError>True</met:rollbackOnError>" in started.text
    assert len(sf_transport.matching("POST", DEPLOY + "/0Af000000000001AAA")) == 2
    assert sleeps == [0.5]


def test_a_failed_deploy_names_the_component_and_problem(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    failure = (
        "<componentFailures><componentType>CustomObject</componentType><fileName>objects/X__e.object"
        "</fileName><fullName>X__e</fullName><problem>Field type Lookup isn't supported</problem>"
        "<problemType>Error</problemType><success>false</success></componentFailures>"
    )
    sf_transport.on("POST", DEPLOY, deploy_started())
    sf_transport.on("POST", DEPLOY + "/0Af000000000001AAA", deploy_status(True, "Failed", failure, errors=1))

    with pytest.raises(InvalidRequest) as raised:
        sf.deploy_bridge(b"zip", run_tests=BRIDGE_TESTS)
    assert "CustomObject X__e (objects/X__e.object): Field type Lookup isn't supported" in str(raised.value)
    assert raised.value.operation == "deploy_bridge"


def test_deploy_with_an_expired_session_relogs_in(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    sf_transport.on("POST", "/services/oauth2/token", token_reply("00Dtoken!first"), token_reply("00Dtoken!second"))
    sf_transport.on(
        "POST", DEPLOY, soap_fault("sf:INVALID_SESSION_ID", "INVALID_SESSION_ID: expired"), deploy_started()
    )
    sf_transport.on("POST", DEPLOY + "/0Af000000000001AAA", deploy_status(True, "Succeeded", deployed=5))

    assert sf.deploy_bridge(b"zip", run_tests=BRIDGE_TESTS).components_deployed == 5
    assert sf.auth_calls == 2
    assert "00Dtoken!second" in sf_transport.matching("POST", DEPLOY)[1].text


def test_a_deploy_that_does_not_finish_times_out(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    sf_transport.on("POST", DEPLOY, deploy_started())
    sf_transport.on("POST", DEPLOY + "/0Af000000000001AAA", deploy_status(False, "InProgress"))

    with pytest.raises(ServiceUnavailable, match="not done after 0 s"):
        sf.deploy_bridge(b"zip", run_tests=BRIDGE_TESTS, timeout=0)


def test_the_bridge_deploy_runs_the_apex_tests_it_is_given(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    sf_transport.on("POST", DEPLOY, deploy_started(), deploy_started())
    sf_transport.on("POST", DEPLOY + "/0Af000000000001AAA", deploy_status(True, "Succeeded", deployed=6))

    sf.deploy_bridge(b"zip", run_tests=BRIDGE_TESTS)
    sf.deploy_bridge(b"zip", run_tests=())

    with_tests, without = sf_transport.matching("POST", DEPLOY)
    # A production org refuses NoTestRun and would otherwise run every local test of the org.
    assert "<met:testLevel>RunSpecifiedTests</met:testLevel>" in with_tests.text
    assert "<met:runTests>OmniPresenceBridgeControllerTest</met:runTests>" in with_tests.text
    assert "testLevel" not in without.text and "runTests" not in without.text


def test_a_failing_apex_test_fails_the_deploy_and_is_named(sf: SalesforceClient, sf_transport: FakeTransport) -> None:
    tests = (
        "<runTestResult><failures><message>System.AssertException: Assertion Failed</message>"
        "<methodName>aSuccessIsPublished</methodName><name>OmniPresenceBridgeControllerTest</name></failures>"
        "<numFailures>1</numFailures></runTestResult>"
    )
    sf_transport.on("POST", DEPLOY, deploy_started())
    sf_transport.on("POST", DEPLOY + "/0Af000000000001AAA", deploy_status(True, "Failed", tests))

    with pytest.raises(InvalidRequest) as raised:
        sf.deploy_bridge(b"zip", run_tests=BRIDGE_TESTS)
    assert (
        "Apex test OmniPresenceBridgeControllerTest.aSuccessIsPublished: System.AssertException: Assertion Failed"
    ) in str(raised.value)


def test_remove_bridge_deploys_the_deletions_ignoring_what_is_already_gone(
    sf: SalesforceClient, sf_transport: FakeTransport
) -> None:
    details = (
        "<componentSuccesses><componentType>ApexClass</componentType><deleted>true</deleted>"
        "<fullName>OmniPresenceBridgeController</fullName><success>true</success></componentSuccesses>"
        "<componentSuccesses><componentType>CustomObject</componentType><deleted>false</deleted>"
        "<fullName>Omni_Presence_Result__e</fullName><problem>No CustomObject named: "
        "Omni_Presence_Result__e found</problem><problemType>Warning</problemType><success>true</success>"
        "</componentSuccesses>"
    )
    sf_transport.on("POST", DEPLOY, deploy_started())
    sf_transport.on("POST", DEPLOY + "/0Af000000000001AAA", deploy_status(True, "Succeeded", details, deployed=2))

    outcome = sf.remove_bridge(b"PK-removal")

    assert outcome.deleted == ["ApexClass OmniPresenceBridgeController"]
    assert outcome.components == []
    assert outcome.warnings == ["No CustomObject named: Omni_Presence_Result__e found"]
    [started] = sf_transport.matching("POST", DEPLOY)
    assert "<met:ignoreWarnings>True</met:ignoreWarnings>" in started.text  # already gone is not a failure
    assert "<met:rollbackOnError>True</met:rollbackOnError>" in started.text
    assert "testLevel>" not in started.text, "the tests that would run are deleted by this deploy"


def test_a_failed_removal_names_the_component_and_says_nothing_was_removed(
    sf: SalesforceClient, sf_transport: FakeTransport
) -> None:
    failure = (
        "<componentFailures><componentType>ApexClass</componentType><fileName>classes/X.cls</fileName>"
        "<fullName>X</fullName><problem>This class is referenced elsewhere</problem>"
        "<problemType>Error</problemType><success>false</success></componentFailures>"
    )
    sf_transport.on("POST", DEPLOY, deploy_started())
    sf_transport.on("POST", DEPLOY + "/0Af000000000001AAA", deploy_status(True, "Failed", failure, errors=1))

    with pytest.raises(InvalidRequest) as raised:
        sf.remove_bridge(b"zip")
    assert raised.value.operation == "remove_bridge"
    assert "ApexClass X (classes/X.cls): This class is referenced elsewhere" in str(raised.value)
    assert "Nothing was removed" in str(raised.value)
