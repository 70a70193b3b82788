"""Loading a spec file: YAML problems, shape problems, and how every problem is reported."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
import yaml

from presence_sync.spec import PresenceSpec, SpecError, format_path, load_spec, load_spec_text

from .conftest import Validate


def _problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, "stacks/x.yaml")
    return [str(problem) for problem in caught.value.problems]


def test_a_valid_spec_loads_and_remembers_its_file(spec_data: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump(spec_data))
    spec = load_spec(path)
    assert isinstance(spec, PresenceSpec)
    assert spec.source == str(path)
    assert spec.runtime.target == "local" and spec.runtime.poll_interval_seconds == 2  # defaults


def test_yaml_syntax_error_names_file_line_and_column() -> None:
    [problem] = _problems("version: 1\nsalesforce:\n  statuses:\n    - label: 'unterminated\n")
    assert problem.startswith("stacks/x.yaml:5:1: YAML syntax error: found unexpected end of stream")
    assert "while scanning a quoted scalar (line 4)" in problem


def test_unquoted_colon_space_in_a_value_gets_a_quoting_hint() -> None:
    [problem] = _problems("version: 1\ncxone:\n  presenceRules:\n    - publisher:\n        - acd: Unavailable: Break\n")
    assert "stacks/x.yaml:5:" in problem and "mapping values are not allowed" in problem
    assert "; hint: a value containing ': ' must be quoted, e.g. \"Unavailable:Break\"" in problem


def test_empty_file_and_non_mapping_top_level_are_reported() -> None:
    assert _problems("") == ["stacks/x.yaml:1: the file is empty; hint: start from stacks/sandbox.yaml"]
    assert "the top level must be a mapping" in _problems("- a\n- b\n")[0]


def test_missing_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(tmp_path / "nope.yaml")
    assert [p.message for p in caught.value.problems] == ["no such file"]


def test_a_key_given_twice_is_reported_at_the_second_with_the_first_line(spec_data: dict[str, Any]) -> None:
    text = yaml.safe_dump(spec_data, sort_keys=False) + "version: 1\n"
    problems = _problems(text)
    assert any("version: key 'version' appears twice in this mapping (also line 1)" in p for p in problems)


def test_unknown_key_is_rejected_with_did_you_mean(spec_data: dict[str, Any], problem_at: Any) -> None:
    status = spec_data["salesforce"]["statuses"][0]
    status["chanels"] = status.pop("channels")
    problem = problem_at(spec_data, "salesforce.statuses[0].chanels")
    assert problem.message == "unknown key 'chanels'"
    assert problem.hint == "did you mean 'channels'?"


def test_snake_case_key_suggests_the_camel_case_one(spec_data: dict[str, Any], problem_at: Any) -> None:
    spec_data["salesforce"]["profile_access"] = spec_data["salesforce"].pop("profileAccess")
    assert problem_at(spec_data, "salesforce.profile_access").hint == "did you mean 'profileAccess'?"


def test_unknown_key_far_from_any_lists_the_allowed_keys(spec_data: dict[str, Any], problem_at: Any) -> None:
    spec_data["runtime"] = {"flavour": "vanilla"}
    hint = problem_at(spec_data, "runtime.flavour").hint
    assert hint.startswith("allowed keys here: target, kubernetes, engine, userMatching")


def test_missing_required_key_points_at_its_parent_and_describes_the_key(
    spec_data: dict[str, Any], problem_at: Any
) -> None:
    del spec_data["salesforce"]["statuses"][1]["kind"]
    problem = problem_at(spec_data, "salesforce.statuses[1]")
    assert problem.message == "missing required key 'kind'"
    assert problem.hint is not None and "online" in problem.hint


def test_enum_typo_lists_the_choices_and_guesses(spec_data: dict[str, Any], problem_at: Any) -> None:
    spec_data["salesforce"]["statuses"][0]["kind"] = "onlien"
    problem = problem_at(spec_data, "salesforce.statuses[0].kind")
    assert problem.message == "'onlien' is not one of 'online' or 'busy'"
    assert problem.hint == "did you mean 'online'?"


def test_unsupported_version_says_which_version_is_read(spec_data: dict[str, Any], problem_at: Any) -> None:
    spec_data["version"] = 2
    assert problem_at(spec_data, "version").message == "unsupported spec version 2; this presence-sync reads version 1"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("salesforce", "statuses", 0, "channels"), "sfdc_livemessage", "must be a list, not text"),
        (("salesforce", "statuses", 0, "label"), 42, "must be text, not a number"),
        (("salesforce", "statuses", 0, "adopt"), "yes please", "must be true or false, not text"),
        (("cxone", "presenceRules", 0, "priority"), "1", "must be a whole number, not text"),
        (("cxone", "presenceRules", 0, "priority"), -1, "must be at least 0, not -1"),
        (("cxone", "accountMapping"), "Salesforce", "must be a mapping of keys to values, not text"),
    ],
)
def test_wrong_types_are_explained(
    spec_data: dict[str, Any], problem_at: Any, path: tuple[Any, ...], value: Any, message: str
) -> None:
    target = spec_data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    assert problem_at(spec_data, format_path(path)).message == message


def test_a_string_where_a_list_belongs_gets_the_bracketed_fix(spec_data: dict[str, Any], problem_at: Any) -> None:
    spec_data["salesforce"]["statuses"][0]["channels"] = "sfdc_livemessage"
    assert problem_at(spec_data, "salesforce.statuses[0].channels").hint == "write [sfdc_livemessage]"


def test_all_problems_come_at_once_across_sections(spec_data: dict[str, Any], validate: Validate) -> None:
    spec_data["salesforce"]["statuses"][0]["kind"] = "onlien"  # shape problem in salesforce
    spec_data["cxone"]["presenceRules"][0]["teams"] = []  # check problem in cxone
    spec_data["runtime"] = {"pollIntervalSeconds": 0}  # shape problem in runtime
    paths = [p.path for p in validate(spec_data)]
    assert paths == ["salesforce.statuses[0].kind", "cxone.presenceRules[0]", "runtime.pollIntervalSeconds"]


def test_problems_are_in_file_order_with_line_numbers(spec_data: dict[str, Any], validate: Validate) -> None:
    spec_data["runtime"] = {"target": "cloud"}
    spec_data["salesforce"]["statuses"][1]["channels"] = ["sfdc_phone"]
    problems = validate(spec_data)
    assert [p.path for p in problems] == ["salesforce.statuses[1].channels[0]", "runtime.target"]
    lines = [p.line or 0 for p in problems]
    assert all(line > 0 for line in lines) and lines == sorted(lines)


def test_problem_text_is_one_line_file_line_column_path_message_hint(
    spec_data: dict[str, Any], validate: Validate
) -> None:
    spec_data["salesforce"]["statuses"][1]["channels"] = ["sfdc_phone"]
    [problem] = validate(spec_data)
    assert str(problem) == (
        f"spec.yaml:{problem.line}:{problem.column}: salesforce.statuses[1].channels[0]: a busy status has no "
        "channels (Salesforce makes a status without channels the busy kind); "
        "hint: remove the channels, or make it kind: online"
    )


def test_spec_error_message_counts_and_lists_the_problems() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec_text("version: 3\n", "a.yaml")
    text = str(caught.value)
    assert text.startswith(f"{len(caught.value.problems)} problems in the spec:\na.yaml:1:1: ")


def test_spec_error_survives_pickling_with_its_problems() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec_text("version: 3\n", "a.yaml")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert copy.problems == caught.value.problems and str(copy) == str(caught.value)


def test_format_path_uses_yaml_keys_and_indices() -> None:
    assert format_path(("salesforce", "statuses", 2, "channels", 0)) == "salesforce.statuses[2].channels[0]"
    assert format_path(()) == ""
