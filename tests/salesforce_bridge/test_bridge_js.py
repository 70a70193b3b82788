"""The Lightning bridge's logic (salesforce/bridge/lwc/omniPresenceBridge/bridgeLogic.js) under node's own
test runner, so `make test` covers the JavaScript too; and its metadata is well-formed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from defusedxml import ElementTree

REPO_ROOT = Path(__file__).resolve().parents[2]
BRIDGE = REPO_ROOT / "salesforce" / "bridge"
MD = "{http://soap.sforce.com/2006/04/metadata}"


def test_bridge_logic_passes_node_test() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (v18 or newer) is needed for the Lightning bridge's tests: install Node.js")
    result = subprocess.run(
        [node, "--test", "salesforce/bridge/test/"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout


def test_the_command_event_has_the_fields_the_runtime_publishes() -> None:
    root = ElementTree.parse(BRIDGE / "objects" / "Omni_Presence_Command__e.object").getroot()
    assert root.tag == f"{MD}CustomObject"
    assert root.findtext(f"{MD}eventType") == "HighVolume"
    fields = {f.findtext(f"{MD}fullName"): f.findtext(f"{MD}type") for f in root.findall(f"{MD}fields")}
    assert fields == {"UserId__c": "Text", "StatusId__c": "Text", "CommandId__c": "Text"}


def test_every_metadata_file_parses_and_the_manifest_lists_the_bundles() -> None:
    for path in [*BRIDGE.rglob("*.xml"), *BRIDGE.rglob("*.object")]:  # .cmp is Aura markup, not namespaced XML
        ElementTree.parse(path)  # raises on malformed XML
    manifest = (BRIDGE / "package.xml").read_text()
    for member in (
        "omniPresenceBridge",
        "omniPresenceBridgeUtility",
        "OmniPresenceBridgeController",
        "Omni_Presence_Command__e",
        "Omni_Presence_Result__e",
    ):
        assert f"<members>{member}</members>" in manifest
