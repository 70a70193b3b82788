"""CXone section: account mapping, unavailable codes, presence rules and their precedence."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from .conftest import Validate


def _rule(data: dict[str, Any], index: int = 0) -> dict[str, Any]:
    rule: dict[str, Any] = data["cxone"]["presenceRules"][index]
    return rule


def _second_rule(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    rule = copy.deepcopy(_rule(data))
    rule.update({"name": "Second", **changes})
    data["cxone"]["presenceRules"].append(rule)
    return rule


def test_unknown_acd_system_state_lists_the_valid_ones(spec_data: dict[str, Any], problem_at: Any) -> None:
    _rule(spec_data)["publisher"][0]["acd"] = "Avail"
    problem = problem_at(spec_data, "cxone.presenceRules[0].publisher[0].acd")
    assert problem.message == "unknown ACD state 'Avail'"
    assert problem.hint is not None and "did you mean 'Available'?" in problem.hint
    assert "system states are Available, Unavailable, LoggedOut, LoggedIn, InboundContact" in problem.hint


def test_previous_as_a_publisher_source_is_rejected(spec_data: dict[str, Any], problem_at: Any) -> None:
    _rule(spec_data)["publisher"][0]["acd"] = "previous"
    problem = problem_at(spec_data, "cxone.presenceRules[0].publisher[0].acd")
    assert problem.message == "'previous' is a target only; it can't be a publisher source"


def test_previous_as_a_subscriber_source_is_rejected(spec_data: dict[str, Any], problem_at: Any) -> None:
    _rule(spec_data)["subscriber"][0]["salesforce"] = "previous"
    problem = problem_at(spec_data, "cxone.presenceRules[0].subscriber[0].salesforce")
    assert problem.message == "'previous' is a target only; it can't be a subscriber source"


def test_previous_is_a_valid_target_on_both_sides(spec_data: dict[str, Any], validate: Validate) -> None:
    _rule(spec_data)["publisher"].append({"acd": "LoggedOut", "salesforce": "previous"})
    _rule(spec_data)["subscriber"][1]["acd"] = "previous"
    assert validate(spec_data) == []


def test_duplicate_source_in_one_map_is_rejected(spec_data: dict[str, Any], validate: Validate) -> None:
    _rule(spec_data)["publisher"].append({"acd": "Available", "salesforce": "Busy"})
    _rule(spec_data)["subscriber"].append({"salesforce": "Busy", "acd": "Available"})
    problems = {p.path: p.message for p in validate(spec_data)}
    assert problems == {
        "cxone.presenceRules[0].publisher[2].acd": "ACD state 'Available' is mapped twice in publisher "
        "(also publisher[0])",
        "cxone.presenceRules[0].subscriber[2].salesforce": "Salesforce status 'Busy' is mapped twice in "
        "subscriber (also subscriber[1])",
    }


def test_the_same_source_in_the_other_map_is_fine(spec_data: dict[str, Any], validate: Validate) -> None:
    # Bi-directional means each map has its own sources; Available appears once per map.
    assert validate(spec_data) == []


def test_subscriber_cannot_target_a_platform_state(spec_data: dict[str, Any], problem_at: Any) -> None:
    _rule(spec_data)["subscriber"][0]["acd"] = "InboundContact"
    problem = problem_at(spec_data, "cxone.presenceRules[0].subscriber[0].acd")
    assert problem.message.startswith("CXone can't put an agent into 'InboundContact'")


def test_unlisted_unavailable_code_is_rejected_with_a_suggestion(spec_data: dict[str, Any], problem_at: Any) -> None:
    _rule(spec_data)["subscriber"][1]["acd"] = "Unavailable:Brake"
    problem = problem_at(spec_data, "cxone.presenceRules[0].subscriber[1].acd")
    assert problem.message == "unavailable code 'Brake' is not listed in cxone.existingUnavailableCodes"
    assert problem.hint is not None and problem.hint.startswith("did you mean 'Break'?")


def test_rule_mapping_an_unknown_salesforce_status_is_rejected(spec_data: dict[str, Any], problem_at: Any) -> None:
    _rule(spec_data)["publisher"][1]["salesforce"] = "Away"
    problem = problem_at(spec_data, "cxone.presenceRules[0].publisher[1].salesforce")
    assert problem.message == "Salesforce status 'Away' is not a status this spec defines or lists as existing"


def test_rule_with_no_teams_and_no_users_is_rejected(spec_data: dict[str, Any], problem_at: Any) -> None:
    _rule(spec_data)["teams"] = []
    problem = problem_at(spec_data, "cxone.presenceRules[0]")
    assert problem.message == "rule 'Chat agents' applies to no team and no user"


def test_rule_with_no_map_is_rejected(spec_data: dict[str, Any], problem_at: Any) -> None:
    _rule(spec_data)["publisher"] = []
    _rule(spec_data)["subscriber"] = []
    assert "neither a publisher nor a subscriber map" in problem_at(spec_data, "cxone.presenceRules[0]").message


def test_duplicate_rule_names_are_rejected(spec_data: dict[str, Any], problem_at: Any) -> None:
    _second_rule(spec_data, name="chat agents", teams=["Other"])
    problem = problem_at(spec_data, "cxone.presenceRules[1].name")
    assert problem.message == "rule name 'chat agents' is used twice (also presenceRules[0])"


def test_two_team_rules_on_one_team_with_equal_priority_are_rejected(
    spec_data: dict[str, Any], problem_at: Any
) -> None:
    _second_rule(spec_data)
    problem = problem_at(spec_data, "cxone.presenceRules[1].teams[0]")
    assert problem.message == (
        "team 'Support Tier 1' is covered by rules 'Chat agents' and 'Second' with the same priority 0"
    )
    assert problem.hint is not None and "lower number wins" in problem.hint


def test_distinct_priorities_order_team_rules(spec_data: dict[str, Any], validate: Validate) -> None:
    _second_rule(spec_data, priority=1)
    assert validate(spec_data) == []


def test_one_user_in_two_rules_with_equal_priority_is_rejected(spec_data: dict[str, Any], problem_at: Any) -> None:
    _rule(spec_data)["users"] = ["ada@example.com"]
    _second_rule(spec_data, teams=[], users=["Ada@example.com"])
    assert (
        "user 'Ada@example.com' is covered by rules" in problem_at(spec_data, "cxone.presenceRules[1].users[0]").message
    )


def test_a_user_rule_and_a_team_rule_do_not_conflict(spec_data: dict[str, Any], validate: Validate) -> None:
    _second_rule(spec_data, teams=[], users=["ada@example.com"])  # user level beats team level: no tie
    assert validate(spec_data) == []


def test_repeated_team_and_bad_user_email_are_reported(spec_data: dict[str, Any], validate: Validate) -> None:
    _rule(spec_data)["teams"] = ["Support Tier 1", "support tier 1"]
    _rule(spec_data)["users"] = ["grace"]
    problems = {p.path: p.message for p in validate(spec_data)}
    assert problems == {
        "cxone.presenceRules[0].teams[1]": "'support tier 1' is listed twice (also teams[0])",
        "cxone.presenceRules[0].users[0]": "user is not an e-mail address (it has no '@')",
    }


def test_oscillating_rule_is_rejected_with_the_cycle_explained(spec_data: dict[str, Any], problem_at: Any) -> None:
    _rule(spec_data)["subscriber"] = [
        {"salesforce": "Available_for_Chats", "acd": "Unavailable:Break"},
        {"salesforce": "Busy", "acd": "Available"},
    ]
    problem = problem_at(spec_data, "cxone.presenceRules[0]")
    assert problem.message == (
        "rule 'Chat agents': publisher and subscriber maps never settle: ACD Available → (publisher) Salesforce "
        "Available_for_Chats → (subscriber) ACD Unavailable:Break → (publisher) Salesforce Busy → (subscriber) "
        "ACD Available → (publisher) Salesforce Available_for_Chats → ... (repeats from Salesforce "
        "Available_for_Chats)"
    )
    assert problem.hint is not None and "docs/presence-rules.md" in problem.hint


def test_oscillation_broken_by_previous_is_accepted(spec_data: dict[str, Any], validate: Validate) -> None:
    _rule(spec_data)["subscriber"] = [
        {"salesforce": "Available_for_Chats", "acd": "Unavailable:Break"},
        {"salesforce": "Busy", "acd": "previous"},
    ]
    assert validate(spec_data) == []


def test_account_mapping_needs_an_email_user_and_an_https_instance(
    spec_data: dict[str, Any], validate: Validate
) -> None:
    mapping = spec_data["cxone"]["accountMapping"]
    mapping["accessKeyUser"] = "cxone admin"
    mapping["salesforceEnvironment"]["instanceUrl"] = "http://example.my.salesforce.com"
    problems = {p.path: (p.message, p.hint) for p in validate(spec_data)}
    assert problems == {
        "cxone.accountMapping.accessKeyUser": (
            "accessKeyUser is not an e-mail address (it has no '@')",
            "e.g. ada.lovelace@example.com",
        ),
        "cxone.accountMapping.salesforceEnvironment.instanceUrl": (
            "instanceUrl 'http://example.my.salesforce.com' must use https",
            "write 'https://example.my.salesforce.com'",
        ),
    }


def test_instance_url_is_https_even_in_a_sandbox_spec(spec_data: dict[str, Any], problem_at: Any) -> None:
    spec_data["sandbox"] = True
    spec_data["cxone"]["accountMapping"]["salesforceEnvironment"]["instanceUrl"] = "http://localhost:8443"
    assert "must use https" in problem_at(spec_data, "cxone.accountMapping.salesforceEnvironment.instanceUrl").message


@pytest.mark.parametrize(
    ("codes", "path", "message"),
    [
        (["Break", "break"], "cxone.existingUnavailableCodes[1]", "unavailable code 'break' is listed twice"),
        ([" Break"], "cxone.existingUnavailableCodes[0]", "unavailable code ' Break' has spaces around it"),
    ],
)
def test_existing_unavailable_codes_are_checked(
    spec_data: dict[str, Any], validate: Validate, codes: list[str], path: str, message: str
) -> None:
    spec_data["cxone"]["existingUnavailableCodes"] = codes
    assert any(p.path == path and p.message.startswith(message) for p in validate(spec_data))


def test_status_references_are_skipped_when_the_salesforce_section_is_broken(
    spec_data: dict[str, Any], validate: Validate
) -> None:
    spec_data["salesforce"]["oauthApp"]["scopes"] = "api"  # shape error: salesforce can't be read
    _rule(spec_data)["teams"] = []  # still found: cxone is checked on its own
    paths = [p.path for p in validate(spec_data)]
    assert paths == ["salesforce.oauthApp.scopes", "cxone.presenceRules[0]"]
