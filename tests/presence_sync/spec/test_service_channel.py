"""salesforce.serviceChannels: a channel the spec manages, its checks, and statuses that name it."""

from __future__ import annotations

from presence_sync.spec.checks import check_salesforce
from presence_sync.spec.models import SalesforceSpec
from tests.support.specs import SEED_SPEC


def salesforce(**changes: object) -> SalesforceSpec:
    import yaml

    section = yaml.safe_load(SEED_SPEC)["salesforce"]
    return SalesforceSpec.model_validate({**section, **changes})


def messages(sf: SalesforceSpec) -> dict[tuple[str | int, ...], str]:
    return {issue.path: issue.message for issue in check_salesforce(sf, sandbox=True)}


def test_a_managed_channel_is_one_a_status_may_name() -> None:
    sf = salesforce(serviceChannels=[{"developerName": "Leads", "label": "Leads", "relatedEntity": "Lead"}])
    assert messages(sf) == {}
    assert sf.planned_channel_names() == {"Leads"}


def test_names_labels_and_objects_are_checked_where_they_are() -> None:
    sf = salesforce(
        serviceChannels=[
            {"developerName": "Leads__x", "label": " ", "relatedEntity": "Lead"},
            {"developerName": "Leads2", "label": "Leads", "relatedEntity": "not an object"},
        ]
    )
    found = messages(sf)
    assert ("salesforce", "serviceChannels", 0, "developerName") in found
    assert found[("salesforce", "serviceChannels", 0, "label")] == "label is empty"
    assert "is not an object's API name" in found[("salesforce", "serviceChannels", 1, "relatedEntity")]


def test_one_channel_per_object_and_per_name() -> None:
    channel = {"developerName": "Leads", "label": "Leads", "relatedEntity": "Lead"}
    same_object, same_name = {**channel, "developerName": "Leads2"}, {**channel, "relatedEntity": "X"}
    sf = salesforce(serviceChannels=[channel, same_object, same_name])
    found = messages(sf)
    assert "object 'Lead' has a second channel" in found[("salesforce", "serviceChannels", 1, "relatedEntity")]
    assert "developer name 'Leads' has a second" in found[("salesforce", "serviceChannels", 2, "developerName")]
