"""The contract every provider in this folder keeps, written once.

When the engine calls a method, and what we do:

* ``check(olds, news)``   every preview/up, before anything else: validate the inputs with the kind's pydantic
                          model (and, for some kinds, look names up at plan time); failures name the property.
* ``diff(id, olds, news)`` when the resource exists: compare the *managed* fields (deepdiff, so nested maps and
                          lists compare by value); a change to a field in ``replace_on`` forces a replace.
* ``create(props)``       create the object, then read it back. If it already exists, fail with a message that
                          says how to adopt it -- unless the inputs say ``adopt: true``, then take it over and
                          bring it to the spec (dynamic providers cannot use ``pulumi import``).
* ``read(id, props)``     ``refresh``: the live object. Its managed fields become the new *inputs* too, so the
                          next preview shows exactly the drift (live -> spec). Gone -> an empty id: dropped.
* ``update(id, olds, news)`` write, then read back, so outputs are what the vendor holds.
* ``delete(id, props)``   delete; "already gone" is success.

Outputs are the inputs plus what the vendor assigned (ids, keys). Credentials never pass through inputs or
the pickled provider: clients are built inside the provider process from its environment
(see ``providers.context``). Vendor errors reach the engine as one clean line naming the object, the field
and the vendor's error code (``ProviderError``, raised ``from None`` to keep the engine's traceback short).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from deepdiff import DeepDiff
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.runtime.rpc import UNKNOWN
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from presence_sync.clients.errors import NotFound, VendorError
from presence_sync.gitops import fingerprint
from presence_sync.gitops.fingerprint import APPLIED_INPUTS, FINGERPRINTS
from providers import context

SECRET_SIG = "4dabf18193072939515e22adb298388d"  # how the engine marks a secret in property values
PROVIDER_KEY = "__provider"  # the engine's slot for the pickled provider; never ours to compare


BOOKKEEPING_INPUTS = ("adopt", "providerVersion", "specLocation")
"""Inputs that steer the provider but are not properties of the vendor's object."""

InputsT = TypeVar("InputsT", bound="ProviderInputs")
ProxyT = TypeVar("ProxyT")
T = TypeVar("T")


class ProviderError(Exception):
    """A failure the user can act on; its message is the whole story."""


@dataclass(frozen=True)
class Written:
    """What a create or update left behind: the object's id, and outputs only the write could know
    (a generated secret, say), which reading back cannot return."""

    id: str
    write_only_outputs: dict[str, Any] = field(default_factory=dict)


def engine_call(method: Callable[..., T]) -> Callable[..., T]:
    """Re-raise a ProviderError from the method the engine called, so the traceback the engine prints is
    three frames long and ends with the message (led by the entry's place in the spec), instead of the whole
    path through our helpers."""

    @functools.wraps(method)
    def call(*args: Any) -> T:
        try:
            return method(*args)
        except ProviderError as error:
            # The last argument is the resource's inputs (check, create, update) or state (read, delete).
            props = args[-1] if args and isinstance(args[-1], dict) else {}
            raise ProviderError(located(spec_location(props), str(error))) from None

    return call


def run_vendor_call(description: str, call: Callable[[], T]) -> T:
    """Run a client call; turn vendor errors into one clean line for the engine."""
    try:
        return call()
    except VendorError as error:
        raise ProviderError(f"{description}: {error}") from None


class SpecProvider(ResourceProvider, Generic[InputsT, ProxyT]):
    """Base of the providers: subclasses describe their kind and implement the vendor operations through their
    kind's proxy (``presence_sync/clients/<kind>.py``), the only code that calls the vendor for the kind."""

    # Our pickled providers hold no secrets, so the state keeps them readable (and diffs fast).
    serialize_as_secret_always = False

    version: ClassVar[str] = "1"
    """This kind's provider version: bump it when the provider's behaviour changes. It is an input of each of
    the kind's resources (``providerVersion``), so the engine -- which cannot see provider code -- shows an
    update on this kind's resources, and on no other kind's, wherever the new code would act differently."""

    def __init__(self, proxy: ProxyT | None = None) -> None:
        """``proxy``: the vendor calls to use (tests give a fake); by default the kind's proxy on the shared
        client of the provider process (``make_proxy``). A given proxy is never pickled with the provider."""
        self._proxy = proxy

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_proxy": None}

    @property
    def proxy(self) -> ProxyT:
        return self._proxy if self._proxy is not None else self.make_proxy()

    def make_proxy(self) -> ProxyT:
        """The kind's proxy on the provider process's client (``providers.context``)."""
        raise NotImplementedError

    kind: ClassVar[str]
    """Human name of the kind, used in every message: 'Salesforce presence status'."""
    vendor: ClassVar[str] = "vendor"
    """Where the objects live, for messages: 'org' (Salesforce), 'tenant' (CXone)."""
    identity_inputs: ClassVar[tuple[str, ...]] = ()
    """Inputs that name the vendor's object: a change of one creates another object (a replace), so `check`
    looks for an unmanaged object of the new name, as it does for a resource new to the stack."""
    inputs_model: ClassVar[type[BaseModel]]
    replace_on: ClassVar[tuple[str, ...]] = ()
    """Inputs whose change the vendor cannot apply in place."""
    delete_before_replace: ClassVar[bool] = False
    write_only_outputs: ClassVar[tuple[str, ...]] = ()
    derived_inputs: ClassVar[tuple[str, ...]] = ()
    """Inputs that are another resource's outputs (see `diff`)."""
    """Outputs the vendor never returns on read (secrets shown once); kept from the state."""

    # -- what subclasses implement ------------------------------------------------------------------

    def describe(self, inputs: InputsT) -> str:
        """'Salesforce presence status Available_for_Chats': how messages name this object."""
        return self.kind

    def plan_checks(self, inputs: InputsT, found: CheckContext) -> list[CheckFailure]:
        """Checks that need the vendor (names that must exist), read-only. Inputs in ``found.unknown`` hold
        their defaults: skip what needs them. Default: none."""
        return []

    def find_existing(self, inputs: InputsT) -> tuple[str, dict[str, Any]] | None:
        """Before create: the live object this spec entry would collide with, as (id, outputs)."""
        raise NotImplementedError

    def create_object(self, inputs: InputsT) -> Written:
        """Create the object."""
        raise NotImplementedError

    def update_object(self, id_: str, old: Mapping[str, Any], inputs: InputsT) -> Written:
        """Bring the live object (id_, last known as `old`) to the inputs."""
        raise NotImplementedError

    def read_object(self, id_: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
        """The live object's managed fields and vendor-assigned outputs, or None when it is gone."""
        raise NotImplementedError

    def delete_object(self, id_: str, props: Mapping[str, Any]) -> None:
        raise NotImplementedError

    # -- the engine's calls -------------------------------------------------------------------------

    def configure(self, req: ConfigureRequest) -> None:
        context.configure(req.config)

    @engine_call
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate what is known. A value still unknown in a preview (it flows from a resource being created or
        updated) skips only what needs it: the other inputs are validated and looked up all the same, so a
        preview fails on a wrong name even when, say, the OAuth app's secret is not known yet. Every failure is
        reported without a property (the engine would print the property's value, or `value {<nil>}` for a
        nested path) and starts with where the entry is in the spec."""
        unknown = frozenset(key for key, value in news.items() if is_unknown(value))
        where = spec_location(news)
        known = {key: value for key, value in news.items() if key not in unknown}
        try:
            inputs = self.parse(known)  # an unknown optional input takes its default; `plan_checks` is told
        except ValidationError as error:
            problems = [p for p in error.errors() if not p.get("loc") or p["loc"][0] not in unknown]
            if problems:
                return CheckResult(news, [_failure_from(where, problem) for problem in problems])
            # Only unknown required inputs are missing: nothing else can be checked before they are known.
            return CheckResult(news, [])
        found = CheckContext(olds=_without_provider(olds), unknown=unknown)
        try:
            failures = self.plan_checks(inputs, found)
            if found.creates(self.identity_inputs, news) and not inputs.adopt:
                failures += self.existing_object_failures(inputs)
        except VendorError as error:
            failures = [CheckFailure("", f"{self.describe(inputs)}: could not check against the vendor: {error}")]
        located_failures = [CheckFailure("", located(where, failure.reason)) for failure in failures]
        return CheckResult(normalised(news, inputs, unknown), located_failures)

    def existing_object_failures(self, inputs: InputsT) -> list[CheckFailure]:
        """At plan time, what `create` would refuse: an object of that name the stack does not manage."""
        existing = self.find_existing(inputs)
        if existing is None:
            return []
        return [CheckFailure("", self.already_exists(inputs, existing[0]))]

    def already_exists(self, inputs: InputsT, existing_id: str) -> str:
        return (
            f"{self.describe(inputs)} already exists in the {self.vendor} (id {existing_id}) and this stack does not "
            "manage it; hint: to take it over and bring it to the spec, set `adopt: true` on it in the stack's "
            "spec; to leave it alone, give ours another name"
        )

    @engine_call
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # A derived input (the OAuth app's key, say) is unknown in a preview whenever its source is updated,
        # but it only changes when the source is replaced -- which the same preview shows. `up` diffs again
        # with the real value, so an actual change is still applied.
        fields = [f for f in self.managed_fields() if not (f in self.derived_inputs and is_unknown(news.get(f)))]
        changed = changed_fields(olds, news, fields)
        changed += [
            name for name in fingerprint.changed(olds.get(FINGERPRINTS)) if name in fields and name not in changed
        ]
        replaces = [name for name in changed if name in self.replace_on]
        return DiffResult(
            changes=bool(changed),
            replaces=replaces,
            delete_before_replace=self.delete_before_replace if replaces else None,
        )

    @engine_call
    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = self.parse(props)
        name = self.describe(inputs)
        existing = run_vendor_call(f"{name}: looking for an existing object", lambda: self.find_existing(inputs))
        if existing is not None:
            existing_id, existing_outputs = existing
            if not getattr(inputs, "adopt", False):
                raise ProviderError(located(spec_location(props), self.already_exists(inputs, existing_id)))
            written = run_vendor_call(
                f"{name}: adopting", lambda: self.update_object(existing_id, existing_outputs, inputs)
            )
        else:
            written = run_vendor_call(f"{name}: creating", lambda: self.create_object(inputs))
        return CreateResult(written.id, self.outputs_after_write(written, props, name))

    @engine_call
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        live = run_vendor_call(f"{self.kind} {id_}: reading", lambda: self.read_object(id_, props))
        if live is None:
            return ReadResult("", {})  # gone: the engine drops it from the state
        applied = _without_provider(props)
        # A live secret never enters the state: the applied value stays, and keyed fingerprints of both say
        # whether they differ (`diff` then updates; reports say which secret changed, never its value).
        secrets = [key for key in self.managed_fields() if fingerprint.is_secret(key, applied.get(key))]
        compared = fingerprint.compare(applied, live, secrets)
        outputs = {key: value for key, value in applied.items() if key != FINGERPRINTS}
        outputs.update({key: value for key, value in live.items() if key not in secrets})
        if fingerprint.changed(compared):  # only then: fingerprints are keyed per run, so they differ per run
            outputs[FINGERPRINTS] = compared
        # Managed fields as they are live become the inputs, so the next diff is exactly live -> spec. What the
        # stack applied stays in the outputs (`appliedInputs`, from the last write), so drift is still known
        # after a `pulumi refresh` has recorded the live values.
        inputs = {key: outputs[key] for key in self.input_fields() if key in outputs}
        return ReadResult(id_, outputs, inputs)

    @engine_call
    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = self.parse(news)
        name = self.describe(inputs)
        written = run_vendor_call(f"{name}: updating", lambda: self.update_object(id_, olds, inputs))
        # Outputs only a write can know (a secret) survive an update that did not produce new ones.
        kept = {key: olds[key] for key in self.write_only_outputs if key in olds}
        return UpdateResult(self.outputs_after_write(written, {**kept, **news}, name))

    @engine_call
    def delete(self, id_: str, props: dict[str, Any]) -> None:
        def delete_unless_gone() -> None:
            with contextlib.suppress(NotFound):  # already gone: that is what delete wanted
                self.delete_object(id_, props)

        run_vendor_call(f"{self.kind} {id_}: deleting", delete_unless_gone)

    # -- shared helpers -----------------------------------------------------------------------------

    def parse(self, props: Mapping[str, Any]) -> InputsT:
        return self.inputs_model.model_validate(_without_provider(props))  # type: ignore[return-value]

    def input_fields(self) -> list[str]:
        return [field.alias or name for name, field in self.inputs_model.model_fields.items()]

    def managed_fields(self) -> list[str]:
        # Where the entry is in the spec moves whenever a line is added above it: never a change.
        return [field for field in self.input_fields() if field not in ("adopt", SPEC_LOCATION)]

    def outputs_after_write(self, written: Written, props: Mapping[str, Any], name: str) -> dict[str, Any]:
        """Read back after a write, so outputs are what the vendor holds (not what we sent)."""
        live = run_vendor_call(f"{name}: reading back", lambda: self.read_object(written.id, props))
        if live is None:
            raise ProviderError(
                f"{name}: written, but reading it back found nothing (id {written.id}); run `pulumi up` again"
            )
        applied = {  # what this write applied, secrets left out; a refresh keeps it (see `read`)
            key: props[key]
            for key in self.managed_fields()
            if key in props and not fingerprint.is_secret(key, props[key])
        }
        return {**_without_provider(props), **live, **written.write_only_outputs, APPLIED_INPUTS: applied}


def normalised(news: Mapping[str, Any], inputs: BaseModel, unknown: frozenset[str]) -> dict[str, Any]:
    """The inputs as the kind's model normalises them (sorted sets, say), so that every later call -- diff,
    create, update -- and the state see one form; ``check`` is the one place that normalises. Only keys the
    program sent are rewritten; values not known yet, and secrets (which keep their wrapping), stay as sent."""
    model = inputs.model_dump(by_alias=True)
    kept = unknown | {key for key, value in news.items() if isinstance(value, dict) and SECRET_SIG in value}
    return {key: model[key] if key in model and key not in kept else value for key, value in news.items()}


def changed_fields(olds: Mapping[str, Any], news: Mapping[str, Any], fields: list[str]) -> list[str]:
    """The managed top-level fields whose values differ, compared deeply (order of keys ignored)."""
    return [name for name in fields if DeepDiff(olds.get(name), news.get(name), ignore_order=False)]


def is_unknown(value: Any) -> bool:
    """Whether the engine sent a value that is not known yet (a preview of something that depends on a
    resource being created or updated), possibly wrapped as a secret."""
    if isinstance(value, dict) and SECRET_SIG in value:
        return is_unknown(value.get("value"))
    if isinstance(value, list):  # a list naming another resource's output, say, before that resource exists
        return any(is_unknown(item) for item in value)
    if isinstance(value, (str, int, float, bool, list, dict)) or value is None:
        return value == UNKNOWN
    return True


def _without_provider(props: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in props.items() if key != PROVIDER_KEY}


def _failure_from(where: str | None, problem: Mapping[str, Any]) -> CheckFailure:
    path = ".".join(str(part) for part in problem.get("loc", ()))
    reason = f"input {path}: {problem.get('msg', 'invalid value')}" if path else str(problem.get("msg", "invalid"))
    return CheckFailure("", located(where, reason))


@dataclass(frozen=True)
class CheckContext:
    """What `check` knows besides the inputs: the inputs in the state (empty for a resource new to the stack)
    and which inputs are not known yet (a preview of a value another resource will produce)."""

    olds: Mapping[str, Any]
    unknown: frozenset[str] = frozenset()

    def creates(self, identity: tuple[str, ...], news: Mapping[str, Any]) -> bool:
        """Whether applying these inputs creates a vendor object: the resource is new to the stack, or an
        input that names the object changed (a replace)."""
        if not self.olds:
            return True
        return any(key not in self.unknown and self.olds.get(key) != news.get(key) for key in identity)


SPEC_LOCATION = "specLocation"
"""The input saying where a resource's entry is in the spec (``stacks/dev.yaml:31:7: salesforce.statuses[3]``),
for messages only: never compared, never sent to a vendor."""


def spec_location(props: Mapping[str, Any]) -> str | None:
    value = props.get(SPEC_LOCATION)
    return value if isinstance(value, str) and value and not is_unknown(value) else None


def located(where: str | None, message: str) -> str:
    """One line: the spec location first, when known, then the message."""
    line = " ".join(message.split())
    return f"{where}: {line}" if where and not line.startswith(where) else line


class ProviderInputs(BaseModel):
    """Base of the per-kind input models: camelCase as stored in the Pulumi state, nothing unknown."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, validate_by_alias=True, validate_by_name=True)

    adopt: bool = False
    provider_version: str = "1"  # the resource sends its provider's `version`
    spec_location: str | None = None
