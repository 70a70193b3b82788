"""The custom change event channel a spec's runtime topic names, through its whole life on the real engine and the
sandbox: created by `up` (the channel and its UserServicePresenceChangeEvent member, by deploy), nothing to do on
the next preview or refresh, a member removed by hand found as drift and put back, adoptChannel no change, and the
channel and its member gone after destroy."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import resources.stack
from tests.support import vendors
from tests.support.spec_stack import changes, spec_stack
from tests.support.specs import SEED_SPEC

pytestmark = pytest.mark.pulumi

CHANNEL = "PresenceSync__chn"
MEMBER = "PresenceSync_chn_UserServicePresenceChangeEvent"
CHANNEL_SPEC = SEED_SPEC.rstrip("\n") + f"\n  salesforceChanges:\n    topic: /data/{CHANNEL}\n"


@pytest.fixture
def stack(tmp_path: Path, engine_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    assert SEED_SPEC.rstrip("\n").splitlines()[-1].startswith("  "), "the seed spec no longer ends with runtime:"
    monkeypatch.setattr(resources.stack, "runtime_available", lambda: False)  # this kind's life, not the runtime's
    channel = spec_stack(name="chn", work_dir=tmp_path, spec_text=CHANNEL_SPEC, env=engine_env)
    yield channel
    channel.close()


def live(sandbox: Any) -> tuple[Any, Any]:
    mdapi: Any = vendors.salesforce(sandbox.env).mdapi
    return mdapi.PlatformEventChannel.read(CHANNEL), mdapi.PlatformEventChannelMember.read(MEMBER)


def manifest(types: str = "") -> str:
    return f'<Package xmlns="http://soap.sforce.com/2006/04/metadata">{types}<version>62.0</version></Package>'


def remove_member_by_hand(sandbox: Any) -> None:
    """What an admin's destructive deploy of the member alone does."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("package.xml", manifest())
        member = f"<types><members>{MEMBER}</members><name>PlatformEventChannelMember</name></types>"
        archive.writestr("destructiveChanges.xml", manifest(member))
    buffer.seek(0)
    sf = vendors.salesforce(sandbox.env)
    assert sf.checkDeployStatus(str(sf.deploy(buffer, sandbox=False)["asyncId"]))["state"] == "Succeeded"


def test_change_event_channel_lifecycle(stack: Any, sandbox: Any) -> None:
    assert changes(stack.preview().change_summary)["create"] >= 1
    stack.up()
    channel, member = live(sandbox)
    assert (channel.channelType, channel.label) == ("data", "PresenceSync")
    assert (member.eventChannel, member.selectedEntity) == (CHANNEL, "UserServicePresenceChangeEvent")
    assert stack.outputs()["changeEventTopic"] == f"/data/{CHANNEL}"
    assert changes(stack.preview().change_summary) == {}
    assert changes(stack.preview(refresh=True).change_summary) == {}

    remove_member_by_hand(sandbox)
    assert changes(stack.refresh().summary.resource_changes) == {"update": 1}
    stack.up()
    assert live(sandbox)[1].selectedEntity == "UserServicePresenceChangeEvent"

    stack.edit_spec(f"topic: /data/{CHANNEL}", f"topic: /data/{CHANNEL}\n    adoptChannel: false")
    assert changes(stack.preview().change_summary) == {}  # adopt is bookkeeping, never a change

    stack.destroy()
    assert live(sandbox)[0].fullName is None and live(sandbox)[1].fullName is None
