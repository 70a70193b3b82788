"""The program's checks of the spec against the org and tenant (resources/preflight.py), on fake clients: what
each check reads, its one-line problems located in the spec file, and what happens when a vendor can't be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from presence_sync.clients.cxone import Agent
from presence_sync.clients.errors import ServiceUnavailable
from presence_sync.clients.salesforce_models import PresenceStatusRecord, Profile, ServiceChannelRecord
from presence_sync.spec import load_spec
from presence_sync.spec.models import PresenceSpec
from resources.preflight import PreflightError, check_against_vendors, spec_locator, vendor_settings
from tests.support.specs import SEED_SPEC


class FakeSalesforce:
    def __init__(self, *, statuses: tuple[str, ...] = ()) -> None:
        self.profiles = ["System Administrator", "Custom: Support Agent", "Standard User"]
        self.channels = ["Case", "sfdc_livemessage", "sfdc_phone"]
        self.statuses = list(statuses)
        self.reads: list[str] = []

    def list_profiles(self) -> list[Profile]:
        self.reads.append("profiles")
        return [Profile(id=f"00e{i}", name=name, permission_set_id=f"0PS{i}") for i, name in enumerate(self.profiles)]

    def list_service_channels(self) -> list[ServiceChannelRecord]:
        self.reads.append("channels")
        return [ServiceChannelRecord(id=f"0N1{i}", developer_name=n, label=n) for i, n in enumerate(self.channels)]

    def list_presence_statuses(self) -> list[PresenceStatusRecord]:
        self.reads.append("statuses")
        return [PresenceStatusRecord(id=f"0N5{i}", developer_name=n, label=n) for i, n in enumerate(self.statuses)]


class FakeCxone:
    def __init__(self, *agents: tuple[str, bool]) -> None:
        self.agents = [
            Agent.model_validate({"agentId": 100 + i, "emailAddress": email, "isActive": active})
            for i, (email, active) in enumerate(agents or (("cxone.admin@example.com", True),))
        ]

    def list_agents(self, *, active_only: bool = False) -> list[Agent]:
        return [agent for agent in self.agents if agent.is_active or not active_only]


def spec_file(tmp_path: Path, *edits: tuple[str, str]) -> tuple[PresenceSpec, str]:
    text = SEED_SPEC
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / "dev.yaml"
    path.write_text(text)
    return load_spec(path), text


def problems(spec: PresenceSpec, salesforce: FakeSalesforce, cxone: FakeCxone) -> list[str]:
    with pytest.raises(PreflightError) as failure:
        check_against_vendors(spec, lambda: salesforce, lambda: cxone)
    lines = str(failure.value).splitlines()
    assert lines[0].endswith("in the spec, checked against the org and tenant (nothing was written):")
    return lines[1:]


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_a_spec_whose_names_all_exist_passes_and_reads_only_what_it_names(tmp_path: Path) -> None:
    spec, _ = spec_file(tmp_path)
    salesforce = FakeSalesforce()
    check_against_vendors(spec, lambda: salesforce, lambda: FakeCxone())
    assert salesforce.reads == ["profiles", "channels"]  # no existingStatuses: the statuses are not listed


def test_every_unknown_name_is_one_line_with_file_line_column_path_and_a_hint(tmp_path: Path) -> None:
    spec, text = spec_file(
        tmp_path,
        ('- profile: "Custom: Support Agent"', '- profile: "custom: support agent"'),
        ("channels: [sfdc_livemessage]", "channels: [sfdc_livemessage, sfdc_phonee]"),
        ("  profileAccess:\n", "  existingStatuses: [Lunch_Break]\n\n  profileAccess:\n"),
        ("accessKeyUser: cxone.admin@example.com", "accessKeyUser: nobody@example.com"),
    )
    file = str(tmp_path / "dev.yaml")
    found = problems(spec, FakeSalesforce(statuses=("On_Leave",)), FakeCxone())
    assert found == [
        f"{file}:{line_of(text, 'channels: [')}:36: salesforce.statuses[0].channels[1]: service channel 'sfdc_phonee' "
        "does not exist in the org; hint: did you mean 'sfdc_phone'? channels (developer names) in the org: 'Case', "
        "'sfdc_livemessage', 'sfdc_phone'",
        f"{file}:{line_of(text, 'existingStatuses')}:22: salesforce.existingStatuses[0]: presence status "
        "'Lunch_Break' does not exist in the org (existingStatuses only refer to statuses the org already has); "
        "hint: statuses in the org: 'On_Leave'; to have the stack create it, list it under salesforce.statuses instead",
        f"{file}:{line_of(text, 'profile: ')}:7: salesforce.profileAccess[0].profile: Salesforce profile "
        "'custom: support agent' does not exist in the org; hint: did you mean 'Custom: Support Agent'? profiles in "
        "the org: 'Custom: Support Agent', 'Standard User', 'System Administrator'",
        f"{file}:{line_of(text, 'accessKeyUser')}:5: cxone.accountMapping.accessKeyUser: CXone user "
        "'nobody@example.com' does not exist in the tenant; hint: did you mean 'cxone.admin@example.com'? active "
        "users: 'cxone.admin@example.com'",
    ]


def test_the_access_key_user_must_be_active_and_matches_ignoring_case(tmp_path: Path) -> None:
    spec, _ = spec_file(tmp_path, ("accessKeyUser: cxone.admin@example.com", "accessKeyUser: CXone.Admin@example.com"))
    check_against_vendors(spec, lambda: FakeSalesforce(), lambda: FakeCxone(("cxone.admin@example.com", True)))
    [found] = problems(spec, FakeSalesforce(), FakeCxone(("cxone.admin@example.com", False)))
    assert ": cxone.accountMapping.accessKeyUser: CXone user 'CXone.Admin@example.com' is deactivated" in found
    assert "hint: reactivate the user in CXone, or name an active user" in found


def test_a_long_list_of_names_is_cut_in_the_hint(tmp_path: Path) -> None:
    spec, _ = spec_file(tmp_path, ("accessKeyUser: cxone.admin@example.com", "accessKeyUser: zz@example.com"))
    many = FakeCxone(*((f"agent{i:03d}@example.com", True) for i in range(500)))
    [found] = problems(spec, FakeSalesforce(), many)
    assert found.endswith(", ... (500 in all)") and len(found) < 800


def test_a_vendor_that_cannot_be_read_is_a_problem_not_a_pass(tmp_path: Path) -> None:
    spec, _ = spec_file(tmp_path)

    class Down(FakeSalesforce):
        def list_profiles(self) -> list[Profile]:
            raise ServiceUnavailable("503 after 5 attempts", vendor="salesforce", operation="query")

    [found] = problems(spec, Down(), FakeCxone())
    assert found.startswith(f"{tmp_path / 'dev.yaml'}: could not check the spec against Salesforce: ")
    assert "hint: check the SF_*/CXONE_* settings" in found


def test_the_spec_locator_names_file_line_column_and_path(tmp_path: Path) -> None:
    spec, text = spec_file(tmp_path)
    where = spec_locator(spec.source)
    assert where(("cxone", "presenceRules", 0)) == (
        f"{tmp_path / 'dev.yaml'}:{line_of(text, '- name: Chat agents')}:7: cxone.presenceRules[0]"
    )
    assert spec_locator(None)(("cxone",)) is None


def test_vendor_settings_are_the_providers_the_environment_winning(tmp_path: Path) -> None:
    connection = tmp_path / "connection.json"
    connection.write_text('{"SF_USERNAME": "file", "CXONE_AUTH_URL": "https://file", "REQUESTS_CA_BUNDLE": "/f.pem"}')
    environ = {"SF_USERNAME": "env", "HOME": "/root", "PULUMI_CONFIG_PASSPHRASE": "never"}
    settings = vendor_settings(str(connection), environ)
    assert settings == {"SF_USERNAME": "env", "CXONE_AUTH_URL": "https://file", "REQUESTS_CA_BUNDLE": "/f.pem"}
