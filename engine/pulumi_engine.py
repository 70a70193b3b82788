"""Make a Pulumi CLI of the pinned version available, building it from Go modules when needed.

Usage (standard library only: this runs before the project's virtualenv exists):

    python3 engine/pulumi_engine.py ensure    # find or build; prints the bin directory to put on PATH
    python3 engine/pulumi_engine.py bin-dir   # where the CLI is or will be, without building
    python3 engine/pulumi_engine.py version   # the version of the CLI that `ensure` provides

Order of preference:
1. a `pulumi` on PATH whose version is at least MIN_VERSION and that has a Python language host beside it;
2. a complete build in the cache (``$PRESENCE_SYNC_CACHE``, else ``$XDG_CACHE_HOME/presence-sync``, else
   ``~/.cache/presence-sync``), under ``pulumi/<PULUMI_VERSION>/bin``;
3. a fresh build into that cache with the Go toolchain and the Go module proxy (no vendor downloads).

What a build installs (see engine/README.md for why each piece is there):
- ``pulumi``: ``github.com/pulumi/pulumi/pkg/v3/cmd/pulumi`` at PULUMI_VERSION, through the wrapper module in
  ``engine/cli`` (pulumi's own go.mod has ``replace`` directives, which ``go install mod@version`` refuses);
- ``pulumi-language-python-legacy`` + the ``pulumi-language-python`` wrapper script: the Python language host;
- ``pulumi-language-python-exec`` and ``pulumi-resource-pulumi-python`` (the dynamic provider plugin): the two
  scripts shipped in the ``sdk/v3`` module at PULUMI_VERSION.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

PULUMI_VERSION = "3.260.0"
"""The CLI we build. pyproject.toml pins the Python SDK (`pulumi` on PyPI) to the same version."""

MIN_VERSION = "3.260.0"
"""An installed CLI older than this is not used: the SDK pin expects an engine at least this new."""

LANGUAGE_HOST_SDK_VERSION = "3.79.0"
"""The last sdk/v3 release whose module still contains the Python language host's main package."""

ENGINE_DIR = Path(__file__).resolve().parent
CLI_MODULE_DIR = ENGINE_DIR / "cli"
LANGHOST_MODULE_DIR = ENGINE_DIR / "langhost"
LANGHOST_WRAPPER = ENGINE_DIR / "pulumi-language-python.sh"

CLI_PACKAGE = "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
LANGHOST_PACKAGE = "github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python"
SDK_MODULE = "github.com/pulumi/pulumi/sdk/v3"
VERSION_VARIABLE = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"

COMPLETE_MARKER = ".complete"
REQUIRED_FILES = (
    "pulumi",
    "pulumi-language-python",
    "pulumi-language-python-legacy",
    "pulumi-language-python-exec",
    "pulumi-resource-pulumi-python",
)


class EngineError(RuntimeError):
    """The engine could not be found or built; the message says what to do."""


def parse_version(text: str) -> tuple[int, int, int] | None:
    """`v3.260.0`, `3.260.0-dev.0` or `pulumi version v3.1.2` -> (3, 260, 0); None when there is none."""
    match = re.search(r"v?(\d+)\.(\d+)\.(\d+)", text)
    if not match:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def cache_root(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("PRESENCE_SYNC_CACHE"):
        return Path(env["PRESENCE_SYNC_CACHE"]).expanduser()
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser() / "presence-sync"
    return Path(env.get("HOME", str(Path.home()))).expanduser() / ".cache" / "presence-sync"


def cached_bin_dir(environ: dict[str, str] | None = None) -> Path:
    return cache_root(environ) / "pulumi" / PULUMI_VERSION / "bin"


def build_manifest() -> dict[str, str]:
    """What a cached build was made from; a change to any of it makes the cache stale."""
    return {
        "pulumi": PULUMI_VERSION,
        "language_host_sdk": LANGUAGE_HOST_SDK_VERSION,
        "cli_go_sum": _digest(CLI_MODULE_DIR / "go.sum"),
        "langhost_go_sum": _digest(LANGHOST_MODULE_DIR / "go.sum"),
        "wrapper": _digest(LANGHOST_WRAPPER),
    }


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def is_complete(bin_dir: Path) -> bool:
    marker = bin_dir / COMPLETE_MARKER
    if not marker.is_file() or not all((bin_dir / name).is_file() for name in REQUIRED_FILES):
        return False
    try:
        return bool(json.loads(marker.read_text()) == build_manifest())
    except (ValueError, OSError):
        return False


def installed_pulumi(path_env: str | None = None) -> tuple[Path, tuple[int, int, int]] | None:
    """A `pulumi` on PATH that is new enough and has a Python language host; else None."""
    search_path = os.environ.get("PATH", "") if path_env is None else path_env
    found = shutil.which("pulumi", path=search_path)
    if not found:
        return None
    try:
        output = subprocess.run([found, "version"], capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    version = parse_version(output)
    minimum = parse_version(MIN_VERSION)
    if version is None or minimum is None or version < minimum:
        return None
    bin_dir = Path(found).resolve().parent
    has_langhost = (bin_dir / "pulumi-language-python").exists() or shutil.which(
        "pulumi-language-python", path=search_path
    )
    return (bin_dir, version) if has_langhost else None


def bin_dir() -> Path:
    """Where the CLI that the Makefile uses lives (or will live once `ensure` has built it)."""
    found = installed_pulumi(_path_without(cached_bin_dir()))
    return found[0] if found else cached_bin_dir()


def _path_without(directory: Path) -> str:
    """PATH minus our own cache, so that discovery does not mistake our build for an installed CLI."""
    parts = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(p for p in parts if p and Path(p).resolve() != directory.resolve())


def ensure(log: Callable[[str], object] = print) -> Path:
    found = installed_pulumi(_path_without(cached_bin_dir()))
    if found:
        log(f"engine: using the installed Pulumi CLI v{'.'.join(map(str, found[1]))} in {found[0]}")
        return found[0]
    target = cached_bin_dir()
    if is_complete(target):
        log(f"engine: using the cached Pulumi CLI v{PULUMI_VERSION} in {target}")
        return target
    build(target, log=log)
    return target


def build(target: Path, log: Callable[[str], object] = print) -> None:
    go = shutil.which("go")
    if not go:
        raise EngineError(
            "No `pulumi` (>= v" + MIN_VERSION + ") on PATH and no Go toolchain to build one. "
            "Install Go 1.24+ (it builds the pinned CLI from the Go module proxy) or put a Pulumi CLI on PATH."
        )
    started = time.monotonic()
    staging = target.parent / "bin.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    env = build_environment(os.environ)
    log(f"engine: building the Pulumi CLI v{PULUMI_VERSION} from Go modules (once; a few minutes)")
    _go_build(go, CLI_MODULE_DIR, CLI_PACKAGE, staging / "pulumi", f"v{PULUMI_VERSION}", env)
    log(f"engine: building the Python language host (sdk/v3 v{LANGUAGE_HOST_SDK_VERSION})")
    _go_build(
        go,
        LANGHOST_MODULE_DIR,
        LANGHOST_PACKAGE,
        staging / "pulumi-language-python-legacy",
        f"v{LANGUAGE_HOST_SDK_VERSION}",
        env,
    )
    _install_executable(LANGHOST_WRAPPER, staging / "pulumi-language-python")
    sdk_dir = _module_dir(go, f"{SDK_MODULE}@v{PULUMI_VERSION}", env)
    _install_executable(sdk_dir / "python" / "cmd" / "pulumi-language-python-exec", staging)
    _install_executable(sdk_dir / "python" / "dist" / "pulumi-resource-pulumi-python", staging)
    (staging / COMPLETE_MARKER).write_text(json.dumps(build_manifest()))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)  # all or nothing: a half-built cache is never mistaken for a complete one
    log(f"engine: built in {time.monotonic() - started:.0f}s into {target}")


def build_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The Go toolchain's environment for a build: the checked-in go.sum is the whole truth.

    ``-mod=readonly`` makes the build fail instead of adding a module or a checksum that go.sum does not
    already hold, so what is built is exactly what was reviewed; every download is still checked against
    go.sum. The caller's own GOFLAGS are replaced, not extended, so a stray ``-mod=mod`` cannot come back.
    """
    return {**environ, "GOFLAGS": "-mod=readonly", "CGO_ENABLED": "0"}


def _go_build(go: str, module_dir: Path, package: str, output: Path, version: str, env: dict[str, str]) -> None:
    ldflags = f"-s -w -X {VERSION_VARIABLE}={version}"
    command = [go, "build", "-trimpath", "-ldflags", ldflags, "-o", str(output), package]
    result = subprocess.run(command, cwd=module_dir, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise EngineError(
            f"`{' '.join(command)}` failed in {module_dir}:\n{result.stderr.strip()}\n"
            "Check that the Go module proxy is reachable (GOPROXY) and serves the versions in go.mod."
        )


def _module_dir(go: str, module: str, env: dict[str, str]) -> Path:
    result = subprocess.run(
        [go, "mod", "download", "-json", module], cwd=CLI_MODULE_DIR, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise EngineError(f"`go mod download {module}` failed:\n{result.stdout}{result.stderr}")
    return Path(json.loads(result.stdout)["Dir"])


def _install_executable(source: Path, destination: Path) -> None:
    # Module cache files are read-only; copy them and set the run bit.
    target = destination / source.name if destination.is_dir() else destination
    shutil.copyfile(source, target)
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | stat.S_IWUSR)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "ensure"
    try:
        if command == "ensure":
            print(ensure(log=lambda message: print(message, file=sys.stderr)))
        elif command == "bin-dir":
            print(bin_dir())
        elif command == "version":
            print(PULUMI_VERSION)
        else:
            print(f"usage: {Path(sys.argv[0]).name} ensure|bin-dir|version", file=sys.stderr)
            return 2
    except EngineError as error:
        print(f"engine: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
