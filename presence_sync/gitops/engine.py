"""Running previews through the Automation API and collecting what they would change (``steps``).

* ``preview``            what the stack applied -> spec: the intended change, the restores of live values a
                         `pulumi refresh` recorded, and updates that follow another resource's replacement.
* ``preview_refresh``    what the stack applied -> live: drift. Our providers' ``read`` returns the live fields
                         as new outputs (and inputs), and keeps what the last write applied (``appliedInputs``),
                         so drift is measured against the spec that was applied, even after `pulumi refresh`.

Field changes are computed with deepdiff (``diffing.field_changes``), masked before anything else sees them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi import automation as auto

from presence_sync.gitops.progress import Progress
from presence_sync.gitops.steps import (
    OP_ORDER,
    Collector,
    ResourceChange,
    change_from,
    drift_from,
    kind_of,
    name_of,
    restore_from,
)

__all__ = ["ResourceChange", "StackPlan", "change_from", "drift_from", "kind_of", "name_of", "restore_from"]


@dataclass
class StackPlan:
    """What one stack would do: intended changes, and (when refreshed) drift. ``restores`` are updates `up`
    makes although the spec did not change: the state holds a live value (a `pulumi refresh` recorded drift)."""

    stack: str
    changes: list[ResourceChange] = field(default_factory=list)
    drift: list[ResourceChange] | None = None
    restores: list[ResourceChange] = field(default_factory=list)
    follows: list[Any] = field(default_factory=list)
    """`follows.Followers` of each status the plan deletes: grants, rules, agents that go with it."""
    follows_error: str | None = None
    error: str | None = None
    previewed: bool = True
    """False for a drift-only run: intended changes were not looked at."""

    @property
    def has_changes(self) -> bool:
        return bool(self.changes) or bool(self.drift) or bool(self.restores)

    def counts(self) -> dict[str, int]:
        counts = {op: 0 for op in OP_ORDER}
        for change in self.changes:
            counts[change.op] = counts.get(change.op, 0) + 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "changes": [change.as_dict() for change in self.changes],
            "drift": None if self.drift is None else [change.as_dict() for change in self.drift],
            "restores": [change.as_dict() for change in self.restores],
            "follows": [item.as_dict() for item in self.follows],
            "followsError": self.follows_error,
            "counts": self.counts(),
            "error": self.error,
            "previewed": self.previewed,
        }


# -- opening stacks --------------------------------------------------------------------------------------

DEMO_PASSPHRASE = "presence-sync-sandbox-demo-only"  # the sandbox stack's, as in presence_sync.demo


def engine_env(work_dir: Path, stack_name: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for engine runs on the project in ``work_dir``: the venv's interpreter first on PATH (the
    dynamic-provider plugin starts ``python3`` from PATH), no update checks or plugin downloads, and for the
    sandbox stack the demo's file backend and passphrase unless the caller chose others."""
    env = dict(os.environ if environ is None else environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
    env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "1")
    env.setdefault("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")
    if "PULUMI_BACKEND_URL" not in env and (work_dir / ".state").is_dir():
        env["PULUMI_BACKEND_URL"] = f"file://{(work_dir / '.state').resolve()}"
    passphrase_set = any(k in env for k in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"))
    if stack_name == "sandbox" and not passphrase_set:
        env["PULUMI_CONFIG_PASSPHRASE"] = DEMO_PASSPHRASE
    return env


def select_stack(stack_name: str, work_dir: Path) -> auto.Stack:
    """The real project's stack (``Pulumi.yaml`` in ``work_dir``), its program run by the Pulumi CLI."""
    options = auto.LocalWorkspaceOptions(work_dir=str(work_dir), env_vars=engine_env(work_dir, stack_name))
    return auto.select_stack(stack_name=stack_name, work_dir=str(work_dir), opts=options)


# -- the two operations ----------------------------------------------------------------------------------


def _quiet(_line: str) -> None:
    """The engine's own progress lines: ours replace them."""


def intended_changes(
    stack: auto.Stack, progress: Progress | None = None
) -> tuple[list[ResourceChange], list[ResourceChange]]:
    """A preview without refresh: what the spec changes relative to the last applied state, and the restores
    of live values a `pulumi refresh` recorded in the state (`restore_from`)."""
    collector = Collector(refresh=False, progress=progress, dependencies=property_dependencies(stack))
    try:
        stack.preview(on_event=collector, on_output=_quiet, diff=True)
    except auto.errors.CommandError as error:
        raise PlanError(collector.errors, error) from None
    return collector.result(), collector.restored()


def followers_of(stack: auto.Stack, changes: list[ResourceChange]) -> tuple[list[Any], str | None]:
    """What goes with each status the changes delete (`follows`), read-only from the org and the state."""
    from presence_sync.gitops import follows

    if not follows.deleted_statuses(changes):
        return [], None
    work_dir = Path(stack.workspace.work_dir)
    deployment = stack.export_stack().deployment or {}
    return follows.what_follows(changes, deployment, lambda: follows.org_from_environment(work_dir, stack.name))


def property_dependencies(stack: auto.Stack) -> dict[str, dict[str, list[str]]]:
    """URN -> input -> the URNs its value flows from, from the stack's state (read locally, no vendor call)."""
    deployment = stack.export_stack().deployment or {}
    return {
        resource["urn"]: dict(resource.get("propertyDependencies") or {})
        for resource in deployment.get("resources") or []
        if "urn" in resource
    }


def drift(stack: auto.Stack, progress: Progress | None = None) -> list[ResourceChange]:
    """A refresh-only preview: what the live objects changed relative to what the stack applied (its inputs,
    which a `pulumi refresh` leaves as they were)."""
    collector = Collector(refresh=True, progress=progress)
    try:
        stack.preview_refresh(on_event=collector, on_output=_quiet, show_secrets=False)
    except auto.errors.CommandError as error:
        raise PlanError(collector.errors, error) from None
    return collector.result()


class PlanError(Exception):
    """The engine failed; the message is its error diagnostics (or the command's stderr), secrets masked."""

    def __init__(self, errors: list[str], error: Exception) -> None:
        text = "\n".join(errors) if errors else stderr_of(error)
        super().__init__(text)


def stderr_of(error: Exception) -> str:
    """The useful part of an Automation API error: what the CLI wrote to stderr, else the whole text."""
    text = str(getattr(error, "stderr", None) or error)
    if "stderr:" in text:
        text = text.split("stderr:", 1)[1]
    return text.strip()[-4000:]


def plan_stack(name: str, stack: auto.Stack, *, refresh: bool, progress: Progress | None = None) -> StackPlan:
    """Intended changes, plus drift when ``refresh`` (which then covers the restores: it compares what was
    applied with the live objects now, not with what a refresh recorded); an engine failure is kept as the
    plan's error."""
    plan = StackPlan(stack=name)
    try:
        if refresh:
            plan.drift = drift(stack, progress)
        plan.changes, restores = intended_changes(stack, progress)
        plan.restores = [] if refresh else restores
        plan.follows, plan.follows_error = followers_of(stack, plan.changes)
    except PlanError as error:
        plan.error = str(error)
    return plan
