"""The rendered runtime artifacts: golden files, determinism, escaping, and no secrets.

Regenerate the golden files after an intended template change with
``PRESENCE_SYNC_UPDATE_GOLDEN=1 .venv/bin/pytest tests/presence_sync/deploy/test_render.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from presence_sync.deploy.render import SECRET_VARIABLES, RenderOptions, render, tree_digest

GOLDEN = Path(__file__).resolve().parent / "golden"
GOLDEN_POSTGRES = Path(__file__).resolve().parent / "golden_postgres"

# The shape of a service config (rules resolved to ids); render treats it as data, so a fixed sample works.
SAMPLE_CONFIG: dict[str, Any] = {
    "version": 1,
    "http": {"host": "0.0.0.0", "port": 9464},
    "metrics_host": "0.0.0.0",  # what the Kubernetes target sets (resources/sync_runtime.py)
    "store": {"path": "/var/lib/presence-sync/state.db"},
    "pollIntervalSeconds": 2,
    "rules": [
        {
            "name": "Chat agents",
            "ruleId": "7",
            "teamIds": [11],
            "agentIds": [1001],
            "publisher": [{"acd": {"state": "Available"}, "salesforce": {"statusId": "0N5000000000001AAA"}}],
            "subscriber": [
                {"salesforce": {"statusId": "0N5000000000002AAA"}, "acd": {"state": "Unavailable", "codeId": 3}}
            ],
        }
    ],
}
OPTIONS = RenderOptions(name="presence-sync", namespace="presence-sync", image="registry.example.com/ps:1.0", port=9464)


# The same config with the PostgreSQL store: several replicas share it (runtime/sharding.py).
POSTGRES_CONFIG: dict[str, Any] = {**SAMPLE_CONFIG, "postgres": {"dsn_env": "PRESENCE_SYNC_DSN", "shards": 32}}


@pytest.mark.parametrize(("config", "golden"), [(SAMPLE_CONFIG, GOLDEN), (POSTGRES_CONFIG, GOLDEN_POSTGRES)])
def test_render_matches_the_golden_files(config: dict[str, Any], golden: Path) -> None:
    rendered = render(config, OPTIONS)
    if os.environ.get("PRESENCE_SYNC_UPDATE_GOLDEN") == "1":
        for path, text in rendered:
            (golden / path).parent.mkdir(parents=True, exist_ok=True)
            (golden / path).write_text(text)
    expected = {str(path.relative_to(golden)): path.read_text() for path in sorted(golden.rglob("*")) if path.is_file()}
    assert sorted(expected) == sorted(rendered.files), "the set of rendered files changed"
    for path, text in rendered:
        assert text == expected[path], f"{path} differs from {golden.relative_to(GOLDEN.parents[3])}/{path}"


def test_render_is_deterministic_and_the_digest_sees_every_change() -> None:
    first = render(SAMPLE_CONFIG, OPTIONS)
    reordered = dict(reversed(list(SAMPLE_CONFIG.items())))
    assert render(reordered, OPTIONS).files == first.files, "key order must not matter"
    assert render(SAMPLE_CONFIG, OPTIONS).digest == first.digest
    assert first.digest.startswith("sha256:")

    changed = json.loads(json.dumps(SAMPLE_CONFIG))
    changed["rules"][0]["teamIds"] = [12]
    assert render(changed, OPTIONS).digest != first.digest
    assert render(SAMPLE_CONFIG, RenderOptions(image="other:2")).digest != first.digest
    assert tree_digest({"a": "x", "b": ""}) != tree_digest({"a": "", "b": "x"})


def test_every_manifest_is_valid_yaml_and_carries_the_config_exactly() -> None:
    tricky = {**SAMPLE_CONFIG, "note": 'quotes " and colons: {braces} - dashes\n# not a comment\n  indent'}
    rendered = render(tricky, OPTIONS)
    kinds = []
    for path, text in rendered:
        if path.endswith(".yaml"):
            kinds += [doc["kind"] for doc in yaml.safe_load_all(text)]
    assert sorted(kinds) == [
        "ConfigMap",
        "Deployment",
        "Namespace",
        "NetworkPolicy",
        "PersistentVolumeClaim",
        "Secret",
        "Service",
    ]

    configmap = yaml.safe_load(rendered.files["kubernetes/configmap.yaml"])
    assert json.loads(configmap["data"]["config.json"]) == tricky
    assert json.loads(rendered.config_json) == tricky


def test_deployment_probes_image_and_credentials_by_reference() -> None:
    rendered = render(SAMPLE_CONFIG, OPTIONS)
    deployment = next(yaml.safe_load_all(rendered.files["kubernetes/deployment.yaml"]))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/ps:1.0"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["ports"][0]["containerPort"] == 9464
    env = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in container["env"]}
    assert set(env) == {variable.name for variable in SECRET_VARIABLES}
    assert all(ref["name"] == "presence-sync-credentials" and ref["key"] == name for name, ref in env.items())

    service = yaml.safe_load(rendered.files["kubernetes/service.yaml"])
    assert service["spec"]["ports"][0]["port"] == 9464
    dockerfile = rendered.files["Dockerfile"]
    assert 'ENTRYPOINT ["python", "-m", "runtime", "--config", "/etc/presence-sync/config.json"]' in dockerfile
    assert rendered.manifests() == [
        "kubernetes/namespace.yaml",
        "kubernetes/networkpolicy.yaml",
        "kubernetes/configmap.yaml",
        "kubernetes/deployment.yaml",
        "kubernetes/service.yaml",
    ], "the Secret is a template and never applied"


def test_the_secret_template_names_variables_but_holds_no_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_CLIENT_SECRET", "s3cr3t-value-from-env")
    monkeypatch.setenv("CXONE_ACCESS_KEY_SECRET", "another-s3cr3t")
    rendered = render(SAMPLE_CONFIG, OPTIONS)
    for _path, text in rendered:
        assert "s3cr3t" not in text
    secret = yaml.safe_load(rendered.files["kubernetes/credentials.template.yaml"])
    assert secret["stringData"] == {v.name: "${" + v.name + "}" for v in SECRET_VARIABLES}


def test_the_config_may_be_a_pydantic_model() -> None:
    from pydantic import BaseModel, ConfigDict
    from pydantic.alias_generators import to_camel

    class Config(BaseModel):
        model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True)
        poll_interval_seconds: int

    assert json.loads(render(Config(poll_interval_seconds=3)).config_json) == {"pollIntervalSeconds": 3}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"namespace": "Not_A_Name"}, "not a Kubernetes name"),
        ({"port": 0}, "not a TCP port"),
        ({"image": "has space"}, "not an image reference"),
        ({"replicas": 0}, "at least 1"),
        ({"cpu_limit": "lots"}, "not Kubernetes quantities"),
        ({"memory_limit": "256 MB"}, "not Kubernetes quantities"),
        ({"prometheus_namespace": "Monitoring"}, "not a Kubernetes name"),
        ({"prometheus_pod_labels": {"app": "bad value"}}, "not a Kubernetes label"),
        ({"kubelet_cidrs": ("10.0.0.1/8",)}, "not a CIDR"),
        ({"vendor_cidrs": ("salesforce.com",)}, "not a CIDR"),
    ],
)
def test_bad_options_are_refused_with_a_reason(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RenderOptions(**options)


def test_a_non_json_config_is_refused() -> None:
    with pytest.raises(TypeError):
        render({"when": object()})
    with pytest.raises(TypeError):
        render(["not", "an", "object"])


def test_written_tree_matches_the_render(tmp_path: Path) -> None:
    rendered = render(SAMPLE_CONFIG, OPTIONS)
    rendered.write(tmp_path)
    on_disk = {str(p.relative_to(tmp_path)): p.read_text() for p in tmp_path.rglob("*") if p.is_file()}
    assert on_disk == dict(rendered.files)


def test_a_real_runtime_config_renders_to_a_file_the_service_loads(tmp_path: Path) -> None:
    from presence_sync.runtime_config import AgentLink, RuleConfig, RuntimeConfig, StatusRef, load_config

    config = RuntimeConfig(
        rules=(
            RuleConfig(
                name="Chat agents",
                priority=0,
                publisher={
                    "Available": StatusRef(status_id="0N5000000000001AAA", developer_name="Available"),
                    "LoggedOut": "previous",
                },
                subscriber={"0N5000000000001AAA": "Available"},
                team_ids=(2001,),
            ),
        ),
        agents=(AgentLink(agent_id=100001, salesforce_user_id="005000000000001AAA", team_id=2001),),
        unavailable_codes={7: "Break"},
        metrics_port=19464,
        store_path="/var/lib/presence-sync/state.sqlite3",
    )
    rendered = render(config, OPTIONS)
    rendered.write(tmp_path)
    assert load_config(tmp_path / "config.json") == config
    configmap = yaml.safe_load(rendered.files["kubernetes/configmap.yaml"])
    assert RuntimeConfig.model_validate_json(configmap["data"]["config.json"]) == config


# -- security settings of the Kubernetes manifests ---------------------------------------------------------------


def manifest(rendered: Any, path: str, kind: str) -> dict[str, Any]:
    (document,) = [doc for doc in yaml.safe_load_all(rendered.files[f"kubernetes/{path}"]) if doc["kind"] == kind]
    result: dict[str, Any] = document
    return result


def test_the_pod_meets_the_restricted_pod_security_profile() -> None:
    rendered = render({**SAMPLE_CONFIG, "metrics_host": "0.0.0.0"}, OPTIONS)
    pod = manifest(rendered, "deployment.yaml", "Deployment")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == pod["securityContext"]["runAsGroup"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}

    (container,) = pod["containers"]
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["privileged"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}, "nothing added back"
    assert context["runAsNonRoot"] is True
    assert context["readOnlyRootFilesystem"] is True
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "256Mi"}
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}

    # A read-only root works because everything the runtime writes is on a volume: the store, and /tmp.
    mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert "persistentVolumeClaim" in volumes[mounts["/var/lib/presence-sync"]["name"]]
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    assert mounts["/etc/presence-sync"]["readOnly"] is True
    writable = [path for path, mount in mounts.items() if not mount.get("readOnly")]
    assert sorted(writable) == ["/tmp", "/var/lib/presence-sync"]

    limited = render(SAMPLE_CONFIG, RenderOptions(cpu_limit="500m", memory_limit="512Mi"))
    container = manifest(limited, "deployment.yaml", "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"] == {"cpu": "500m", "memory": "512Mi"}


def test_the_pod_binds_every_address_of_the_pod_explicitly_and_says_so() -> None:
    rendered = render({**SAMPLE_CONFIG, "metrics_host": "0.0.0.0", "metrics_port": 9464}, OPTIONS)
    text = rendered.files["kubernetes/deployment.yaml"]
    assert 'listen on "0.0.0.0:9464"' in text
    container = manifest(rendered, "deployment.yaml", "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"] == [{"name": "http", "containerPort": 9464, "protocol": "TCP"}]
    tricky = render({**SAMPLE_CONFIG, "metrics_host": "x\nkind: Evil"}, OPTIONS)
    assert manifest(tricky, "deployment.yaml", "Deployment")["kind"] == "Deployment", "a host can't break the YAML"


def test_the_namespace_enforces_the_restricted_pod_security_standard() -> None:
    namespace = manifest(render(SAMPLE_CONFIG, OPTIONS), "namespace.yaml", "Namespace")
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    assert labels["app.kubernetes.io/name"] == "presence-sync"


def test_the_network_policy_admits_prometheus_and_the_kubelet_and_lets_out_only_dns_and_https() -> None:
    rendered = render(SAMPLE_CONFIG, OPTIONS)
    policy = manifest(rendered, "networkpolicy.yaml", "NetworkPolicy")
    deployment = manifest(rendered, "deployment.yaml", "Deployment")
    spec = policy["spec"]
    assert policy["metadata"]["namespace"] == "presence-sync"
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert spec["podSelector"]["matchLabels"].items() <= pod_labels.items(), "it selects the runtime's pod"
    assert spec["policyTypes"] == ["Ingress", "Egress"], "both directions are fenced"

    (ingress,) = spec["ingress"]
    assert ingress["ports"] == [{"protocol": "TCP", "port": 9464}], "only the metrics port"
    assert ingress["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        }
    ], "Prometheus' pods in Prometheus' namespace (one peer: both selectors must match)"

    dns, https = spec["egress"]
    assert "to" not in dns and dns["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    assert https["ports"] == [{"protocol": "TCP", "port": 443}]
    blocks = {peer["ipBlock"]["cidr"]: set(peer["ipBlock"]["except"]) for peer in https["to"]}
    assert set(blocks) == {"0.0.0.0/0", "::/0"}
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= blocks["0.0.0.0/0"], (
        "not the cluster's own networks nor the cloud metadata service"
    )
    assert {"fc00::/7", "fe80::/10"} <= blocks["::/0"]


def test_the_network_policy_peers_are_configurable() -> None:
    options = RenderOptions(
        prometheus_namespace="observability",
        prometheus_pod_labels={"app": "prometheus", "prometheus": "k8s"},
        kubelet_cidrs=("10.0.0.0/16",),
        vendor_cidrs=("13.108.0.0/14", "2a02:2080::/32"),
        port=19464,
    )
    spec = manifest(render(SAMPLE_CONFIG, options), "networkpolicy.yaml", "NetworkPolicy")["spec"]
    (ingress,) = spec["ingress"]
    assert ingress["ports"] == [{"protocol": "TCP", "port": 19464}]
    assert ingress["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "observability"}},
            "podSelector": {"matchLabels": {"app": "prometheus", "prometheus": "k8s"}},
        },
        {"ipBlock": {"cidr": "10.0.0.0/16"}},
    ]
    _dns, https = spec["egress"]
    assert https["to"] == [{"ipBlock": {"cidr": "13.108.0.0/14"}}, {"ipBlock": {"cidr": "2a02:2080::/32"}}]


# -- the PostgreSQL store: sharded replicas ----------------------------------------------------------------------


def test_with_sqlite_one_replica_recreated_on_its_volume_and_no_more() -> None:
    rendered = render(SAMPLE_CONFIG, OPTIONS)
    deployment = manifest(rendered, "deployment.yaml", "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}, "never two writers on one SQLite file"
    assert manifest(rendered, "deployment.yaml", "PersistentVolumeClaim")["spec"]["accessModes"] == ["ReadWriteOnce"]
    with pytest.raises(ValueError, match=r"the SQLite store has one writer, so one replica; set runtime\.store"):
        render(SAMPLE_CONFIG, RenderOptions(image="registry.example.com/ps:1.0", replicas=2))


def test_with_postgres_replicas_roll_one_at_a_time_on_different_nodes_under_a_disruption_budget() -> None:
    rendered = render(POSTGRES_CONFIG, OPTIONS)
    deployment = manifest(rendered, "deployment.yaml", "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    pod = spec["template"]["spec"]
    (term,) = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    budget = manifest(rendered, "deployment.yaml", "PodDisruptionBudget")
    assert budget["apiVersion"] == "policy/v1"
    assert budget["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": spec["selector"]["matchLabels"]}}
    three = render(POSTGRES_CONFIG, RenderOptions(image="registry.example.com/ps:1.0", replicas=3))
    assert manifest(three, "deployment.yaml", "Deployment")["spec"]["replicas"] == 3
    with pytest.raises(ValueError, match="at least 2"):
        render(POSTGRES_CONFIG, RenderOptions(image="registry.example.com/ps:1.0", replicas=1))


def test_with_postgres_no_volume_claim_and_only_tmp_is_writable() -> None:
    rendered = render(POSTGRES_CONFIG, OPTIONS)
    kinds = [doc["kind"] for doc in yaml.safe_load_all(rendered.files["kubernetes/deployment.yaml"])]
    assert kinds == ["Deployment", "PodDisruptionBudget"]
    pod = manifest(rendered, "deployment.yaml", "Deployment")["spec"]["template"]["spec"]
    assert not any("persistentVolumeClaim" in volume for volume in pod["volumes"])
    (container,) = pod["containers"]
    assert [m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")] == ["/tmp"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_with_postgres_the_dsn_comes_from_the_secret_and_readiness_is_lease_ownership() -> None:
    rendered = render(POSTGRES_CONFIG, OPTIONS)
    container = manifest(rendered, "deployment.yaml", "Deployment")["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in container["env"]}
    assert env["PRESENCE_SYNC_DSN"] == {"name": "presence-sync-credentials", "key": "PRESENCE_SYNC_DSN"}
    assert all("value" not in item for item in container["env"]), "no value is ever rendered"
    secret = yaml.safe_load(rendered.files["kubernetes/credentials.template.yaml"])
    assert secret["stringData"]["PRESENCE_SYNC_DSN"] == "${PRESENCE_SYNC_DSN}"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert "readiness is holding them" in rendered.files["kubernetes/deployment.yaml"]


def test_with_postgres_the_network_policy_also_lets_out_the_database_port() -> None:
    egress = manifest(render(POSTGRES_CONFIG, OPTIONS), "networkpolicy.yaml", "NetworkPolicy")["spec"]["egress"]
    assert egress[-1] == {"ports": [{"protocol": "TCP", "port": 5432}]}
    sqlite_egress = manifest(render(SAMPLE_CONFIG, OPTIONS), "networkpolicy.yaml", "NetworkPolicy")["spec"]["egress"]
    assert len(sqlite_egress) == 2, "DNS and the vendors only"
