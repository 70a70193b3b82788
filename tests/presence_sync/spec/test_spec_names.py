from __future__ import annotations

import pytest

from presence_sync.spec.names import derive_developer_name, developer_name_problems, is_developer_name


@pytest.mark.parametrize(
    ("label", "developer_name"),
    [
        ("Available for Chats", "Available_for_Chats"),  # NICE's own example
        ("Busy", "Busy"),
        ("On Break - Lunch", "On_Break_Lunch"),  # a run of non-alphanumerics is one underscore
        ("  Away  ", "Away"),  # leading underscore dropped, trailing one too
        ("Back-office (phone)", "Back_office_phone"),
        ("1st Line", "X1st_Line"),  # a leading digit gets an X
        ("#1 Team", "X1_Team"),
        ("Café Break", "Caf_Break"),  # only ASCII letters count, as in Salesforce's generateApiName
        ("snake_case__label", "snake_case_label"),
        ("!!!", ""),  # nothing left: the spec must give developerName
    ],
)
def test_developer_name_is_derived_from_the_label_as_setup_does(label: str, developer_name: str) -> None:
    assert derive_developer_name(label) == developer_name


def test_derived_developer_name_is_cut_to_the_limit_without_a_trailing_underscore() -> None:
    label = "a" * 79 + " b"
    assert derive_developer_name(label, 80) == "a" * 79


@pytest.mark.parametrize("name", ["Busy", "Available_for_Chats", "X1", "a1_b2_c3"])
def test_valid_developer_names_have_no_problems(name: str) -> None:
    assert is_developer_name(name)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "is empty"),
        ("1Busy", "must begin with a letter"),
        ("_Busy", "must begin with a letter"),
        ("Available for Chats", "not ' '"),
        ("On-Break", "not '-'"),
        ("On__Break", "two consecutive underscores"),
        ("Busy_", "must not end with an underscore"),
        ("Ä", "must begin with a letter"),
    ],
)
def test_each_developer_name_rule_is_reported(name: str, problem: str) -> None:
    assert any(problem in text for text in developer_name_problems(name, 80))


def test_developer_name_over_the_limit_says_how_long_it_is() -> None:
    assert developer_name_problems("a" * 81, 80) == ["is 81 characters long; the limit is 80"]


def test_namespace_prefix_is_allowed_only_where_asked_for() -> None:
    assert developer_name_problems("acme__Chat", 80, allow_namespace=True) == []
    assert developer_name_problems("acme__Chat", 80) == ["must not contain two consecutive underscores"]
