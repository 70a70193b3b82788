"""The clients against the real sandbox (both emulators over HTTPS, in a subprocess).

Skipped only while ``sandbox/testing.py`` does not exist; once it does, any failure to start is a failure.
"""

from __future__ import annotations

import logging
import pathlib
import uuid
from collections.abc import Iterator

import pytest
import requests
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
    OutcomeUnknown,
    PermissionDenied,
    VendorError,
)
from presence_sync.clients.presence_rule import (
    PresenceRuleProxy,
    PresenceRuleSpec,
    StateMapping,
)
from presence_sync.clients.retry import RetryPolicy
from presence_sync.clients.salesforce import SalesforceClient
from presence_sync.clients.salesforce_models import OAuthAppSpec
from presence_sync.clients.settings import CxoneSettings, SalesforceSettings

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
if not (REPO_ROOT / "sandbox" / "testing.py").exists():
    pytest.skip("sandbox/testing.py is not there yet", allow_module_level=True)

from sandbox.testing import SandboxHandle, running_sandbox  # noqa: E402

FAST = RetryPolicy(attempts=5, base_delay=0.05, max_delay=0.5, budget=20)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    with running_sandbox(tmp_path_factory.mktemp("sandbox"), reset=True) as handle:
        yield handle


@pytest.fixture(autouse=True)
def _no_faults(sandbox: SandboxHandle) -> Iterator[None]:
    yield
    for vendor in sandbox.vendors:
        operator = sandbox.salesforce_operator if vendor == "salesforce" else sandbox.cxone_operator
        operator.clear_faults()


@pytest.fixture
def sf(sandbox: SandboxHandle) -> Iterator[SalesforceClient]:
    client = SalesforceClient(SalesforceSettings.from_mapping(sandbox.env), retry=FAST)
    yield client
    client.close()


@pytest.fixture
def cx(sandbox: SandboxHandle) -> Iterator[CxoneClient]:
    client = CxoneClient(CxoneSettings.from_mapping(sandbox.env), retry=FAST)
    yield client
    client.close()


# ---------------------------------------------------------------------------------------------- Salesforce


def test_presence_status_round_trip(sf: SalesforceClient) -> None:
    channels = {c.developer_name for c in sf.channels.list_all()}
    assert {"sfdc_phone", "Case"} <= channels
    name = unique("Available_Voice")
    created = sf.statuses.create(name, "Available Voice", ["sfdc_phone"])
    assert created.id.startswith("0N5") and created.channels == ["sfdc_phone"]
    assert sf.statuses.get(name) == created
    assert created in sf.statuses.list_all()
    assert sf.statuses.read_metadata(name) == ("Available Voice", ["sfdc_phone"])

    updated = sf.statuses.update(name, "Busy now", [])
    assert (updated.id, updated.label, updated.channels) == (created.id, "Busy now", [])
    with pytest.raises(AlreadyExists) as info:
        sf.statuses.create(name, "again")
    assert info.value.error_code in ("DUPLICATE_DEVELOPER_NAME", "DUPLICATE_VALUE")

    sf.statuses.delete(name)
    assert sf.statuses.get(name) is None and sf.statuses.read_metadata(name) is None
    sf.statuses.delete(name)  # idempotent


def test_the_bridge_deploys_by_zip_and_a_broken_one_names_its_problem(sf: SalesforceClient) -> None:
    import io
    import zipfile

    from presence_sync.deploy.bridge import bridge_package, bridge_test_classes

    bridge = bridge_package()
    outcome = sf.deploy_bridge(bridge.zip_bytes, run_tests=bridge_test_classes())
    assert (outcome.status, outcome.components_deployed, outcome.components_total) == ("Succeeded", 6, 6)
    assert {"ApexClass OmniPresenceBridgeController", "ApexClass OmniPresenceBridgeControllerTest"} <= set(
        outcome.components
    )
    ada = next(u for u in sf.list_users() if u.email == "ada.lovelace@example.com")
    assert sf.publish_presence_command(ada.id, "0N5000000000001AAA", "after-deploy")  # the event exists

    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        for name, content in bridge.files.items():
            if name != "classes/OmniPresenceBridgeController.cls":
                archive.writestr(name, content)
    with pytest.raises(InvalidRequest, match=r"ApexClass OmniPresenceBridgeController .*was not found in zipped"):
        sf.deploy_bridge(broken.getvalue(), run_tests=bridge_test_classes())


def test_the_bridge_is_removed_by_zip_twice_over_and_its_test_must_exist_to_deploy(sf: SalesforceClient) -> None:
    import io
    import zipfile

    from presence_sync.deploy.bridge import bridge_package, bridge_removal_package, bridge_test_classes

    bridge = bridge_package()
    sf.deploy_bridge(bridge.zip_bytes, run_tests=bridge_test_classes())
    ada = next(u for u in sf.list_users() if u.email == "ada.lovelace@example.com")

    removed = sf.remove_bridge(bridge_removal_package().zip_bytes)
    assert removed.status == "Succeeded" and removed.warnings == []
    assert set(removed.deleted) == {
        "ApexClass OmniPresenceBridgeController",
        "ApexClass OmniPresenceBridgeControllerTest",
        "AuraDefinitionBundle omniPresenceBridgeUtility",
        "LightningComponentBundle omniPresenceBridge",
        "CustomObject Omni_Presence_Command__e",
        "CustomObject Omni_Presence_Result__e",
    }
    with pytest.raises(VendorError):
        sf.publish_presence_command(ada.id, "0N5000000000001AAA", "after-removal")  # the event is gone

    again = sf.remove_bridge(bridge_removal_package().zip_bytes)  # already gone: fine, and said
    assert again.deleted == [] and "No ApexClass named: OmniPresenceBridgeController found" in again.warnings

    without_test = io.BytesIO()
    with zipfile.ZipFile(without_test, "w") as archive:
        for name, content in bridge.files.items():
            if "OmniPresenceBridgeControllerTest" not in name:
                archive.writestr(name, content.replace(b"<members>OmniPresenceBridgeControllerTest</members>", b""))
    # Production would run the test: it must be in the zip or the org.
    with pytest.raises(InvalidRequest, match=r"Apex test OmniPresenceBridgeControllerTest: This class name's value"):
        sf.deploy_bridge(without_test.getvalue(), run_tests=bridge_test_classes())
    sf.deploy_bridge(bridge.zip_bytes, run_tests=bridge_test_classes())  # and back, for the tests after this one
    assert sf.publish_presence_command(ada.id, "0N5000000000001AAA", "after-redeploy")


def test_unknown_channel_is_an_invalid_request_naming_the_field(sf: SalesforceClient) -> None:
    with pytest.raises(InvalidRequest) as info:
        sf.statuses.create(unique("Bad"), "Bad", ["no_such_channel"])
    assert info.value.field == "channel" and info.value.error_code == "INVALID_CROSS_REFERENCE_KEY"


def test_grants(sf: SalesforceClient) -> None:
    status = sf.statuses.create(unique("Granted"), "Granted", ["Case"])
    profile = next(p for p in sf.access.list_profiles() if p.name == "Custom: Support Agent")
    grant = sf.access.grant_status(profile.permission_set_id, status.id)
    assert sf.access.grant_status(profile.permission_set_id, status.id) == grant  # already granted: the same row
    assert grant in sf.access.list_status_grants([profile.permission_set_id])
    assert grant in sf.access.list_status_grants()
    sf.access.revoke_grant(grant.id)
    sf.access.revoke_grant(grant.id)  # idempotent
    assert grant not in sf.access.list_status_grants([profile.permission_set_id])
    sf.statuses.delete(status.developer_name)


def test_external_client_app_secret_is_returned_once_and_works(sandbox: SandboxHandle, sf: SalesforceClient) -> None:
    spec = OAuthAppSpec(
        name=unique("Presence_Sync"),
        label="Presence Sync",
        contact_email="ops@example.com",
        callback_url="https://login.example.com/callback",
        scopes=["api", "refresh_token"],
    )
    created = sf.oauth_apps.create_oauth_app(spec)
    record = created.record
    assert (record.name, record.callback_url, record.scopes) == (spec.name, spec.callback_url, ["Api", "RefreshToken"])
    assert record.consumer_key and record.consumer_key.startswith("3MVG9")
    assert sf.oauth_apps.read_oauth_app("external_client_app", spec.name) == record

    # The secret is real: the new app can log the integration user in.
    as_app = SalesforceClient(
        SalesforceSettings.from_mapping(
            {
                **sandbox.env,
                "SF_CLIENT_ID": record.consumer_key,
                "SF_CLIENT_SECRET": created.consumer_secret.get_secret_value(),
            }
        ),
        retry=FAST,
    )
    as_app.authenticate()

    updated = sf.oauth_apps.update_oauth_app(spec.model_copy(update={"label": "Presence Sync 2", "scopes": ["api"]}))
    assert (updated.label, updated.scopes, updated.consumer_key) == ("Presence Sync 2", ["Api"], record.consumer_key)

    sf.oauth_apps.delete_oauth_app("external_client_app", spec.name)
    assert sf.oauth_apps.read_oauth_app("external_client_app", spec.name) is None
    sf.oauth_apps.delete_oauth_app("external_client_app", spec.name)
    with pytest.raises(AuthenticationFailed):
        SalesforceClient(as_app.settings, retry=FAST).authenticate()


def test_connected_app_creation_is_restricted_by_default(sf: SalesforceClient) -> None:
    spec = OAuthAppSpec(
        type="connected_app",
        name=unique("Legacy"),
        label="Legacy",
        contact_email="a@example.com",
        callback_url="https://login.example.com/callback",
    )
    with pytest.raises(PermissionDenied) as info:
        sf.oauth_apps.create_oauth_app(spec)
    assert info.value.error_code == "INSUFFICIENT_ACCESS"


def test_listing_statuses_costs_two_calls(sandbox: SandboxHandle, sf: SalesforceClient) -> None:
    sf.authenticate()
    sandbox.salesforce_operator.clear_requests()
    sf.statuses.list_all()
    assert sf.api_calls == 2
    assert sandbox.salesforce_operator.count("GET", "/services/data/v59.0/query") == 2
    sf.cached_list_presence_statuses()
    sf.cached_list_presence_statuses()
    assert sf.api_calls == 4


def test_expired_session_is_renewed_once(sandbox: SandboxHandle, sf: SalesforceClient) -> None:
    sf.list_users()
    sandbox.salesforce_operator.expire_tokens()
    assert sf.list_users()  # REST 401 -> new login
    sandbox.salesforce_operator.expire_tokens()
    assert sf.statuses.read_metadata("Nope") is None  # SOAP INVALID_SESSION_ID fault -> new login
    assert sf.auth_calls == 3


def test_transient_503s_are_ridden_out(sandbox: SandboxHandle, sf: SalesforceClient) -> None:
    sf.authenticate()
    sandbox.salesforce_operator.set_faults(error_next=2, error_status=503)
    assert sf.list_users()
    assert sf.api_calls == 3
    sandbox.salesforce_operator.set_faults(error_next=1, error_status=503, path_prefix="/services/Soap")
    name = unique("After_Fault")
    assert sf.statuses.create(name, "After fault").developer_name == name
    sf.statuses.delete(name)


def test_refused_connections_are_ridden_out(sandbox: SandboxHandle, sf: SalesforceClient) -> None:
    sf.authenticate()
    sandbox.salesforce_operator.set_faults(refuse_seconds=0.3)
    assert sf.list_users()


def test_current_presence_is_polled(sandbox: SandboxHandle, sf: SalesforceClient) -> None:
    status = sf.statuses.create(unique("Online"), "Online", ["sfdc_phone"])
    user = next(u for u in sf.list_users() if u.username.startswith("ada.lovelace"))
    sf.access.grant_status(
        next(p.permission_set_id for p in sf.access.list_profiles() if p.id == user.profile_id), status.id
    )
    response = requests.post(
        f"{sandbox.salesforce_url}/__sandbox/console/login",
        json={"user": user.username, "status": status.developer_name},
        verify=sandbox.ca_bundle,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    rows, newest = sf.poll_current_presence()
    mine = [r for r in rows if r.user_id == user.id]
    assert mine and mine[0].status_developer_name == status.developer_name and not mine[0].is_away
    assert newest is not None


def test_no_secret_in_debug_logs(
    sandbox: SandboxHandle, sf: SalesforceClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    name = unique("Logged")
    sf.statuses.create(name, "Logged", ["Case"])
    sf.statuses.delete(name)
    app = sf.oauth_apps.create_oauth_app(
        OAuthAppSpec(
            name=unique("Log_App"),
            label="L",
            contact_email="a@example.com",
            callback_url="https://login.example.com/cb",
        )
    )
    sf.oauth_apps.delete_oauth_app("external_client_app", app.record.name)
    token = sf._connect().sf.session_id
    for secret in (
        token,
        app.consumer_secret.get_secret_value(),
        sandbox.env["SF_CLIENT_SECRET"],
        sandbox.env["SF_PASSWORD"],
    ):
        assert secret not in caplog.text


# ---------------------------------------------------------------------------------------------- CXone


def test_cxone_listings(cx: CxoneClient) -> None:
    agents = cx.list_agents()
    teams = cx.list_teams()
    codes = cx.list_unavailable_codes()
    assert len(agents) >= 10 and {t.team_id for t in teams} >= {2001, 2002, 2003}
    assert "Break" in {c.name for c in codes}
    team_codes = cx.list_team_unavailable_codes(2001)
    assert team_codes and {c.outstate_id for c in team_codes} <= {c.id for c in codes}
    with pytest.raises(NotFound):
        cx.list_team_unavailable_codes(999999)
    states, cursor = cx.agent_states()
    assert cursor and len(states) >= 10
    _, cursor2 = cx.agent_states(cursor)
    assert cursor2


def test_cxone_token_refresh_after_forced_expiry(sandbox: SandboxHandle, cx: CxoneClient) -> None:
    cx.list_teams()
    sandbox.cxone_operator.expire_tokens()
    assert cx.list_teams()
    assert cx.auth_calls == 2


def test_cxone_transient_503s_are_ridden_out(sandbox: SandboxHandle, cx: CxoneClient) -> None:
    cx.authenticate()
    sandbox.cxone_operator.set_faults(error_next=2, error_status=503)
    assert cx.list_teams()
    assert cx.api_calls == 3


def test_agent_session_and_state(sandbox: SandboxHandle, cx: CxoneClient) -> None:
    agent = next(a for a in cx.list_agents() if a.team_id == 2001 and a.is_active)
    response = requests.post(
        f"{sandbox.cxone_url}/__sandbox/agent/{agent.agent_id}/login", json={}, verify=sandbox.ca_bundle, timeout=10
    )
    assert response.status_code < 300, response.text
    session = cx.join_agent_session(agent.agent_id)
    cx.set_agent_state(session, "Available")
    states, _ = cx.agent_states()
    assert next(s for s in states if s.agent_id == agent.agent_id).agent_state_name == "Available"
    code = cx.list_team_unavailable_codes(2001)[0]
    cx.set_agent_state(session, "Unavailable", code.outstate_name)
    state = next(s for s in cx.agent_states()[0] if s.agent_id == agent.agent_id)
    assert (state.agent_state_name, state.out_state_id) == ("Unavailable", code.outstate_id)


def _logged_in_agent(sandbox: SandboxHandle, cx: CxoneClient, index: int) -> tuple[int, str]:
    agent = [a for a in cx.list_agents() if a.team_id == 2001 and a.is_active][index]
    response = requests.post(
        f"{sandbox.cxone_url}/__sandbox/agent/{agent.agent_id}/login", json={}, verify=sandbox.ca_bundle, timeout=10
    )
    assert response.status_code < 300, response.text
    return agent.agent_id, cx.join_agent_session(agent.agent_id)


def test_cxone_state_write_is_repeated_after_a_503(sandbox: SandboxHandle, cx: CxoneClient) -> None:
    agent_id, session = _logged_in_agent(sandbox, cx, 1)
    calls = cx.api_calls
    sessions = "/incontactapi/services/v34.0/agent-sessions"
    sandbox.cxone_operator.set_faults(error_next=1, error_status=503, path_prefix=sessions)
    cx.set_agent_state(session, "Available")  # a 503 says CXone did not take it: repeated once
    assert cx.api_calls - calls == 2
    state = cx.agent_state(agent_id)
    assert state is not None and state.agent_state_name == "Available"


def test_cxone_state_write_dropped_after_sending_is_unknown_and_the_agent_is_read_instead(
    sandbox: SandboxHandle, cx: CxoneClient
) -> None:
    agent_id, session = _logged_in_agent(sandbox, cx, 2)
    before = cx.agent_state(agent_id)
    assert before is not None and before.agent_state_name == "Unavailable"
    calls = cx.api_calls
    sandbox.cxone_operator.set_faults(refuse_seconds=30)  # the connection is reset once the request arrived
    with pytest.raises(OutcomeUnknown):
        cx.set_agent_state(session, "Available")
    assert cx.api_calls - calls == 1  # not repeated blindly
    sandbox.cxone_operator.clear_faults()
    after = cx.agent_state(agent_id)  # what the caller does next: one cheap read
    assert after is not None and (after.agent_state_name, after.last_update_time) == (
        "Unavailable",
        before.last_update_time,
    )
    assert cx.agent_state(agent_id, updated_since=before.last_poll_time) is None  # unchanged since: 204


def test_account_mapping_lifecycle(sandbox: SandboxHandle, cx: CxoneClient) -> None:
    agent = next(a for a in cx.list_agents() if a.is_active)
    spec = AccountMappingSpec(
        name=unique("Org"),
        access_key_agent_id=agent.agent_id,
        salesforce_environment=SalesforceEnvironmentSpec(
            name="sandbox",
            instance_url=sandbox.salesforce_url,
            consumer_key="3MVG9sandboxkey",
            consumer_secret=SecretStr("consumersecret123"),
        ),
    )
    created = AccountMappingProxy(cx).create_account_mapping(spec)
    mapping = created.mapping
    assert created.access_key_secret is not None and mapping.access_key_id
    assert mapping.salesforce_environment.has_consumer_secret and mapping.is_selected
    fetched = AccountMappingProxy(cx).get_account_mapping(mapping.mapping_id)
    assert fetched is not None
    assert fetched == mapping.model_copy(update={"last_modified": fetched.last_modified})
    assert AccountMappingProxy(cx).find_account_mapping(spec.name) is not None

    # The access key the mapping created is a working credential.
    as_mapping = CxoneClient(
        CxoneSettings.from_mapping(
            {
                **sandbox.env,
                "CXONE_ACCESS_KEY_ID": mapping.access_key_id,
                "CXONE_ACCESS_KEY_SECRET": created.access_key_secret.get_secret_value(),
            }
        ),
        retry=FAST,
    )
    as_mapping.authenticate()

    keep_secret = spec.model_copy(
        update={
            "name": spec.name + "_2",
            "salesforce_environment": spec.salesforce_environment.model_copy(update={"consumer_secret": None}),
        }
    )
    updated = AccountMappingProxy(cx).update_account_mapping(mapping.mapping_id, keep_secret)
    assert updated.name == spec.name + "_2" and updated.salesforce_environment.has_consumer_secret
    other = next(a for a in cx.list_agents() if a.is_active and a.agent_id != agent.agent_id)
    with pytest.raises(InvalidRequest) as info:
        AccountMappingProxy(cx).update_account_mapping(
            mapping.mapping_id, keep_secret.model_copy(update={"access_key_agent_id": other.agent_id})
        )
    assert "accessKeyAgentId" in str(info.value)
    with pytest.raises(AlreadyExists):
        AccountMappingProxy(cx).create_account_mapping(spec.model_copy(update={"name": updated.name}))
    with pytest.raises(InvalidRequest) as missing:
        AccountMappingProxy(cx).create_account_mapping(keep_secret.model_copy(update={"name": unique("Org")}))
    assert missing.value.field == "salesforceEnvironment.consumerSecret"

    AccountMappingProxy(cx).delete_account_mapping(mapping.mapping_id)
    assert AccountMappingProxy(cx).get_account_mapping(mapping.mapping_id) is None
    AccountMappingProxy(cx).delete_account_mapping(mapping.mapping_id)


def test_presence_rule_lifecycle(cx: CxoneClient) -> None:
    code = cx.list_team_unavailable_codes(2002)[0]
    busy, online = "0N5Hs0000000777KAA", "0N5Hs0000000778KAA"

    def line(acd: str, status: str) -> StateMapping:
        return StateMapping(incontact_agent_state=acd, partner_agent_state=status)

    spec = PresenceRuleSpec(
        name=unique("Voice"),
        priority=7,
        is_active=False,
        publisher_state_map=[line("InboundContact", busy), line("Available", online)],
        subscriber_state_map=[line(str(code.outstate_name), busy), line("PreviousState", online)],
        team_ids=[2002],
    )
    rule = PresenceRuleProxy(cx).create_presence_rule(spec)
    assert rule.spec() == spec and rule.rule_id is not None
    assert PresenceRuleProxy(cx).get_presence_rule(rule.rule_id) == rule
    assert PresenceRuleProxy(cx).find_presence_rule(spec.name) == rule
    with pytest.raises(AlreadyExists):
        PresenceRuleProxy(cx).create_presence_rule(spec)

    changed = PresenceRuleProxy(cx).update_presence_rule(rule.rule_id, spec.model_copy(update={"priority": 8}))
    assert changed.priority == 8 and changed.rule_id == rule.rule_id

    bad = spec.model_copy(update={"name": unique("Bad"), "subscriber_state_map": [line("No such code", busy)]})
    with pytest.raises(InvalidRequest):
        PresenceRuleProxy(cx).create_presence_rule(bad)

    PresenceRuleProxy(cx).delete_presence_rule(rule.rule_id)
    assert PresenceRuleProxy(cx).get_presence_rule(rule.rule_id) is None
    PresenceRuleProxy(cx).delete_presence_rule(rule.rule_id)
