"""A Pulumi stack that runs this project's program (resources.stack.declare) for a spec file, on the real
engine, with the providers talking to a running sandbox.

The program is inline (it runs in the test process), so tests need no stack files in the repository; the
providers still run in the engine's dynamic-provider process, exactly as in `pulumi up`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi import automation as auto

from presence_sync.spec import load_spec
from resources.stack import declare, export_outputs
from tests.conftest import free_port

PROJECT = "presence-sync-test"


@dataclass
class SpecStack:
    stack: auto.Stack
    spec_path: Path

    def write_spec(self, text: str) -> None:
        self.spec_path.write_text(text)

    def edit_spec(self, old: str, new: str) -> None:
        text = self.spec_path.read_text()
        assert old in text, f"{old!r} not in the spec"
        self.spec_path.write_text(text.replace(old, new, 1))

    def up(self) -> auto.UpResult:
        return self.stack.up(on_output=_quiet)

    def preview(self, *, refresh: bool = False) -> auto.PreviewResult:
        return self.stack.preview(refresh=refresh, diff=True, on_output=_quiet)

    def refresh(self) -> auto.RefreshResult:
        return self.stack.refresh(on_output=_quiet)

    def destroy(self) -> auto.DestroyResult:
        return self.stack.destroy(on_output=_quiet)

    def close(self) -> None:
        """Destroy the stack, and whatever happens stop any sync runtime it started: a test must never leave
        a supervised process behind (it would poll a stopped sandbox for ever)."""
        try:
            self.destroy()
        except Exception:  # teardown: the kill below is the guarantee
            pass
        finally:
            for pid_file in self.spec_path.parent.rglob("supervisor.pid"):
                with contextlib.suppress(ValueError, OSError):
                    os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)

    def outputs(self) -> dict[str, Any]:
        return {key: value.value for key, value in self.stack.outputs().items()}

    def resource_states(self) -> dict[str, dict[str, Any]]:
        """Logical name -> outputs, from the stack's state (the engine's view after the last operation)."""
        deployment = self.stack.export_stack().deployment or {}
        return {
            resource["urn"].split("::")[-1]: resource.get("outputs", {})
            for resource in deployment.get("resources", [])
            if resource.get("custom")
        }

    def state_text(self) -> str:
        import json

        return json.dumps(self.stack.export_stack().deployment)


def _quiet(_line: str) -> None:
    """The engine's progress lines are noise in test output; failures carry their own text."""


def spec_stack(*, name: str, work_dir: Path, spec_text: str, env: Mapping[str, str]) -> SpecStack:
    spec_path = work_dir / f"{name}.yaml"
    spec_path.write_text(spec_text)

    def program() -> None:
        spec = load_spec(spec_path)
        export_outputs(spec, declare(spec))

    settings = auto.ProjectSettings(
        name=PROJECT,
        runtime=auto.ProjectRuntimeInfo(name="python", options={"virtualenv": sys.prefix}),
    )
    stack = auto.create_or_select_stack(
        stack_name=name,
        project_name=PROJECT,
        program=program,
        opts=auto.LocalWorkspaceOptions(work_dir=str(work_dir), project_settings=settings, env_vars=dict(env)),
    )
    # The stack's local runtime (deployed last) gets its own directory and a free port: tests never share one.
    stack.set_config("presence-sync:runtimeDir", auto.ConfigValue(str(work_dir / f"runtime-{name}")))
    stack.set_config("presence-sync:runtimePort", auto.ConfigValue(str(free_port())))
    return SpecStack(stack=stack, spec_path=spec_path)


def changes(summary: Mapping[Any, int]) -> dict[str, int]:
    """A change summary without the resources that stayed the same."""
    named = {getattr(op, "value", op): count for op, count in summary.items()}
    return {str(op): count for op, count in named.items() if op != "same" and count}
