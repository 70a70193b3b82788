"""From the engine's step events to report entries: what one step changes, as a reviewer reads it.

* a preview step (``resource_pre_event``): what was applied -> the spec (`change_from`), the restore of a live
  value a refresh recorded (`restore_from`), and inputs not known until apply (`pending_inputs`);
* a refresh step (``res_outputs_event``): what was applied -> live (`drift_from`).

`Collector` is the ``on_event`` callback that gathers them for one operation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
