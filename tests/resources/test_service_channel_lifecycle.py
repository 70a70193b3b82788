"""A service channel the spec manages, through its whole life on the real engine and the sandbox: created before
the status that names it (whose check, in the first preview, waits for it), one field changed and only that
field previewed, no drift on refresh, a hand change found as drift and put right, and gone after destroy (the
status first: the org keeps a channel a status uses)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import resources.stack
from tests.resources.test_resource_lifecycles import changed_properties
from tests.support import vendors
from tests.support.spec_stack import changes, spec_stack
from tests.support.specs import SEED_SPEC

pytestmark = pytest.mark.pulumi

CHANNEL_SPEC = SEED_SPEC.replace(
    "salesforce:\n  statuses:\n",
    "salesforce:\n"
    "  serviceChannels:\n"
    "    - developerName: Leads\n"
    "      label: Sales leads\n"
    "      relatedEntity: Lead\n"
    "  statuses:\n"
    "    - label: Available for Leads\n"
    "      kind: online\n"
    "      channels: [Leads, Case]\n",
)


@pytest.fixture
def stack(tmp_path: Path, engine_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    assert CHANNEL_SPEC != SEED_SPEC, "the seed spec's layout changed: place the channel again"
    monkeypatch.setattr(resources.stack, "runtime_available", lambda: False)  # this kind's life, not the runtime's
    channels = spec_stack(name="channels", work_dir=tmp_path, spec_text=CHANNEL_SPEC, env=engine_env)
    yield channels
    channels.close()


def live_channel(sandbox: Any) -> dict[str, Any] | None:
    sf = vendors.salesforce(sandbox.env)
    rows = sf.query("SELECT Id, MasterLabel, RelatedEntity FROM ServiceChannel WHERE DeveloperName = 'Leads'")
    return rows["records"][0] if rows["records"] else None


def test_service_channel_lifecycle(stack: Any, sandbox: Any) -> None:
    first = stack.preview()
    assert changes(first.change_summary)["create"] >= 2  # the channel and the status that names it
    stack.up()
    channel = live_channel(sandbox)
    assert channel is not None and (channel["MasterLabel"], channel["RelatedEntity"]) == ("Sales leads", "Lead")
    sf = vendors.salesforce(sandbox.env)
    linked = sf.query(
        "SELECT ServiceChannel.DeveloperName FROM ServiceChannelStatus "
        "WHERE ServicePresenceStatus.DeveloperName = 'Available_for_Leads'"
    )["records"]
    assert sorted(r["ServiceChannel"]["DeveloperName"] for r in linked) == ["Case", "Leads"]

    stack.edit_spec("label: Sales leads", "label: Leads (EU)")
    preview = stack.preview()
    assert changes(preview.change_summary) == {"update": 1}
    assert changed_properties(preview.stdout) == {"label"}
    stack.up()
    assert (live_channel(sandbox) or {}).get("MasterLabel") == "Leads (EU)"
    assert changes(stack.preview(refresh=True).change_summary) == {}

    mdapi: Any = sf.mdapi
    mdapi.ServiceChannel.update([mdapi.ServiceChannel(fullName="Leads", label="By hand", relatedEntityType="Lead")])
    assert changes(stack.refresh().summary.resource_changes) == {"update": 1}
    stack.up()
    assert (live_channel(sandbox) or {}).get("MasterLabel") == "Leads (EU)"

    stack.destroy()
    assert live_channel(sandbox) is None
