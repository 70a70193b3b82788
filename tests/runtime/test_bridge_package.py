"""``runtime.bridge.bridge_package``: salesforce/bridge as a deterministic Metadata API deploy zip."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

from runtime.bridge import BRIDGE_DIR, bridge_package


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
