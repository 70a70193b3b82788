"""SyncRuntime provider: diff/replace semantics, checks, the local target's process lifecycle (with a stand-in
service under the real supervisor), and the kubernetes target's command plan and errors (no cluster here)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import requests
from pulumi.output import Unknown

from presence_sync.clients.settings import SettingsError
from providers import sync_runtime, sync_runtime_kubernetes, sync_runtime_local
from providers.base import ProviderError
from providers.sync_runtime import UNKNOWN, SyncRuntimeProvider, render_runtime
from tests.conftest import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
ALLOWLIST = sync_runtime_local.SERVICE_ENVIRONMENT  # the shipped one, before any test adds to it


def config_for(port: int, work_dir: Path, **extra: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "metrics_host": "127.0.0.1",
        "metrics_port": port,
        "store_path": str(work_dir / "state.sqlite3"),
        **extra,
    }


def outs_of(result: Any) -> dict[str, Any]:
    assert result.outs is not None
    outs: dict[str, Any] = result.outs
    return outs


def inputs_of(result: Any) -> dict[str, Any]:
    assert result.inputs is not None
    inputs: dict[str, Any] = result.inputs
    return inputs


def props_for(work_dir: Path, config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    kubernetes = extra.get("kubernetes")
    return {
        "name": "presence-sync",
        "target": "local",
        "config": config,
        "digest": render_runtime(config, kubernetes=kubernetes).digest,
        "running": True,
        "deployBridge": False,
        "workDir": str(work_dir),
        "readyTimeoutSeconds": 20.0,
        "stopTimeoutSeconds": 3.0,
        "kubernetes": None,
        "providerVersion": "1",
        **extra,
    }


@pytest.fixture
def provider() -> SyncRuntimeProvider:
    return SyncRuntimeProvider()


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> None:
    """The supervisor runs tests/providers/standin_runtime.py instead of the real service."""
    monkeypatch.setenv(sync_runtime_local.RUNTIME_MODULE_VARIABLE, "tests.providers.standin_runtime")
    # The stand-in's own switches are let through the environment allowlist (the real service has none).
    monkeypatch.setattr(
        sync_runtime_local, "SERVICE_ENVIRONMENT", ALLOWLIST | {"STANDIN_EXIT_AT_ONCE", "STANDIN_IGNORE_SIGTERM"}
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))


# -- diff and check ----------------------------------------------------------------------------------------


def test_a_config_change_updates_in_place_and_a_new_place_replaces(
    provider: SyncRuntimeProvider, tmp_path: Path
) -> None:
    old = props_for(tmp_path, config_for(9464, tmp_path))
    assert not provider.diff("id", old, dict(old)).changes

    changed = props_for(tmp_path, config_for(9464, tmp_path, poll_interval_seconds=2.0))
    result = provider.diff("id", old, changed)
    assert result.changes and result.replaces == []

    assert provider.diff("id", {**old, "running": False}, old).replaces == [], "a dead service is restarted"
    assert provider.diff("id", {**old, "running": False}, old).changes

    other_spec = {**old, "spec": {"version": 1, "salesforce": {"oauthApp": {"label": "renamed"}}}}
    assert not provider.diff("id", {**old, "spec": {"version": 1}}, other_spec).changes, "only the config counts"

    moved = provider.diff("id", old, {**old, "workDir": str(tmp_path / "elsewhere")})
    assert moved.replaces == ["workDir"] and moved.delete_before_replace is True
    retarget = provider.diff("id", old, {**old, "target": "kubernetes"})
    assert retarget.replaces == ["target"] and retarget.delete_before_replace is True


def test_check_accepts_unknowns_in_preview_and_refuses_a_wrong_digest(
    provider: SyncRuntimeProvider, tmp_path: Path
) -> None:
    good = props_for(tmp_path, config_for(9464, tmp_path))
    assert provider.check({}, good).failures == []
    assert provider.check({}, {**good, "config": UNKNOWN, "digest": UNKNOWN}).failures == []

    failures = provider.check({}, {**good, "digest": "sha256:0"}).failures
    assert [f.property for f in failures] == ["digest"]
    # Failures of the inputs' model name the input in the reason, not as a property (no `value {...}` noise).
    [failure] = provider.check({}, {**good, "workDir": "relative/dir"}).failures
    assert failure.property == "" and failure.reason.startswith("input workDir: ")


def test_check_uses_the_runtime_s_own_config_validation(provider: SyncRuntimeProvider, tmp_path: Path) -> None:
    pytest.importorskip("presence_sync.runtime_config")
    config = config_for(9464, tmp_path, not_a_field=1)
    failures = provider.check({}, props_for(tmp_path, config)).failures
    assert [f.property for f in failures] == ["config"]


# -- local target --------------------------------------------------------------------------------------------


def health(port: int) -> dict[str, Any]:
    response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def wait_for(predicate: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def pid_alive(pid: int) -> bool:
    return sync_runtime_local._alive(pid)


@pytest.fixture
def local(provider: SyncRuntimeProvider, tmp_path: Path, standin: None) -> Iterator[dict[str, Any]]:
    work_dir = tmp_path / "runtime"
    props = props_for(work_dir, config_for(free_port(), work_dir))
    yield props
    provider.delete("local", props)  # never leave a process behind


def test_create_starts_the_service_and_read_sees_it(provider: SyncRuntimeProvider, local: dict[str, Any]) -> None:
    port = local["config"]["metrics_port"]
    created = provider.create(local)
    work_dir = Path(local["workDir"])
    assert created.id == f"local:{work_dir}"
    assert outs_of(created)["running"] is True
    assert outs_of(created)["digest"] == local["digest"]
    assert outs_of(created)["healthUrl"] == f"http://127.0.0.1:{port}/healthz"
    assert health(port)["config"] == local["config"]
    assert json.loads((work_dir / "config.json").read_text()) == local["config"]
    assert (work_dir / "kubernetes" / "deployment.yaml").is_file()

    read = provider.read(created.id, outs_of(created))
    assert outs_of(read)["running"] is True and inputs_of(read)["running"] is True
    assert inputs_of(read)["digest"] == local["digest"]


def test_credentials_reach_the_process_but_no_file(
    provider: SyncRuntimeProvider, local: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SF_CLIENT_SECRET", "s3cr3t-only-in-the-environment")
    created = provider.create(local)
    service_pid = health(local["config"]["metrics_port"])["pid"]
    assert b"SF_CLIENT_SECRET=s3cr3t-only-in-the-environment" in Path(f"/proc/{service_pid}/environ").read_bytes()
    for path in Path(local["workDir"]).rglob("*"):
        if path.is_file() and path.name != "runtime.log":
            assert "s3cr3t" not in path.read_text(errors="replace"), path
    assert "s3cr3t" not in json.dumps(outs_of(created))


# What the engine's environment holds that the runtime must never get, with values to look for in /proc.
ENGINE_ONLY = {
    "PULUMI_CONFIG_PASSPHRASE": "passphrase-that-decrypts-the-state",
    "PULUMI_ACCESS_TOKEN": "pul-0123456789abcdef-token",
    "PULUMI_BACKEND_URL": "s3://bucket-of-state",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-key-value",
    "GITHUB_TOKEN": "ghp_tokenvalue0123456789",
    "SF_UNRELATED_TOKEN": "not-a-variable-the-clients-read",
}


def process_environment(pid: int) -> dict[str, str]:
    """A process's environment as the kernel holds it (psutil is not a dependency: /proc directly)."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(entry.decode().split("=", 1) for entry in raw.split(b"\0") if entry)


def children_of(pid: int) -> list[int]:
    children = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid:
            children.append(int(stat_file.parent.name))
    return children


def assert_allowlisted(environment: dict[str, str]) -> None:
    unexpected = {
        name
        for name in environment
        if name not in ALLOWLIST and not name.startswith("LC_") and name != "PYTHONUNBUFFERED"
    }
    assert not unexpected, f"not on the allowlist: {sorted(unexpected)}"
    assert not [name for name in environment if name.startswith("PULUMI_")]
    for value in ENGINE_ONLY.values():
        assert all(value not in held for held in environment.values())


def test_the_runtime_gets_an_allowlisted_environment_without_the_passphrase(
    provider: SyncRuntimeProvider, local: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from providers import context

    for name, value in ENGINE_ONLY.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SF_CLIENT_SECRET", "sf-secret-the-runtime-needs")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    # A connection file's settings reach it too (they win over the environment), filtered the same way.
    monkeypatch.setattr(
        context,
        "_settings",
        {"CXONE_ACCESS_KEY_SECRET": "from-the-connection-file", "PULUMI_CONFIG_PASSPHRASE": "in-the-file-by-mistake"},
    )
    created = provider.create(local)
    supervisor = outs_of(created)["pid"]
    service = health(local["config"]["metrics_port"])["pid"]
    assert children_of(supervisor) == [service]

    for pid in (supervisor, service):
        environment = process_environment(pid)
        assert_allowlisted(environment)
        assert "in-the-file-by-mistake" not in Path(f"/proc/{pid}/environ").read_text(errors="replace")
        assert environment["SF_CLIENT_SECRET"] == "sf-secret-the-runtime-needs"
        assert environment["CXONE_ACCESS_KEY_SECRET"] == "from-the-connection-file"
        assert environment["HTTPS_PROXY"] == "http://proxy.internal:3128"
        assert (environment["TZ"], environment["LC_ALL"]) == ("UTC", "C.UTF-8")
        assert environment["PATH"] == os.environ["PATH"] and environment["HOME"] == os.environ["HOME"]


def test_the_real_runtime_runs_on_the_allowlisted_environment(
    provider: SyncRuntimeProvider, tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real service (not the stand-in) against the sandbox: it becomes ready with only what the allowlist
    passes (so the allowlist is enough), and /proc shows no passphrase or engine token in it."""
    for name, value in ENGINE_ONLY.items():
        monkeypatch.setenv(name, value)
    work_dir = tmp_path / "runtime"
    props = {**props_for(work_dir, config_for(free_port(), work_dir)), "readyTimeoutSeconds": 120.0}
    try:
        created = provider.create(props)  # waits for /readyz: both feeds read the sandbox
        supervisor = outs_of(created)["pid"]
        (service,) = children_of(supervisor)
        assert b"runtime" in Path(f"/proc/{service}/cmdline").read_bytes()
        modes = {
            p.name: stat.S_IMODE(p.stat().st_mode)
            for p in (work_dir, work_dir / "runtime.log", work_dir / "state.sqlite3")
        }
        assert modes == {"runtime": 0o700, "runtime.log": 0o600, "state.sqlite3": 0o600}, "the store is private"
        for pid in (supervisor, service):
            environment = process_environment(pid)
            assert_allowlisted(environment)
            assert environment["REQUESTS_CA_BUNDLE"] == str(sandbox.ca_bundle)
            assert {"SF_LOGIN_URL", "SF_CLIENT_SECRET", "CXONE_AUTH_URL", "CXONE_ACCESS_KEY_SECRET"} <= set(environment)
    finally:
        provider.delete("local", props)


def test_the_supervisor_restarts_a_killed_service(provider: SyncRuntimeProvider, local: dict[str, Any]) -> None:
    port = local["config"]["metrics_port"]
    provider.create(local)
    first = health(port)["pid"]
    os.kill(first, signal.SIGKILL)

    def restarted() -> bool:
        try:
            return bool(health(port)["pid"] != first)
        except requests.RequestException:
            return False

    wait_for(restarted)


def test_a_dead_runtime_is_drift_and_update_restarts_it(provider: SyncRuntimeProvider, local: dict[str, Any]) -> None:
    port = local["config"]["metrics_port"]
    created = provider.create(local)
    supervisor = outs_of(created)["pid"]
    os.killpg(supervisor, signal.SIGKILL)  # the whole runtime, supervisor included
    wait_for(lambda: not pid_alive(supervisor))

    read = provider.read(created.id, outs_of(created))
    assert outs_of(read)["running"] is False and inputs_of(read)["running"] is False
    assert provider.diff(created.id, outs_of(read), local).changes, "preview --refresh shows an update"

    updated = provider.update(created.id, outs_of(read), local)
    assert outs_of(updated)["running"] is True
    assert health(port)["status"] == "ok"


def test_a_config_change_restarts_the_service_on_the_new_config(
    provider: SyncRuntimeProvider, local: dict[str, Any]
) -> None:
    port = local["config"]["metrics_port"]
    created = provider.create(local)
    before = health(port)["pid"]
    work_dir = Path(local["workDir"])
    new = props_for(work_dir, config_for(port, work_dir, poll_interval_seconds=2.0))
    updated = provider.update(created.id, outs_of(created), new)
    assert outs_of(updated)["digest"] == new["digest"] != local["digest"]
    after = health(port)
    assert after["pid"] != before and after["config"]["poll_interval_seconds"] == 2.0
    local.update(new)


def test_a_hand_edited_config_file_is_drift(provider: SyncRuntimeProvider, local: dict[str, Any]) -> None:
    created = provider.create(local)
    (Path(local["workDir"]) / "config.json").write_text("{}\n")
    read = provider.read(created.id, outs_of(created))
    assert inputs_of(read)["digest"] != local["digest"]


def test_delete_stops_it_and_is_idempotent(provider: SyncRuntimeProvider, local: dict[str, Any]) -> None:
    port = local["config"]["metrics_port"]
    created = provider.create(local)
    supervisor = outs_of(created)["pid"]
    service = health(port)["pid"]
    provider.delete(created.id, outs_of(created))
    assert not pid_alive(supervisor) and not pid_alive(service)
    assert not (Path(local["workDir"]) / "supervisor.pid").exists()
    with pytest.raises(requests.RequestException):
        health(port)
    provider.delete(created.id, outs_of(created))  # already gone: fine
    assert outs_of(provider.read(created.id, outs_of(created)))["running"] is False


def test_a_service_that_ignores_sigterm_is_killed(
    provider: SyncRuntimeProvider, local: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_IGNORE_SIGTERM", "1")
    local["stopTimeoutSeconds"] = 1.0
    created = provider.create(local)
    service = health(local["config"]["metrics_port"])["pid"]
    provider.delete(created.id, outs_of(created))
    assert not pid_alive(service)  # it ignores SIGTERM: only the kill after stopTimeoutSeconds can have ended it


def test_a_service_that_never_gets_ready_fails_the_create_with_its_log(
    provider: SyncRuntimeProvider, local: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_EXIT_AT_ONCE", "1")
    local["readyTimeoutSeconds"] = 3.0
    with pytest.raises(ProviderError, match=r"readyz did not answer 200 within 3 s(?s:.*)failing at start"):
        provider.create(local)
    assert not (Path(local["workDir"]) / "supervisor.pid").exists(), "the failed runtime was stopped"


def test_create_replaces_a_runtime_left_running_in_the_same_place(
    provider: SyncRuntimeProvider, local: dict[str, Any]
) -> None:
    first = outs_of(provider.create(local))["pid"]
    second = outs_of(provider.create(local))["pid"]  # e.g. the state was lost
    assert first != second and not pid_alive(first)


# -- kubernetes target ---------------------------------------------------------------------------------------


class FakeKubectl:
    def __init__(self, *, secret: bool = True, deployment: dict[str, Any] | None = None) -> None:
        self.calls: list[list[str]] = []
        self.secret = secret
        self.deployment = deployment

    def __call__(self, argv: Sequence[str], *, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        argv = list(argv)
        self.calls.append(argv)
        if "secret" in argv and not self.secret:
            return subprocess.CompletedProcess(argv, 1, "", "Error from server (NotFound): secrets not found")
        if "get" in argv and any(a.startswith("deployment/") for a in argv):
            out = json.dumps(self.deployment) if self.deployment else ""
            return subprocess.CompletedProcess(argv, 0, out, "")
        return subprocess.CompletedProcess(argv, 0, "", "")


@pytest.fixture
def kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    monkeypatch.setattr(sync_runtime_kubernetes, "which", lambda program: f"/usr/local/bin/{program}")
    config = {
        "version": 1,
        "metrics_host": "0.0.0.0",
        "metrics_port": 9464,
        "store_path": "/var/lib/presence-sync/state.sqlite3",
    }
    kubernetes = {"namespace": "sync", "kubeconfig": str(kubeconfig), "image": "registry.example.com/ps:1"}
    return props_for(tmp_path / "k8s", config, target="kubernetes", kubernetes=kubernetes)


def test_kubernetes_refuses_a_loopback_bind_and_passes_the_network_policy_settings(
    provider: SyncRuntimeProvider, kube: dict[str, Any]
) -> None:
    import yaml

    assert provider.check({}, kube).failures == []
    loopback = {**kube["config"], "metrics_host": "127.0.0.1"}
    failures = provider.check({}, {**kube, "config": loopback, "digest": None}).failures
    assert [f.property for f in failures] == ["config"]
    assert "neither the kubelet's probes nor Prometheus" in failures[0].reason

    settings = {
        **kube["kubernetes"],
        "prometheusNamespace": "observability",
        "vendorCidrs": ["13.108.0.0/14"],
        "cpuLimit": "500m",
    }
    rendered = render_runtime(kube["config"], kubernetes=settings)
    policy = yaml.safe_load(rendered.files["kubernetes/networkpolicy.yaml"])
    assert policy["metadata"]["namespace"] == "sync"
    assert policy["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "observability"
    }
    assert policy["spec"]["egress"][1]["to"] == [{"ipBlock": {"cidr": "13.108.0.0/14"}}]
    deployment = next(yaml.safe_load_all(rendered.files["kubernetes/deployment.yaml"]))
    assert deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] == "500m"


def test_kubernetes_create_applies_the_manifests_checks_the_secret_and_waits(
    provider: SyncRuntimeProvider, kube: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    live = {"status": {"availableReplicas": 1}, "spec": {"template": {"metadata": {"annotations": {}}}}}
    fake = FakeKubectl(deployment=live)
    monkeypatch.setattr(sync_runtime_kubernetes, "run_command", fake)
    work_dir = Path(kube["workDir"])
    kubectl = ["/usr/local/bin/kubectl", "--kubeconfig", kube["kubernetes"]["kubeconfig"]]

    created = provider.create(kube)
    assert created.id == "kubernetes:sync/presence-sync"
    manifests = ["namespace", "networkpolicy", "configmap", "deployment", "service"]
    assert fake.calls[0] == [
        *kubectl,
        "apply",
        *[a for m in manifests for a in ("-f", f"{work_dir}/kubernetes/{m}.yaml")],
    ]
    assert fake.calls[1] == [
        *kubectl,
        "--namespace",
        "sync",
        "get",
        "secret",
        "presence-sync-credentials",
        "-o",
        "name",
    ]
    assert fake.calls[2] == [
        *kubectl,
        "--namespace",
        "sync",
        "rollout",
        "status",
        "deployment/presence-sync",
        "--timeout=180s",
    ]
    applied = [arg for call in fake.calls for arg in call]
    assert not any("credentials.template.yaml" in arg for arg in applied), "the Secret template is never applied"
    assert "registry.example.com/ps:1" in (work_dir / "kubernetes" / "deployment.yaml").read_text()
    # The live Deployment carries another config digest than ours: drift.
    assert outs_of(created)["running"] is True and outs_of(created)["digest"] != kube["digest"]


def test_kubernetes_read_and_delete(
    provider: SyncRuntimeProvider, kube: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = render_runtime(kube["config"], kubernetes=kube["kubernetes"])
    import yaml

    template = next(yaml.safe_load_all(rendered.files["kubernetes/deployment.yaml"]))["spec"]["template"]
    live = {"status": {"availableReplicas": 0}, "spec": {"template": template}}
    fake = FakeKubectl(deployment=live)
    monkeypatch.setattr(sync_runtime_kubernetes, "run_command", fake)
    read = provider.read("kubernetes:sync/presence-sync", kube)
    assert outs_of(read)["running"] is False and outs_of(read)["digest"] == kube["digest"]

    fake.deployment = None
    assert provider.read("kubernetes:sync/presence-sync", kube).id == "", "a deleted Deployment is gone"

    provider.delete("kubernetes:sync/presence-sync", kube)
    delete = fake.calls[-1]
    assert delete[3:6] == ["delete", "--ignore-not-found", "--wait=true"]
    assert [Path(a).name for a in delete if a.endswith(".yaml")] == [
        "service.yaml",
        "deployment.yaml",
        "configmap.yaml",
        "networkpolicy.yaml",  # after the pod is gone
    ]


def test_kubernetes_errors_say_what_to_do(
    provider: SyncRuntimeProvider, kube: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync_runtime_kubernetes, "run_command", FakeKubectl(secret=False))
    no_secret = r"Secret presence-sync-credentials does not exist(?s:.*)credentials\.template\.yaml"
    with pytest.raises(ProviderError, match=no_secret):
        provider.create(kube)

    no_config = {**kube, "kubernetes": {**kube["kubernetes"], "kubeconfig": None}}
    with pytest.raises(ProviderError, match="pulumi config set presence-sync:kubeconfig"):
        provider.create(no_config)
    missing = {**kube, "kubernetes": {**kube["kubernetes"], "kubeconfig": "/nowhere/kubeconfig"}}
    with pytest.raises(ProviderError, match="/nowhere/kubeconfig does not exist"):
        provider.create(missing)

    monkeypatch.setattr(sync_runtime_kubernetes, "which", lambda program: None)
    with pytest.raises(ProviderError, match=r"kubectl is not on PATH: install kubectl"):
        provider.create(kube)


def test_kubernetes_failures_are_one_clean_line(
    provider: SyncRuntimeProvider, kube: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(argv: Sequence[str], *, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(list(argv), 1, "", "error: the server doesn't have a resource type\n")

    monkeypatch.setattr(sync_runtime_kubernetes, "run_command", failing)
    with pytest.raises(ProviderError, match=r"applying the manifests failed: error: the server doesn't have"):
        provider.create(kube)


def test_check_resolves_the_spec_to_the_config_and_its_digest(
    provider: SyncRuntimeProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolved = config_for(9464, tmp_path)
    seen: list[tuple[Any, Any]] = []

    def resolve(spec: Any, overrides: Any) -> dict[str, Any]:
        seen.append((spec, overrides))
        return resolved

    monkeypatch.setattr(sync_runtime, "resolve_config", resolve)
    news = {
        **props_for(tmp_path, resolved),
        "spec": {"version": 1},
        "overrides": {"metrics_port": 9464},
        "config": None,
        "digest": None,
    }
    result = provider.check({}, news)
    assert result.failures == []
    assert result.inputs["config"] == resolved
    assert result.inputs["digest"] == render_runtime(resolved, kubernetes=None).digest
    assert seen == [({"version": 1}, {"metrics_port": 9464})]

    assert provider.check({}, {**news, "overrides": {"metrics_port": UNKNOWN}}).failures == [], "unknown in preview"
    assert provider.check({}, {**news, "overrides": Unknown()}).failures == []
    assert len(seen) == 1

    def unresolvable(spec: Any, overrides: Any) -> dict[str, Any]:
        raise sync_runtime.ProviderError("cannot build the runtime's config: presence status 'Gone' does not exist")

    def no_credentials(spec: Any, overrides: Any) -> dict[str, Any]:
        raise SettingsError("SF_LOGIN_URL is not set")

    monkeypatch.setattr(sync_runtime, "resolve_config", no_credentials)
    assert [f.reason for f in provider.check({}, news).failures] == [
        "sync runtime presence-sync (local: " + str(tmp_path) + "): could not resolve: SF_LOGIN_URL is not set"
    ]
    with pytest.raises(sync_runtime.ProviderError, match="SF_LOGIN_URL is not set"):
        provider.create({**news, "config": None})

    monkeypatch.setattr(sync_runtime, "resolve_config", unresolvable)
    unresolved = provider.check({}, news)
    assert unresolved.failures == [], "the statuses may be created in this very run"
    assert unresolved.inputs["config"] is None and unresolved.inputs["digest"] is None
    with pytest.raises(sync_runtime.ProviderError, match="presence status 'Gone' does not exist"):
        provider.create({**news, "config": None})  # by then they must exist


def test_create_resolves_a_config_check_could_not(
    provider: SyncRuntimeProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, standin: None
) -> None:
    work_dir = tmp_path / "runtime"
    resolved = config_for(free_port(), work_dir)
    monkeypatch.setattr(sync_runtime, "resolve_config", lambda spec, overrides: resolved)
    props = {**props_for(work_dir, resolved), "spec": {"version": 1}, "config": None, "digest": None}
    try:
        created = provider.create(props)
        assert outs_of(created)["config"] == resolved
        assert outs_of(created)["digest"] == render_runtime(resolved, kubernetes=None).digest
        assert health(resolved["metrics_port"])["config"] == resolved
    finally:
        provider.delete("local", {**props, "config": resolved})


def test_the_supervisor_restarts_the_service_on_sighup_and_stops_on_sigterm(tmp_path: Path, standin: None) -> None:
    import sys

    port = free_port()
    config = tmp_path / "config.json"
    config.write_text(json.dumps(config_for(port, tmp_path)))
    pid_file = tmp_path / "supervisor.pid"
    supervisor = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runtime.supervise",
            "--config",
            str(config),
            "--pid-file",
            str(pid_file),
            "--module",
            "tests.providers.standin_runtime",
        ],
        cwd=REPO_ROOT,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: pid_file.exists() and bool(_quiet_health(port)))
        assert int(pid_file.read_text()) == supervisor.pid
        first = health(port)["pid"]
        supervisor.send_signal(signal.SIGHUP)
        wait_for(lambda: _quiet_health(port).get("pid") not in (None, first))
        second = health(port)["pid"]
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=20) == 0
        assert not pid_alive(second) and not pid_file.exists()
    finally:
        if supervisor.poll() is None:
            supervisor.kill()


def _quiet_health(port: int) -> dict[str, Any]:
    try:
        return health(port)
    except requests.RequestException:
        return {}


# -- the Salesforce-side bridge --------------------------------------------------------------------------------


class FakeSalesforce:
    def __init__(self) -> None:
        self.deployed: list[bytes] = []
        self.run_tests: list[list[str]] = []
        self.removed: list[bytes] = []
        self.on_remove: Any = None  # called before a removal is recorded: may raise, or look at the world

    def deploy_bridge(self, zip_bytes: bytes, *, run_tests: Sequence[str] = ()) -> None:
        self.deployed.append(zip_bytes)
        self.run_tests.append(list(run_tests))

    def remove_bridge(self, zip_bytes: bytes) -> None:
        if self.on_remove is not None:
            self.on_remove()
        self.removed.append(zip_bytes)


@pytest.fixture
def fake_sf(monkeypatch: pytest.MonkeyPatch) -> FakeSalesforce:
    fake = FakeSalesforce()
    monkeypatch.setattr(sync_runtime.context, "salesforce", lambda: fake)
    return fake


def test_check_sets_the_bridge_digest_so_a_changed_component_shows(
    provider: SyncRuntimeProvider, tmp_path: Path
) -> None:
    from presence_sync.deploy.bridge import bridge_package

    props = props_for(tmp_path, config_for(9464, tmp_path), deployBridge=True)
    checked = provider.check({}, props).inputs
    assert checked["bridgeDigest"] == bridge_package().digest
    assert provider.check({}, {**props, "deployBridge": False}).inputs["bridgeDigest"] is None
    assert provider.check({}, {**props, "config": UNKNOWN}).inputs["bridgeDigest"] == bridge_package().digest

    assert not provider.diff("id", checked, dict(checked)).changes
    changed = provider.diff("id", {**checked, "bridgeDigest": "sha256:old"}, checked)
    assert changed.changes and changed.replaces == []


def test_create_deploys_the_bridge_and_only_a_changed_bridge_is_redeployed(
    provider: SyncRuntimeProvider, local: dict[str, Any], fake_sf: FakeSalesforce
) -> None:
    from presence_sync.deploy.bridge import bridge_package

    port = local["config"]["metrics_port"]
    local.update(provider.check({}, {**local, "deployBridge": True}).inputs)
    created = provider.create(local)
    assert fake_sf.deployed == [bridge_package().zip_bytes]
    assert fake_sf.run_tests == [["OmniPresenceBridgeControllerTest"]], "what a production org runs on deploy"
    before = health(port)["pid"]

    provider.update(created.id, {**outs_of(created), "bridgeDigest": "sha256:old"}, local)
    assert len(fake_sf.deployed) == 2
    assert health(port)["pid"] == before, "a bridge-only change does not restart the service"

    work_dir = Path(local["workDir"])
    new = {
        **props_for(work_dir, config_for(port, work_dir, poll_interval_seconds=2.0)),
        "deployBridge": True,
        "bridgeDigest": local["bridgeDigest"],
    }
    provider.update(created.id, outs_of(created), new)
    assert len(fake_sf.deployed) == 2, "the bridge did not change: not redeployed"
    assert health(port)["pid"] != before
    local.update(new)


def test_a_bridge_changed_after_the_preview_is_refused(
    provider: SyncRuntimeProvider, tmp_path: Path, fake_sf: FakeSalesforce
) -> None:
    props = {**props_for(tmp_path, config_for(9464, tmp_path)), "deployBridge": True, "bridgeDigest": "sha256:x"}
    with pytest.raises(ProviderError, match="changed since the preview"):
        provider.create(props)
    assert fake_sf.deployed == []


def test_delete_removes_the_bridge_once_the_service_is_stopped(
    provider: SyncRuntimeProvider, local: dict[str, Any], fake_sf: FakeSalesforce
) -> None:
    from presence_sync.deploy.bridge import bridge_removal_package

    local.update(provider.check({}, {**local, "deployBridge": True}).inputs)
    created = provider.create(local)
    supervisor = outs_of(created)["pid"]
    service = health(local["config"]["metrics_port"])["pid"]
    fake_sf.on_remove = lambda: fake_sf.removed.append(b"service alive" if pid_alive(service) else b"")

    provider.delete(created.id, outs_of(created))

    assert fake_sf.removed == [b"", bridge_removal_package().zip_bytes], "removed after the service stopped"
    assert not pid_alive(supervisor) and not pid_alive(service)


def test_delete_leaves_a_bridge_it_did_not_deploy(
    provider: SyncRuntimeProvider, local: dict[str, Any], fake_sf: FakeSalesforce
) -> None:
    created = provider.create(local)  # deployBridge false: someone deployed it by hand
    provider.delete(created.id, outs_of(created))
    assert fake_sf.deployed == [] and fake_sf.removed == []


def test_a_failed_removal_fails_the_delete_saying_what_is_left_and_what_to_do(
    provider: SyncRuntimeProvider, local: dict[str, Any], fake_sf: FakeSalesforce
) -> None:
    from presence_sync.clients.errors import ServiceUnavailable

    local.update(provider.check({}, {**local, "deployBridge": True}).inputs)
    created = provider.create(local)
    supervisor = outs_of(created)["pid"]

    def refuse() -> None:
        raise ServiceUnavailable("the org is busy", vendor="salesforce", operation="remove_bridge")

    fake_sf.on_remove = refuse
    with pytest.raises(ProviderError) as raised:
        provider.delete(created.id, outs_of(created))
    message = str(raised.value)
    assert "the service is stopped, but the Salesforce bridge was not removed" in message
    assert "the org is busy" in message
    assert "ApexClass OmniPresenceBridgeController, OmniPresenceBridgeControllerTest" in message
    assert "CustomObject Omni_Presence_Command__e, Omni_Presence_Result__e" in message
    assert "run `pulumi destroy` again" in message
    assert "`pulumi config set presence-sync:deployBridge false`" in message
    assert not pid_alive(supervisor), "the service is stopped all the same"

    fake_sf.on_remove = None
    provider.delete(created.id, outs_of(created))  # the next destroy finishes the job
    assert len(fake_sf.removed) == 1


def test_kubernetes_delete_removes_the_bridge_too(
    provider: SyncRuntimeProvider, kube: dict[str, Any], fake_sf: FakeSalesforce, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeKubectl()
    monkeypatch.setattr(sync_runtime_kubernetes, "run_command", fake)
    provider.delete("kubernetes:sync/presence-sync", {**kube, "deployBridge": True})
    assert any("delete" in call for call in fake.calls) and len(fake_sf.removed) == 1
