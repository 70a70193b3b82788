"""`presence-sync status`: against a running sandbox + runtime (exit 0 in step, 2 not, the agent named), and how
it finds a stack's runtime (the SyncRuntime's outputs in the exported state)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from presence_sync import cli, status
from presence_sync.gitops import plan as plan_command
from tests.runtime.support import GRACE, Agent, RuntimeProcess, SandboxSetup, prepare, runtime_running, wait_until

CXONE_SESSIONS = "/incontactapi/services/v34.0/agent-sessions"


@pytest.fixture
def setup(sandbox: Any) -> SandboxSetup:
    return prepare(sandbox)


@pytest.fixture
def runtime(setup: SandboxSetup, tmp_path: Path) -> Iterator[RuntimeProcess]:
    with runtime_running(setup, tmp_path) as process:
        yield process


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["status", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_status_exits_0_in_step_and_2_naming_the_agent_that_is_not(
    setup: SandboxSetup, runtime: RuntimeProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    grace = Agent(setup, GRACE, "grace.hopper@example.com")
    grace.omni_login("Busy")
    grace.cxone_login()
    wait_until(lambda: run(capsys, "--url", runtime.url)[0] == 0, timeout=30, what="status: every agent in step")
    code, out, _ = run(capsys, "--url", runtime.url)
    assert "ready" in out and "in step" in out and "circuits: cxone closed, salesforce closed" in out, out
    assert "p50" in out and "p99" in out

    operator = setup.sandbox.cxone_operator
    operator.set_faults(error_rate=1.0, error_status=503, path_prefix=CXONE_SESSIONS)
    try:
        grace.omni_set("Available_for_Chats")

        def failing() -> tuple[int, str, str] | None:
            answer = run(capsys, "--url", runtime.url)
            return answer if "[failing]" in answer[1] else None

        code, out, _ = wait_until(failing, timeout=30, what="status: Grace's write to CXone failing")
        assert code == 2
        assert "grace.hopper@example.com" in out and "failing" in out, out
        assert "last error" in out and "CXone" in out, out
        for key in ("CXONE_CLIENT_SECRET", "CXONE_ACCESS_KEY_SECRET", "SF_CLIENT_SECRET", "SF_PASSWORD"):
            assert setup.sandbox.env[key] not in out
    finally:
        operator.clear_faults()
    wait_until(lambda: run(capsys, "--url", runtime.url)[0] == 0, timeout=30, what="status: back in step")


def test_status_finds_the_runtime_in_the_stack_state(monkeypatch: pytest.MonkeyPatch) -> None:
    deployment = {
        "resources": [
            {"type": "pulumi:pulumi:Stack", "outputs": {}},
            {
                "type": "pulumi-python:dynamic/runtime:SyncRuntime",
                "outputs": {
                    "healthUrl": "http://127.0.0.1:9464/healthz",
                    "config": {"live_view_token_env": "LV_TOKEN"},
                },
            },
        ]
    }
    opened: list[tuple[str, Path]] = []

    def open_stack(name: str, work_dir: Path) -> Any:
        opened.append((name, work_dir))
        return SimpleNamespace(export_stack=lambda: SimpleNamespace(deployment=deployment))

    monkeypatch.setattr(plan_command, "open_stack", open_stack)
    assert status.locate("sandbox", "/some/project") == ("http://127.0.0.1:9464", "LV_TOKEN")
    assert opened == [("sandbox", Path("/some/project"))]

    with pytest.raises(status.StatusError, match="no SyncRuntime"):
        status.runtime_from_deployment({"resources": [{"type": "pulumi:pulumi:Stack"}]})
    with pytest.raises(status.StatusError, match="port-forward"):
        status.runtime_from_deployment({"resources": [{"type": "x:SyncRuntime", "outputs": {"healthUrl": None}}]})


def test_status_says_when_the_runtime_cannot_be_reached(capsys: pytest.CaptureFixture[str], port: int) -> None:
    code, out, err = run(capsys, "--url", f"http://127.0.0.1:{port}")
    assert code == 1 and out == ""
    assert "cannot reach the runtime" in err
