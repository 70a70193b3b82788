"""API economy: a no-op `preview --refresh` reads each vendor's lists once per provider process, so the number
of API calls does not grow with the number of resources."""

from __future__ import annotations

import collections
import re
from pathlib import Path
from typing import Any

import pytest

import resources.stack
from tests.support.spec_stack import changes, spec_stack
from tests.support.specs import with_extra_statuses

pytestmark = pytest.mark.pulumi


def call_kinds(operator: Any) -> collections.Counter[str]:
    """What the logged calls were (ids blanked), for a failure message that says which calls grew."""
    return collections.Counter(
        re.sub(r"[0-9A-Za-z]{15,18}(?=/|$)", "<id>", f"{e['method']} {e['path']} {e.get('operation') or ''}")
        for e in operator.requests()
    )


def calls_for_noop_refresh(
    extra_statuses: int, tmp_path: Path, env: dict[str, str], sandbox: Any, kinds: list[collections.Counter[str]]
) -> tuple[int, int]:
    stack = spec_stack(
        name=f"economy-{extra_statuses}",
        work_dir=tmp_path,
        spec_text=with_extra_statuses(extra_statuses, profiles=2),
        env=env,
    )
    try:
        stack.up()
        sandbox.salesforce_operator.clear_requests()
        sandbox.cxone_operator.clear_requests()
        assert changes(stack.preview(refresh=True).change_summary) == {}
        kinds.append(call_kinds(sandbox.salesforce_operator) + call_kinds(sandbox.cxone_operator))
        return sandbox.salesforce_operator.count(), sandbox.cxone_operator.count()
    finally:
        stack.close()


def test_a_noop_refresh_makes_the_same_number_of_calls_for_2_or_12_statuses(
    tmp_path: Path, engine_env: dict[str, str], sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Count the providers' calls only: a running sync runtime polls both vendors on its own schedule (and has
    # its own API budget), which would make the counts depend on timing.
    monkeypatch.setattr(resources.stack, "runtime_available", lambda: False)
    kinds: list[collections.Counter[str]] = []
    few = calls_for_noop_refresh(0, tmp_path, engine_env, sandbox, kinds)
    many = calls_for_noop_refresh(10, tmp_path, engine_env, sandbox, kinds)
    # Ten more statuses and grants: the counts may differ by a token refresh or so, never per resource.
    grew = dict(kinds[1] - kinds[0])
    assert all(m <= f + 1 for f, m in zip(few, many, strict=True)), f"API calls grew: {few} -> {many}: {grew}"
    salesforce_calls, cxone_calls = many
    assert salesforce_calls <= 25 and cxone_calls <= 20, many
