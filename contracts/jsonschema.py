"""JSON Schemas generated from the event models, checked in under contracts/schemas/.

`python -m contracts.jsonschema` rewrites them; the contract tests fail when the checked-in
files are stale or when a model change would break a consumer of the checked-in version.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from contracts.events import EVENT_TYPES, Event

SCHEMA_DIR = Path(__file__).parent / "schemas"


def schema_path(event_type: type[Event]) -> Path:
    return SCHEMA_DIR / f"{event_type.TYPE}.v{event_type.SCHEMA_VERSION}.json"


def generate(event_type: type[Event]) -> dict[str, Any]:
    schema = event_type.model_json_schema(by_alias=True, mode="serialization")
    schema["$id"] = f"urn:wa-orchestrator:event:{event_type.TYPE}:v{event_type.SCHEMA_VERSION}"
    return schema


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved: dict[str, Any] = schema["$defs"][ref.removeprefix("#/$defs/")]
        return resolved
    return node


def _types(schema: dict[str, Any], node: dict[str, Any]) -> set[str]:
    node = _resolve(schema, node)
    if "anyOf" in node:
        return set().union(*(_types(schema, option) for option in node["anyOf"]))
    if "const" in node:
        return {f"const:{node['const']}"}
    if "enum" in node:
        return {f"enum:{value}" for value in node["enum"]}
    kind = node.get("type")
    if kind is None:
        return {"any"}
    return {kind} if isinstance(kind, str) else set(kind)


def breaking_changes(old: dict[str, Any], new: dict[str, Any], path: str = "") -> list[str]:
    """What a consumer that reads `old` documents would trip on in `new` documents.

    Additive changes are fine: a new optional field, a wider type, a new enum value. Removing or
    renaming a field, narrowing its type, or making a field newly required is breaking.
    """
    return _compare(old, old, new, new, path or "$")


def _compare(old_root: dict[str, Any], old: dict[str, Any], new_root: dict[str, Any], new: dict[str, Any],
             path: str) -> list[str]:
    old, new = _resolve(old_root, old), _resolve(new_root, new)
    problems: list[str] = []
    old_types, new_types = _types(old_root, old), _types(new_root, new)
    if "any" not in new_types and not old_types <= new_types:
        problems.append(f"{path}: type changed from {sorted(old_types)} to {sorted(new_types)}")
    old_props: dict[str, Any] = old.get("properties", {})
    new_props: dict[str, Any] = new.get("properties", {})
    for name, old_prop in old_props.items():
        if name not in new_props:
            problems.append(f"{path}.{name}: field removed")
            continue
        problems.extend(_compare(old_root, old_prop, new_root, new_props[name], f"{path}.{name}"))
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    for name in sorted(newly_required):
        problems.append(f"{path}.{name}: field became required")
    for key in ("items",):
        if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            problems.extend(_compare(old_root, old[key], new_root, new[key], f"{path}[]"))
    for option_old in old.get("anyOf", []):
        resolved = _resolve(old_root, option_old)
        if "properties" in resolved:
            for option_new in new.get("anyOf", []):
                if "properties" in _resolve(new_root, option_new):
                    problems.extend(_compare(old_root, resolved, new_root, option_new, path))
    return problems


def write_all() -> list[Path]:
    SCHEMA_DIR.mkdir(exist_ok=True)
    written = []
    for event_type in EVENT_TYPES:
        path = schema_path(event_type)
        path.write_text(render(generate(event_type)))
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_all():
        print(f"wrote {written_path}")
    sys.exit(0)
