"""The sync runtime, deployed last: the rendered service, run as a supervised local process or applied to a
Kubernetes cluster.

Inputs are the service's config (data, no secrets: the rules resolved to ids), the digest of the rendered
tree (so `pulumi preview` shows a config change as one changed value), the target, and the target's settings.
``bridgeDigest`` is the digest of the Salesforce-side bridge (``salesforce/bridge/`` as a Metadata API zip, see
``presence_sync.deploy.bridge``), set by ``check`` when ``deployBridge`` is on: ``create`` deploys the zip
(``SalesforceClient.deploy_bridge``) before the service starts, ``update`` deploys it again only when the digest
changed, and a
change to the bridge alone redeploys the bridge without restarting the service. ``delete`` (destroy, or a replace)
removes the bridge once the service is stopped (``SalesforceClient.remove_bridge``, a destructive deploy derived
from the bridge's package.xml), when the state says it was deployed; what is already gone is no error.
The program passes the spec (names) and the fields the spec does not carry (``overrides``: where the store
lives, the health port); ``check`` resolves it to the config with
``presence_sync.runtime_config_build.build_config`` through the vendor clients -- here, in the provider process,
where the credentials are -- and renders it for the digest.
When the names cannot be resolved yet (the statuses are created in the same run), the config stays empty in
the plan and ``create``/``update`` resolve it once the resources the runtime depends on exist.

* ``local`` (the sandbox's and `make demo`'s default): ``create`` writes the rendered tree into the work
  directory, starts ``python -m runtime.supervise`` detached (its own session, so it outlives the engine), which
  keeps ``python -m runtime --config <dir>/config.json`` running, and waits for ``/readyz``. ``update`` stops it
  and starts it again on the new config; ``delete`` stops it (SIGTERM, SIGKILL after a timeout) and removes the
  pid file, leaving the durable store and the log. ``read`` reports ``running: false`` when the supervisor is
  gone or ``/healthz`` does not answer, and the digest of the files on disk: both differ from the inputs, so
  ``preview --refresh`` shows an update, which restarts it.
* ``kubernetes``: ``kubectl apply`` of the rendered manifests (the Secret is a template and never applied: it
  must exist, made from the cluster's secret store), then ``kubectl rollout status``. ``read`` looks at the
  Deployment; ``delete`` removes what was applied. kubectl runs through ``run_command``, which tests replace.

The service's credentials never pass through inputs, outputs or rendered files: the local process gets them in
its environment, which is an allowlist (``SERVICE_ENVIRONMENT``: the SF_*/CXONE_* variables the clients read, the
CA bundle, proxies, PATH/HOME/locale/TZ), taken from the provider process's environment and the connection file's
settings (see ``providers.context``); nothing else of the engine's environment (PULUMI_CONFIG_PASSPHRASE, cloud
or CI tokens) reaches it. In a cluster they come from the Secret.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi.dynamic import CheckFailure, CheckResult
from pulumi.output import Unknown
from pydantic import ValidationError

from presence_sync.clients.errors import VendorError
from presence_sync.clients.settings import SettingsError
from presence_sync.deploy.bridge import (
    BRIDGE_DIR,
    bridge_package,
    bridge_removal_package,
    bridge_test_classes,
    manifest_members,
)
from providers import context
from providers.base import PROVIDER_KEY, ProviderError, SpecProvider, Written, changed_fields
from providers.sync_runtime_inputs import KubernetesInputs, SyncRuntimeInputs, canonical, render_runtime
from providers.sync_runtime_kubernetes import KubernetesTarget
from providers.sync_runtime_local import LocalTarget

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # pulumi.runtime.rpc.UNKNOWN, the wire form of an unknown value

# -- the provider --------------------------------------------------------------------------------------


class SyncRuntimeProvider(SpecProvider[SyncRuntimeInputs, Any]):
    kind = "sync runtime"
    version = "1"
    inputs_model = SyncRuntimeInputs
    replace_on = ("target", "workDir", "name")
    delete_before_replace = True  # two runtimes on one store (or one agent set) must never run at once

    def managed_fields(self) -> list[str]:
        # The spec and overrides are what the config is built from: the config (and its digest) is what runs, so
        # a spec change that leaves the config alone (an OAuth app's label, say) does not restart the runtime.
        return [name for name in super().managed_fields() if name not in ("spec", "overrides")]

    def describe(self, inputs: SyncRuntimeInputs) -> str:
        where = inputs.work_dir if inputs.target == "local" else (inputs.kubernetes or KubernetesInputs()).namespace
        return f"{self.kind} {inputs.name} ({inputs.target}: {where})"

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        news = {**news, "bridgeDigest": bridge_digest() if news.get("deployBridge") is not False else None}
        if _has_unknowns(news):
            return CheckResult(news, [])  # preview before what the config resolves against exists
        result = super().check(olds, news)
        if result.failures:
            return result
        inputs = self.parse(news)
        news = dict(news)
        if inputs.spec is not None:
            try:
                news["config"] = resolve_config(inputs.spec, inputs.overrides)
            except ProviderError:
                # Names not there yet (created in this run, after this check): resolved by create/update.
                news["config"], news["digest"] = None, None
                return CheckResult(news, [])
            except (VendorError, SettingsError) as error:
                return CheckResult(news, [CheckFailure("", f"{self.describe(inputs)}: could not resolve: {error}")])
        config = news.get("config")
        if not isinstance(config, dict):
            return CheckResult(news, [CheckFailure("config", "the runtime needs a config or a spec to build it from")])
        problem = _config_problem(config) or (_pod_bind_problem(config) if inputs.target == "kubernetes" else None)
        if problem:
            return CheckResult(news, [CheckFailure("config", problem)])
        try:
            digest = render_runtime(config, name=inputs.name, kubernetes=inputs.kubernetes).digest
        except (ValueError, TypeError) as error:
            return CheckResult(news, [CheckFailure("config", str(error))])
        if inputs.spec is not None or news.get("digest") is None:
            news["digest"] = digest
        elif news["digest"] != digest:
            return CheckResult(news, [CheckFailure("digest", f"does not match the rendered config ({digest})")])
        return CheckResult(news, [])

    def find_existing(self, inputs: SyncRuntimeInputs) -> tuple[str, dict[str, Any]] | None:
        return None  # a runtime left over in the same place is stopped and replaced by create

    def create_object(self, inputs: SyncRuntimeInputs) -> Written:
        inputs = self._resolved(inputs)
        self._deploy_bridge(inputs)
        return self._deploy_service(inputs)

    def _deploy_service(self, inputs: SyncRuntimeInputs) -> Written:
        target = LocalTarget(inputs) if inputs.target == "local" else KubernetesTarget(inputs)
        written = target.deploy()
        return Written(written.id, {"config": inputs.config})  # the digest comes from reading what runs

    def outputs_after_write(self, written: Written, props: Mapping[str, Any], name: str) -> dict[str, Any]:
        # Read back with the config create resolved (the props may not have it).
        return super().outputs_after_write(written, {**props, **written.write_only_outputs}, name)

    def update_object(self, id_: str, old: Mapping[str, Any], inputs: SyncRuntimeInputs) -> Written:
        inputs = self._resolved(inputs)
        if old.get("bridgeDigest") != inputs.bridge_digest or not old.get("deployBridge", True):
            self._deploy_bridge(inputs)
        new = inputs.model_dump(by_alias=True, mode="json")
        service_fields = [f for f in self.managed_fields() if f not in ("bridgeDigest", "deployBridge")]
        if not changed_fields(old, new, service_fields):
            return Written(id_, {"config": inputs.config})  # only the bridge changed: the service keeps running
        return self._deploy_service(inputs)

    def read_object(self, id_: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
        inputs = self.parse({k: v for k, v in props.items() if k in self.input_fields()})
        if inputs.target == "local":
            return LocalTarget(inputs).read()
        return KubernetesTarget(inputs).read()

    def delete_object(self, id_: str, props: Mapping[str, Any]) -> None:
        inputs = self.parse({k: v for k, v in props.items() if k in self.input_fields()})
        if inputs.target == "local":
            LocalTarget(inputs).stop()
        else:
            KubernetesTarget(inputs).delete()
        self._remove_bridge(inputs)  # after the stop: nothing publishes the events while they are deleted

    @staticmethod
    def _resolved(inputs: SyncRuntimeInputs) -> SyncRuntimeInputs:
        """The inputs with the config resolved, if check could not (what it names did not exist yet)."""
        if inputs.config is not None:
            return inputs
        if inputs.spec is None:
            raise ProviderError(f"sync runtime {inputs.name}: neither a config nor a spec to build it from")
        try:
            config = resolve_config(inputs.spec, inputs.overrides)
        except SettingsError as error:
            raise ProviderError(f"sync runtime {inputs.name}: {error}") from None
        return inputs.model_copy(update={"config": config})

    @staticmethod
    def _deploy_bridge(inputs: SyncRuntimeInputs) -> None:
        """The bridge (the platform events the runtime publishes and reads, the Lightning components, the Apex
        class) must be in the org before the runtime starts: one Metadata API zip deploy."""
        if not inputs.deploy_bridge:
            return
        deploy: Callable[..., object] | None = getattr(context.salesforce(), "deploy_bridge", None)
        if deploy is None:
            raise ProviderError(
                "the Salesforce client cannot deploy salesforce/bridge (no deploy_bridge); update presence_sync, "
                "or deploy salesforce/bridge by hand and set deployBridge: false"
            )
        package = bridge_package()
        if inputs.bridge_digest is not None and package.digest != inputs.bridge_digest:
            raise ProviderError(
                f"salesforce/bridge changed since the preview ({package.digest}, planned {inputs.bridge_digest}); "
                "run `pulumi up` again"
            )
        deploy(package.zip_bytes, run_tests=bridge_test_classes())

    @staticmethod
    def _remove_bridge(inputs: SyncRuntimeInputs) -> None:
        """destroy leaves nothing behind: the bridge create deployed is deleted too.

        A failure fails the delete rather than warning: a warning scrolls past and leaves platform events, Apex
        and components in the org that nothing manages any more. The service is already stopped, the engine keeps
        the resource, and the next `pulumi destroy` only has the removal left to do (idempotent); the message also
        says how to finish by hand, or how to keep the bridge and let destroy go on.
        """
        if not inputs.deploy_bridge:
            return  # someone else's bridge (deployed by hand): not ours to remove
        left = "the bridge's components"
        try:
            left = ", ".join(
                f"{type_name} {', '.join(members)}"
                for type_name, members in manifest_members((BRIDGE_DIR / "package.xml").read_bytes())[0]
            )
            remove: Callable[[bytes], object] | None = getattr(context.salesforce(), "remove_bridge", None)
            if remove is None:
                raise ProviderError("the Salesforce client cannot remove it (no remove_bridge); update presence_sync")
            remove(bridge_removal_package().zip_bytes)
        except (ProviderError, VendorError, SettingsError, OSError, ValueError) as error:
            raise ProviderError(
                f"sync runtime {inputs.name}: the service is stopped, but the Salesforce bridge was not removed: "
                f"{error}\nStill in the org: {left}. Either fix the cause and run `pulumi destroy` again; or delete "
                "them by hand (Setup, or a deploy of presence_sync.deploy.bridge.bridge_removal_package()) "
                "and run `pulumi destroy` "
                "again; or, to leave the bridge in the org, `pulumi config set presence-sync:deployBridge false`, "
                "`pulumi up`, then `pulumi destroy`."
            ) from None


def bridge_digest() -> str:
    """The digest of the bridge as this checkout would deploy it (an input, so a changed component shows)."""
    try:
        return bridge_package().digest
    except FileNotFoundError as error:
        raise ProviderError(f"the Salesforce bridge is missing ({error.filename}); set deployBridge: false") from None


def resolve_config(spec_data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The spec (JSON, as the program passed it) resolved to the service's config through the vendor clients."""
    from presence_sync.runtime_config_build import ClientResolver, ConfigError, build_config
    from presence_sync.spec.models import PresenceSpec

    spec = PresenceSpec.model_validate(canonical(dict(spec_data)))
    try:
        config = build_config(spec, ClientResolver(context.salesforce(), context.cxone()), **dict(overrides))
    except ConfigError as error:
        raise ProviderError(f"cannot build the runtime's config: {error}") from None
    data: dict[str, Any] = canonical(config.model_dump(mode="json"))
    return data


def _has_unknowns(value: Any) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, str):
        return value == UNKNOWN
    if isinstance(value, Mapping):
        return any(_has_unknowns(v) for k, v in value.items() if k != PROVIDER_KEY)
    if isinstance(value, (list, tuple)):
        return any(_has_unknowns(v) for v in value)
    return False


def _pod_bind_problem(config: Mapping[str, Any]) -> str | None:
    """In a pod, /healthz /readyz /metrics must listen where the kubelet and Prometheus connect: not loopback."""
    host = str(config.get("metrics_host") or "127.0.0.1")
    if host == "localhost" or host.startswith("127.") or host == "::1":
        return (
            f"metrics_host: {host} is loopback, where neither the kubelet's probes nor Prometheus reach a pod; "
            "the Kubernetes target binds 0.0.0.0 (the NetworkPolicy limits who may connect)"
        )
    return None


def _config_problem(config: Mapping[str, Any]) -> str | None:
    """The service's own validation of its config, when the runtime package provides it."""
    try:
        from presence_sync.runtime_config import RuntimeConfig
    except ImportError:
        return None
    try:
        RuntimeConfig.model_validate(config)
    except ValidationError as error:
        first = error.errors()[0]
        return f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg')}"
    return None
