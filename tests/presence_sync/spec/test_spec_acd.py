from __future__ import annotations

import pytest

from presence_sync.spec.acd import PREVIOUS, AcdNotationError, AcdState, lookup_source, parse_acd, satisfies


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("Available", AcdState("Available")),
        ("Unavailable", AcdState("Unavailable")),
        ("InboundContact", AcdState("InboundContact")),
        ("Unavailable:Break", AcdState("Unavailable", "Break")),
        ("Unavailable:Lunch Break", AcdState("Unavailable", "Lunch Break")),
        ("Unavailable:A:B", AcdState("Unavailable", "A:B")),  # the code is everything after the first colon
        ("previous", PREVIOUS),
    ],
)
def test_acd_notation_parses(text: str, parsed: object) -> None:
    assert parse_acd(text) == parsed


def test_acd_state_prints_back_in_the_notation() -> None:
    assert str(AcdState("Unavailable", "Break")) == "Unavailable:Break"
    assert str(AcdState("Available")) == "Available"


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("available", "unknown ACD state 'available'", "did you mean 'Available'?"),
        ("Avialable", "unknown ACD state", "did you mean 'Available'?"),
        ("Break", "unknown ACD state 'Break'", "'Unavailable:<code name>'"),
        ("Available:Break", "only Unavailable takes a reason code", "'Unavailable:Break'"),
        ("Unavailable:", "needs an unavailable code name", None),
        ("Unavailable: Break", "has spaces around it", "'Unavailable:Break'"),
    ],
)
def test_bad_acd_notation_is_explained(text: str, message: str, hint: str | None) -> None:
    with pytest.raises(AcdNotationError) as caught:
        parse_acd(text)
    assert message in caught.value.message
    if hint is not None:
        assert caught.value.hint is not None and hint in caught.value.hint


def test_only_available_and_unavailable_are_settable() -> None:
    assert AcdState("Available").settable
    assert AcdState("Unavailable", "Break").settable
    assert not AcdState("InboundContact").settable


def test_the_most_specific_publisher_source_wins() -> None:
    sources = [AcdState("Unavailable"), AcdState("Unavailable", "Break")]
    assert lookup_source(sources, AcdState("Unavailable", "Break")) == AcdState("Unavailable", "Break")
    assert lookup_source(sources, AcdState("Unavailable", "Lunch")) == AcdState("Unavailable")
    assert lookup_source(sources, AcdState("Available")) is None


def test_plain_unavailable_target_is_met_by_any_reason_code() -> None:
    assert satisfies(AcdState("Unavailable", "Lunch"), AcdState("Unavailable"))
    assert not satisfies(AcdState("Unavailable"), AcdState("Unavailable", "Lunch"))
    assert not satisfies(AcdState("Available"), AcdState("Unavailable"))
