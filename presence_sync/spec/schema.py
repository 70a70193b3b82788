"""The spec's JSON Schema, generated from the models (committed as schema/presence-spec.schema.json).

Point an editor's YAML language server at it for completion and early warnings, e.g. a first line
``# yaml-language-server: $schema=../schema/presence-spec.schema.json``. `presence-sync validate` stays the
authority: it also runs the checks a schema can't express (references, the oscillation check).
"""

from __future__ import annotations

import json
from typing import Any

from .models import PresenceSpec

__all__ = ["SCHEMA_DIALECT", "export_schema", "schema_json"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _drop_property_titles(node: Any) -> None:
    # pydantic titles every property after its Python name ("Accesskeyuser"): noise next to the descriptions.
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            for prop in properties.values():
                if isinstance(prop, dict):
                    prop.pop("title", None)
        for value in node.values():
            _drop_property_titles(value)
    elif isinstance(node, list):
        for item in node:
            _drop_property_titles(item)


def export_schema() -> dict[str, Any]:
    schema = PresenceSpec.model_json_schema(by_alias=True, mode="validation")
    _drop_property_titles(schema)
    return {"$schema": SCHEMA_DIALECT, **schema}


def schema_json() -> str:
    """The schema as committed: two-space indents, key order as generated, a final newline."""
    return json.dumps(export_schema(), indent=2, ensure_ascii=False) + "\n"
