"""The Salesforce-side bridge (``salesforce/bridge/``) as a Metadata API deploy zip: ``bridge_package()``.

It lives here, next to ``render.py``, because it is the same kind of thing -- a generated, deterministic artifact
the ``SyncRuntime`` resource deploys, with a digest `pulumi preview` shows -- and because ``salesforce/`` is not a
Python package (the project's package list does not include it), so code there could not be imported by the
provider process.

The zip holds ``package.xml`` at its root and the folders it names (``objects classes lwc aura``), not the
node tests, ``package.json`` or the README. Entries are sorted, with a fixed timestamp and mode, so the same
files always make the same bytes; ``digest`` is over (path, content) pairs, independent of zip internals.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BRIDGE_DIR", "METADATA_FOLDERS", "BridgePackage", "bridge_package"]

BRIDGE_DIR = Path(__file__).resolve().parents[1] / "salesforce" / "bridge"
METADATA_FOLDERS = ("aura", "classes", "lwc", "objects")
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold


@dataclass(frozen=True)
class BridgePackage:
    files: dict[str, bytes]  # path in the zip -> content, sorted by path
    digest: str
    zip_bytes: bytes


def bridge_package(root: Path = BRIDGE_DIR) -> BridgePackage:
    """The bridge folder at ``root`` as a deterministic deploy zip. FileNotFoundError without package.xml."""
    files = {"package.xml": (root / "package.xml").read_bytes()}
    for folder in METADATA_FOLDERS:
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                files[path.relative_to(root).as_posix()] = path.read_bytes()
    files = dict(sorted(files.items()))
    digest = hashlib.sha256()
    for name, content in files.items():
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever machine builds it
            archive.writestr(info, content, compresslevel=9)
    return BridgePackage(files, f"sha256:{digest.hexdigest()}", buffer.getvalue())
