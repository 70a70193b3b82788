"""The install chain and the example pipeline are locked down (issue 18, "Pipeline and supply chain").

Static checks of files in the repository: every lock pins every requirement with hashes, every install
enforces them, every action is pinned by commit, checkouts keep no token, and credentials reach only the
steps that call the engine or the vendors.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ("requirements.lock", "requirements-runtime.lock", "requirements-build.lock", "requirements-uv.txt")
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
SHA256 = re.compile(r"--hash=sha256:[0-9a-f]{64}")
PINNED_ACTION = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
# The commands that read state or talk to the vendors: the only steps that may hold credentials.
NEEDS_CREDENTIALS = re.compile(r"\bpresence-sync (plan|drift|export)\b|\bpulumi (up|preview|refresh|destroy)\b")


def requirements(lock: str) -> dict[str, list[str]]:
    """name==version -> its hashes, from a pip-style requirements file (continuation lines joined)."""
    text = (ROOT / lock).read_text().replace("\\\n", " ")
    entries: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        requirement = line.split()[0]
        assert "==" in requirement, f"{lock}: {requirement!r} is not pinned to one version"
        entries[requirement.lower()] = SHA256.findall(line)
    return entries


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_requirement_is_pinned_with_hashes(lock: str) -> None:
    entries = requirements(lock)
    assert entries, f"{lock} pins nothing"
    missing = sorted(name for name, hashes in entries.items() if not hashes)
    assert not missing, f"{lock}: no --hash for {missing}"


def test_the_runtime_lock_is_a_subset_of_the_tested_versions_without_dev_tools() -> None:
    dev = set(requirements("requirements.lock"))
    runtime = set(requirements("requirements-runtime.lock"))
    assert runtime <= dev, f"the image would run versions the tests never ran: {sorted(runtime - dev)}"
    names = {entry.split("==")[0] for entry in runtime}
    for tool in (
        "pytest",
        "pytest-timeout",
        "ruff",
        "mypy",
        "pulumi",  # grpcio is no longer here: the runtime reads Salesforce changes over the Pub/Sub API (gRPC)
        "grpcio-tools",
        "starlette",
        "uvicorn",
        "trustme",
        "lark",
        "deepdiff",
        "jinja2",
        "types-requests",
        "types-pyyaml",
    ):
        assert tool not in names, f"{tool} is not what `python -m runtime` needs"


def makefile_commands() -> list[str]:
    """The Makefile's recipe lines, continuation lines joined, variables left as written."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.startswith("\t")]


def test_the_makefile_installs_only_hash_checked() -> None:
    installs = [
        c
        for c in makefile_commands()
        if re.search(r"\b(pip|uv pip|\$\(UV\) pip) (install|sync)\b", c) or re.search(r"/pip install\b", c)
    ]
    assert len(installs) >= 3, installs
    for command in installs:
        words = shlex.split(command)
        if "--editable" in words:  # our own project: no hash exists; its build backend is locked instead
            assert "--no-deps" in words and "--require-build-hashes" in words
            assert words[words.index("--build-constraints") + 1] == "requirements-build.lock"
        else:
            assert "--require-hashes" in words, f"installs without hashes: {command}"
    bootstrap = next(c for c in installs if "requirements-uv.txt" in c)
    assert "--only-binary=:all:" in bootstrap, "uv from an sdist would build with an unpinned toolchain"
    makefile = (ROOT / "Makefile").read_text()
    assert "uv==$(UV_VERSION)" not in makefile, "uv must come from requirements-uv.txt, with its hashes"
    assert re.search(r"^UV_VERSION := \$\(shell sed .*requirements-uv\.txt\)$", makefile, re.MULTILINE)


def test_ci_installs_through_the_makefile_only() -> None:
    commands = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert "make setup" in commands and "make test" in commands
    assert not any(re.search(r"\bpip3?\b", line) for line in commands), "an install around the Makefile's checks"


def walk(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*path, str(index)))


def load(workflow: Path) -> dict[str, Any]:
    data = yaml.safe_load(workflow.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as a boolean
    return data


def steps(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, step


def test_there_is_a_workflow() -> None:
    assert WORKFLOWS


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_and_every_checkout_keeps_no_token(workflow: Path) -> None:
    data = load(workflow)
    for job_name, step in steps(data):
        if "uses" not in step:
            continue
        assert PINNED_ACTION.match(step["uses"]), f"{job_name}: {step['uses']} is not pinned by a 40-hex commit"
        if step["uses"].startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, f"{job_name}: checkout keeps the token"
    # The tag each pin stands for is written next to it, for the reviewer of an update.
    for line in workflow.read_text().splitlines():
        if re.match(r"\s*(- )?uses: ", line):
            assert re.search(r"@[0-9a-f]{40}\s+# v\d", line), line


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_credentials_are_only_in_the_steps_that_need_them(workflow: Path) -> None:
    data = load(workflow)
    for path, value in walk(data):
        if isinstance(value, str) and "secrets." in value:
            # jobs.<job>.steps.<n>.env.<NAME>: nowhere else (not the workflow's or a job's env, not `with:`)
            assert len(path) == 6 and path[0] == "jobs" and path[2] == "steps" and path[4] == "env", path
    assert "secrets" not in str(data.get("env", {})), "workflow-level env reaches every step"
    for job_name, step in steps(data):
        env = step.get("env", {})
        if any("secrets." in str(value) for value in env.values()):
            assert "uses" not in step, f"{job_name}: an action ({step['uses']}) gets credentials"
            assert NEEDS_CREDENTIALS.search(step.get("run", "")), f"{job_name}: {step.get('name')} needs none"
        elif "run" in step:
            assert not NEEDS_CREDENTIALS.search(step["run"]), f"{job_name}: {step.get('name')} lacks credentials"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_jobs_ask_for_least_privilege_and_runs_interpolate_no_event_data(workflow: Path) -> None:
    data = load(workflow)
    assert data.get("permissions") == {}, "the default token should have no permission"
    for job_name, job in data["jobs"].items():
        permissions = job.get("permissions", {})
        writes = {scope for scope, level in permissions.items() if level == "write"}
        has_credentials = "secrets." in str(job.get("steps"))
        assert not (writes and has_credentials), f"{job_name}: write access and credentials in one job"
        assert writes <= {"pull-requests"}, f"{job_name}: writes {writes}"
        for step in job.get("steps", []):
            # Values go through env, never into the script text (script injection).
            assert "github.event" not in step.get("run", ""), f"{job_name}: {step.get('name')}"


def test_the_pull_request_preview_runs_base_tooling_on_the_pull_requests_specs_only() -> None:
    data = load(ROOT / ".github" / "workflows" / "presence-sync-gitops.yml")
    assert "pull_request" not in data["on"], "pull_request runs the pull request's own workflow and code"
    assert data["on"]["pull_request_target"]["paths"] == ["stacks/**"]
    preview = data["jobs"]["preview"]
    assert "head.repo.full_name == github.repository" in preview["if"]
    assert preview["environment"].endswith("-preview")
    checkouts = [step for step in preview["steps"] if step.get("uses", "").startswith("actions/checkout@")]
    base, pull_request = checkouts
    assert "ref" not in base["with"], "the tooling is the base branch's (the event's default ref)"
    assert pull_request["with"]["ref"] == "${{ github.event.pull_request.head.sha }}"
    assert pull_request["with"]["sparse-checkout"] == "stacks"
    assert pull_request["with"]["path"] == "pull-request"
    runs = [step.get("run", "") for step in preview["steps"]]
    take = next(index for index, run in enumerate(runs) if "pull-request/stacks" in run)
    assert "-type f" in runs[take] and "! -name 'Pulumi.*'" in runs[take] and "rm -rf pull-request" in runs[take]
    assert not any("pull-request" in run for run in runs[take + 1 :]), "nothing else from the pull request is used"
    assert take < next(index for index, run in enumerate(runs) if "make setup" in run)
