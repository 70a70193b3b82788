"""What a spec value may contain, how a value is quoted in a problem, and which keys look like credentials."""

from __future__ import annotations

import pytest

from presence_sync.spec import format_path
from presence_sync.spec.loader import looks_like_secret
from presence_sync.spec.text import bad_character, describe_character, shown


@pytest.mark.parametrize("value", ["Available for Chats", "Café Break", "休憩中", "On Break 🍕", "a'b\"c", ""])
def test_printable_text_of_any_script_is_fine(value: str) -> None:
    assert bad_character(value) is None


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("Busy\n", (4, "\n")),
        ("\x00", (0, "\x00")),
        ("a\x9bb", (1, "\x9b")),  # C1 control
        ("ab\u2029", (2, "\u2029")),
        ("\u2066x", (0, "\u2066")),
        ("x\ufdd0", (1, "\ufdd0")),
        ("x\U0001ffff", (1, "\U0001ffff")),
    ],
)
def test_the_first_bad_character_and_its_index(value: str, found: tuple[int, str]) -> None:
    assert bad_character(value) == found


def test_characters_are_described_by_kind_and_code_point() -> None:
    assert describe_character("\x07") == "a control character (U+0007)"
    assert describe_character("\u2028") == "a line break (U+2028)"
    assert describe_character("\u202e") == "a bidirectional text control (U+202E)"


def test_shown_quotes_short_values_whole_and_long_ones_by_a_prefix_and_length() -> None:
    assert shown("Busy") == "'Busy'"
    assert shown("x" * 80) == repr("x" * 80)
    assert shown("x" * 5_000_000) == repr("x" * 80) + "... (5,000,000 characters)"
    assert shown("a\nb") == "'a\\nb'"  # one line, always
    assert shown(list(range(100)), 10) == "[0, 1, 2, ... (390 characters)"


def test_format_path_quotes_keys_that_are_long_or_not_plain() -> None:
    assert format_path(("cxone", "account mapping")) == "cxone.'account mapping'"
    assert format_path(("k" * 100,)) == repr("k" * 80) + "... (100 characters)"
    assert format_path(("a", "<<", 0)) == "a.<<[0]"


@pytest.mark.parametrize(
    "key",
    [
        "accessKeySecret",
        "consumer_secret",
        "PASSWORD",
        "passwd",
        "dbPwd",
        "apiToken",
        "api-key",
        "privateKey",
        "accessKeyId",
        "credentials",
        "passphrase",
    ],
)
def test_keys_that_look_like_credentials(key: str) -> None:
    assert looks_like_secret(key)


@pytest.mark.parametrize(
    "key",
    [
        "requireSecretForWebServerFlow",
        "requireSecretForRefreshTokenFlow",
        "accessKeyUser",
        "label",
        "name",
        "keyboard",
        "teams",
    ],
)
def test_keys_the_spec_defines_and_ordinary_words_do_not(key: str) -> None:
    assert not looks_like_secret(key)
