"""The sync runtime's inputs (what the program sends and `check` completes) and the rendered tree they make: shared
by the provider and its two targets (``sync_runtime_local``, ``sync_runtime_kubernetes``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from pydantic.alias_generators import to_camel

from presence_sync.deploy.render import Rendered, RenderOptions, render
from providers.base import ProviderError, ProviderInputs


class KubernetesInputs(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, validate_by_alias=True, validate_by_name=True)

    namespace: str = "presence-sync"
    kubeconfig: str | None = None
    context: str | None = None
    image: str | None = (
        None  # None: presence-sync-runtime:<content tag> (presence_sync.deploy.render.RenderOptions.image)
    )
    rollout_timeout_seconds: int = 180
    # The rendered manifests' knobs (presence_sync.deploy.render.RenderOptions): limits and the NetworkPolicy's peers.
    cpu_limit: str = "1"
    memory_limit: str = "256Mi"
    prometheus_namespace: str = "monitoring"
    prometheus_pod_labels: dict[str, str] = {"app.kubernetes.io/name": "prometheus"}
    kubelet_cidrs: tuple[str, ...] = ()
    vendor_cidrs: tuple[str, ...] = ()


class SyncRuntimeInputs(ProviderInputs):
    name: str = "presence-sync"
    target: Literal["local", "kubernetes"] = "local"
    spec: dict[str, Any] | None = None
    overrides: dict[str, Any] = {}
    config: dict[str, Any] | None = None
    digest: str | None = None
    running: bool = True
    deploy_bridge: bool = True
    bridge_digest: str | None = None
    # local
    work_dir: str
    ready_timeout_seconds: float = 60.0
    stop_timeout_seconds: float = 10.0
    # kubernetes
    kubernetes: KubernetesInputs | None = None

    @field_validator("work_dir")
    @classmethod
    def _absolute(cls, work_dir: str) -> str:
        if not Path(work_dir).is_absolute():
            raise ValueError(f"must be an absolute path, not {work_dir!r}")
        return work_dir

    @model_validator(mode="after")
    def _checked(self) -> SyncRuntimeInputs:
        if self.target == "kubernetes" and self.kubernetes is None:
            self.kubernetes = KubernetesInputs()
        return self

    @property
    def service_config(self) -> dict[str, Any]:
        if self.config is None:
            raise ProviderError(f"sync runtime {self.name}: no config (check did not resolve it); run `up` again")
        return self.config

    def rendered(self) -> Rendered:
        return render_runtime(self.service_config, name=self.name, kubernetes=self.kubernetes)


def render_runtime(
    config: Mapping[str, Any], *, name: str = "presence-sync", kubernetes: KubernetesInputs | Mapping[str, Any] | None
) -> Rendered:
    """The rendered tree for these inputs: what the provider writes, and what the resource's digest is of."""
    config = canonical(config)
    k8s = kubernetes if isinstance(kubernetes, KubernetesInputs) else KubernetesInputs.model_validate(kubernetes or {})
    port = int(config.get("metrics_port") or 9464)
    options = RenderOptions(
        name=name,
        namespace=k8s.namespace,
        image=k8s.image,
        port=port,
        cpu_limit=k8s.cpu_limit,
        memory_limit=k8s.memory_limit,
        prometheus_namespace=k8s.prometheus_namespace,
        prometheus_pod_labels=k8s.prometheus_pod_labels,
        kubelet_cidrs=k8s.kubelet_cidrs,
        vendor_cidrs=k8s.vendor_cidrs,
    )
    return render(config, options)


def canonical(value: Any) -> Any:
    """Numbers as the engine gives them back are floats (2 -> 2.0): integral floats become ints; and a key whose
    value is null is left out (the engine drops nulls from a provider's inputs), so a config renders -- and
    digests -- the same before and after a trip through the engine and the state."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {key: canonical(item) for key, item in value.items() if item is not None}
    if isinstance(value, (list, tuple)):
        return [canonical(item) for item in value]
    return value
