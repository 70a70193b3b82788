"""The provider contract that every resource kind inherits (providers/base.py), on an in-memory vendor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from pulumi.runtime.rpc import UNKNOWN

from presence_sync.clients.errors import NotFound, ServiceUnavailable
from providers.base import ProviderError, ProviderInputs, SpecProvider, Written


class WidgetInputs(ProviderInputs):
    name: str
    colour: str
    size: int = 1
    owner_key: str | None = None


class WidgetProvider(SpecProvider[WidgetInputs]):
    """A vendor object with an immutable name, in a dict instead of an API."""

    kind = "widget"
    inputs_model = WidgetInputs
    replace_on = ("name",)
    derived_inputs = ("ownerKey",)
    write_only_outputs = ("token",)

    def __init__(self) -> None:
        self.live: dict[str, dict[str, Any]] = {}
        self.fail_next: Exception | None = None

    def _maybe_fail(self) -> None:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error

    def describe(self, inputs: WidgetInputs) -> str:
        return f"widget {inputs.name}"

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


def test_check_names_the_property_that_is_wrong() -> None:
    result = WidgetProvider().check({}, props(size="large"))
    assert [failure.property for failure in result.failures] == ["size"]


def test_check_waits_for_values_that_are_unknown_in_a_preview() -> None:
    result = WidgetProvider().check({}, props(ownerKey={"4dabf18193072939515e22adb298388d": "x", "value": UNKNOWN}))
    assert result.failures == []


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
    with pytest.raises(ProviderError, match="adopt: true"):
        provider.create(props())
    adopted = provider.create(props(adopt=True))
    assert adopted.id == "w1" and provider.live["w1"]["colour"] == "red"


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
