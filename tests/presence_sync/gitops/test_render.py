"""The report renderer and secret masking, without an engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from presence_sync.gitops.diffing import SECRET, SECRET_SIG, UNKNOWN, UNKNOWN_SENTINEL, field_changes, mask
from presence_sync.gitops.engine import ResourceChange, StackPlan, change_from, drift_from, kind_of, restore_from
from presence_sync.gitops.plan import exit_code
from presence_sync.gitops.render import md_code, render

GOLDEN = Path(__file__).parent / "golden"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if not path.exists():  # first run writes it; review and commit it
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed; delete it to re-record after reviewing the new output"


def test_pulumi_secrets_and_credential_names_are_masked() -> None:
    value = {
        "consumerKey": {SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "abc"},
        "accessKeySecret": "plain-but-named-secret",
        "password": "hunter2",
        "nested": {"refreshToken": "tok", "label": "fine"},
        "requireSecretForWebServerFlow": True,
        "scopes": ["refresh_token", "api"],
        "__provider": "gASV...",
        "consumerSecret": UNKNOWN_SENTINEL,
        "statusId": UNKNOWN_SENTINEL,
    }
    assert mask(value) == {
        "consumerKey": SECRET,
        "accessKeySecret": SECRET,
        "password": SECRET,
        "nested": {"refreshToken": SECRET, "label": "fine"},
        "requireSecretForWebServerFlow": True,  # a flag named like a secret is not one
        "scopes": ["refresh_token", "api"],  # values are not names
        "consumerSecret": SECRET,
        "statusId": UNKNOWN,
    }


def test_field_changes_recurse_into_maps_and_equal_length_lists_of_maps() -> None:
    old = {
        "label": "Busy",
        "publisher": [{"acd": "Available", "salesforce": "A"}],
        "teams": ["T1"],
        "salesforceEnvironment": {"name": "Sandbox", "instanceUrl": "https://x"},
        "gone": 1,
    }
    new = {
        "label": "Busy Now",
        "publisher": [{"acd": "Available", "salesforce": "B"}],
        "teams": ["T1", "T2"],
        "salesforceEnvironment": {"name": "Prod", "instanceUrl": "https://x"},
        "added": True,
    }
    assert [(c.path, c.old, c.new) for c in field_changes(old, new)] == [
        ("added", None, True),
        ("gone", 1, None),
        ("label", "Busy", "Busy Now"),
        ("publisher[0].salesforce", "A", "B"),
        ("salesforceEnvironment.name", "Sandbox", "Prod"),
        ("teams", ["T1"], ["T1", "T2"]),
    ]


def test_a_changed_secret_shows_as_a_masked_change_never_its_value() -> None:
    old = {"consumerSecret": {SECRET_SIG: "x", "ciphertext": "one"}, "token": "old-token-value"}
    new = {"consumerSecret": "brand-new-plaintext", "token": "new-token-value"}
    changes = field_changes(old, new)
    assert changes == []  # both sides mask to [secret]: the report cannot (and must not) tell them apart
    text = json.dumps([c.as_dict() for c in changes])
    assert "brand-new-plaintext" not in text and "token-value" not in text


def test_md_code_escapes_pipes_and_backticks() -> None:
    assert md_code("a|b") == "`a\\|b`"
    assert md_code("x`y") == "`` x`y ``"
    assert md_code(None) == "`(none)`"
    assert md_code(["b", "a"]) == '`["b", "a"]`'
    long = md_code({"config": "x" * 500})
    assert len(long) == 202 and long.endswith("…`")


class _Op:
    def __init__(self, value: str) -> None:
        self.value = value


class _State:
    def __init__(self, inputs: dict[str, object], outputs: dict[str, object] | None = None) -> None:
        self.inputs = inputs
        self.outputs = {**inputs, **(outputs or {})}
        self.retain_on_delete = False


class _Meta:
    def __init__(
        self,
        op: str,
        old: dict[str, object] | None,
        new: dict[str, object] | None,
        type_: str = "pulumi-python:dynamic/salesforce:PresenceStatus",
    ) -> None:
        self.op = _Op(op)
        self.type = type_
        self.urn = f"urn:pulumi:s::p::{type_}::status-Busy"
        self.old = None if old is None else _State(old)
        self.new = None if new is None else _State(new)


def _meta(*args: Any, **kwargs: Any) -> Any:
    return _Meta(*args, **kwargs)


def test_steps_become_report_entries() -> None:
    update = change_from(_meta("update", {"label": "A", "__provider": "p"}, {"label": "B", "__provider": "q"}))
    assert update == ResourceChange(
        "status-Busy", "salesforce:PresenceStatus", "update", tuple(field_changes({"label": "A"}, {"label": "B"}))
    )
    assert change_from(_meta("same", {"label": "A"}, {"label": "A"})) is None
    assert change_from(_meta("create-replacement", {"label": "A"}, {"label": "B"})) is None
    assert change_from(_meta("update", {"__provider": "p"}, {"__provider": "q"})) is None
    assert change_from(_meta("update", {}, {"x": 1}, type_="pulumi:pulumi:Stack")) is None
    created = change_from(_meta("create", None, {"label": "A"}))
    assert created is not None and [(f.path, f.old, f.new) for f in created.fields] == [("label", None, "A")]
    assert kind_of("pulumi-python:dynamic/cxone:PresenceRule") == "cxone:PresenceRule"


def test_in_a_refresh_a_live_value_unlike_the_applied_one_is_changed_and_delete_means_gone() -> None:
    changed = drift_from(_meta("update", {"label": "A"}, {"label": "B"}))
    gone = drift_from(_meta("delete", {"label": "A", "providerVersion": "1"}, None))
    assert changed is not None and changed.op == "changed"
    assert gone is not None and gone.op == "gone"
    assert [f.path for f in gone.fields] == ["label"], "bookkeeping is left out of a whole object"


def test_drift_compares_what_was_applied_with_the_live_outputs_whatever_the_step_is_called() -> None:
    """After a `pulumi refresh` the inputs stay what was applied; the live value is in the outputs."""
    meta = _meta("same", {"label": "A", "statusId": None}, {"label": "A"})
    meta.new.outputs = {"label": "B", "statusId": "0N5x"}
    changed = drift_from(meta)
    assert changed is not None and [(f.path, f.old, f.new) for f in changed.fields] == [("label", "A", "B")]
    assert drift_from(_meta("same", {"label": "A"}, {"label": "A"})) is None


def test_a_secret_changed_by_hand_is_reported_by_its_fingerprints_and_a_note() -> None:
    meta = _meta("same", {"consumerKey": "applied-key"}, {"consumerKey": "applied-key"})
    meta.new.outputs["secretFingerprints"] = {"consumerKey": {"applied": "fp:" + "1" * 16, "live": "fp:" + "2" * 16}}
    changed = drift_from(meta)
    assert changed is not None
    assert [f.as_dict() for f in changed.fields] == [
        {
            "path": "consumerKey",
            "old": "fp:" + "1" * 16,
            "new": "fp:" + "2" * 16,
            "note": "consumer key changed outside the stack",
        }
    ]


def test_an_update_the_spec_does_not_ask_for_is_a_restore_of_a_recorded_live_value() -> None:
    meta = _meta("update", {"label": "A", "channels": ["x"]}, {"label": "B", "channels": ["x"]})
    meta.old.outputs = {"label": "A", "channels": ["x", "y"]}
    restore = restore_from(meta)
    assert restore is not None and restore.op == "restore"
    assert [(f.path, f.old, f.new) for f in restore.fields] == [("channels", ["x", "y"], ["x"])]
    assert [f.path for f in (change_from(meta) or restore).fields] == ["label"]


def test_deepdiff_paths_read_like_the_spec() -> None:
    old = {"subscriber": [{"acd": "A", "salesforce": "S"}], "channels": ["a"], "env": {"name": "x", "url": "u"}}
    new = {"subscriber": [{"acd": "B", "salesforce": "S"}], "channels": ["a", "b"], "env": {"name": "y", "url": "u"}}
    assert [(f.path, f.old, f.new) for f in field_changes(old, new)] == [
        ("channels", ["a"], ["a", "b"]),
        ("env.name", "x", "y"),
        ("subscriber[0].acd", "A", "B"),
    ]
    grown = field_changes({"rules": [{"a": 1}]}, {"rules": [{"a": 1}, {"a": 2}]})
    assert [(f.path, f.old, f.new) for f in grown] == [("rules", [{"a": 1}], [{"a": 1}, {"a": 2}])]


def _sample_plans() -> list[StackPlan]:
    status = ResourceChange(
        "status-Busy",
        "salesforce:PresenceStatus",
        "update",
        tuple(field_changes({"label": "Busy"}, {"label": "Busy | Now"})),
    )
    app = ResourceChange(
        "oauth-app-X",
        "salesforce:OAuthClientApp",
        "create",
        tuple(field_changes(None, {"name": "X", "consumerSecret": "s3cr3t"})),
    )
    grant = ResourceChange(
        "profile-access-agents",
        "salesforce:ProfilePresenceAccess",
        "changed",
        tuple(field_changes({"statuses": ["A", "B"]}, {"statuses": ["A"]})),
    )
    return [
        StackPlan(
            "dev",
            changes=[app, status],
            drift=[
                grant,
                ResourceChange("rule-x", "cxone:PresenceRule", "gone", tuple(field_changes({"name": "x"}, None))),
            ],
        ),
        StackPlan("prod", changes=[], drift=[]),
        StackPlan("broken", error="preview failed: team 'X' does not exist"),
    ]


def test_markdown_report_rendering_is_pinned() -> None:
    text = render(_sample_plans())
    assert "s3cr3t" not in text
    check_golden("sample.md", text)


def test_json_report_is_sorted_and_pinned() -> None:
    text = render(_sample_plans(), "json")
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"
    assert "s3cr3t" not in text
    check_golden("sample.json", text)


def test_drift_only_report_has_no_intended_change_section() -> None:
    plans = [StackPlan("prod", drift=[], previewed=False)]
    text = render(plans, title="presence-sync drift")
    assert "No drift" in text and "Intended" not in text and "No changes to apply" not in text


@pytest.mark.parametrize(
    ("plans", "code"),
    [
        ([StackPlan("a")], 0),
        ([StackPlan("a", drift=[])], 0),
        ([StackPlan("a"), StackPlan("b", changes=[ResourceChange("r", "k", "update")])], 2),
        ([StackPlan("a", drift=[ResourceChange("r", "k", "update")])], 2),
        ([StackPlan("a", changes=[ResourceChange("r", "k", "update")]), StackPlan("b", error="x")], 1),
    ],
)
def test_exit_codes(plans: list[StackPlan], code: int) -> None:
    assert exit_code(plans) == code
