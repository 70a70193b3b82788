"""presence_sync/spec/engine.py: `validate` and `plan` say which engine will sync presence."""

from __future__ import annotations

from pathlib import Path

import pytest

from presence_sync.gitops.engine import StackPlan
from presence_sync.gitops.render import render
from presence_sync.spec import load_spec
from presence_sync.spec.cli import main

SANDBOX = Path(__file__).resolve().parents[3] / "stacks" / "sandbox.yaml"


def with_engine(tmp_path: Path, engine: str) -> Path:
    text = SANDBOX.read_text().replace("runtime:\n", f"runtime:\n  engine: {engine}\n", 1)
    assert f"engine: {engine}" in text
    path = tmp_path / f"{engine}.yaml"
    path.write_text(text)
    return path


def test_validate_names_our_runtime_as_the_engine_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(SANDBOX)]) == 0
    line = capsys.readouterr().out
    assert line.endswith(
        "; runtime: local; engine: presence-sync -- presence-sync's runtime writes; the CXone presence rules are "
        "stored inactive for NICE's engine\n"
    )


def test_validate_says_when_nice_syncs_and_our_runtime_only_observes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = with_engine(tmp_path, "nice")
    assert main(["validate", str(spec)]) == 0
    engine = capsys.readouterr().out
    assert "; engine: nice -- NICE's engine (CXone Agent Embedded" in engine
    assert "only observes (no vendor writes)" in engine


def test_an_unknown_engine_is_refused_with_its_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = with_engine(tmp_path, "both")
    assert main(["validate", str(spec)]) == 1
    assert "runtime.engine" in capsys.readouterr().err


def test_the_plan_report_says_which_engine_each_stack_will_have(tmp_path: Path) -> None:
    from presence_sync.spec.engine import engine_line

    line = engine_line(load_spec(with_engine(tmp_path, "nice")))
    report = render([StackPlan(stack="prod")], engines={"prod": line})
    assert f"Presence sync after this change: {line}." in report
    assert "Presence sync after this change" not in render([StackPlan(stack="prod")])
