"""Reports from plans, through jinja2 templates next to this module (``plan.md.j2``, ``plan.json.j2``).

Markdown is written to be pasted as a pull-request comment: a summary table per stack, a details block per
resource with each changed field old -> new. JSON is for machines: sorted keys, stable order.
Values reach the templates already masked (``diffing.mask``); the templates format, they do not decide.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from presence_sync.gitops.diffing import show
from presence_sync.gitops.engine import StackPlan

TEMPLATES = Path(__file__).resolve().parent
CELL_MAX = 200
"""Longer values (a rendered runtime config, say) are cut in Markdown; the JSON report has them whole."""


def md_code(value: Any) -> str:
    """A value as inline code in a table cell: cut to CELL_MAX, pipes escaped, backticks handled, newlines
    flattened."""
    text = show(value).replace("\r", " ").replace("\n", " ")
    if len(text) > CELL_MAX:
        text = text[: CELL_MAX - 1] + "…"
    text = text.replace("|", "\\|")
    if "`" in text:
        return "`` " + text + " ``"
    return "`" + text + "`"


def to_sorted_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=False,  # Markdown and JSON, not HTML; values are escaped by md_code / json.dumps
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = md_code
    env.filters["sorted_json"] = to_sorted_json
    return env


def report_data(
    plans: Sequence[StackPlan], *, title: str = "presence-sync plan", engines: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """``engines``: per stack, the line saying which engine will sync presence (from its spec)."""
    engines = engines or {}
    stacks = [
        {**plan.as_dict(), **({"engine": engines[plan.stack]} if plan.stack in engines else {})} for plan in plans
    ]
    return {
        "title": title,
        "stacks": stacks,
        "hasChanges": any(plan.changes for plan in plans),
        "hasDrift": any(plan.drift for plan in plans),
        "hasErrors": any(plan.error for plan in plans),
    }


def render(
    plans: Sequence[StackPlan],
    fmt: str = "markdown",
    *,
    title: str = "presence-sync plan",
    engines: Mapping[str, str] | None = None,
) -> str:
    template = {"markdown": "plan.md.j2", "json": "plan.json.j2"}[fmt]
    return environment().get_template(template).render(report=report_data(plans, title=title, engines=engines))
