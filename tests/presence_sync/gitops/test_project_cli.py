"""`presence-sync plan`/`drift` on a Pulumi project through `auto.select_stack` (the path users take), with the
repository's own program (`__main__.py`, including the sync runtime) -- on a fresh stack, so nothing is
deployed: the preview lists what a first `pulumi up` would create."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi import automation as auto

from presence_sync.gitops import drift as drift_command
from presence_sync.gitops import plan as plan_command
from tests.presence_sync.gitops.conftest import REPO_ROOT, SEED_SPEC
from tests.presence_sync.gitops.test_plan_drift import run

pytestmark = pytest.mark.pulumi


def test_plan_of_a_new_stack_lists_every_create_and_drift_is_clean(
    tmp_path: Path, engine_env: dict[str, str], sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "presence-sync",
                "runtime": "python",  # the interpreter first on PATH: engine_env puts this venv's there
                "stackConfigDir": "stacks",
            }
        )
    )
    shutil.copy(REPO_ROOT / "__main__.py", project)  # the repository's program (its imports are installed)
    spec = project / "stacks" / "gitops.yaml"
    spec.write_text(SEED_SPEC)
    connection = project / "connection.json"
    connection.write_text(json.dumps(sandbox.env))
    for key, value in engine_env.items():
        monkeypatch.setenv(key, value)
    stack = auto.create_stack("gitops", work_dir=str(project))
    stack.set_all_config(
        {
            "presence-sync:spec": auto.ConfigValue(str(spec)),
            "presence-sync:connectionFile": auto.ConfigValue(str(connection)),
            "presence-sync:runtimeDir": auto.ConfigValue(str(tmp_path / "runtime")),
        }
    )

    code, text = run(plan_command, ["plan", "--stack", "gitops", "--cwd", str(project)], tmp_path, "json")
    assert code == 2, text
    (plan,) = json.loads(text)["stacks"]
    assert plan["error"] is None
    created = {change["name"] for change in plan["changes"] if change["op"] == "create"}
    assert {
        "status-Available_for_Chats",
        "status-Busy",
        "profile-access-custom-support-agent",
        "oauth-app-CXone_Presence_Sync",
        "account-mapping",
        "rule-chat-agents",
    } <= created
    for secret in (v for k, v in sandbox.env.items() if "SECRET" in k or "PASSWORD" in k):
        assert secret not in text

    code, text = run(drift_command, ["drift", "--stack", "gitops", "--cwd", str(project)], tmp_path)
    assert code == 0, text
    assert "No drift" in text

    assert run(plan_command, ["plan", "--stack", "nope", "--cwd", str(project)], tmp_path)[0] == 1
