"""The oscillation check: publisher and subscriber maps applied alternately must settle."""

from __future__ import annotations

from presence_sync.spec.acd import PREVIOUS, AcdState, AcdTarget
from presence_sync.spec.oscillation import find_cycles, settle, start_states

AVAILABLE = AcdState("Available")
UNAVAILABLE = AcdState("Unavailable")
BREAK = AcdState("Unavailable", "Break")
LUNCH = AcdState("Unavailable", "Lunch")
ON_CALL = AcdState("InboundContact")


def test_inverse_maps_settle_from_every_state() -> None:
    publisher = {AVAILABLE: "Available_for_Chats", BREAK: "Busy"}
    subscriber: dict[str, AcdTarget] = {"Available_for_Chats": AVAILABLE, "Busy": BREAK}
    assert find_cycles(publisher, subscriber) == []
    outcome = settle(publisher, subscriber, "acd", BREAK)
    assert outcome.settled and outcome.reason == "already there"
    assert (outcome.final_acd, outcome.final_sf) == (BREAK, "Busy")


def test_crossed_maps_are_a_cycle_and_the_explanation_walks_it() -> None:
    # ACD Available -> SF A -> ACD Break -> SF Busy -> ACD Available -> SF A -> ...
    publisher = {AVAILABLE: "A", BREAK: "Busy"}
    subscriber: dict[str, AcdTarget] = {"A": BREAK, "Busy": AVAILABLE}
    cycles = find_cycles(publisher, subscriber)
    assert len(cycles) == 1  # every start runs into the same loop; it is reported once
    assert cycles[0].explain() == (
        "ACD Available → (publisher) Salesforce A → (subscriber) ACD Unavailable:Break → (publisher) "
        "Salesforce Busy → (subscriber) ACD Available → (publisher) Salesforce A → ... (repeats from Salesforce A)"
    )
    assert {str(step) for step in cycles[0].loop} == {
        "Salesforce A",
        "ACD Unavailable:Break",
        "Salesforce Busy",
        "ACD Available",
    }


def test_a_two_state_flip_flop_is_a_cycle() -> None:
    publisher = {AVAILABLE: "Busy"}
    subscriber: dict[str, AcdTarget] = {"Busy": BREAK}
    publisher[BREAK] = "Available_for_Chats"
    subscriber["Available_for_Chats"] = AVAILABLE
    outcome = settle(publisher, subscriber, "salesforce", "Busy")
    assert not outcome.settled and outcome.reason == "cycle"
    assert len(outcome.loop) == 4


def test_previous_as_a_target_settles() -> None:
    publisher = {AVAILABLE: "A", BREAK: "Busy"}
    subscriber: dict[str, AcdTarget] = {"A": BREAK, "Busy": PREVIOUS}
    assert find_cycles(publisher, subscriber) == []
    outcome = settle(publisher, subscriber, "acd", AVAILABLE)
    assert outcome.reason == "previous"
    assert [str(step) for step in outcome.trail] == [
        "ACD Available",
        "Salesforce A",
        "ACD Unavailable:Break",
        "Salesforce Busy",
    ]


def test_a_state_without_a_mapping_settles() -> None:
    publisher = {AVAILABLE: "A"}
    subscriber: dict[str, AcdTarget] = {"A": BREAK}
    outcome = settle(publisher, subscriber, "acd", AVAILABLE)
    assert outcome.settled and outcome.reason == "no mapping"
    assert (outcome.final_acd, outcome.final_sf) == (BREAK, "A")


def test_one_way_rules_always_settle() -> None:
    assert find_cycles({AVAILABLE: "A", BREAK: "Busy"}, {}) == []
    assert find_cycles({}, {"A": AVAILABLE, "Busy": BREAK}) == []


def test_plain_unavailable_source_catches_other_codes_in_the_analysis() -> None:
    # The subscriber sets Lunch; the publisher has no Lunch entry, so plain Unavailable applies -> cycle.
    publisher = {AVAILABLE: "A", UNAVAILABLE: "Away"}
    subscriber: dict[str, AcdTarget] = {"A": LUNCH, "Away": AVAILABLE}
    cycles = find_cycles(publisher, subscriber)
    assert len(cycles) == 1
    assert "ACD Unavailable:Lunch → (publisher) Salesforce Away" in cycles[0].explain()


def test_plain_unavailable_target_does_not_clobber_a_reason_code() -> None:
    publisher = {BREAK: "Busy"}
    subscriber: dict[str, AcdTarget] = {"Busy": UNAVAILABLE}
    outcome = settle(publisher, subscriber, "acd", BREAK)
    assert outcome.reason == "already there" and outcome.final_acd == BREAK


def test_many_to_one_maps_settle_but_override_the_change() -> None:
    # Lunch -> Busy -> Break: no cycle, but an agent who chose Lunch ends on Break if echoes aren't suppressed.
    publisher = {BREAK: "Busy", LUNCH: "Busy"}
    subscriber: dict[str, AcdTarget] = {"Busy": BREAK}
    assert find_cycles(publisher, subscriber) == []
    outcome = settle(publisher, subscriber, "acd", LUNCH)
    assert outcome.settled and outcome.final_acd == BREAK
    assert outcome.overrides_change
    assert not settle(publisher, subscriber, "acd", BREAK).overrides_change


def test_platform_states_can_be_publisher_sources() -> None:
    publisher = {ON_CALL: "Busy", AVAILABLE: "A"}
    subscriber: dict[str, AcdTarget] = {"A": AVAILABLE, "Busy": PREVIOUS}
    assert find_cycles(publisher, subscriber) == []


def test_every_mentioned_state_is_a_start_on_its_side() -> None:
    publisher = {AVAILABLE: "A", BREAK: PREVIOUS}
    subscriber: dict[str, AcdTarget] = {"Busy": LUNCH, "A": PREVIOUS}
    assert start_states(publisher, subscriber) == [
        ("acd", AVAILABLE),
        ("acd", BREAK),
        ("acd", LUNCH),
        ("salesforce", "A"),
        ("salesforce", "Busy"),
    ]
