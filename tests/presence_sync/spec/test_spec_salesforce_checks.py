"""Salesforce section: statuses, developer names, grants and the OAuth app."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Validate


def _status(data: dict[str, Any], index: int) -> dict[str, Any]:
    status: dict[str, Any] = data["salesforce"]["statuses"][index]
    return status


def _app(data: dict[str, Any]) -> dict[str, Any]:
    app: dict[str, Any] = data["salesforce"]["oauthApp"]
    return app


def test_busy_status_with_channels_is_rejected_with_its_path(spec_data: dict[str, Any], problem_at: Any) -> None:
    _status(spec_data, 1)["channels"] = ["sfdc_phone"]
    problem = problem_at(spec_data, "salesforce.statuses[1].channels[0]")
    assert problem.message.startswith("a busy status has no channels")
    assert problem.hint == "remove the channels, or make it kind: online"


def test_online_status_without_channels_is_rejected(spec_data: dict[str, Any], problem_at: Any) -> None:
    _status(spec_data, 0)["channels"] = []
    problem = problem_at(spec_data, "salesforce.statuses[0].channels")
    assert problem.message == "an online status needs at least one service channel"


def test_invalid_developer_name_lists_every_broken_rule_and_a_fix(spec_data: dict[str, Any], problem_at: Any) -> None:
    _status(spec_data, 0)["developerName"] = "Available for__Chats_"
    problem = problem_at(spec_data, "salesforce.statuses[0].developerName")
    assert problem.message == (
        "developer name 'Available for__Chats_' may contain only letters, digits and underscores, not ' '; "
        "must not contain two consecutive underscores; must not end with an underscore"
    )
    assert problem.hint == "e.g. 'Available_for_Chats'"


def test_developer_name_over_80_characters_is_rejected(spec_data: dict[str, Any], problem_at: Any) -> None:
    _status(spec_data, 0)["developerName"] = "A" * 81
    assert problem_at(spec_data, "salesforce.statuses[0].developerName").message.endswith(
        "is 81 characters long; the limit is 80"
    )


def test_label_over_the_limit_is_rejected(spec_data: dict[str, Any], problem_at: Any) -> None:
    _status(spec_data, 1)["label"] = "B" * 81
    problem = problem_at(spec_data, "salesforce.statuses[1].label")
    assert problem.message == "label is 81 characters long; the limit is 80"


def test_label_without_letters_needs_an_explicit_developer_name(spec_data: dict[str, Any], problem_at: Any) -> None:
    _status(spec_data, 1)["label"] = "???"
    problem = problem_at(spec_data, "salesforce.statuses[1].label")
    assert "no developer name can be derived from label '???'" in problem.message
    assert problem.hint == "set developerName explicitly"


def test_duplicate_developer_names_are_found_even_when_derived(spec_data: dict[str, Any], problem_at: Any) -> None:
    spec_data["salesforce"]["statuses"].append({"label": "busy", "kind": "busy"})
    problem = problem_at(spec_data, "salesforce.statuses[2].label")
    assert problem.message == (
        "duplicate developer name 'busy' (derived from label 'busy'): salesforce.statuses[1] has it too"
    )


def test_previous_is_reserved_and_cannot_name_a_status(spec_data: dict[str, Any], problem_at: Any) -> None:
    spec_data["salesforce"]["statuses"].append({"label": "Previous", "kind": "busy"})
    assert "reserved" in problem_at(spec_data, "salesforce.statuses[2].label").message


def test_invalid_and_repeated_channels_are_reported(spec_data: dict[str, Any], validate: Validate) -> None:
    _status(spec_data, 0)["channels"] = ["sfdc_livemessage", "live message", "sfdc_livemessage", "acme__Chat"]
    problems = {p.path: p.message for p in validate(spec_data)}
    assert problems == {
        "salesforce.statuses[0].channels[1]": "channel 'live message' may contain only letters, digits and "
        "underscores, not ' '",
        "salesforce.statuses[0].channels[2]": "channel 'sfdc_livemessage' is listed twice (also channels[0])",
    }


def test_grant_of_an_unknown_status_suggests_the_close_one(spec_data: dict[str, Any], problem_at: Any) -> None:
    spec_data["salesforce"]["profileAccess"][0]["statuses"] = ["Available_for_Chats", "Bussy"]
    problem = problem_at(spec_data, "salesforce.profileAccess[0].statuses[1]")
    assert problem.message == "status 'Bussy' is not a status this spec defines or lists as existing"
    assert problem.hint is not None and problem.hint.startswith("did you mean 'Busy'?")
    assert "salesforce.existingStatuses" in problem.hint


def test_grant_by_label_is_told_to_use_the_developer_name(spec_data: dict[str, Any], problem_at: Any) -> None:
    spec_data["salesforce"]["profileAccess"][0]["statuses"] = ["Available for Chats"]
    problem = problem_at(spec_data, "salesforce.profileAccess[0].statuses[0]")
    assert problem.hint == "write 'Available_for_Chats'"


def test_existing_statuses_can_be_granted_and_mapped(spec_data: dict[str, Any], validate: Validate) -> None:
    spec_data["salesforce"]["existingStatuses"] = ["Online_Legacy", "acme__Away"]
    spec_data["salesforce"]["profileAccess"][0]["statuses"].extend(["Online_Legacy", "acme__Away"])
    assert validate(spec_data) == []


def test_existing_status_that_the_spec_also_manages_is_rejected(spec_data: dict[str, Any], problem_at: Any) -> None:
    spec_data["salesforce"]["existingStatuses"] = ["busy"]
    problem = problem_at(spec_data, "salesforce.existingStatuses[0]")
    assert "managed by this spec (salesforce.statuses[1])" in problem.message
    assert problem.hint is not None and "adopt: true" in problem.hint


def test_two_entries_for_one_profile_are_rejected(spec_data: dict[str, Any], problem_at: Any) -> None:
    spec_data["salesforce"]["profileAccess"].append({"profile": "custom support profile", "statuses": ["Busy"]})
    problem = problem_at(spec_data, "salesforce.profileAccess[1].profile")
    assert problem.message == "profile 'custom support profile' has a second entry (also profileAccess[0])"


def test_a_grant_of_nothing_is_rejected(spec_data: dict[str, Any], problem_at: Any) -> None:
    spec_data["salesforce"]["profileAccess"][0]["statuses"] = []
    assert problem_at(spec_data, "salesforce.profileAccess[0].statuses").message == "grants no status"


def test_unknown_oauth_scope_lists_the_valid_ones(spec_data: dict[str, Any], problem_at: Any) -> None:
    _app(spec_data)["scopes"] = ["api", "bulk"]
    problem = problem_at(spec_data, "salesforce.oauthApp.scopes[1]")
    assert problem.message == "unknown OAuth scope 'bulk'"
    assert problem.hint is not None and problem.hint.startswith(
        "Valid scopes: full, api, web, visualforce, refresh_token"
    )
    _app(spec_data)["scopes"] = ["chatter"]
    hint = problem_at(spec_data, "salesforce.oauthApp.scopes[0]").hint
    assert hint is not None and hint.startswith("did you mean 'chatter_api'? Otherwise valid scopes: full, api")


def test_metadata_enum_name_as_scope_suggests_the_oauth_name(spec_data: dict[str, Any], problem_at: Any) -> None:
    _app(spec_data)["scopes"] = ["RefreshToken"]
    hint = problem_at(spec_data, "salesforce.oauthApp.scopes[0]").hint
    assert hint is not None and hint.startswith("did you mean 'refresh_token'?")


def test_no_scopes_and_repeated_scopes_are_rejected(spec_data: dict[str, Any], problem_at: Any) -> None:
    _app(spec_data)["scopes"] = []
    assert problem_at(spec_data, "salesforce.oauthApp.scopes").message == "lists no OAuth scope"
    _app(spec_data)["scopes"] = ["api", "api"]
    assert (
        problem_at(spec_data, "salesforce.oauthApp.scopes[1]").message == "scope 'api' is listed twice (also scopes[0])"
    )


def test_external_client_app_name_is_limited_to_40_characters(
    spec_data: dict[str, Any], problem_at: Any, validate: Validate
) -> None:
    _app(spec_data)["name"] = "A" * 41
    message = problem_at(spec_data, "salesforce.oauthApp.name").message
    assert message.startswith("External Client App name") and message.endswith("the limit is 40")
    _app(spec_data)["type"] = "connected_app"  # the legacy type keeps the usual 80
    _app(spec_data)["name"] = "A" * 80
    assert validate(spec_data) == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://cxone.example.com/cb", "must use https (plain http is allowed only for localhost/127.0.0.1"),
        ("http://localhost:8700/cb", "uses plain http; that is allowed only for localhost in a sandbox spec"),
        ("https://cxone.example.com/cb#frag", "must not contain a fragment"),
        ("cxone.example.com/cb", "is not an absolute http(s) URL"),
    ],
)
def test_callback_url_must_be_https(spec_data: dict[str, Any], problem_at: Any, url: str, message: str) -> None:
    _app(spec_data)["callbackUrl"] = url
    assert message in problem_at(spec_data, "salesforce.oauthApp.callbackUrl").message


@pytest.mark.parametrize("url", ["http://localhost:8700/cb", "http://127.0.0.1/cb", "http://[::1]:9/cb"])
def test_sandbox_spec_may_use_a_local_http_callback(spec_data: dict[str, Any], validate: Validate, url: str) -> None:
    spec_data["sandbox"] = True
    _app(spec_data)["callbackUrl"] = url
    assert validate(spec_data) == []


def test_sandbox_spec_still_refuses_http_to_other_hosts(spec_data: dict[str, Any], problem_at: Any) -> None:
    spec_data["sandbox"] = True
    _app(spec_data)["callbackUrl"] = "http://cxone.example.com/cb"
    assert "must use https" in problem_at(spec_data, "salesforce.oauthApp.callbackUrl").message


def test_contact_email_must_be_an_address(spec_data: dict[str, Any], problem_at: Any) -> None:
    _app(spec_data)["contactEmail"] = "admin"
    assert problem_at(spec_data, "salesforce.oauthApp.contactEmail").message == (
        "contactEmail is not an e-mail address (it has no '@')"
    )
