"""A spec switch between engines in one `pulumi up` leaves no moment with two writers (resources/stack.py).

The engine being switched off changes first: to ``nice``, the runtime is redeployed observe-only (the provider
stops the writing process before it starts the new one, and returns once the new one is ready) before the CXone
rule becomes active for NICE's engine; to ``presence-sync``, the rule is stored inactive before the runtime is
redeployed as the writer. Shown with the real engine's own step events, and the vendor's state after each run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.automation import events

from tests.support import vendors
from tests.support.spec_stack import spec_stack

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED_SPEC = (
    (REPO_ROOT / "stacks" / "sandbox.yaml").read_text().replace("runtime:\n", "runtime:\n  engine: presence-sync\n", 1)
)

pytestmark = pytest.mark.pulumi


@pytest.fixture
def stack(tmp_path: Path, engine_env: dict[str, str]) -> Iterator[Any]:
    switching = spec_stack(name="switch", work_dir=tmp_path, spec_text=SEED_SPEC, env=engine_env)
    yield switching
    switching.close()


def steps_of(stack: Any) -> list[tuple[str, str, str]]:
    """`pulumi up` of the stack; its steps in the engine's order as (started|done, kind, op) for our kinds."""
    seen: list[tuple[str, str, str]] = []

    def note(event: events.EngineEvent) -> None:
        for phase, step in (("started", event.resource_pre_event), ("done", event.res_outputs_event)):
            if step is not None and step.metadata.type.endswith((":PresenceRule", ":SyncRuntime")):
                seen.append((phase, step.metadata.type.rsplit(":", 1)[1], step.metadata.op.value))

    result = stack.stack.up(on_output=lambda _line: None, on_event=note)
    assert result.summary.result == "succeeded"
    return seen


def deployed_engine(work: Path) -> str:
    """The engine in the config the stack's local runtime runs with."""
    [config] = list((work / "runtime-switch").rglob("config.json"))
    return str(json.loads(config.read_text())["engine"])


def test_switching_engines_turns_the_old_writer_off_before_the_new_one_on(
    stack: Any, sandbox: Any, tmp_path: Path
) -> None:
    steps_of(stack)
    cxone = vendors.Cxone(sandbox.env)
    assert cxone.rules()["Chat agents"]["isActive"] is False
    assert deployed_engine(tmp_path) == "presence-sync"

    stack.edit_spec("  engine: presence-sync\n", "  engine: nice\n")
    to_nice = steps_of(stack)
    assert to_nice.index(("done", "SyncRuntime", "update")) < to_nice.index(("started", "PresenceRule", "update"))
    assert cxone.rules()["Chat agents"]["isActive"] is True
    assert deployed_engine(tmp_path) == "nice"

    stack.edit_spec("  engine: nice\n", "  engine: presence-sync\n")
    to_ours = steps_of(stack)
    assert to_ours.index(("done", "PresenceRule", "update")) < to_ours.index(("started", "SyncRuntime", "update"))
    assert cxone.rules()["Chat agents"]["isActive"] is False
    assert deployed_engine(tmp_path) == "presence-sync"
