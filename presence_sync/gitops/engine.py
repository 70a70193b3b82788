"""Running previews through the Automation API and collecting what they would change from the engine's events.

* ``preview``            last applied -> spec: the intended change (``resource_pre_event``: op, old/new inputs).
* ``preview_refresh``    last applied -> live: drift. Our providers' ``read`` returns the live managed fields as
                         the new *inputs*, so a refresh's ``res_outputs_event`` carries old and new inputs and
                         the difference between them is exactly what someone changed by hand.

Field changes are computed from the inputs (``diffing.field_changes``), masked before anything else sees them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi import automation as auto
from pulumi.automation import events as ev

from presence_sync.gitops.diffing import FieldChange, field_changes
from presence_sync.gitops.progress import Progress

# Engine step ops -> what a report calls them. A replace shows up as three steps; the report keeps one.
_OPS = {
    "create": "create",
    "update": "update",
    "replace": "replace",
    "delete": "delete",
    "import": "create",
    "create-replacement": None,
    "delete-replaced": None,
    "same": None,
    "read": None,
    "refresh": None,
    "discard": None,
    "remove-pending-replace": None,
}
OP_ORDER = ("create", "update", "replace", "delete")
DRIFT_OPS = {"update": "changed", "delete": "gone"}
"""In a refresh, the engine's update means "changed outside the stack", its delete "gone from the vendor"."""
REPORT_ORDER = (*OP_ORDER, "changed", "gone")
WHOLE_OBJECT_SKIP = frozenset({"providerVersion"})
"""Engine/provider bookkeeping left out when a whole object is created or deleted (an update still shows it)."""


@dataclass(frozen=True)
class ResourceChange:
    """One resource the operation would touch: logical name, kind, op, and its changed fields."""

    name: str
    kind: str
    op: str
    fields: tuple[FieldChange, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "op": self.op, "fields": [f.as_dict() for f in self.fields]}


@dataclass
class StackPlan:
    """What one stack would do: intended changes, and (when refreshed) drift."""

    stack: str
    changes: list[ResourceChange] = field(default_factory=list)
    drift: list[ResourceChange] | None = None
    error: str | None = None
    previewed: bool = True
    """False for a drift-only run: intended changes were not looked at."""

    @property
    def has_changes(self) -> bool:
        return bool(self.changes) or bool(self.drift)

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
            "counts": self.counts(),
            "error": self.error,
            "previewed": self.previewed,
        }


def kind_of(type_token: str) -> str:
    """'pulumi-python:dynamic/salesforce:PresenceStatus' -> 'salesforce:PresenceStatus'."""
    return type_token.split("dynamic/", 1)[-1]


def name_of(urn: str) -> str:
    return urn.split("::")[-1]


def _is_ours(type_token: str) -> bool:
    return not type_token.startswith("pulumi:")  # the stack itself and provider resources are the engine's


def _inputs(state: ev.StepEventStateMetadata | None) -> dict[str, Any] | None:
    return None if state is None else dict(state.inputs or {})


def change_from(metadata: ev.StepEventMetadata, *, refresh: bool = False) -> ResourceChange | None:
    """A report entry for one step, or None when the step changes nothing we report."""
    op = _OPS.get(str(metadata.op.value if hasattr(metadata.op, "value") else metadata.op))
    if op is None or not _is_ours(metadata.type):
        return None
    old = None if op == "create" else _inputs(metadata.old)
    new = None if op == "delete" else _inputs(metadata.new)
    fields = tuple(field_changes(old, new))
    if op in ("create", "delete"):
        fields = tuple(f for f in fields if f.path not in WHOLE_OBJECT_SKIP)
    elif not fields:
        return None  # e.g. only engine bookkeeping differed
    if refresh:
        op = DRIFT_OPS.get(op, op)
    return ResourceChange(name=name_of(metadata.urn), kind=kind_of(metadata.type), op=op, fields=fields)


class Collector:
    """An ``on_event`` callback: collects report entries, error diagnostics, and drives the progress line."""

    def __init__(self, *, refresh: bool, progress: Progress | None = None) -> None:
        self.refresh = refresh
        self.progress = progress
        self.changes: dict[str, ResourceChange] = {}
        self.errors: list[str] = []

    def __call__(self, event: ev.EngineEvent) -> None:
        if event.resource_pre_event is not None:
            metadata = event.resource_pre_event.metadata
            if self.progress is not None and _is_ours(metadata.type):
                self.progress.step(name_of(metadata.urn))
            if not self.refresh:
                self._add(metadata)
        if event.res_outputs_event is not None and self.refresh:
            self._add(event.res_outputs_event.metadata)
        if event.diagnostic_event is not None and event.diagnostic_event.severity == "error":
            message = (event.diagnostic_event.message or "").strip()
            if message and message not in self.errors:
                self.errors.append(message)

    def _add(self, metadata: ev.StepEventMetadata) -> None:
        change = change_from(metadata, refresh=self.refresh)
        if change is not None:
            self.changes[metadata.urn] = change

    def result(self) -> list[ResourceChange]:
        return sorted(self.changes.values(), key=lambda c: (REPORT_ORDER.index(c.op), c.kind, c.name))


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


def intended_changes(stack: auto.Stack, progress: Progress | None = None) -> list[ResourceChange]:
    """A preview without refresh: what the spec changes relative to the last applied state."""
    collector = Collector(refresh=False, progress=progress)
    try:
        stack.preview(on_event=collector, on_output=_quiet, diff=True)
    except auto.errors.CommandError as error:
        raise PlanError(collector.errors, error) from None
    return collector.result()


def drift(stack: auto.Stack, progress: Progress | None = None) -> list[ResourceChange]:
    """A refresh-only preview: what the live objects changed relative to the last applied state."""
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
    """Intended changes, plus drift when ``refresh``; an engine failure is kept as the plan's error."""
    plan = StackPlan(stack=name)
    try:
        if refresh:
            plan.drift = drift(stack, progress)
        plan.changes = intended_changes(stack, progress)
    except PlanError as error:
        plan.error = str(error)
    return plan
