"""The committed JSON Schema is exactly what the models export, and it accepts the example specs' shape."""

from __future__ import annotations

from pathlib import Path

from presence_sync.spec import export_schema, schema_json

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "schema" / "presence-spec.schema.json"


def test_committed_schema_is_fresh() -> None:
    # After changing the models: presence-sync schema --output schema/presence-spec.schema.json
    assert COMMITTED.read_text(encoding="utf-8") == schema_json()


def test_schema_forbids_unknown_keys_everywhere() -> None:
    schema = export_schema()
    objects = [schema, *schema["$defs"].values()]
    assert all(node.get("additionalProperties") is False for node in objects)


def test_schema_uses_the_yaml_keys_and_carries_descriptions() -> None:
    status = export_schema()["$defs"]["PresenceStatus"]["properties"]
    assert set(status) == {"label", "developerName", "kind", "channels", "adopt", "replaces"}
    assert status["developerName"]["pattern"] == "^[A-Za-z](_?[A-Za-z0-9])*$"
    assert all("title" not in prop and prop.get("description") for prop in status.values())
