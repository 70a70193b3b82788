"""The Salesforce-side bridge (``salesforce/bridge/``) as a Metadata API deploy zip, ``bridge_package()``, and the
zip that removes it again, ``bridge_removal_package()``.

It lives here, next to ``render.py``, because it is the same kind of thing -- a generated, deterministic artifact
the ``SyncRuntime`` resource deploys, with a digest `pulumi preview` shows -- and because ``salesforce/`` is not a
Python package (the project's package list does not include it), so code there could not be imported by the
provider process.

The zip holds ``package.xml`` at its root and the folders it names (``objects classes lwc aura``), not the
node tests, ``package.json`` or the README. Entries are sorted, with a fixed timestamp and mode, so the same
files always make the same bytes; ``digest`` is over (path, content) pairs, independent of zip internals.

The removal zip is an empty ``package.xml`` and a ``destructiveChanges.xml`` naming every component the bridge's
``package.xml`` names, derived from it (so what destroy removes cannot drift from what up deploys), and built the
same deterministic way. One destructive manifest, not Pre/Post: the package deploys nothing, so there is nothing
for the deletions to come before or after, and Salesforce resolves the references among components deleted in
the same deploy (the Aura bundle hosts the LWC, both call the Apex class, the class publishes an event).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from defusedxml.ElementTree import fromstring as parse_xml

__all__ = [
    "BRIDGE_DIR",
    "METADATA_FOLDERS",
    "BridgePackage",
    "bridge_package",
    "bridge_removal_package",
    "bridge_test_classes",
    "manifest_members",
]

BRIDGE_DIR = Path(__file__).resolve().parents[2] / "salesforce" / "bridge"
METADATA_FOLDERS = ("aura", "classes", "lwc", "objects")
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold
_MD_NS = "http://soap.sforce.com/2006/04/metadata"


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
    return _package(files)


def manifest_members(manifest: bytes) -> tuple[list[tuple[str, list[str]]], str]:
    """A package.xml's ``(type, members)`` blocks, in its order, and its API version. ValueError if it is not one."""
    root = parse_xml(manifest)
    if root.tag != f"{{{_MD_NS}}}Package":
        raise ValueError(f"not a Metadata API manifest (root {root.tag})")
    blocks = []
    for block in root.findall(f"{{{_MD_NS}}}types"):
        name = (block.findtext(f"{{{_MD_NS}}}name") or "").strip()
        members = [(m.text or "").strip() for m in block.findall(f"{{{_MD_NS}}}members")]
        blocks.append((name, members))
    return blocks, (root.findtext(f"{{{_MD_NS}}}version") or "").strip()


def bridge_removal_package(root: Path = BRIDGE_DIR) -> BridgePackage:
    """The zip whose deploy deletes every component of the bridge at ``root``: an empty package.xml (the API version
    only) and destructiveChanges.xml listing package.xml's types and members. FileNotFoundError without it."""
    blocks, version = manifest_members((root / "package.xml").read_bytes())
    types = "".join(
        "    <types>\n"
        + "".join(f"        <members>{escape(m)}</members>\n" for m in members)
        + f"        <name>{escape(name)}</name>\n    </types>\n"
        for name, members in blocks
    )
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<Package xmlns="{_MD_NS}">\n'
    tail = f"    <version>{escape(version)}</version>\n</Package>\n"
    return _package({"destructiveChanges.xml": (head + types + tail).encode(), "package.xml": (head + tail).encode()})


def bridge_test_classes(root: Path = BRIDGE_DIR) -> list[str]:
    """The bridge's Apex test classes (ApexClass members of package.xml marked @IsTest): what a deploy runs."""
    blocks, _version = manifest_members((root / "package.xml").read_bytes())
    classes = [member for name, members in blocks if name == "ApexClass" for member in members]
    return [c for c in classes if "@istest" in (root / "classes" / f"{c}.cls").read_text().lower()]


def _package(files: dict[str, bytes]) -> BridgePackage:
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
