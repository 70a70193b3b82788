"""`runtime:SyncRuntime`: the generated sync service, declared last.

The service's config is built in the program from the spec, with names resolved to ids through the vendor
clients (``runtime.config.build_config``), once the statuses it names exist; it and the digest of the rendered
tree are the resource's inputs, so `pulumi preview` shows when either changes. Until the resources it depends
on exist (the first preview), they are unknown and the resource shows as "to create".

Stack settings (``pulumi config set presence-sync:<key>``), all optional:

* ``runtimeDir``   where the local target keeps its rendered files, pid, log and store
                   (default ``.state/runtime/<stack>`` under the project directory);
* ``runtimePort``  the local service's /healthz, /readyz and /metrics port (default 9464);
* ``kubeconfig``   the cluster for ``target: kubernetes`` (default ``$KUBECONFIG``);
* ``runtimeImage`` the image the Deployment runs (``target: kubernetes``);
* ``deployBridge`` false to leave the Omni_Presence_Command__e platform event to someone else.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from presence_sync.spec.models import PresenceSpec
from providers.base import PROVIDER_VERSION
from providers.sync_runtime import SyncRuntimeProvider, render_runtime
from runtime.render import STATE_DIR

CONFIG_NAMESPACE = "presence-sync"
DEFAULT_PORT = 9464
KUBERNETES_PORT = 9464


@dataclass(frozen=True)
class RuntimeSettings:
    """Where this stack's runtime goes: from the spec (target, namespace) and the stack's settings."""

    target: str
    work_dir: Path
    port: int
    namespace: str
    kubeconfig: str | None
    image: str
    deploy_bridge: bool
    connection_file: str | None

    @classmethod
    def from_stack(cls, spec: PresenceSpec) -> RuntimeSettings:
        config = pulumi.Config(CONFIG_NAMESPACE)
        runtime_dir = config.get("runtimeDir") or str(Path(".state") / "runtime" / pulumi.get_stack())
        k8s = spec.runtime.kubernetes
        return cls(
            target=spec.runtime.target,
            work_dir=Path(runtime_dir).expanduser().resolve(),  # absolute: the provider runs elsewhere
            port=config.get_int("runtimePort") or DEFAULT_PORT,
            namespace=k8s.namespace if k8s is not None else "presence-sync",
            kubeconfig=config.get("kubeconfig") or os.environ.get("KUBECONFIG"),
            image=config.get("runtimeImage") or "presence-sync-runtime:latest",
            deploy_bridge=config.get_bool("deployBridge") is not False,
            connection_file=config.get("connectionFile"),
        )

    def config_overrides(self) -> dict[str, Any]:
        """The config fields the spec does not carry: where the store lives and where /healthz listens."""
        if self.target == "local":
            return {"store_path": str(self.work_dir / "state.sqlite3"), "metrics_host": "127.0.0.1",
                    "metrics_port": self.port}  # fmt: skip
        return {"store_path": f"{STATE_DIR}/state.sqlite3", "metrics_host": "0.0.0.0", "metrics_port": KUBERNETES_PORT}

    def kubernetes_inputs(self) -> dict[str, Any] | None:
        if self.target == "local":
            return None
        return {"namespace": self.namespace, "kubeconfig": self.kubeconfig, "image": self.image}


def build_runtime_config(spec: PresenceSpec, settings: RuntimeSettings) -> dict[str, Any]:
    """The service's config as JSON data, names resolved through the vendor clients (program side)."""
    from presence_sync.clients.cxone import CxoneClient
    from presence_sync.clients.salesforce import SalesforceClient
    from providers.context import read_connection_file
    from runtime.config import ClientResolver, ConfigError, build_config

    environ = dict(os.environ)
    if settings.connection_file:
        environ = {**read_connection_file(Path(settings.connection_file)), **environ}
        if "REQUESTS_CA_BUNDLE" in environ:
            os.environ.setdefault("REQUESTS_CA_BUNDLE", environ["REQUESTS_CA_BUNDLE"])
    salesforce = SalesforceClient.from_env(environ)
    cxone = CxoneClient.from_env(environ)
    try:
        config = build_config(spec, ClientResolver(salesforce, cxone), **settings.config_overrides())
    except ConfigError as error:
        raise pulumi.RunError(f"sync runtime: cannot build its config: {error}") from None
    finally:
        salesforce.close()
        if hasattr(cxone, "close"):
            cxone.close()
    data: dict[str, Any] = config.model_dump(mode="json")
    return data


class SyncRuntime(Resource, module="runtime", name="SyncRuntime"):
    running: pulumi.Output[bool]
    digest: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        config: pulumi.Input[dict[str, Any]],
        digest: pulumi.Input[str],
        settings: RuntimeSettings,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "name": "presence-sync",
            "target": settings.target,
            "config": config,
            "digest": digest,
            "running": True,
            "deployBridge": settings.deploy_bridge,
            "workDir": str(settings.work_dir),
            "kubernetes": settings.kubernetes_inputs(),
            "providerVersion": PROVIDER_VERSION,
            "pid": None,  # outputs
            "healthUrl": None,
        }
        super().__init__(SyncRuntimeProvider(), resource_name, props, opts)


def declare_runtime(
    spec: PresenceSpec,
    *,
    after: Sequence[pulumi.Resource],
    waits_for: Sequence[pulumi.Output[Any]],
    settings: RuntimeSettings | None = None,
) -> SyncRuntime:
    """The runtime, depending on every resource in ``after``; its config is built once ``waits_for`` (the
    status ids and rule ids it resolves against) are known."""
    settings = settings or RuntimeSettings.from_stack(spec)
    config = pulumi.Output.all(*waits_for).apply(lambda _: build_runtime_config(spec, settings))
    digest = config.apply(lambda data: render_runtime(data, kubernetes=settings.kubernetes_inputs()).digest)
    return SyncRuntime(
        "runtime", config=config, digest=digest, settings=settings,
        opts=pulumi.ResourceOptions(depends_on=list(after)),
    )  # fmt: skip
