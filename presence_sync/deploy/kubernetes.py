"""The runtime's Kubernetes objects, built as data and written with PyYAML (no YAML is assembled from text).

Two shapes, chosen by the runtime config's store:

* SQLite (no ``postgres`` in the config): one replica, ``Recreate`` (never two writers on one file), the state on
  a ReadWriteOnce PersistentVolumeClaim;
* PostgreSQL: ``replicas`` (at least 2) that shard the agents through leases in the database, ``RollingUpdate``
  with no pod down before its successor is ready (``maxUnavailable: 0``), a PodDisruptionBudget allowing one pod
  down, pods kept on different nodes (required anti-affinity on ``kubernetes.io/hostname``), no volume but
  ``/tmp``, the connection string from the credentials Secret, and egress to the database's port. Readiness is
  lease ownership: ``/readyz`` answers 200 once the replica holds the shards the assignment gives it.

Every value comes from the caller; what a person should know about an object sits in the comment heading its
file (PyYAML writes no comments inside a document).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = ["KubeContext", "dump", "manifests"]

POSTGRES_PORT = 5432


@dataclass(frozen=True)
class KubeContext:
    """What the objects are made of (render.py fills it from RenderOptions and the config)."""

    name: str
    namespace: str
    image: str
    port: int
    replicas: int
    run_as_user: int
    cpu_limit: str
    memory_limit: str
    labels: Mapping[str, str]
    selector: Mapping[str, str]
    config_text: str
    config_digest: str
    config_dir: str
    state_dir: str
    secret_name: str
    secret_variables: Sequence[tuple[str, bool, str]]  # (name, required, description)
    prometheus_namespace: str
    prometheus_pod_labels: Mapping[str, str]
    kubelet_cidrs: Sequence[str]
    vendor_egress: Sequence[tuple[str, Sequence[str]]]
    metrics_bind: str
    dsn_env: str | None  # set: the PostgreSQL store (sharded replicas)

    @property
    def sharded(self) -> bool:
        return self.dsn_env is not None


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line strings as literal blocks (the config reads as JSON in the ConfigMap)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(header: str, *documents: Mapping[str, Any]) -> str:
    """``header`` as comment lines, then the documents (keys in the order built, which is Kubernetes' own)."""
    comments = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    body = yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)
    return comments + body


def _metadata(ctx: KubeContext, name: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {"name": name, "namespace": ctx.namespace, "labels": dict(labels or ctx.labels)}


def namespace(ctx: KubeContext) -> dict[str, Any]:
    restricted = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
    labels = {**ctx.labels, **restricted, "pod-security.kubernetes.io/enforce-version": "latest"}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ctx.namespace, "labels": labels}}


def configmap(ctx: KubeContext) -> dict[str, Any]:
    meta = _metadata(ctx, f"{ctx.name}-config")
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"config.json": ctx.config_text}}


def service(ctx: KubeContext) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(ctx, ctx.name),
        "spec": {
            "selector": dict(ctx.selector),
            "ports": [{"name": "http", "port": ctx.port, "targetPort": "http"}],
        },
    }


def secret_template(ctx: KubeContext) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(ctx, ctx.secret_name),
        "type": "Opaque",
        "stringData": {name: "${" + name + "}" for name, _, _ in ctx.secret_variables},
    }


def network_policy(ctx: KubeContext) -> dict[str, Any]:
    sources: list[dict[str, Any]] = [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ctx.prometheus_namespace}},
            "podSelector": {"matchLabels": dict(ctx.prometheus_pod_labels)},
        },
        *({"ipBlock": {"cidr": cidr}} for cidr in ctx.kubelet_cidrs),
    ]
    vendors = [
        {"ipBlock": {"cidr": cidr, **({"except": list(excepted)} if excepted else {})}}
        for cidr, excepted in ctx.vendor_egress
    ]
    egress: list[dict[str, Any]] = [
        {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        {"to": vendors, "ports": [{"protocol": "TCP", "port": 443}]},
    ]
    if ctx.sharded:  # the database may be in or out of the cluster: its port, to any address
        egress.append({"ports": [{"protocol": "TCP", "port": POSTGRES_PORT}]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(ctx, ctx.name),
        "spec": {
            "podSelector": {"matchLabels": dict(ctx.selector)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": sources, "ports": [{"protocol": "TCP", "port": ctx.port}]}],
            "egress": egress,
        },
    }


def _env(ctx: KubeContext) -> list[dict[str, Any]]:
    variables = list(ctx.secret_variables)
    env = []
    for name, required, _ in variables:
        ref: dict[str, Any] = {"name": ctx.secret_name, "key": name}
        if not required:
            ref["optional"] = True
        env.append({"name": name, "valueFrom": {"secretKeyRef": ref}})
    return env


def _container(ctx: KubeContext) -> dict[str, Any]:
    mounts = [{"name": "config", "mountPath": ctx.config_dir, "readOnly": True}]
    if not ctx.sharded:
        mounts.append({"name": "state", "mountPath": ctx.state_dir})
    mounts.append({"name": "tmp", "mountPath": "/tmp"})
    return {
        "name": "runtime",
        "image": ctx.image,
        "ports": [{"name": "http", "containerPort": ctx.port, "protocol": "TCP"}],
        "env": _env(ctx),
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "http"},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5, "failureThreshold": 2},
        "resources": {
            "requests": {"cpu": "50m", "memory": "128Mi"},
            "limits": {"cpu": ctx.cpu_limit, "memory": ctx.memory_limit},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": mounts,
    }


def _pod(ctx: KubeContext) -> dict[str, Any]:
    volumes: list[dict[str, Any]] = [{"name": "config", "configMap": {"name": f"{ctx.name}-config"}}]
    if not ctx.sharded:
        volumes.append({"name": "state", "persistentVolumeClaim": {"claimName": f"{ctx.name}-state"}})
    volumes.append({"name": "tmp", "emptyDir": {}})
    pod: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": ctx.run_as_user,
            "runAsGroup": ctx.run_as_user,
            "fsGroup": ctx.run_as_user,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if ctx.sharded:  # one node's loss takes one replica at most
        term = {"labelSelector": {"matchLabels": dict(ctx.selector)}, "topologyKey": "kubernetes.io/hostname"}
        pod["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
    return {**pod, "containers": [_container(ctx)], "volumes": volumes}


def deployment(ctx: KubeContext) -> dict[str, Any]:
    strategy: dict[str, Any] = (
        {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
        if ctx.sharded
        else {"type": "Recreate"}
    )
    annotations = {
        "presence-sync/config-digest": ctx.config_digest,
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(ctx.port),
        "prometheus.io/path": "/metrics",
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(ctx, ctx.name),
        "spec": {
            "replicas": ctx.replicas,
            "strategy": strategy,
            "selector": {"matchLabels": dict(ctx.selector)},
            "template": {"metadata": {"labels": dict(ctx.labels), "annotations": annotations}, "spec": _pod(ctx)},
        },
    }


def state_claim(ctx: KubeContext) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _metadata(ctx, f"{ctx.name}-state"),
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }


def disruption_budget(ctx: KubeContext) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _metadata(ctx, ctx.name),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(ctx.selector)}},
    }


_GENERATED = "Generated by presence_sync/deploy/render.py -- "


def _deployment_header(ctx: KubeContext) -> str:
    bind = json.dumps(ctx.metrics_bind)
    if ctx.sharded:
        shape = (
            f"{ctx.replicas} replicas sharing a PostgreSQL store (its connection string is\n"
            f"{ctx.dsn_env} from the Secret {ctx.secret_name}); each owns the agents of the shards it leases,\n"
            "readiness is holding them. RollingUpdate never takes a pod down before its successor is ready; the\n"
            "budget allows one pod down at a time; required anti-affinity keeps the pods on different nodes; no\n"
            "volume but /tmp."
        )
    else:
        shape = (
            "One replica (the store is SQLite on a volume), Recreate: never two writers on one\n"
            "store. The state claim keeps cursors, per-agent states and pending writes across pod restarts."
        )
    return (
        f"{_GENERATED}the sync service.\n{shape}\n"
        f"/healthz, /readyz and /metrics listen on {bind} (config.json's metrics_host and metrics_port; the\n"
        "Kubernetes target sets 0.0.0.0 so the kubelet's probes and Prometheus reach them). No auth and no secret\n"
        "in them; the NetworkPolicy admits only Prometheus and the node. The root filesystem is read-only."
    )


def manifests(ctx: KubeContext) -> dict[str, str]:
    """``kubernetes/<file>.yaml`` -> text."""
    objects = [deployment(ctx), disruption_budget(ctx) if ctx.sharded else state_claim(ctx)]
    secret_lines = "\n".join(
        f"  {name}: {'required' if required else 'optional'}: {description}"
        for name, required, description in ctx.secret_variables
    )
    port_note = f"; and PostgreSQL ({POSTGRES_PORT})" if ctx.sharded else ""
    return {
        "kubernetes/namespace.yaml": dump(
            f"{_GENERATED}the runtime's namespace. Pod Security Admission enforces the `restricted` profile:\n"
            "a pod that runs as root, keeps a capability or asks for privilege is refused.",
            namespace(ctx),
        ),
        "kubernetes/configmap.yaml": dump(
            f"{_GENERATED}the runtime's configuration (ids only; no secrets).", configmap(ctx)
        ),
        "kubernetes/credentials.template.yaml": dump(
            f"{_GENERATED}a TEMPLATE: it names the credentials the runtime reads, never their values.\n"
            f"It is not applied by `pulumi up`. Create the Secret {ctx.secret_name} from your secret store (kubectl\n"
            "create secret generic ... --from-literal=NAME=...), or substitute the ${...} references from a CI job's\n"
            "environment (envsubst < credentials.template.yaml | kubectl apply -f -). The variables:\n" + secret_lines,
            secret_template(ctx),
        ),
        "kubernetes/deployment.yaml": dump(_deployment_header(ctx), *objects),
        "kubernetes/service.yaml": dump(
            f"{_GENERATED}/metrics, /healthz and /readyz inside the cluster.", service(ctx)
        ),
        "kubernetes/networkpolicy.yaml": dump(
            f"{_GENERATED}the runtime's network fence. In: only the metrics port ({ctx.port}), from\n"
            "Prometheus and the kubelet's probes (traffic from the pod's own node is always allowed).\n"
            f"Out: only DNS (53, UDP and TCP), the vendors' HTTPS (443){port_note}. Needs a network plugin that\n"
            "enforces it.",
            network_policy(ctx),
        ),
    }
