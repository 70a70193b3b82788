"""`runtime:SyncRuntime`: the generated sync service, declared last.

The program hands over the spec (names, no secrets) and where the runtime goes; the provider's ``check``
resolves the names to ids through the vendor clients (``presence_sync.runtime_config_build.build_config``) and renders
the result, so the service's config and the digest of the rendered tree are the resource's checked inputs and `pulumi
preview` shows when either changes. Until the statuses it names exist (the first run), ``create`` resolves it.

Stack settings (``pulumi config set presence-sync:<key>``), all optional:

* ``runtimeDir``   where the local target keeps its rendered files, pid, log and store
                   (default ``.state/runtime/<stack>`` under the project's directory);
* ``runtimePort``  the local service's /healthz, /readyz and /metrics port (default 9464);
* ``kubeconfig``   the cluster for ``target: kubernetes`` (default ``$KUBECONFIG``);
* ``runtimeImage`` the image the Deployment runs (``target: kubernetes``): an immutable reference, a version
                   or commit tag or a digest (``:latest`` or no tag is refused); unset, the render's content
                   tag ``presence-sync-runtime:<12 hex>`` of what goes into the image;
* ``deployBridge`` false to leave the Salesforce-side bridge (salesforce/bridge: platform events, Lightning
                   components, Apex class) to someone else.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from presence_sync.deploy.render import STATE_DIR
from presence_sync.spec.models import PresenceSpec
from providers.sync_runtime import SyncRuntimeProvider

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
    image: str | None
    deploy_bridge: bool

    @classmethod
    def from_stack(cls, spec: PresenceSpec) -> RuntimeSettings:
        config = pulumi.Config(CONFIG_NAMESPACE)
        root = Path(pulumi.get_root_directory() or ".")
        runtime_dir = config.get("runtimeDir") or str(root / ".state" / "runtime" / pulumi.get_stack())
        k8s = spec.runtime.kubernetes
        return cls(
            target=spec.runtime.target,
            work_dir=(root / Path(runtime_dir).expanduser()).resolve(),  # absolute: the provider runs elsewhere
            port=config.get_int("runtimePort") or DEFAULT_PORT,
            namespace=k8s.namespace if k8s is not None else "presence-sync",
            kubeconfig=config.get("kubeconfig") or os.environ.get("KUBECONFIG"),
            image=config.get("runtimeImage"),  # unset: the render's content tag; never a moving tag
            deploy_bridge=config.get_bool("deployBridge") is not False,
        )

    def config_overrides(self) -> dict[str, Any]:
        """The config fields the spec does not carry: where the store lives and where /healthz listens."""
        if self.target == "local":
            return {
                "store_path": str(self.work_dir / "state.sqlite3"),
                "metrics_host": "127.0.0.1",
                "metrics_port": self.port,
            }
        return {"store_path": f"{STATE_DIR}/state.sqlite3", "metrics_host": "0.0.0.0", "metrics_port": KUBERNETES_PORT}

    def kubernetes_inputs(self) -> dict[str, Any] | None:
        if self.target == "local":
            return None
        return {"namespace": self.namespace, "kubeconfig": self.kubeconfig, "image": self.image}


class SyncRuntime(Resource, module="runtime", name="SyncRuntime"):
    running: pulumi.Output[bool]
    digest: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        spec: PresenceSpec,
        settings: RuntimeSettings,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "name": "presence-sync",
            "target": settings.target,
            "spec": spec.model_dump(mode="json", by_alias=True),  # names: the provider resolves them to ids
            "overrides": settings.config_overrides(),
            "config": None,  # resolved and rendered by the provider's check
            "digest": None,
            "running": True,
            "deployBridge": settings.deploy_bridge,
            "bridgeDigest": None,  # the digest of salesforce/bridge: set by the provider's check
            "workDir": str(settings.work_dir),
            "kubernetes": settings.kubernetes_inputs(),
            "providerVersion": SyncRuntimeProvider.version,
            "pid": None,  # outputs
            "healthUrl": None,
        }
        super().__init__(SyncRuntimeProvider(), resource_name, props, opts)


def declare_runtime(
    spec: PresenceSpec, *, after: Sequence[pulumi.Resource], settings: RuntimeSettings | None = None
) -> SyncRuntime:
    """The runtime, after every resource in ``after`` (created after them, destroyed before them)."""
    settings = settings or RuntimeSettings.from_stack(spec)
    return SyncRuntime("runtime", spec=spec, settings=settings, opts=pulumi.ResourceOptions(depends_on=list(after)))
