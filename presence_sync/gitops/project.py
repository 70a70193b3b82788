"""Where the Pulumi project is and what a stack's settings file says: what `plan`, `drift` and `export` all need
(in a module of its own, so none of them imports another for it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["project_dir", "stack_settings"]


def project_dir(cwd: str | None) -> Path:
    """--cwd, or the nearest directory upwards from here with a Pulumi.yaml."""
    if cwd:
        return Path(cwd).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "Pulumi.yaml").exists():
            return candidate
    return here


def stack_settings(work_dir: Path, stack: str) -> dict[str, Any]:
    """The stack's settings file (Pulumi.<stack>.yaml, in the project's stackConfigDir) as data, or {}."""
    project = yaml.safe_load((work_dir / "Pulumi.yaml").read_text()) if (work_dir / "Pulumi.yaml").exists() else {}
    config_dir = work_dir / str((project or {}).get("stackConfigDir") or ".")
    path = config_dir / f"Pulumi.{stack}.yaml"
    return (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}
