"""The provider contract that every resource kind inherits (providers/base.py), on an in-memory vendor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from pulumi.dynamic import CheckFailure
from pulumi.runtime.rpc import UNKNOWN

from presence_sync.clients.errors import NotFound, ServiceUnavailable
from providers.base import CheckContext, ProviderError, ProviderInputs, SpecProvider, Written


class WidgetInputs(ProviderInputs):
    name: str
    colour: str
    size: int = 1
    owner_key: str | None = None


class WidgetProvider(SpecProvider[WidgetInputs, None]):
    """A vendor object with an immutable name, in a dict instead of an API."""

    kind = "widget"
    vendor = "shop"
    inputs_model = WidgetInputs
    replace_on = ("name",)
    identity_inputs = ("name",)
    colours = ("red", "blue", "green")
    derived_inputs = ("ownerKey",)
    write_only_outputs = ("token",)

    def __init__(self) -> None:
        self.live: dict[str, dict[str, Any]] = {}
        self.fail_next: Exception | None = None
        self.checked: CheckContext | None = None

    def _maybe_fail(self) -> None:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error

    def describe(self, inputs: WidgetInputs) -> str:
        return f"widget {inputs.name}"

    def plan_checks(self, inputs: WidgetInputs, found: CheckContext) -> list[CheckFailure]:
        self.checked = found
        if inputs.colour not in self.colours:
            return [CheckFailure("", f"widget {inputs.name}: colour {inputs.colour!r} is not sold here")]
        return []

    def find_existing(self, inputs: WidgetInputs) -> tuple[str, dict[str, Any]] | None:
        return (inputs.name, self.live[inputs.name]) if inputs.name in self.live else None

    def create_object(self, inputs: WidgetInputs) -> Written:
        self._maybe_fail()
        self.live[inputs.name] = {"name": inputs.name, "colour": inputs.colour, "size": inputs.size}
        return Written(inputs.name, {"token": "made-once"})

    def update_object(self, id_: str, old: Mapping[str, Any], inputs: WidgetInputs) -> Written:
        self.live[id_].update(colour=inputs.colour, size=inputs.size)
        return Written(id_)

    def read_object(self, id_: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
        return dict(self.live[id_]) if id_ in self.live else None

    def delete_object(self, id_: str, props: Mapping[str, Any]) -> None:
        if id_ not in self.live:
            raise NotFound("gone", vendor="salesforce", operation="delete")
        del self.live[id_]


def props(**values: Any) -> dict[str, Any]:
    return {"name": "w1", "colour": "red", "size": 1, "__provider": "pickled", **values}


WHERE = "stacks/dev.yaml:12:7: salesforce.widgets[0]"
UNKNOWN_SECRET = {"4dabf18193072939515e22adb298388d": "x", "value": UNKNOWN}


def test_check_names_the_input_in_one_line_led_by_the_spec_location_and_no_property_for_the_engine() -> None:
    # A property would make the engine print its value (or `value {<nil>}` for a nested path) before ours.
    result = WidgetProvider().check({}, props(size="large", specLocation=WHERE))
    assert [failure.property for failure in result.failures] == [""]
    reason = result.failures[0].reason
    assert reason.startswith(f"{WHERE}: input size: ") and "\n" not in reason


def test_check_waits_for_values_that_are_unknown_in_a_preview() -> None:
    result = WidgetProvider().check({}, props(ownerKey=UNKNOWN_SECRET))
    assert result.failures == []


def test_check_looks_up_the_known_inputs_even_when_another_is_unknown() -> None:
    provider = WidgetProvider()
    result = provider.check({}, props(colour="mauve", ownerKey=UNKNOWN_SECRET, specLocation=WHERE))
    assert [failure.reason for failure in result.failures] == [f"{WHERE}: widget w1: colour 'mauve' is not sold here"]
    assert provider.checked is not None and provider.checked.unknown == frozenset({"ownerKey"})


def test_check_skips_the_look_ups_only_when_a_required_input_is_unknown() -> None:
    provider = WidgetProvider()
    assert provider.check({}, props(colour=UNKNOWN, size="large")).failures[0].reason == "input size: " + (
        "Input should be a valid integer, unable to parse string as an integer"
    )
    assert provider.check({}, props(colour=UNKNOWN)).failures == []


def test_check_reports_an_unmanaged_object_of_that_name_at_preview_with_how_to_adopt_it() -> None:
    provider = WidgetProvider()
    provider.live["w1"] = {"name": "w1", "colour": "green", "size": 9}
    [failure] = provider.check({}, props(specLocation=WHERE)).failures
    assert failure.reason.startswith(f"{WHERE}: widget w1 already exists in the shop (id w1)")
    assert "adopt: true" in failure.reason and "another name" in failure.reason
    assert provider.check({}, props(adopt=True)).failures == []
    # In the stack already (its inputs are in the state): ours, not a collision.
    assert provider.check(props(), props(colour="blue")).failures == []
    # A new name is a new object: a replace would collide with the unmanaged one.
    provider.live["w2"] = {"name": "w2", "colour": "red", "size": 1}
    assert "widget w2 already exists" in provider.check(props(), props(name="w2")).failures[0].reason


def test_diff_reports_changed_fields_and_replaces_on_immutable_ones() -> None:
    provider = WidgetProvider()
    assert provider.diff("w1", props(), props()).changes is False
    update = provider.diff("w1", props(), props(colour="blue"))
    assert update.changes is True and update.replaces == []
    replace = provider.diff("w1", props(), props(name="w2"))
    assert replace.replaces == ["name"]


def test_diff_ignores_a_derived_input_that_is_unknown_in_a_preview() -> None:
    assert WidgetProvider().diff("w1", props(ownerKey="k1"), props(ownerKey=UNKNOWN)).changes is False
    assert WidgetProvider().diff("w1", props(ownerKey="k1"), props(ownerKey="k2")).changes is True


def test_create_reads_back_and_keeps_write_only_outputs() -> None:
    provider = WidgetProvider()
    result = provider.create(props())
    assert result.id == "w1"
    assert result.outs is not None and result.outs["token"] == "made-once" and "__provider" not in result.outs


def test_create_refuses_to_take_over_an_existing_object_and_says_how_to_adopt() -> None:
    provider = WidgetProvider()
    provider.live["w1"] = {"name": "w1", "colour": "green", "size": 9}
    with pytest.raises(ProviderError, match="adopt: true") as failure:
        provider.create(props(specLocation=WHERE))
    assert str(failure.value).startswith(f"{WHERE}: widget w1 already exists")
    adopted = provider.create(props(adopt=True))
    assert adopted.id == "w1" and provider.live["w1"]["colour"] == "red"


def test_the_spec_location_is_never_a_change() -> None:
    assert WidgetProvider().diff("w1", props(specLocation=WHERE), props(specLocation="x.yaml:99:1: y")).changes is False


def test_read_turns_live_values_into_inputs_so_drift_shows_in_the_next_diff() -> None:
    provider = WidgetProvider()
    provider.create(props())
    provider.live["w1"]["colour"] = "changed by hand"
    result = provider.read("w1", props(token="made-once"))
    assert result.inputs is not None and result.inputs["colour"] == "changed by hand"
    assert result.outs is not None and result.outs["token"] == "made-once"
    assert provider.diff("w1", result.outs, props()).changes is True


def test_read_of_a_deleted_object_drops_it() -> None:
    assert WidgetProvider().read("w1", props()).id == ""


def test_update_keeps_write_only_outputs_from_the_state() -> None:
    provider = WidgetProvider()
    provider.create(props())
    result = provider.update("w1", props(token="made-once"), props(colour="blue"))
    assert result.outs is not None and result.outs["token"] == "made-once" and result.outs["colour"] == "blue"


def test_delete_of_an_object_already_gone_succeeds() -> None:
    WidgetProvider().delete("w1", props())


def test_vendor_errors_reach_the_engine_as_one_line_naming_the_object() -> None:
    provider = WidgetProvider()
    provider.fail_next = ServiceUnavailable("still down after retries", vendor="cxone", operation="create")
    with pytest.raises(ProviderError) as failure:
        provider.create(props())
    assert str(failure.value).startswith("widget w1: creating: ")
    assert failure.value.__cause__ is None and failure.value.__suppress_context__
    provider.fail_next = ServiceUnavailable("still down after retries", vendor="cxone", operation="create")
    with pytest.raises(ProviderError) as failure:
        provider.create(props(specLocation=WHERE))
    assert str(failure.value).startswith(f"{WHERE}: widget w1: creating: ")
    assert failure.value.__cause__ is None and failure.value.__suppress_context__
