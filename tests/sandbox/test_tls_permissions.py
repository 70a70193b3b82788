"""Files holding secrets are 0600 from their first byte and their folders 0700: the sandbox's key and connection
files, and the folders `make demo` uses (`.sandbox/`, `.state/`)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox import cli
from sandbox.tls import ensure_certificates, private_dir, write_private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def wide_umask() -> Iterator[None]:
    """The worst case: a process whose umask narrows nothing (files would be 0666, folders 0777)."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_a_private_file_is_created_0600_and_never_exists_wider(
    tmp_path: Path, wide_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "server.key"
    target.write_text("old, world-readable")
    target.chmod(0o644)
    opened: list[tuple[str, int, int]] = []
    real_open = os.open

    def recording_open(path: Any, flags: int, mode: int = 0o777, *args: Any, **kwargs: Any) -> int:
        fd = real_open(path, flags, mode, *args, **kwargs)
        opened.append((str(path), flags, stat.S_IMODE(os.fstat(fd).st_mode)))
        return fd

    monkeypatch.setattr(os, "open", recording_open)
    write_private(target, b"-----BEGIN PRIVATE KEY-----\n")
    monkeypatch.undo()

    assert target.read_bytes() == b"-----BEGIN PRIVATE KEY-----\n"
    assert mode(target) == 0o600
    ((path, flags, created_mode),) = opened
    assert path != str(target), "written beside it and renamed over it, not truncated in place"
    assert flags & os.O_CREAT and flags & os.O_EXCL, "a new file, so the mode given is the mode it gets"
    assert created_mode == 0o600, "0600 at the moment it was created, before any byte"
    assert [p.name for p in tmp_path.iterdir()] == ["server.key"], "no temporary file left"


def test_the_certificates_and_their_folder_are_private(tmp_path: Path, wide_umask: None) -> None:
    data_dir = tmp_path / "data"
    paths = ensure_certificates(data_dir)
    assert mode(data_dir) == 0o700
    assert {p.name: mode(p) for p in data_dir.iterdir()} == {"ca.pem": 0o600, "server.pem": 0o600, "server.key": 0o600}
    assert b"PRIVATE KEY" in paths.key.read_bytes() and b"CERTIFICATE" in paths.cert.read_bytes()

    data_dir.chmod(0o755)
    paths.key.chmod(0o644)  # as an older version left them
    ensure_certificates(data_dir)
    assert (mode(data_dir), mode(paths.key)) == (0o700, 0o600)


def test_serve_makes_every_file_the_sandbox_writes_private(
    tmp_path: Path, wide_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sandbox.server

    data_dir = tmp_path / ".sandbox"
    data_dir.mkdir(mode=0o755)
    (data_dir / "connection.json").write_text("{}")  # from an older version: 0666 under this umask
    seen: dict[str, int] = {}

    def fake_run(config: Any) -> int:
        (config.data_dir / "sandbox.env").write_text("export SF_CLIENT_SECRET=x\n")  # a plain write, as server.py's
        (config.data_dir / "store").mkdir()
        seen["umask"] = os.umask(0o077)
        return 0

    monkeypatch.setattr(sandbox.server, "run", fake_run)
    assert cli.main(["serve", "--data-dir", str(data_dir)]) == 0
    assert seen["umask"] == 0o077
    assert mode(data_dir) == 0o700
    assert {p.name: mode(p) for p in data_dir.iterdir()} == {
        "connection.json": 0o600,
        "sandbox.env": 0o600,
        "store": 0o700,
    }


def test_a_running_sandbox_s_files_are_private(sandbox: Any) -> None:
    data_dir = Path(sandbox.data_dir)
    assert mode(data_dir) == 0o700
    files = {p.relative_to(data_dir).as_posix(): mode(p) for p in data_dir.rglob("*") if p.is_file()}
    assert {"connection.json", "sandbox.env", "server.key", "ca.pem"} <= set(files)
    assert {name: m for name, m in files.items() if m != 0o600} == {}
    folders = {p.relative_to(data_dir).as_posix(): mode(p) for p in data_dir.rglob("*") if p.is_dir()}
    assert {name: m for name, m in folders.items() if m != 0o700} == {}


def test_the_demo_s_folders_are_private_and_its_children_inherit_umask_077(
    tmp_path: Path, wide_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from presence_sync import demo

    monkeypatch.setattr(demo, "SANDBOX_DIR", tmp_path / ".sandbox")
    monkeypatch.setattr(demo, "STATE_DIR", tmp_path / ".state")
    (tmp_path / ".state").mkdir(mode=0o755)
    demo.private_folders()
    assert (mode(tmp_path / ".sandbox"), mode(tmp_path / ".state")) == (0o700, 0o700)
    assert os.umask(0o077) == 0o077, "what pulumi, the sandbox and the runtime inherit"


def test_private_dir_narrows_an_existing_folder(tmp_path: Path) -> None:
    folder = tmp_path / "x"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    assert mode(private_dir(folder)) == 0o700
