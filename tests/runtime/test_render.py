"""The rendered runtime artifacts: golden files, determinism, escaping, and no secrets.

Regenerate the golden files after an intended template change with
``PRESENCE_SYNC_UPDATE_GOLDEN=1 .venv/bin/pytest tests/runtime/test_render.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from runtime.render import SECRET_VARIABLES, RenderOptions, render, tree_digest

GOLDEN = Path(__file__).resolve().parent / "golden"

# The shape of a service config (rules resolved to ids); render treats it as data, so a fixed sample works.
SAMPLE_CONFIG: dict[str, Any] = {
    "version": 1,
    "http": {"host": "0.0.0.0", "port": 9464},
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


def test_render_matches_the_golden_files() -> None:
    rendered = render(SAMPLE_CONFIG, OPTIONS)
    if os.environ.get("PRESENCE_SYNC_UPDATE_GOLDEN") == "1":
        for path, text in rendered:
            (GOLDEN / path).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / path).write_text(text)
    expected = {str(path.relative_to(GOLDEN)): path.read_text() for path in sorted(GOLDEN.rglob("*")) if path.is_file()}
    assert sorted(expected) == sorted(rendered.files), "the set of rendered files changed"
    for path, text in rendered:
        assert text == expected[path], f"{path} differs from tests/runtime/golden/{path}"


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
    assert sorted(kinds) == ["ConfigMap", "Deployment", "Namespace", "PersistentVolumeClaim", "Secret", "Service"]

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
        ({"replicas": 2}, "one replica"),
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
    from runtime.config import AgentLink, RuleConfig, RuntimeConfig, StatusRef, load_config

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
