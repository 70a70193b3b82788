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

from presence_sync.gitops.diffing import (
    SECRET_SIG,
    UNKNOWN,
    UNKNOWN_SENTINEL,
    FieldChange,
    field_changes,
    mask,
    secret_changes,
)
from presence_sync.gitops.fingerprint import APPLIED_INPUTS, FINGERPRINTS
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
REPORT_ORDER = (*OP_ORDER, "changed", "gone", "restore")
ADOPTED_NOTE = "adopted: it stays in the vendor when it leaves the spec or the stack is destroyed (retainOnDelete)"
WHOLE_OBJECT_SKIP = frozenset({"providerVersion"})
"""Engine/provider bookkeeping left out when a whole object is created or deleted (an update still shows it)."""


@dataclass(frozen=True)
class ResourceChange:
    """One resource the operation would touch: logical name, kind, op, and its changed fields. ``retain``: a
    delete that leaves the vendor's object in place (``retainOnDelete``); ``note``: why it changes, when the spec
    does not say (it follows another resource's replacement)."""

    name: str
    kind: str
    op: str
    fields: tuple[FieldChange, ...] = ()
    retain: bool = False
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"retain": True} if self.retain else {}
        extra.update({"note": self.note} if self.note else {})
        return {
            "name": self.name,
            "kind": self.kind,
            "op": self.op,
            "fields": [f.as_dict() for f in self.fields],
            **extra,
        }


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


def kind_of(type_token: str) -> str:
    """'pulumi-python:dynamic/salesforce:PresenceStatus' -> 'salesforce:PresenceStatus'."""
    return type_token.split("dynamic/", 1)[-1]


def name_of(urn: str) -> str:
    return urn.split("::")[-1]


def _is_ours(type_token: str) -> bool:
    return not type_token.startswith("pulumi:")  # the stack itself and provider resources are the engine's


def _inputs(state: ev.StepEventStateMetadata | None) -> dict[str, Any] | None:
    return None if state is None else dict(state.inputs or {})


def applied_of(state: ev.StepEventStateMetadata | None) -> dict[str, Any] | None:
    """What the stack last applied: the state's inputs, with the values the last write recorded in its
    ``appliedInputs`` output winning (a `pulumi refresh` rewrites the inputs with live values, not that)."""
    if state is None:
        return None
    recorded = (state.outputs or {}).get(APPLIED_INPUTS)
    return {**dict(state.inputs or {}), **(dict(recorded) if isinstance(recorded, Mapping) else {})}


def raw_op(metadata: ev.StepEventMetadata) -> str:
    return str(metadata.op.value if hasattr(metadata.op, "value") else metadata.op)


def applied_vs(applied: Mapping[str, Any], other: Mapping[str, Any]) -> list[FieldChange]:
    """Fields whose value in ``other`` (live outputs, or the spec) differs from the applied inputs. Inputs the
    stack leaves empty for the vendor to fill (ids) are not compared; secrets compare by fingerprint."""
    keys = [key for key, value in applied.items() if value is not None and key not in WHOLE_OBJECT_SKIP]
    before = {key: applied[key] for key in keys}
    after = {key: other.get(key) for key in keys}
    return field_changes(before, after) + secret_changes(other.get(FINGERPRINTS))


def drift_from(metadata: ev.StepEventMetadata) -> ResourceChange | None:
    """A refresh step: the applied inputs against the live outputs (or live inputs, from a provider that still
    returns them). Independent of what an earlier `pulumi refresh` wrote, since refresh keeps the inputs."""
    if not _is_ours(metadata.type) or metadata.old is None:
        return None
    name, kind = name_of(metadata.urn), kind_of(metadata.type)
    applied = applied_of(metadata.old) or {}
    if raw_op(metadata) == "delete" or metadata.new is None:
        fields = [f for f in field_changes(applied, None) if f.path not in WHOLE_OBJECT_SKIP]
        return ResourceChange(name=name, kind=kind, op="gone", fields=tuple(fields))
    live = dict(metadata.new.outputs or metadata.new.inputs or {})
    fields = applied_vs(applied, live)
    return ResourceChange(name=name, kind=kind, op="changed", fields=tuple(fields)) if fields else None


def change_from(metadata: ev.StepEventMetadata) -> ResourceChange | None:
    """A preview step's intended change (last applied -> spec), or None when the spec changes nothing."""
    op = _OPS.get(raw_op(metadata))
    if op is None or not _is_ours(metadata.type):
        return None
    old = None if op == "create" else applied_of(metadata.old)
    new = None if op == "delete" else _inputs(metadata.new)
    fields = tuple(field_changes(old, new))
    if op in ("create", "delete"):
        fields = tuple(f for f in fields if f.path not in WHOLE_OBJECT_SKIP)
    elif not fields:
        return None  # e.g. only engine bookkeeping differed, or a restore (see `restore_from`)
    retain = op == "delete" and bool(metadata.old is not None and metadata.old.retain_on_delete)
    adopting = op == "create" and bool(metadata.new is not None and metadata.new.retain_on_delete)
    note = ADOPTED_NOTE if adopting else None
    return ResourceChange(name_of(metadata.urn), kind_of(metadata.type), op, fields, retain=retain, note=note)


def restore_from(metadata: ev.StepEventMetadata) -> ResourceChange | None:
    """An update the spec does not ask for: the state's outputs (live, as a `pulumi refresh` recorded them)
    differ from the spec where the spec equals what was applied. `up` writes the spec's value back."""
    if raw_op(metadata) != "update" or not _is_ours(metadata.type) or metadata.old is None or metadata.new is None:
        return None
    applied, spec = applied_of(metadata.old) or {}, _inputs(metadata.new) or {}
    intended = {f.path for f in field_changes(applied, spec)}
    recorded = dict(metadata.old.outputs or {})
    fields = [  # old = live as recorded, new = the spec's (= applied) value that `up` writes back
        FieldChange(f.path, f.new, f.old, f.note)
        for f in applied_vs(applied, recorded)
        if f.path not in intended and f.path.split(".")[0] not in intended
    ]
    if not fields:
        return None
    return ResourceChange(name=name_of(metadata.urn), kind=kind_of(metadata.type), op="restore", fields=tuple(fields))


def pending_inputs(metadata: ev.StepEventMetadata) -> list[str]:
    """Inputs of an unchanged step that are not known until apply (they flow from another resource)."""
    if raw_op(metadata) != "same" or metadata.new is None or not _is_ours(metadata.type):
        return []
    return sorted(key for key, value in (metadata.new.inputs or {}).items() if _unknown(value))


def _unknown(value: Any) -> bool:
    if isinstance(value, Mapping) and SECRET_SIG in value:
        return _unknown(value.get("value"))
    return value == UNKNOWN_SENTINEL


class Collector:
    """An ``on_event`` callback: collects report entries, error diagnostics, and drives the progress line."""

    def __init__(
        self,
        *,
        refresh: bool,
        progress: Progress | None = None,
        dependencies: Mapping[str, Mapping[str, list[str]]] | None = None,
    ) -> None:
        self.refresh = refresh
        self.progress = progress
        self.dependencies = dependencies or {}
        """URN -> input name -> the URNs it flows from (the state's propertyDependencies)."""
        self.changes: dict[str, ResourceChange] = {}
        self.restores: dict[str, ResourceChange] = {}
        self.ops: dict[str, str] = {}
        self.pending: dict[str, tuple[ev.StepEventMetadata, list[str]]] = {}
        self.errors: list[str] = []

    def __call__(self, event: ev.EngineEvent) -> None:
        if event.resource_pre_event is not None:
            metadata = event.resource_pre_event.metadata
            if self.progress is not None and _is_ours(metadata.type):
                self.progress.step(name_of(metadata.urn))
            if not self.refresh:
                self._add_step(metadata)
        if event.res_outputs_event is not None and self.refresh:
            change = drift_from(event.res_outputs_event.metadata)
            if change is not None:
                self.changes[event.res_outputs_event.metadata.urn] = change
        if event.diagnostic_event is not None and event.diagnostic_event.severity == "error":
            message = (event.diagnostic_event.message or "").strip()
            if message and message not in self.errors:
                self.errors.append(message)

    def _add_step(self, metadata: ev.StepEventMetadata) -> None:
        self.ops[metadata.urn] = raw_op(metadata)
        change = change_from(metadata)
        if change is not None:
            self.changes[metadata.urn] = change
        restore = restore_from(metadata)
        if restore is not None:
            self.restores[metadata.urn] = restore
        waiting = pending_inputs(metadata)
        if waiting:
            self.pending[metadata.urn] = (metadata, waiting)

    def _followers(self) -> dict[str, ResourceChange]:
        """Unchanged steps whose pending inputs flow from a resource this preview replaces or deletes: their
        value changes at apply (a new app's consumer key reaches the mapping), so the report shows an update."""
        rebuilt = {urn for urn, op in self.ops.items() if op in ("replace", "delete", "create-replacement")}
        found: dict[str, ResourceChange] = {}
        for urn, (metadata, names) in self.pending.items():
            sources = {
                name: [s for s in self.dependencies.get(urn, {}).get(name, []) if s in rebuilt] for name in names
            }
            moved = [name for name in names if sources[name]]
            if not moved:
                continue
            old = _inputs(metadata.old) or {}
            fields = tuple(FieldChange(name, mask(old.get(name), name), UNKNOWN) for name in moved)
            origin = ", ".join(sorted({f"`{name_of(s)}`" for name in moved for s in sources[name]}))
            note = f"follows the replacement of {origin}"
            found[urn] = ResourceChange(name_of(urn), kind_of(metadata.type), "update", fields, note=note)
        return found

    def result(self) -> list[ResourceChange]:
        changes = {**self._followers(), **self.changes}
        return sorted(changes.values(), key=lambda c: (REPORT_ORDER.index(c.op), c.kind, c.name))

    def restored(self) -> list[ResourceChange]:
        return sorted(self.restores.values(), key=lambda c: (c.kind, c.name))


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
