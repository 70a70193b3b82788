"""`presence-sync validate` and `presence-sync schema`, through the real dispatcher."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from presence_sync.cli import main

ROOT = Path(__file__).resolve().parents[3]
SANDBOX = str(ROOT / "stacks" / "sandbox.yaml")


def test_validate_valid_file_exits_0_with_a_one_line_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", SANDBOX]) == 0
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and err == ""
    assert out.startswith(f"{SANDBOX}: OK: sandbox; 2 statuses; 1 profile grant; External Client App ")
    assert "[Full, Api, Web, RefreshToken, OfflineAccess]" in out
    assert "rules: Chat agents (bidirectional)" in out


def test_validate_invalid_file_exits_1_with_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = yaml.safe_load(Path(SANDBOX).read_text())
    data["salesforce"]["statuses"][1]["channels"] = ["sfdc_phone"]
    data["salesforce"]["oauthApp"]["scopes"].append("bulk")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["validate", SANDBOX, str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out.startswith(f"{SANDBOX}: OK")  # the good file is still reported
    assert f"{bad}:" in err and "salesforce.statuses[1].channels[0]: a busy status has no channels" in err
    assert "salesforce.oauthApp.scopes[5]: unknown OAuth scope 'bulk'" in err
    assert err.rstrip().endswith("1 of 2 files invalid")


def test_validate_missing_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 1
    assert "nope.yaml: no such file" in capsys.readouterr().err


def test_validate_without_files_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["validate"])
    assert caught.value.code == 2
    assert "usage: presence-sync validate" in capsys.readouterr().err


def test_schema_prints_the_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "presence-sync spec"
    assert set(schema["properties"]) == {"version", "sandbox", "salesforce", "cxone", "runtime"}


def test_schema_output_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out" / "schema.json"
    assert main(["schema", "--output", str(target)]) == 0
    assert json.loads(target.read_text())["$schema"].startswith("https://json-schema.org/")
    assert capsys.readouterr().out == f"wrote {target}\n"
