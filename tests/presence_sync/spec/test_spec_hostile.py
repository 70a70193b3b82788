"""Hostile specs: what an attacker or a careless admin might commit, loaded under a CPU and memory budget.

Each case runs the loader (or the CLI) in a child process limited by the kernel (see `bounded.py`): a hang
or a blow-up kills the child and fails the test. The assertions are about what is reported: one line per
problem, with file, line and path, and never more than a short prefix of a huge or secret value.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from presence_sync.spec import load_spec_text
from presence_sync.spec.loader import MAX_ALIASES, MAX_DEPTH, MAX_PROBLEMS, MAX_SPEC_BYTES, MAX_VALUE_CHARS

from .bounded import load_bounded, validate_bounded
from .conftest import VALID

SECRET = "s3cr3t-Zq9-DO-NOT-PRINT"


def _write(tmp_path: Path, text: str, name: str = "hostile.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, width=1 << 30, allow_unicode=True)


def _one(tmp_path: Path, text: str) -> dict[str, Any]:
    """The single problem the loader reports for `text`, loaded under the budget."""
    problems = load_bounded(_write(tmp_path, text)).problems()
    assert len(problems) == 1, "\n".join(p["text"] for p in problems)
    return problems[0]


def _assert_one_line(problem: dict[str, Any], max_chars: int = 700) -> None:
    text = problem["text"]
    assert "\n" not in text and "\r" not in text
    assert len(text) <= max_chars, f"{len(text)} characters: {text[:200]}..."
    assert text.startswith(problem["file"] + ":")


def _spec() -> dict[str, Any]:
    return copy.deepcopy(VALID)


# ------------------------------------------------------------------------------------ size, depth, aliases


def test_an_alias_bomb_is_one_problem_not_a_hang(tmp_path: Path) -> None:
    # 10 levels of 10 aliases each: 10^10 values once expanded, from a 1 kB file.
    lines = ["  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    text = _dump(_spec()) + "bomb:\n" + "\n".join(lines) + "\n"
    problem = _one(tmp_path, text)
    assert "more than 100,000 values once its aliases are expanded" in problem["message"]
    assert problem["line"] is not None and problem["path"].startswith("bomb.")
    _assert_one_line(problem)


def test_an_alias_bomb_under_a_known_key_is_caught_too(tmp_path: Path) -> None:
    # Where validation would expand it (a list of channels), not only under an unknown key.
    head = "x0: &x0 [sfdc_livemessage, sfdc_livemessage, sfdc_livemessage, sfdc_livemessage]\n"
    head += "".join(f"x{i}: &x{i} [*x{i - 1}, *x{i - 1}, *x{i - 1}, *x{i - 1}]\n" for i in range(1, 12))
    data = _spec()
    data["salesforce"]["statuses"][0]["channels"] = "CHANNELS"
    text = head + _dump(data).replace("CHANNELS", "*x11")
    problem = _one(tmp_path, text)
    assert "aliases are expanded" in problem["message"]


def test_aliases_may_not_nest_deeper_than_the_depth_limit(tmp_path: Path) -> None:
    chain = "d0: &d0 [x]\n" + "".join(f"d{i}: &d{i} [*d{i - 1}]\n" for i in range(1, MAX_DEPTH + 5))
    problem = _one(tmp_path, "version: 1\n" + chain)
    assert f"nests the spec more than {MAX_DEPTH} levels deep" in problem["message"]
    _assert_one_line(problem)


def test_the_number_of_aliases_is_bounded(tmp_path: Path) -> None:
    text = "version: 1\nname: &n Busy\nmany: [" + ", ".join(["*n"] * (MAX_ALIASES + 1)) + "]\n"
    problem = _one(tmp_path, text)
    assert problem["message"] == f"more than {MAX_ALIASES:,} aliases (*name)"


def test_an_alias_inside_its_own_anchor_is_a_cycle(tmp_path: Path) -> None:
    problem = _one(tmp_path, "version: 1\nloop: &a [1, *a]\n")
    assert problem["message"] == "alias *a is inside the value it refers to (a cycle)"
    assert (problem["line"], problem["path"]) == (2, "loop[1]")


def test_an_undefined_alias_and_a_redefined_anchor_are_reported(tmp_path: Path) -> None:
    assert _one(tmp_path, "version: 1\nx: *nowhere\n")["message"] == "alias *nowhere refers to no anchor"
    problem = _one(tmp_path, "version: 1\na: &n 1\nb: &n 2\n")
    assert problem["message"] == "anchor &n is defined twice (also line 2)"


@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_is_one_problem_not_a_recursion_error(tmp_path: Path, style: str) -> None:
    if style == "flow":
        text = "version: 1\nx: " + "[" * 1000 + "]" * 1000 + "\n"
    else:
        text = "version: 1\n" + "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v: 1\n"
    problem = _one(tmp_path, text)
    assert "RecursionError" not in problem["text"]
    assert f"{MAX_DEPTH} levels" in problem["message"]
    assert problem["line"] == (2 if style == "flow" else 2 + MAX_DEPTH)  # where the level too many starts
    _assert_one_line(problem)


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    data = _spec()
    data["salesforce"]["existingStatuses"] = ["MANY"]
    many = ", ".join(f"Status_{i}" for i in range(400_000))  # ~6 MB
    path = _write(tmp_path, _dump(data).replace("- MANY", f"- [{many}]"))
    assert path.stat().st_size > 5 * MAX_SPEC_BYTES
    [problem] = load_bounded(path).problems()
    assert problem["message"] == "the file is larger than 1024 KiB; a spec is a few kilobytes"
    _assert_one_line(problem)


def test_a_5_mb_developer_name_is_not_echoed(tmp_path: Path) -> None:
    data = _spec()
    data["salesforce"]["statuses"][0]["developerName"] = "NAME"
    run = validate_bounded(_write(tmp_path, _dump(data).replace("NAME", "Q" * 5_000_000)))
    assert run.returncode == 1, run.explain()
    assert run.stderr.count("Q") == 0  # refused by size before anything is parsed
    assert len(run.stderr.splitlines()) == 2  # the problem and the summary


def test_a_long_value_within_the_file_limit_is_quoted_by_a_short_prefix(tmp_path: Path) -> None:
    data = _spec()
    data["salesforce"]["statuses"][0]["developerName"] = "NAME"
    problem = _one(tmp_path, _dump(data).replace("NAME", "Q" * 900_000))
    assert problem["path"] == "salesforce.statuses[0].developerName"
    assert problem["message"] == (
        f"value is 900,000 characters long; no spec value may be longer than {MAX_VALUE_CHARS:,}"
    )
    assert problem["hint"].startswith("it starts 'QQQQQQQQQQQQQQQQQQQQ'... (900,000 characters)")
    assert problem["text"].count("Q") == 20
    _assert_one_line(problem)


def test_a_name_just_under_the_value_limit_is_quoted_by_a_prefix_in_every_message(tmp_path: Path) -> None:
    data = _spec()
    data["salesforce"]["statuses"][0]["developerName"] = "Q" * (MAX_VALUE_CHARS - 1) + "!"
    problems = load_bounded(_write(tmp_path, _dump(data))).problems()
    assert problems
    for problem in problems:
        _assert_one_line(problem, max_chars=500)
        assert problem["text"].count("Q" * 81) == 0


def test_a_big_but_valid_spec_loads_within_the_budget(tmp_path: Path) -> None:
    data = _spec()
    data["salesforce"]["statuses"] = [{"label": f"Status {i}", "kind": "busy"} for i in range(12_000)]
    data["salesforce"]["profileAccess"][0]["statuses"] = [f"Status_{i}" for i in range(12_000)]
    rule = data["cxone"]["presenceRules"][0]
    rule["publisher"] = [{"acd": "Available", "salesforce": "Status_0"}]
    rule["subscriber"] = [{"salesforce": "Status_0", "acd": "Available"}]
    path = _write(tmp_path, _dump(data))
    assert MAX_SPEC_BYTES / 2 < path.stat().st_size <= MAX_SPEC_BYTES
    assert load_bounded(path).problems() == []


def test_tens_of_thousands_of_typos_are_checked_within_the_budget_and_listed_up_to_the_cap(tmp_path: Path) -> None:
    data = _spec()
    data["salesforce"]["existingStatuses"] = [f"Status_{i}" for i in range(150)]
    data["salesforce"]["profileAccess"][0]["statuses"] = "TYPOS"
    typos = "[" + ", ".join(f"Statsu_{i}" for i in range(45_000)) + "]"
    problems = load_bounded(_write(tmp_path, _dump(data).replace("TYPOS", typos))).problems()
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1]["message"] == f"{45_000 - MAX_PROBLEMS:,} more problems not listed"
    assert problems[0]["hint"].startswith("did you mean 'Status_0'?")


def test_a_huge_oscillating_rule_is_checked_within_the_budget(tmp_path: Path) -> None:
    n = 3_000
    data = _spec()
    data["salesforce"]["existingStatuses"] = [f"S{i}" for i in range(n)]
    data["cxone"]["existingUnavailableCodes"] = [f"C{i}" for i in range(n)]
    rule = data["cxone"]["presenceRules"][0]
    rule["publisher"] = [{"acd": f"Unavailable:C{i}", "salesforce": f"S{(i + 1) % n}"} for i in range(n)]
    rule["subscriber"] = [{"salesforce": f"S{i}", "acd": f"Unavailable:C{i}"} for i in range(n)]
    problem = _one(tmp_path, _dump(data))
    assert "never settle" in problem["message"] and "more steps" in problem["message"]
    _assert_one_line(problem)


# --------------------------------------------------------------------------------------- text in values


@pytest.mark.parametrize(
    ("char", "what"),
    [
        ("\x07", "a control character (U+0007)"),
        ("\n", "a line break (U+000A)"),
        ("\r", "a line break (U+000D)"),
        ("\t", "a tab (U+0009)"),
        ("\u2028", "a line break (U+2028)"),
        ("\u202e", "a bidirectional text control (U+202E)"),
        ("\ufffe", "a noncharacter (U+FFFE)"),
        ("\x7f", "a control character (U+007F)"),
    ],
)
def test_a_label_with_a_control_character_is_refused(tmp_path: Path, char: str, what: str) -> None:
    data = _spec()
    data["salesforce"]["statuses"][0]["label"] = f"Available{char}for Chats"
    problem = _one(tmp_path, _dump(data))  # one problem: not also "unknown status" from a changed derived name
    assert problem["path"] == "salesforce.statuses[0].label"
    assert problem["message"] == f"value contains {what} at position 10"
    _assert_one_line(problem)


def test_a_lone_surrogate_is_refused(tmp_path: Path) -> None:
    text = _dump(_spec()).replace("label: Busy", 'label: "Busy\\ud800"')
    problem = _one(tmp_path, text)
    # libyaml refuses the escape itself; the pure-Python parser decodes it and the loader refuses the value.
    assert problem["message"] in (
        "YAML syntax error: found invalid Unicode character escape code",
        "value contains a lone surrogate (U+D800) at position 5",
    )
    assert problem["line"] == text[: text.index("ud800")].count("\n") + 1


def test_a_block_scalar_label_gets_the_one_line_hint(tmp_path: Path) -> None:
    text = _dump(_spec()).replace("label: Busy\n", "label: |\n      Busy\n")
    problem = _one(tmp_path, text)
    assert problem["message"] == "value contains a line break (U+000A) at position 5"
    assert "'>-' does not end with one" in problem["hint"]


@pytest.mark.parametrize(
    "path",
    [
        ("salesforce", "oauthApp", "label"),
        ("salesforce", "oauthApp", "description"),
        ("salesforce", "profileAccess", 0, "profile"),
        ("cxone", "accountMapping", "name"),
        ("cxone", "presenceRules", 0, "teams", 0),
        ("cxone", "existingUnavailableCodes", 0),
    ],
)
def test_other_free_text_rejects_control_characters(tmp_path: Path, path: tuple[Any, ...]) -> None:
    data = _spec()
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = "Tier\x1b[31m 1"
    problems = load_bounded(_write(tmp_path, _dump(data))).problems()
    assert [p["message"] for p in problems] == ["value contains a control character (U+001B) at position 5"]


def test_a_raw_control_character_in_the_file_is_a_reader_problem_with_a_line(tmp_path: Path) -> None:
    text = _dump(_spec()).replace("label: Busy", "label: Bu\x07sy")
    problem = _one(tmp_path, text)
    assert problem["message"] == "the file contains a control character (U+0007), which YAML does not allow"
    assert problem["line"] == text[: text.index("\x07")].count("\n") + 1


# ------------------------------------------------------------------------------------------- merge keys


def test_merge_keys_are_supported(tmp_path: Path) -> None:
    text = _dump(_spec()).replace(
        "  - label: Busy\n    kind: busy\n",
        "  - &busy {label: Busy, kind: busy}\n  - <<: *busy\n    label: Busy Lunch\n",
    )
    assert "<<: *busy" in text
    assert load_bounded(_write(tmp_path, text)).problems() == []
    statuses = load_spec_text(text).salesforce.statuses
    assert [(s.label, s.kind, s.name) for s in statuses[1:]] == [
        ("Busy", "busy", "Busy"),
        ("Busy Lunch", "busy", "Busy_Lunch"),
    ]


def test_a_list_of_merges_and_a_real_duplicate_next_to_a_merge(tmp_path: Path) -> None:
    head = "base: &base {kind: busy}\nextra: &extra {adopt: true}\n"
    text = _dump(_spec()).replace(
        "  - label: Busy\n    kind: busy\n",
        "  - <<: [*base, *extra]\n    label: Busy\n    label: Busy Again\n",
    )
    problems = load_bounded(_write(tmp_path, head + text)).problems()
    messages = [p["message"] for p in problems]
    assert any(m.startswith("key 'label' appears twice in this mapping") for m in messages)
    assert not any("'kind'" in m or "'adopt'" in m for m in messages)  # merged keys are not duplicates


# -------------------------------------------------------------------------------------------- secrets


@pytest.mark.parametrize(
    ("where", "key"),
    [
        (("cxone", "accountMapping"), "accessKeySecret"),
        (("cxone", "accountMapping"), "accessKeyId"),
        (("salesforce", "oauthApp"), "consumerSecret"),
        (("salesforce", "oauthApp"), "client_secret"),
        ((), "password"),
        (("runtime",), "apiToken"),
        (("salesforce",), "PRIVATE-KEY"),
    ],
)
def test_a_key_that_looks_like_a_secret_is_refused_without_echo_or_did_you_mean(
    tmp_path: Path, where: tuple[str, ...], key: str
) -> None:
    data = _spec()
    target = data
    for part in where:
        target = target.setdefault(part, {})
    target[key] = SECRET
    problem = _one(tmp_path, _dump(data))
    assert problem["path"] == ".".join((*where, key))
    assert problem["message"].startswith(f"key {key!r} looks like a credential")
    assert "pulumi config set --secret" in problem["hint"] and "environment" in problem["hint"]
    assert "did you mean" not in problem["text"]
    assert SECRET not in problem["text"] and SECRET[:6] not in problem["text"]


def test_a_secret_key_brought_in_by_a_merge_key_is_refused_too(tmp_path: Path) -> None:
    head = f"creds: &creds {{accessKeySecret: {SECRET}}}\n"
    text = _dump(_spec()).replace("  accountMapping:\n", "  accountMapping:\n    <<: *creds\n")
    problems = load_bounded(_write(tmp_path, head + text)).problems()
    secret = [p for p in problems if p["path"] == "cxone.accountMapping.accessKeySecret"]
    assert len(secret) == 1 and "looks like a credential" in secret[0]["message"]
    assert not any(SECRET in p["text"] or "did you mean" in p["text"] for p in problems)


def test_a_secret_pasted_into_the_access_key_user_is_not_repeated(tmp_path: Path) -> None:
    # Following the old "did you mean accessKeyUser?" echoed the secret in the next error.
    data = _spec()
    data["cxone"]["accountMapping"]["accessKeyUser"] = SECRET
    problem = _one(tmp_path, _dump(data))
    assert problem["message"] == "accessKeyUser is not an e-mail address (it has no '@')"
    assert SECRET not in problem["text"]


def test_the_spec_s_own_keys_with_secret_or_token_in_their_name_are_fine(tmp_path: Path) -> None:
    data = _spec()
    data["salesforce"]["oauthApp"]["requireSecretForWebServerFlow"] = False
    data["salesforce"]["oauthApp"]["requireSecretForRefreshTokenFlow"] = False
    assert load_bounded(_write(tmp_path, _dump(data))).problems() == []


# ------------------------------------------------------------------------------------------- the rest


def test_a_quoted_version_says_to_write_a_number(tmp_path: Path) -> None:
    data = _spec()
    data["version"] = "1"
    problem = _one(tmp_path, _dump(data))
    assert problem["text"] == (
        f"{problem['file']}:1:1: version: version must be the number 1, not the text '1'; "
        "hint: write version: 1 without quotes"
    )


def test_more_than_one_document_is_refused(tmp_path: Path) -> None:
    text = _dump(_spec())
    problem = _one(tmp_path, text + "---\n" + text)
    assert problem["message"] == "the file holds more than one YAML document ('---')"


def test_the_cli_prints_one_line_per_problem_with_file_line_and_path(tmp_path: Path) -> None:
    data = _spec()
    data["version"] = "1"
    data["salesforce"]["statuses"][1]["channels"] = ["sfdc_phone"]
    data["cxone"]["accountMapping"]["accessKeySecret"] = SECRET
    path = _write(tmp_path, _dump(data))
    run = validate_bounded(path)
    assert run.returncode == 1 and run.stdout == "", run.explain()
    lines = run.stderr.splitlines()
    assert lines[-1] == "1 of 1 file invalid"
    assert [line.split(": ")[1] for line in lines[:-1]] == [
        "version",
        "salesforce.statuses[1].channels[0]",
        "cxone.accountMapping.accessKeySecret",
    ]
    for line in lines[:-1]:
        where = line.split(": ")[0]
        assert where.startswith(f"{path}:") and where.count(":") == 2  # file:line:column
    assert SECRET not in run.stderr


def test_the_cli_lists_at_most_the_cap_for_a_file_with_thousands_of_problems(tmp_path: Path) -> None:
    data = _spec()
    data["salesforce"]["profileAccess"][0]["statuses"] = [f"Nope_{i}" for i in range(5_000)]
    run = validate_bounded(_write(tmp_path, _dump(data)))
    lines = run.stderr.splitlines()
    assert len(lines) == MAX_PROBLEMS + 2  # the cap, "N more problems not listed", the summary
    assert lines[-2].endswith(
        "more problems not listed; hint: fix the ones above first; many of the rest may be the same mistake"
    )
