"""The real engine, end to end: a Python dynamic provider created, diffed, updated and deleted.

The provider writes a file, so each step is checked against a side effect the engine cannot fake.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

REPO_ROOT = Path(__file__).resolve().parents[2]

PROGRAM = textwrap.dedent(
    """
    import os
    import pulumi
    from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult


    class FileProvider(ResourceProvider):
        def create(self, props):
            with open(props["path"], "w") as handle:
                handle.write(props["content"])
            return CreateResult(id_=props["path"], outs=dict(props))

        def read(self, id_, props):
            if not os.path.exists(id_):
                return ReadResult()
            with open(id_) as handle:
                return ReadResult(id_=id_, outs={**props, "content": handle.read()})

        def diff(self, id_, olds, news):
            changed = [key for key in ("path", "content") if olds.get(key) != news.get(key)]
            return DiffResult(changes=bool(changed), replaces=[k for k in changed if k == "path"])

        def update(self, id_, olds, news):
            with open(id_, "w") as handle:
                handle.write(news["content"])
            return UpdateResult(outs=dict(news))

        def delete(self, id_, props):
            if os.path.exists(id_):
                os.remove(id_)


    class TextFile(Resource):
        def __init__(self, name, path, content):
            super().__init__(FileProvider(), name, {"path": path, "content": content})


    config = pulumi.Config()
    target = TextFile("greeting", config.require("path"), config.require("content"))
    pulumi.export("path", target.id)
    """
)


def write_project(directory: Path) -> None:
    directory.mkdir()
    (directory / "__main__.py").write_text(PROGRAM)
    venv = Path(sys.prefix)  # the virtualenv running the tests, which has the pinned Pulumi SDK
    (directory / "Pulumi.yaml").write_text(
        f"name: engine-smoke\nruntime:\n  name: python\n  options:\n    virtualenv: {venv}\n"
    )


@pytest.mark.pulumi
def test_up_preview_update_destroy_through_a_python_dynamic_provider(tmp_path: Path, pulumi_backend: Any) -> None:
    project = tmp_path / "project"
    write_project(project)
    target_file = tmp_path / "greeting.txt"
    stack = auto.create_or_select_stack(
        "smoke", work_dir=str(project), opts=auto.LocalWorkspaceOptions(env_vars=pulumi_backend.env)
    )
    stack.set_config("path", auto.ConfigValue(str(target_file)))
    stack.set_config("content", auto.ConfigValue("hello"))

    up = stack.up()
    assert up.summary.result == "succeeded"
    assert up.summary.resource_changes == {"create": 2}
    assert target_file.read_text() == "hello"

    assert stack.preview().change_summary == {"same": 2}, "a second run must change nothing"

    stack.set_config("content", auto.ConfigValue("goodbye"))
    assert stack.preview().change_summary == {"same": 1, "update": 1}
    stack.up()
    assert target_file.read_text() == "goodbye"

    target_file.write_text("changed behind our back")
    refreshed = stack.refresh()
    assert refreshed.summary.resource_changes == {"same": 1, "update": 1}, "refresh must see the drift"

    destroy = stack.destroy()
    assert destroy.summary.result == "succeeded"
    assert not target_file.exists()
