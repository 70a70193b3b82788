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

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import requests
from pulumi.dynamic import CheckFailure, CheckResult
from pulumi.output import Unknown
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from presence_sync.clients.errors import VendorError
from presence_sync.clients.settings import CxoneSettings, SalesforceSettings, SettingsError
from presence_sync.deploy.bridge import (
    BRIDGE_DIR,
    bridge_package,
    bridge_removal_package,
    bridge_test_classes,
    manifest_members,
)
from presence_sync.deploy.render import Rendered, RenderOptions, render, tree_digest
from providers import context
from providers.base import PROVIDER_KEY, ProviderError, ProviderInputs, SpecProvider, Written, changed_fields

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # pulumi.runtime.rpc.UNKNOWN, the wire form of an unknown value
PID_FILE = "supervisor.pid"
LOG_FILE = "runtime.log"
RUNTIME_MODULE_VARIABLE = "PRESENCE_SYNC_RUNTIME_MODULE"
"""Tests only: run a stand-in module instead of `runtime` under the supervisor."""

KUBECTL_INSTALL = "install kubectl (https://kubernetes.io/docs/tasks/tools/) and put it on PATH"


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


# -- commands (tests replace run_command) ----------------------------------------------------------------


def run_command(argv: Sequence[str], *, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)


def which(program: str) -> str | None:
    return shutil.which(program)


# -- the provider --------------------------------------------------------------------------------------


class SyncRuntimeProvider(SpecProvider[SyncRuntimeInputs, Any]):
    kind = "sync runtime"
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


# -- local ------------------------------------------------------------------------------------------------


class LocalTarget:
    def __init__(self, inputs: SyncRuntimeInputs) -> None:
        self.inputs = inputs
        self.dir = Path(inputs.work_dir)
        self.pid_file = self.dir / PID_FILE
        self.log_file = self.dir / LOG_FILE

    @property
    def health_base(self) -> str:
        host = str(self.inputs.service_config.get("metrics_host") or "127.0.0.1")
        host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
        return f"http://{host}:{int(self.inputs.service_config.get('metrics_port') or 9464)}"

    def id(self) -> str:
        return f"local:{self.dir}"

    def deploy(self) -> Written:
        self.stop()
        rendered = self.inputs.rendered()
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.dir.chmod(0o700)  # the store and the log: the owner's only
        rendered.write(self.dir)
        if self.inputs.running:
            self.start()
        return Written(self.id())

    def start(self) -> None:
        self._check_port_free()
        module = os.environ.get(RUNTIME_MODULE_VARIABLE, "runtime")
        argv = [
            sys.executable,
            "-m",
            "runtime.supervise",
            "--config",
            str(self.dir / "config.json"),
            "--pid-file",
            str(self.pid_file),
            "--stop-timeout",
            str(self.inputs.stop_timeout_seconds),
        ]
        if module != "runtime":
            argv += ["--module", module]
        env = {**_service_environment(), "PYTHONUNBUFFERED": "1"}
        with os.fdopen(os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
            process = subprocess.Popen(
                argv,
                cwd=self.dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its own process group: it outlives the engine's provider process
                umask=0o077,  # the store (state.sqlite3 and its journal) is created 0600
            )
        self._wait_ready(process)

    def _check_port_free(self) -> None:
        """Our own runtime is stopped by now: anything still on the port is someone else's, and its /readyz
        must not pass for ours."""
        host = str(self.inputs.service_config.get("metrics_host") or "127.0.0.1")
        port = int(self.inputs.service_config.get("metrics_port") or 9464)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                raise ProviderError(
                    f"{self._name()}: port {port} on {host} is in use ({error.strerror}): another runtime or program "
                    "holds it. Stop it, or give this stack another port: `pulumi config set presence-sync:runtimePort "
                    "<port>`"
                ) from None

    def _wait_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.inputs.ready_timeout_seconds
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ProviderError(
                    f"{self._name()}: the supervisor exited with code {process.returncode} before the service was "
                    f"ready. Last lines of {self.log_file}:\n{self._log_tail()}"
                )
            if _http_ok(f"{self.health_base}/readyz"):
                return
            time.sleep(0.2)
        self.stop()
        raise ProviderError(
            f"{self._name()}: {self.health_base}/readyz did not answer 200 within "
            f"{self.inputs.ready_timeout_seconds:g} s; stopped it. Last lines of {self.log_file}:\n{self._log_tail()}"
        )

    def supervisor_pid(self) -> int | None:
        """The live supervisor's pid from the pid file; None if there is none (or it is someone else's)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _is_our_supervisor(pid, self.pid_file) else None

    def read(self) -> dict[str, Any]:
        pid = self.supervisor_pid()
        running = pid is not None and _http_ok(f"{self.health_base}/healthz")
        names = list(self.inputs.rendered().files)
        on_disk: dict[str, str] = {}
        for relative in names:
            path = self.dir / relative
            if path.is_file():
                on_disk[relative] = path.read_text()
        digest = tree_digest(on_disk) if len(on_disk) == len(names) else "missing files"
        return {"running": running, "digest": digest, "pid": pid, "healthUrl": f"{self.health_base}/healthz"}

    def stop(self) -> None:
        pid = self.supervisor_pid()
        if pid is not None:
            _signal(pid, signal.SIGTERM)
            deadline = time.monotonic() + self.inputs.stop_timeout_seconds + 5
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.1)
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)  # the supervisor and its service: one process group
                while _alive(pid):
                    time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)

    def _name(self) -> str:
        return f"sync runtime {self.inputs.name} (local: {self.dir})"

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


# The local runtime's environment is an allowlist, not the provider's: the engine hands its provider processes
# PULUMI_CONFIG_PASSPHRASE (which decrypts every secret in the stack's state), cloud and CI tokens, and whatever
# else the shell that ran `pulumi up` held; the runtime needs none of it and runs for days after the engine exits.
CONNECTION_VARIABLES: frozenset[str] = frozenset(
    variable for settings in (SalesforceSettings, CxoneSettings) for variable, _, _ in settings.VARIABLES.values()
)
"""The SF_*/CXONE_* variables the vendor clients read (presence_sync/clients/settings.py), and no other."""
TLS_VARIABLES = frozenset({"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"})
PROXY_VARIABLES = frozenset(
    name for base in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY") for name in (base, base.lower())
)
BASIC_VARIABLES = frozenset({"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "PYTHONPATH"})
BASIC_PREFIXES = ("LC_",)  # locale categories
SERVICE_ENVIRONMENT = CONNECTION_VARIABLES | TLS_VARIABLES | PROXY_VARIABLES | BASIC_VARIABLES


def _service_environment() -> dict[str, str]:
    """The environment of the local runtime: the provider process's environment plus the connection file's
    settings (which win, as in ``providers.context``), filtered to ``SERVICE_ENVIRONMENT`` (and ``LC_*``)."""
    merged = {**os.environ, **context._settings}
    return {
        name: value for name, value in merged.items() if name in SERVICE_ENVIRONMENT or name.startswith(BASIC_PREFIXES)
    }


def _http_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it was our child (started by this provider process)
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return False
    return state != "Z"


def _is_our_supervisor(pid: int, pid_file: Path) -> bool:
    if not _alive(pid):
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return False
    return b"runtime.supervise" in argv and str(pid_file).encode() in argv  # not a recycled pid


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


# -- kubernetes ---------------------------------------------------------------------------------------------


class KubernetesTarget:
    def __init__(self, inputs: SyncRuntimeInputs) -> None:
        self.inputs = inputs
        self.k8s = inputs.kubernetes or KubernetesInputs()
        self.dir = Path(inputs.work_dir)

    def id(self) -> str:
        return f"kubernetes:{self.k8s.namespace}/{self.inputs.name}"

    def kubectl(self) -> list[str]:
        kubectl = which("kubectl")
        if kubectl is None:
            raise ProviderError(f"{self._name()}: kubectl is not on PATH: {KUBECTL_INSTALL}")
        if not self.k8s.kubeconfig:
            raise ProviderError(
                f"{self._name()}: no kubeconfig. Set it with `pulumi config set presence-sync:kubeconfig <path>` "
                "(the cluster to deploy the runtime to)"
            )
        if not Path(self.k8s.kubeconfig).is_file():
            raise ProviderError(
                f"{self._name()}: kubeconfig {self.k8s.kubeconfig} does not exist; fix presence-sync:kubeconfig"
            )
        argv = [kubectl, "--kubeconfig", self.k8s.kubeconfig]
        if self.k8s.context:
            argv += ["--context", self.k8s.context]
        return argv

    def plan(self) -> list[list[str]]:
        """The kubectl commands a deploy runs, in order (after the rendered files are written)."""
        kubectl = self.kubectl()
        rendered = self.inputs.rendered()
        files = [arg for path in rendered.manifests() for arg in ("-f", str(self.dir / path))]
        namespace = ["--namespace", self.k8s.namespace]
        return [
            [*kubectl, "apply", *files],
            [*kubectl, *namespace, "get", "secret", f"{self.inputs.name}-credentials", "-o", "name"],
            [
                *kubectl,
                *namespace,
                "rollout",
                "status",
                f"deployment/{self.inputs.name}",
                f"--timeout={self.k8s.rollout_timeout_seconds}s",
            ],
        ]

    def deploy(self) -> Written:
        commands = self.plan()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.inputs.rendered().write(self.dir)
        apply, secret, rollout = commands
        self._run(apply, "applying the manifests")
        if run_command(secret).returncode != 0:
            raise ProviderError(
                f"{self._name()}: the Secret {self.inputs.name}-credentials does not exist in namespace "
                f"{self.k8s.namespace}. Create it from your secret store "
                f"(see {self.dir / 'kubernetes/credentials.template.yaml'} "
                "for the variables and a kubectl command), then run `pulumi up` again"
            )
        self._run(rollout, "waiting for the rollout", timeout=self.k8s.rollout_timeout_seconds + 30)
        return Written(self.id())

    def read(self) -> dict[str, Any] | None:
        argv = [
            *self.kubectl(),
            "--namespace",
            self.k8s.namespace,
            "get",
            f"deployment/{self.inputs.name}",
            "-o",
            "json",
            "--ignore-not-found",
        ]
        result = self._run(argv, "reading the Deployment")
        if not result.stdout.strip():
            return None
        deployment = json.loads(result.stdout)
        status = deployment.get("status") or {}
        annotations = (((deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}).get(
            "annotations"
        ) or {}
        expected = self._expected_config_digest()
        live = annotations.get("presence-sync/config-digest")
        return {
            "running": int(status.get("availableReplicas") or 0) >= 1,
            # A Deployment edited by hand to another config shows as a changed digest: `up` re-applies.
            "digest": self.inputs.rendered().digest if live == expected else f"live config {live}",
        }

    def delete(self) -> None:
        kubectl = self.kubectl()
        rendered = self.inputs.rendered()
        self.dir.mkdir(parents=True, exist_ok=True)
        rendered.write(self.dir)
        files = [
            arg
            for path in reversed(rendered.manifests())
            if not path.endswith("namespace.yaml")
            for arg in ("-f", str(self.dir / path))
        ]
        self._run([*kubectl, "delete", "--ignore-not-found", "--wait=true", *files], "deleting")

    def _expected_config_digest(self) -> str | None:
        import yaml

        text = self.inputs.rendered().files["kubernetes/deployment.yaml"]
        deployment = next(yaml.safe_load_all(text))
        return str(deployment["spec"]["template"]["metadata"]["annotations"]["presence-sync/config-digest"])

    def _run(self, argv: list[str], doing: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        try:
            result = run_command(argv, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ProviderError(f"{self._name()}: {doing} timed out after {timeout:g} s") from None
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise ProviderError(f"{self._name()}: {doing} failed: {' '.join(detail[-3:]) or result.returncode}")
        return result

    def _name(self) -> str:
        return f"sync runtime {self.inputs.name} (kubernetes: {self.k8s.namespace})"


# -- helpers ------------------------------------------------------------------------------------------------


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
