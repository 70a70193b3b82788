"""The runtime on the real engine against the sandbox: `pulumi up` of the seed spec starts the local runtime
last (its /healthz answers), a config change restarts it, a killed runtime is drift on `preview --refresh` and
the next `up` restarts it, and `destroy` stops it and removes the Salesforce bridge `up` deployed."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pulumi import automation as auto

from providers.sync_runtime_local import _alive
from tests.conftest import free_port
from tests.support import vendors
from tests.support.spec_stack import SpecStack, changes, spec_stack

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED_SPEC = (REPO_ROOT / "stacks" / "sandbox.yaml").read_text()

pytestmark = pytest.mark.pulumi


@pytest.fixture
def runtime_stack(tmp_path: Path, engine_env: dict[str, str]) -> Iterator[tuple[SpecStack, int, Path]]:
    port = free_port()
    runtime_dir = tmp_path / "runtime"
    stack = spec_stack(name="runtime", work_dir=tmp_path, spec_text=SEED_SPEC, env=engine_env)
    stack.stack.set_config("presence-sync:runtimePort", auto.ConfigValue(str(port)))
    stack.stack.set_config("presence-sync:runtimeDir", auto.ConfigValue(str(runtime_dir)))
    yield stack, port, runtime_dir
    stack.close()  # never leave a runtime process behind


def healthy(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def runtime_state(stack: SpecStack) -> dict[str, Any]:
    return stack.resource_states()["runtime"]


BRIDGE_EVENTS = {"Omni_Presence_Command__e", "Omni_Presence_Result__e"}
BRIDGE_CLASSES = {"OmniPresenceBridgeController", "OmniPresenceBridgeControllerTest"}


def bridge_in_org(env: dict[str, str]) -> dict[str, set[str]]:
    """What of the bridge the org's Metadata API lists."""
    sf = vendors.salesforce(env)
    return {
        "CustomObject": vendors.listed_metadata(sf, "CustomObject") & BRIDGE_EVENTS,
        "ApexClass": vendors.listed_metadata(sf, "ApexClass") & BRIDGE_CLASSES,
        "AuraDefinitionBundle": vendors.listed_metadata(sf, "AuraDefinitionBundle") & {"omniPresenceBridgeUtility"},
        "LightningComponentBundle": vendors.listed_metadata(sf, "LightningComponentBundle") & {"omniPresenceBridge"},
    }


def test_up_starts_the_runtime_last_and_it_follows_the_spec_until_destroy(
    runtime_stack: tuple[SpecStack, int, Path], sandbox: Any
) -> None:
    stack, port, runtime_dir = runtime_stack
    result = stack.up()
    assert changes(result.summary.resource_changes or {}) == {"create": 8}  # the seed's 7 and the runtime
    assert healthy(port)
    assert bridge_in_org(sandbox.env) == {
        "CustomObject": BRIDGE_EVENTS,
        "ApexClass": BRIDGE_CLASSES,
        "AuraDefinitionBundle": {"omniPresenceBridgeUtility"},
        "LightningComponentBundle": {"omniPresenceBridge"},
    }, "up deployed the bridge"
    assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    state = runtime_state(stack)
    assert state["running"] is True and state["target"] == "local"
    assert state["digest"] == stack.outputs()["runtimeDigest"]
    config = json.loads((runtime_dir / "config.json").read_text())
    assert config["rules"][0]["name"] == "Chat agents"
    assert config["store_path"] == str(runtime_dir / "state.sqlite3")
    assert "SF_CLIENT_SECRET" not in json.dumps(state) and sandbox.env["SF_CLIENT_SECRET"] not in stack.state_text()
    assert changes(stack.preview().change_summary) == {}, "a second run changes nothing"

    # A spec change that leaves the runtime's config alone does not touch the runtime.
    stack.edit_spec("label: CXone Presence Sync", "label: CXone Presence Sync (renamed)")
    assert changes(stack.preview().change_summary) == {"update": 1}, "the OAuth app only"
    stack.edit_spec("label: CXone Presence Sync (renamed)", "label: CXone Presence Sync")

    # A config change (a spec edit) restarts the runtime on the new config: one update, the runtime's.
    first_supervisor = state["pid"]
    stack.edit_spec("pollIntervalSeconds: 2", "pollIntervalSeconds: 3")
    assert changes(stack.preview().change_summary) == {"update": 1}
    assert changes(stack.up().summary.resource_changes or {}) == {"update": 1}
    assert json.loads((runtime_dir / "config.json").read_text())["poll_interval_seconds"] == 3.0
    second_supervisor = runtime_state(stack)["pid"]
    assert second_supervisor != first_supervisor and not _alive(first_supervisor)
    assert healthy(port)

    # Killed (supervisor and service): drift on preview --refresh, and `up` starts it again.
    os.killpg(second_supervisor, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while healthy(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert changes(stack.preview(refresh=True).change_summary) == {"update": 1}
    assert changes(stack.up().summary.resource_changes or {}) == {}, "without a refresh, the state says running"
    restarted = stack.stack.up(refresh=True, on_output=lambda _line: None)
    assert changes(restarted.summary.resource_changes or {}) == {"update": 1}
    assert healthy(port) and runtime_state(stack)["running"] is True
    assert changes(stack.preview(refresh=True).change_summary) == {}

    # Destroy stops it and leaves nothing of the bridge in the org.
    last_supervisor = runtime_state(stack)["pid"]
    assert stack.destroy().summary.result == "succeeded"
    assert not _alive(last_supervisor)
    assert not healthy(port)
    assert not (runtime_dir / "supervisor.pid").exists()
    assert bridge_in_org(sandbox.env) == {
        "CustomObject": set(),
        "ApexClass": set(),
        "AuraDefinitionBundle": set(),
        "LightningComponentBundle": set(),
    }
    described = vendors.salesforce(sandbox.env).describe() or {}
    assert not BRIDGE_EVENTS & {o["name"] for o in described["sobjects"]}, "the events are no longer sObjects"
