"""Everything one spec declares, in the order the manual procedure does it:

service channels -> statuses -> profile access -> OAuth app -> account mapping -> the custom change event channel
the runtime subscribes to (if its topic names one) -> presence rules -> the sync runtime, last; with
`runtime.engine: nice`, the runtime comes before the rules (it must stop writing before NICE's engine starts).

Explicit `depends_on` edges keep that order even where no output flows (a grant needs its statuses to
exist; a rule needs the mapping), so `pulumi destroy` also removes everything in reverse.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field

import pulumi

from presence_sync.clients.cxone import CxoneClient
from presence_sync.clients.salesforce import SalesforceClient
from presence_sync.spec.models import PresenceSpec
from resources.change_event_channel import ChangeEventChannel, declare_change_event_channel
from resources.cxone_account_mapping import CxoneAccountMapping
from resources.oauth_client_app import OAuthClientApp
from resources.preflight import (
    OrgReads,
    PathT,
    PreflightError,
    check_against_vendors,
    spec_locator,
    vendor_settings,
)
from resources.presence_rule import PresenceRule
from resources.presence_status import PresenceStatus
from resources.profile_presence_access import ProfilePresenceAccess
from resources.service_channel import ServiceChannel, declare_channels
from resources.sync_runtime import CONFIG_NAMESPACE, SyncRuntime, declare_runtime


@dataclass
class DeclaredStack:
    channels: dict[str, ServiceChannel] = field(default_factory=dict)
    statuses: dict[str, PresenceStatus] = field(default_factory=dict)
    profile_access: list[ProfilePresenceAccess] = field(default_factory=list)
    oauth_app: OAuthClientApp | None = None
    account_mapping: CxoneAccountMapping | None = None
    rules: dict[str, PresenceRule] = field(default_factory=dict)
    change_event_channel: ChangeEventChannel | None = None  # the runtime's custom topic, when it names one
    runtime: SyncRuntime | None = None  # not in all_resources(): it comes after all of them

    def all_resources(self) -> list[pulumi.Resource]:
        resources: list[pulumi.Resource] = [*self.channels.values(), *self.statuses.values(), *self.profile_access]
        resources += [r for r in (self.oauth_app, self.account_mapping, self.change_event_channel) if r is not None]
        return resources + list(self.rules.values())


def declare(spec: PresenceSpec, *, check_vendors: bool = True) -> DeclaredStack:
    """Declare every resource of the spec. First (unless ``check_vendors`` is false) the names the spec takes
    from the org and tenant are looked up (`resources.preflight`): a missing one stops the run here, with
    nothing registered, so neither `preview` nor `up` gets as far as a write."""
    if check_vendors:
        preflight(spec)
    stack = DeclaredStack()
    where = spec_locator(spec.source)  # each entry's file:line:column, for the providers' messages
    stack.channels = declare_channels(spec.salesforce.service_channels, where)
    for index, status in enumerate(spec.salesforce.statuses):
        channels = [stack.channels[c].name_once_created(c) if c in stack.channels else c for c in status.channels]
        stack.statuses[status.name] = PresenceStatus(
            status, retained(status), location=where(("salesforce", "statuses", index)), channels=channels
        )

    for index, access in enumerate(spec.salesforce.profile_access):
        needed = [stack.statuses[name] for name in access.statuses if name in stack.statuses]
        stack.profile_access.append(
            ProfilePresenceAccess(
                access,
                retained(access, pulumi.ResourceOptions(depends_on=needed)),
                location=where(("salesforce", "profileAccess", index)),
            )
        )

    app = OAuthClientApp(
        spec.salesforce.oauth_app,
        retained(spec.salesforce.oauth_app, pulumi.ResourceOptions(depends_on=stack.profile_access)),
        location=where(("salesforce", "oauthApp")),
    )
    stack.oauth_app = app

    stack.account_mapping = CxoneAccountMapping(
        spec.cxone.account_mapping,
        consumer_key=app.consumer_key,
        consumer_secret=app.consumer_secret,
        opts=retained(spec.cxone.account_mapping),
        location=where(("cxone", "accountMapping")),
    )

    channel = spec.runtime.salesforce_changes.custom_channel()
    stack.change_event_channel = declare_change_event_channel(channel, retained(channel), where)
    declare_rules_and_runtime(spec, stack, where)
    return stack


def declare_rules_and_runtime(spec: PresenceSpec, stack: DeclaredStack, where: Callable[[PathT], str | None]) -> None:
    """The rules and the sync runtime. One writer per agent at every moment (docs/presence-rules.md, "Two
    engines"): the engine being switched off changes first. engine nice: the runtime (turned observe-only)
    before the rules become active for NICE's engine; engine presence-sync: the rules (stored inactive) before
    the runtime writes."""
    assert stack.account_mapping is not None
    nice = spec.runtime.engine == "nice"
    if nice and runtime_available():
        stack.runtime = declare_runtime(spec, after=stack.all_resources())
    for index, rule in enumerate(spec.cxone.presence_rules):
        used = {line.salesforce for line in (*rule.publisher, *rule.subscriber)}
        statuses = [stack.statuses[name] for name in sorted(used) if name in stack.statuses]
        depends: list[pulumi.Resource] = [stack.account_mapping, *statuses, *([stack.runtime] if stack.runtime else [])]
        stack.rules[rule.name] = PresenceRule(
            rule,
            retained(rule, pulumi.ResourceOptions(depends_on=depends)),
            location=where(("cxone", "presenceRules", index)),
            active=nice,
        )
    if not nice and runtime_available():
        # Last: after every other resource (its config names the statuses and rules they make).
        stack.runtime = declare_runtime(spec, after=stack.all_resources())


def retained(entry: object, opts: pulumi.ResourceOptions | None = None) -> pulumi.ResourceOptions:
    """An adopted object (``adopt: true``) existed before the stack took it over: removing it from the spec, or
    `pulumi destroy`, leaves it in the org or tenant (Pulumi's ``retainOnDelete``); `presence-sync plan` says
    "delete (retained)". To delete it with the stack, set ``adopt: false`` and apply that first."""
    keep = pulumi.ResourceOptions(retain_on_delete=bool(getattr(entry, "adopt", False)))
    return pulumi.ResourceOptions.merge(opts, keep)


def preflight(spec: PresenceSpec) -> None:
    """`resources.preflight.check_against_vendors` with clients built as the providers build theirs; a
    problem is a `pulumi.RunError`, which the engine prints as its message alone (no traceback)."""
    settings = vendor_settings(pulumi.Config(CONFIG_NAMESPACE).get("connectionFile"))
    opened: list[SalesforceClient | CxoneClient] = []

    def salesforce() -> OrgReads:
        client = SalesforceClient.from_env(settings)
        opened.append(client)
        return OrgReads(client)

    def cxone() -> CxoneClient:
        opened.append(CxoneClient.from_env(settings))
        return opened[-1]  # type: ignore[return-value]

    try:
        check_against_vendors(spec, salesforce, cxone)
    except PreflightError as error:
        raise pulumi.RunError(str(error)) from None
    finally:
        for client in opened:
            client.close()


def runtime_available() -> bool:
    """The runtime package's service and config builder are installed (they ship with this project)."""
    return all(
        importlib.util.find_spec(name) is not None for name in ("presence_sync.runtime_config", "runtime.__main__")
    )


def export_outputs(spec: PresenceSpec, stack: DeclaredStack) -> None:
    """Stack outputs: ids for machines, the consumer key (secret), and a summary for humans."""
    pulumi.export("statusIds", {name: status.status_id for name, status in stack.statuses.items()})
    pulumi.export("ruleIds", {name: rule.rule_id for name, rule in stack.rules.items()})
    if stack.oauth_app is not None:
        pulumi.export("consumerKey", pulumi.Output.secret(stack.oauth_app.consumer_key))
    if stack.account_mapping is not None:
        pulumi.export("accountMappingId", stack.account_mapping.mapping_id)
    if stack.change_event_channel is not None:
        pulumi.export("changeEventTopic", stack.change_event_channel.topic)
    if stack.runtime is not None:
        pulumi.export("runtimeDigest", stack.runtime.digest)
    pulumi.export("summary", summary(spec))


def summary(spec: PresenceSpec) -> str:
    sf, cx = spec.salesforce, spec.cxone
    lines = [
        f"{len(sf.statuses)} presence status(es): "
        + ", ".join(f"{s.label} ({s.kind}{': ' + ', '.join(s.channels) if s.channels else ''})" for s in sf.statuses),
        f"{len(sf.profile_access)} profile grant(s): "
        + "; ".join(f"{a.profile} -> {', '.join(a.statuses)}" for a in sf.profile_access),
        f"OAuth app: {sf.oauth_app.label} ({sf.oauth_app.app_type}, scopes {', '.join(sf.oauth_app.scopes)})",
        f"CXone account mapping: {cx.account_mapping.name} (access key user {cx.account_mapping.access_key_user})",
    ]
    for rule in cx.presence_rules:
        targets = [*(f"team {t}" for t in rule.teams), *(f"user {u}" for u in rule.users)]
        lines.append(
            f"rule {rule.name!r} ({rule.direction}): {len(rule.publisher)} publisher, "
            f"{len(rule.subscriber)} subscriber mapping(s) for {', '.join(targets)}"
        )
    return "\n".join(lines)
