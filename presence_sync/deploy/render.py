"""Render the runtime's deployable artifacts from its config: the reviewed, generated part of the service.

``render(config, options)`` turns a ``RuntimeConfig`` (the service's JSON config, rules resolved to ids; or
the same data as a plain mapping) into a tree of text files:

* ``config.json``                  the service's config, exactly what ``python -m runtime --config`` reads;
* ``Dockerfile``, ``.dockerignore`` (and ``Dockerfile.dockerignore``, the same list where BuildKit looks for
  it when the repository is the build context): an image that installs this project and runs the service;
* ``kubernetes/*.yaml``            Namespace (Pod Security ``restricted`` enforced), NetworkPolicy (ingress
  only to the metrics port from Prometheus and the kubelet; egress only to DNS and the vendors on 443, and
  PostgreSQL's port with that store), ConfigMap (config.json), Deployment with ``/healthz`` liveness and
  ``/readyz`` readiness probes, non-root, no capabilities, RuntimeDefault seccomp, read-only root, no
  service-account token, CPU and memory limits (with SQLite: one replica, Recreate, its state volume claim;
  with PostgreSQL: several replicas, RollingUpdate, a PodDisruptionBudget, anti-affinity, no volume), Service
  (metrics), and ``credentials.template.yaml`` (a Secret): a *template* naming the SF_*/CXONE_* variables
  (and the database's), never containing a value (credentials come from the cluster's secret store).
  They are built as data and written by PyYAML (``kubernetes.py``).

Output is deterministic: JSON with sorted keys, files in a fixed order, no timestamps; ``Rendered.digest``
is a hash over the whole tree, so a change anywhere is one visible changed value in ``pulumi preview``.

The other files are jinja2 templates with ``StrictUndefined`` (a missing value is an error, not an empty string) and no
autoescaping (the output is YAML/JSON, not HTML): every value that is not a fixed literal goes through the
``to_json`` filter, and a JSON string is a valid YAML double-quoted scalar, so no value can break the syntax.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from .kubernetes import KubeContext, manifests

__all__ = [
    "CONFIG_DIR",
    "CONFIG_PATH",
    "SECRET_VARIABLES",
    "RenderOptions",
    "Rendered",
    "SecretVariable",
    "config_data",
    "render",
    "to_json",
]

TEMPLATES = Path(__file__).resolve().parent / "templates"
CONFIG_DIR = "/etc/presence-sync"
CONFIG_PATH = f"{CONFIG_DIR}/config.json"
STATE_DIR = "/var/lib/presence-sync"


@dataclass(frozen=True)
class SecretVariable:
    name: str
    required: bool
    description: str


# The variables presence_sync/clients/settings.py reads. Names only: values never pass through a render.
SECRET_VARIABLES: tuple[SecretVariable, ...] = (
    SecretVariable("SF_LOGIN_URL", True, "base URL whose /services/oauth2/token issues Salesforce tokens"),
    SecretVariable("SF_CLIENT_ID", True, "consumer key of the Salesforce OAuth app"),
    SecretVariable("SF_CLIENT_SECRET", True, "consumer secret of the Salesforce OAuth app"),
    SecretVariable("SF_USERNAME", False, "integration user's username (password grant)"),
    SecretVariable("SF_PASSWORD", False, "integration user's password + security token (password grant)"),
    SecretVariable("SF_GRANT", False, "password (default) or client_credentials"),
    SecretVariable("SF_API_VERSION", False, "Salesforce API version, e.g. 59.0"),
    SecretVariable("SF_PUBSUB_ENDPOINT", False, "Pub/Sub API host:port (default api.pubsub.salesforce.com:443)"),
    SecretVariable("CXONE_AUTH_URL", True, "CXone base URL with /auth/token"),
    SecretVariable("CXONE_API_URL", False, "CXone API base URL (discovered when unset)"),
    SecretVariable("CXONE_CLIENT_ID", True, "client id of the registered CXone application"),
    SecretVariable("CXONE_CLIENT_SECRET", True, "client secret of the registered CXone application"),
    SecretVariable("CXONE_ACCESS_KEY_ID", True, "access key id of the CXone integration user"),
    SecretVariable("CXONE_ACCESS_KEY_SECRET", True, "secret of that access key"),
    SecretVariable("CXONE_API_VERSION", False, "CXone API version, e.g. v34.0"),
)


DEFAULT_BASE_IMAGE = "python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7"
"""The base the template pins python:3.11-slim to (see docs/gitops.md, "Supply chain")."""
DEFAULT_IMAGE_REPOSITORY = "presence-sync-runtime"
_BASE_IMAGE = re.compile(r"^[^\s@]+@sha256:[0-9a-f]{64}$")
_DIGEST_PINNED = re.compile(r"@sha256:[0-9a-f]{64}$")
ROOT = Path(__file__).resolve().parents[2]
IMAGE_INPUTS = ("presence_sync/deploy/templates/Dockerfile.j2", "requirements-runtime.lock", "presence_sync", "runtime")
"""What the image is built from (the Dockerfile copies the lock and these two folders onto the pinned base)."""


def _moving_tag(image: str) -> bool:
    last = image.rsplit("/", 1)[-1]  # a registry's port (host:5000/repo) is not a tag
    return ":" not in last or last.rsplit(":", 1)[1] in ("", "latest")


@functools.lru_cache(maxsize=1)
def content_tag(root: Path = ROOT) -> str:
    """12 hex of sha256 over the image's inputs (`IMAGE_INPUTS`: path and bytes of every file, in path order,
    caches left out), computed once per process: the same sources, the same tag; any change, another."""
    digest = hashlib.sha256()
    for entry in IMAGE_INPUTS:
        path = root / entry
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts or file.suffix in (".pyc", ".pyo"):
                continue
            data = file.read_bytes()
            digest.update(f"{file.relative_to(root).as_posix()}\0{len(data)}\0".encode())
            digest.update(data)
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class RenderOptions:
    """Where and how the service runs; everything in the artifacts that is not the service's own config."""

    name: str = "presence-sync"
    namespace: str = "presence-sync"
    image: str | None = None
    """The image the Deployment runs: a tag that is a release (``repo:1.4.2``, ``repo:<commit>``) or a digest
    (``repo@sha256:...``); never ``:latest`` or no tag. None: ``presence-sync-runtime:<content tag>``, 12 hex of
    sha256 over what goes into the image (`content_tag`), so a different build never gets the same tag."""
    port: int = 9464
    replicas: int | None = None
    """None: 1 with the SQLite store (the only possible), 2 with PostgreSQL (at least 2 there)."""
    base_image: str = DEFAULT_BASE_IMAGE
    """``name[:tag]@sha256:<64 hex>``: the base is pinned by digest (a tag may move under a build)."""
    run_as_user: int = 10001
    cpu_limit: str = "1"
    memory_limit: str = "256Mi"
    # The NetworkPolicy: who may scrape /metrics (a namespace and the pods in it with these labels), extra
    # sources for the kubelet's probes (the node a pod runs on is always allowed; list node CIDRs only for a
    # network plugin that does not), and where the vendors are (empty: any public address, no private ranges).
    prometheus_namespace: str = "monitoring"
    prometheus_pod_labels: Mapping[str, str] = field(default_factory=lambda: {"app.kubernetes.io/name": "prometheus"})
    kubelet_cidrs: tuple[str, ...] = ()
    vendor_cidrs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for label, value in (
            ("name", self.name),
            ("namespace", self.namespace),
            ("Prometheus namespace", self.prometheus_namespace),
        ):
            if not _is_dns_label(value):
                raise ValueError(
                    f"runtime {label} {value!r} is not a Kubernetes name "
                    "(lowercase letters, digits and '-', at most 63, starting and ending alphanumeric)"
                )
        for key, value in self.prometheus_pod_labels.items():
            if not _LABEL_KEY.fullmatch(key) or not _LABEL_VALUE.fullmatch(value):
                raise ValueError(f"Prometheus pod label {key}={value!r} is not a Kubernetes label")
        for cidr in (*self.kubelet_cidrs, *self.vendor_cidrs):
            try:
                ipaddress.ip_network(cidr)
            except ValueError:
                raise ValueError(f"{cidr!r} is not a CIDR such as 10.0.0.0/16 (host bits must be zero)") from None
        if not _QUANTITY.fullmatch(self.cpu_limit) or not _QUANTITY.fullmatch(self.memory_limit):
            raise ValueError(
                f"runtime limits cpu={self.cpu_limit!r} memory={self.memory_limit!r} are not Kubernetes quantities "
                "(such as 500m, 1, 256Mi)"
            )
        if not 1 <= self.port <= 65535:
            raise ValueError(f"runtime port {self.port} is not a TCP port")
        if self.image is None:
            object.__setattr__(self, "image", f"{DEFAULT_IMAGE_REPOSITORY}:{content_tag()}")
        image = str(self.image)
        if not image or any(ch.isspace() for ch in image):
            raise ValueError(f"runtime image {image!r} is not an image reference")
        if not _DIGEST_PINNED.search(image) and _moving_tag(image):
            raise ValueError(
                f"runtime image {image!r} is a moving reference (no tag, or :latest): give an immutable one, a "
                "version or commit tag (repo:1.4.2) or a digest (repo@sha256:<64 hex>), or leave it unset for "
                f"{DEFAULT_IMAGE_REPOSITORY}:<content tag>"
            )
        if not _BASE_IMAGE.fullmatch(self.base_image):
            raise ValueError(
                f"the runtime base image {self.base_image!r} is not pinned by digest; give it as "
                "name:tag@sha256:<64 hex digits> (resolve it with `docker buildx imagetools inspect name:tag`)"
            )
        if self.replicas is not None and self.replicas < 1:
            raise ValueError(f"runtime replicas {self.replicas} must be at least 1")


@dataclass(frozen=True)
class Rendered:
    """The rendered tree: relative path -> text, in a stable order."""

    files: Mapping[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return tree_digest(self.files)

    @property
    def config_json(self) -> str:
        return self.files["config.json"]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(sorted(self.files.items()))

    def manifests(self) -> list[str]:
        """The Kubernetes manifests `kubectl apply` takes, in apply order (the Secret is a template: excluded)."""
        return [path for path in KUBERNETES_APPLY_ORDER if path in self.files]

    def write(self, directory: Path) -> list[Path]:
        """Write the tree under ``directory``; files no longer rendered are left alone. Returns the paths."""
        written = []
        for relative, text in self:
            path = directory / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text)
            tmp.replace(path)  # a reader never sees half a file
            written.append(path)
        return written


KUBERNETES_APPLY_ORDER = (
    "kubernetes/namespace.yaml",
    "kubernetes/networkpolicy.yaml",  # before the pod: it never runs unfenced
    "kubernetes/configmap.yaml",
    "kubernetes/deployment.yaml",
    "kubernetes/service.yaml",
)

_OUTPUTS: tuple[tuple[str, str], ...] = (
    ("config.json", "config.json.j2"),
    ("Dockerfile", "Dockerfile.j2"),
    (".dockerignore", "dockerignore.j2"),
    ("Dockerfile.dockerignore", "dockerignore.j2"),
)

# Egress to the vendors when no vendor CIDRs are given: any public address. NetworkPolicy cannot name hosts
# (login.salesforce.com, *.niceincontact.com sit behind CDNs), so the fence is "port 443, not inside": the
# cluster's own networks (the API server, other services), link-local (cloud metadata) and loopback.
PUBLIC_EGRESS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("0.0.0.0/0", ("10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16")),
    ("::/0", ("::1/128", "fc00::/7", "fe80::/10")),
)


def to_json(value: Any) -> str:
    """Canonical JSON: sorted keys, two-space indent for objects; a scalar on one line."""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # YAML/JSON, not HTML: values are escaped by to_json instead
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["to_json"] = to_json
    return env


def config_data(config: Any) -> dict[str, Any]:
    """The config as JSON data: a pydantic model (RuntimeConfig) is dumped the way the service reads it."""
    if hasattr(config, "model_dump"):
        data = config.model_dump(mode="json", by_alias=True)
    elif isinstance(config, Mapping):
        data = json.loads(json.dumps(dict(config)))  # JSON-clean copy; fails loudly on non-JSON values
    else:
        raise TypeError(f"a runtime config is a RuntimeConfig or a mapping, not {type(config).__name__}")
    if not isinstance(data, dict):
        raise TypeError("a runtime config must be a JSON object")
    return data


def _replicas(options: RenderOptions, dsn_env: str | None) -> int:
    if dsn_env is None:
        if options.replicas not in (None, 1):
            raise ValueError(
                f"runtime replicas {options.replicas}: the SQLite store has one writer, so one replica; set "
                "runtime.store to PostgreSQL (kind: postgres) to run several"
            )
        return 1
    if options.replicas == 1:
        raise ValueError("runtime replicas 1 with the PostgreSQL store: run at least 2 (that is why it is shared)")
    return options.replicas or 2


def render(config: Any, options: RenderOptions | None = None) -> Rendered:
    options = options or RenderOptions()
    data = config_data(config)
    postgres = data.get("postgres")
    dsn_env = str(postgres["dsn_env"]) if isinstance(postgres, Mapping) and postgres.get("dsn_env") else None
    labels = {
        "app.kubernetes.io/name": "presence-sync",
        "app.kubernetes.io/instance": options.name,
        "app.kubernetes.io/component": "runtime",
    }
    secret_variables = [(v.name, v.required, v.description) for v in SECRET_VARIABLES]
    if dsn_env is not None:
        secret_variables.append((dsn_env, True, "PostgreSQL connection string of the runtime's shared store"))
    config_digest = hashlib.sha256(to_json(data).encode()).hexdigest()[:16]
    context: dict[str, Any] = {
        "config": data,
        "name": options.name,
        "image": options.image,
        "port": options.port,
        "base_image": options.base_image,
        "run_as_user": options.run_as_user,
        "config_path": CONFIG_PATH,
        "config_dir": CONFIG_DIR,
        "state_dir": STATE_DIR,
        "build_file_hint": "<rendered dir>/Dockerfile",
        "secret_name": f"{options.name}-credentials",
    }
    kube = KubeContext(
        name=options.name,
        namespace=options.namespace,
        image=str(options.image),
        port=options.port,
        replicas=_replicas(options, dsn_env),
        run_as_user=options.run_as_user,
        cpu_limit=options.cpu_limit,
        memory_limit=options.memory_limit,
        labels=labels,
        selector={key: labels[key] for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance")},
        config_text=to_json(data) + "\n",
        config_digest=config_digest,
        config_dir=CONFIG_DIR,
        state_dir=STATE_DIR,
        secret_name=f"{options.name}-credentials",
        secret_variables=secret_variables,
        prometheus_namespace=options.prometheus_namespace,
        prometheus_pod_labels=dict(options.prometheus_pod_labels),
        kubelet_cidrs=list(options.kubelet_cidrs),
        vendor_egress=[(cidr, []) for cidr in options.vendor_cidrs] or [(c, list(e)) for c, e in PUBLIC_EGRESS],
        metrics_bind=f"{data.get('metrics_host', '127.0.0.1')}:{options.port}",
        dsn_env=dsn_env,
    )
    env = _environment()
    files = {path: env.get_template(template).render(context) for path, template in _OUTPUTS}
    files.update(manifests(kube))
    return Rendered(files)


def tree_digest(files: Mapping[str, str]) -> str:
    """sha256 over (path, content) pairs in path order: equal trees, equal digests; any change, a new one."""
    digest = hashlib.sha256()
    for path in sorted(files):
        encoded = files[path].encode()
        digest.update(f"{path}\0{len(encoded)}\0".encode())
        digest.update(encoded)
    return f"sha256:{digest.hexdigest()}"


_LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_QUANTITY = re.compile(r"\d+(\.\d+)?(m|k|M|G|Ki|Mi|Gi)?")


def _is_dns_label(value: str) -> bool:
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-")
    return 0 < len(value) <= 63 and set(value) <= allowed and value[0] != "-" and value[-1] != "-"
