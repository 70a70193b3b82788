"""runtime.salesforceChanges.topic: a custom channel it names is what the stack creates; a name Salesforce would
refuse, or a topic that is no change event channel, is reported at the topic's path with what to write."""

from __future__ import annotations

from typing import Any

from presence_sync.spec.change_event_channel import ChangeEventChannel
from presence_sync.spec.models import SalesforceChanges

from .conftest import Validate


def test_the_standard_topic_needs_no_channel_of_ours() -> None:
    assert SalesforceChanges().custom_channel() is None


def test_a_custom_topic_names_the_channel_the_stack_creates() -> None:
    changes = SalesforceChanges.model_validate({"topic": "/data/Presence_Sync__chn", "adoptChannel": True})

    assert changes.custom_channel() == ChangeEventChannel(
        name="Presence_Sync__chn", label="Presence_Sync", selected_entity="UserServicePresenceChangeEvent", adopt=True
    )
    assert ChangeEventChannel.for_topic(changes.topic) is not None


def test_a_channel_name_salesforce_would_refuse_is_reported_at_the_topic(
    spec_data: dict[str, Any], problem_at: Any
) -> None:
    for topic in ("/data/Presence__Sync__chn", "/data/Presence___chn", "/data/1Presence__chn"):
        spec_data["runtime"] = {"salesforceChanges": {"topic": topic}}
        problem = problem_at(spec_data, "runtime.salesforceChanges.topic")
        assert "names a custom channel whose name is not a developer name" in problem.message, topic
        assert problem.hint and "/data/Presence_Sync__chn" in problem.hint


def test_a_topic_that_is_no_change_event_channel_is_reported(spec_data: dict[str, Any], validate: Validate) -> None:
    spec_data["runtime"] = {"salesforceChanges": {"topic": "/event/Presence__chn"}}
    [problem] = validate(spec_data)
    assert problem.path == "runtime.salesforceChanges.topic"
    assert problem.message == (
        "topic '/event/Presence__chn' is neither the standard channel nor a custom channel /data/<Name>__chn"
    )
