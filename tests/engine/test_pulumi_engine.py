"""How `make setup` finds or builds the Pulumi CLI (engine/pulumi_engine.py)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "engine"))
import pulumi_engine as engine

REPO_ROOT = Path(__file__).resolve().parents[2]


def fake_pulumi(directory: Path, version: str, *, with_language_host: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    cli = directory / "pulumi"
    cli.write_text(f"#!/bin/sh\necho v{version}\n")
    cli.chmod(cli.stat().st_mode | stat.S_IXUSR)
    if with_language_host:
        host = directory / "pulumi-language-python"
        host.write_text("#!/bin/sh\n")
        host.chmod(host.stat().st_mode | stat.S_IXUSR)
    return directory


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v3.260.0", (3, 260, 0)),
        ("3.274.1-dev.0", (3, 274, 1)),
        ("pulumi version v3.9.12\n", (3, 9, 12)),
        ("no version here", None),
    ],
)
def test_versions_are_read_from_what_pulumi_version_prints(text: str, expected: tuple[int, int, int] | None) -> None:
    assert engine.parse_version(text) == expected


def test_cache_lives_outside_the_repository_and_follows_the_environment() -> None:
    assert engine.cache_root({"PRESENCE_SYNC_CACHE": "/x/cache", "HOME": "/h"}) == Path("/x/cache")
    assert engine.cache_root({"XDG_CACHE_HOME": "/xdg", "HOME": "/h"}) == Path("/xdg/presence-sync")
    assert engine.cache_root({"HOME": "/h"}) == Path("/h/.cache/presence-sync")
    bin_dir = engine.cached_bin_dir({"HOME": "/h"})
    assert bin_dir == Path(f"/h/.cache/presence-sync/pulumi/{engine.PULUMI_VERSION}/bin")


def test_an_installed_cli_that_is_new_enough_is_used(tmp_path: Path) -> None:
    directory = fake_pulumi(tmp_path / "bin", "3.300.0")
    found = engine.installed_pulumi(str(directory))
    assert found == (directory.resolve(), (3, 300, 0))


def test_an_installed_cli_older_than_the_minimum_is_ignored(tmp_path: Path) -> None:
    directory = fake_pulumi(tmp_path / "bin", "3.100.0")
    assert engine.installed_pulumi(str(directory)) is None


def test_an_installed_cli_without_a_python_language_host_is_ignored(tmp_path: Path) -> None:
    directory = fake_pulumi(tmp_path / "bin", "3.300.0", with_language_host=False)
    assert engine.installed_pulumi(str(directory)) is None


def test_no_cli_on_path_means_none_found(tmp_path: Path) -> None:
    assert engine.installed_pulumi(str(tmp_path)) is None


def test_a_cached_build_counts_only_when_complete_and_made_from_the_current_pins(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in engine.REQUIRED_FILES:
        (bin_dir / name).write_text("")
    assert not engine.is_complete(bin_dir), "no marker: an interrupted build"

    (bin_dir / engine.COMPLETE_MARKER).write_text(json.dumps(engine.build_manifest()))
    assert engine.is_complete(bin_dir)

    stale = {**engine.build_manifest(), "pulumi": "3.1.0"}
    (bin_dir / engine.COMPLETE_MARKER).write_text(json.dumps(stale))
    assert not engine.is_complete(bin_dir), "built from other pins: rebuild"

    (bin_dir / engine.COMPLETE_MARKER).write_text(json.dumps(engine.build_manifest()))
    (bin_dir / "pulumi-resource-pulumi-python").unlink()
    assert not engine.is_complete(bin_dir), "a missing piece: rebuild"


def test_without_go_and_without_a_cli_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PRESENCE_SYNC_CACHE", str(tmp_path / "cache"))
    with pytest.raises(engine.EngineError, match="Install Go"):
        engine.ensure(log=lambda _message: None)


def test_the_python_sdk_pin_matches_the_cli_minor_version() -> None:
    lock = (REPO_ROOT / "requirements.lock").read_text()
    sdk_pin = next(line for line in lock.splitlines() if line.startswith("pulumi=="))
    assert engine.parse_version(sdk_pin)[:2] == engine.parse_version(engine.PULUMI_VERSION)[:2]


def test_make_pulumi_version_prints_the_version_the_targets_use() -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "pulumi-version"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ},
        check=True,
    )
    version = engine.parse_version(result.stdout)
    minimum = engine.parse_version(engine.MIN_VERSION)
    assert version is not None and minimum is not None and version >= minimum


def test_builds_never_add_to_go_sum() -> None:
    """`-mod=readonly`: a module or checksum missing from the checked-in go.sum fails the build, never lands in it."""
    env = engine.build_environment({"GOFLAGS": "-mod=mod", "PATH": "/usr/bin"})
    assert env["GOFLAGS"] == "-mod=readonly", "the caller's GOFLAGS must not bring -mod=mod back"
    assert env["PATH"] == "/usr/bin" and env["CGO_ENABLED"] == "0"
    source = (REPO_ROOT / "engine" / "pulumi_engine.py").read_text()
    assert "-mod=mod" not in source.replace("a stray ``-mod=mod``", "")
    assert "env = build_environment(os.environ)" in source


def test_the_go_modules_have_a_checked_in_go_sum() -> None:
    for module in ("cli", "langhost"):
        go_sum = REPO_ROOT / "engine" / module / "go.sum"
        lines = go_sum.read_text().splitlines()
        assert lines and all(line.count(" ") == 2 and " h1:" in line for line in lines), go_sum
