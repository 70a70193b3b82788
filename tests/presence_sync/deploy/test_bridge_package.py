"""``presence_sync.deploy.bridge``: salesforce/bridge as a deterministic Metadata API deploy zip, and the zip that
removes it."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

from presence_sync.deploy.bridge import (
    BRIDGE_DIR,
    bridge_package,
    bridge_removal_package,
    bridge_test_classes,
    manifest_members,
)


def test_the_zip_is_deterministic_sorted_and_holds_only_the_metadata() -> None:
    first, second = bridge_package(), bridge_package()
    assert first.zip_bytes == second.zip_bytes and first.digest == second.digest
    with zipfile.ZipFile(io.BytesIO(first.zip_bytes)) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        assert names == sorted(names)
        assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert archive.read("package.xml") == (BRIDGE_DIR / "package.xml").read_bytes()
    assert "package.xml" in names and "classes/OmniPresenceBridgeController.cls" in names
    assert {
        "classes/OmniPresenceBridgeControllerTest.cls",
        "classes/OmniPresenceBridgeControllerTest.cls-meta.xml",
    } <= set(names), "production orgs run the bridge's Apex test on deploy"
    assert "objects/Omni_Presence_Command__e.object" in names
    assert not any(n.startswith("test/") or n in ("package.json", "README.md") for n in names)


def test_a_changed_component_changes_the_digest(tmp_path: Path) -> None:
    copy = tmp_path / "bridge"
    shutil.copytree(BRIDGE_DIR, copy)
    assert bridge_package(copy).digest == bridge_package().digest, "independent of where the folder is"
    (copy / "test" / "bridgeLogic.test.js").write_text("// not deployed")
    assert bridge_package(copy).digest == bridge_package().digest
    path = copy / "lwc" / "omniPresenceBridge" / "bridgeLogic.js"
    path.write_text(path.read_text() + "\n// changed\n")
    assert bridge_package(copy).digest != bridge_package().digest


def test_the_test_class_is_in_the_manifest_at_the_class_s_api_version() -> None:
    blocks, _version = manifest_members((BRIDGE_DIR / "package.xml").read_bytes())
    assert dict(blocks)["ApexClass"] == ["OmniPresenceBridgeController", "OmniPresenceBridgeControllerTest"]
    meta = BRIDGE_DIR / "classes"
    assert (meta / "OmniPresenceBridgeControllerTest.cls-meta.xml").read_text() == (
        meta / "OmniPresenceBridgeController.cls-meta.xml"
    ).read_text()
    assert bridge_test_classes() == ["OmniPresenceBridgeControllerTest"], "only @IsTest classes are run as tests"


def unzipped(zip_bytes: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_the_removal_zip_deletes_exactly_what_package_xml_deploys() -> None:
    files = unzipped(bridge_removal_package().zip_bytes)

    assert list(files) == ["destructiveChanges.xml", "package.xml"], "nothing else: no component is deployed"
    deployed, version = manifest_members((BRIDGE_DIR / "package.xml").read_bytes())
    assert manifest_members(files["destructiveChanges.xml"]) == (deployed, version)
    assert manifest_members(files["package.xml"]) == ([], version)
    assert dict(deployed) == {
        "ApexClass": ["OmniPresenceBridgeController", "OmniPresenceBridgeControllerTest"],
        "AuraDefinitionBundle": ["omniPresenceBridgeUtility"],
        "CustomObject": ["Omni_Presence_Command__e", "Omni_Presence_Result__e"],
        "LightningComponentBundle": ["omniPresenceBridge"],
    }


def test_the_removal_zip_is_deterministic_and_follows_package_xml(tmp_path: Path) -> None:
    first, second = bridge_removal_package(), bridge_removal_package()
    assert first.zip_bytes == second.zip_bytes and first.digest == second.digest
    with zipfile.ZipFile(io.BytesIO(first.zip_bytes)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}

    copy = tmp_path / "bridge"
    shutil.copytree(BRIDGE_DIR, copy)
    manifest = copy / "package.xml"
    manifest.write_text(
        manifest.read_text().replace(
            "<members>omniPresenceBridge</members>", "<members>omniPresenceBridge</members>\n<members>another</members>"
        )
    )
    changed = unzipped(bridge_removal_package(copy).zip_bytes)["destructiveChanges.xml"]
    assert dict(manifest_members(changed)[0])["LightningComponentBundle"] == ["omniPresenceBridge", "another"]
