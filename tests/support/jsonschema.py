"""The subset of JSON Schema that ``jsonreport.SCHEMA`` uses, to check reports in tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from peep_setuptools.installing.jsonreport import SCHEMA


def validate(data: object, schema: Mapping[str, Any] = SCHEMA, where: str = "$") -> list[str]:
    """Check ``data`` against the subset of JSON Schema that SCHEMA uses; return the errors."""
    errors: list[str] = []
    if "enum" in schema and data not in schema["enum"]:
        errors.append(f"{where}: {data!r} is not one of {schema['enum']!r}")
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(data, t) for t in types):
            return [*errors, f"{where}: {data!r} is not of type {'/'.join(types)}"]
    if isinstance(data, dict):
        properties = schema.get("properties", {})
        errors.extend(
            f"{where}: missing {k!r}" for k in schema.get("required", ()) if k not in data
        )
        for key, value in data.items():
            if key in properties:
                errors.extend(validate(value, properties[key], f"{where}.{key}"))
            elif schema.get("additionalProperties") is False:
                errors.append(f"{where}: unexpected {key!r}")
    if isinstance(data, list) and "items" in schema:
        for number, item in enumerate(data):
            errors.extend(validate(item, schema["items"], f"{where}[{number}]"))
    return errors


def _is_type(data: object, name: str) -> bool:
    checks: dict[str, Any] = {
        "object": lambda d: isinstance(d, dict),
        "array": lambda d: isinstance(d, list),
        "string": lambda d: isinstance(d, str),
        "integer": lambda d: isinstance(d, int) and not isinstance(d, bool),
        "boolean": lambda d: isinstance(d, bool),
        "null": lambda d: d is None,
    }
    return bool(checks[name](data))
