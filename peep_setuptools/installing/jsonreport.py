"""The ``--report FILE.json`` document: its versioned schema, building it, and checking it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import Any, Literal
from urllib.parse import urlsplit

from peep_setuptools.checks.completeness import Completeness
from peep_setuptools.frozen import frozen
from peep_setuptools.installing.verdicts import Problem, Verdict
from peep_setuptools.requirements.spec import ReqLine
from peep_setuptools.urls import redact_text

#: Bumped on any change that could break a reader; additions keep the version.
SCHEMA_VERSION = 1

Action = Literal["installed", "skipped", "not-applicable", "verified-only", "not-installed"]

_NULLABLE_STRING = {"type": ["string", "null"]}
_REQUIREMENT = {
    "type": "object",
    "required": [
        "name",
        "version",
        "requirement",
        "location",
        "filename",
        "url",
        "size",
        "sha256",
        "source",
        "verification",
        "action",
        "error",
    ],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "version": _NULLABLE_STRING,
        "requirement": {"type": "string"},
        "location": {"type": "string"},
        "filename": _NULLABLE_STRING,
        "url": _NULLABLE_STRING,
        "size": {"type": ["integer", "null"]},
        "sha256": _NULLABLE_STRING,
        "source": {"enum": ["index", "file", "cache", None]},
        "verification": {"enum": ["ok", "missing", "mismatch", "error", None]},
        "action": {
            "enum": ["installed", "skipped", "not-applicable", "verified-only", "not-installed"]
        },
        "error": _NULLABLE_STRING,
    },
}
_MISSING = {
    "type": "object",
    "required": ["needed_by", "location", "dependency", "name", "pinned", "message"],
    "additionalProperties": False,
    "properties": {
        "needed_by": {"type": "string"},
        "location": {"type": "string"},
        "dependency": {"type": "string"},
        "name": {"type": "string"},
        "pinned": _NULLABLE_STRING,
        "message": {"type": "string"},
    },
}
_UNCHECKED = {
    "type": "object",
    "required": ["name", "location", "reason"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "location": {"type": "string"},
        "reason": {"type": "string"},
    },
}
#: JSON Schema (draft 2020-12) of the report; README.rst documents the same fields.
SCHEMA: Mapping[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "peep-setuptools report",
    "type": "object",
    "required": [
        "version",
        "command",
        "python",
        "ok",
        "requirements",
        "missing_dependencies",
        "unchecked_dependencies",
    ],
    "additionalProperties": False,
    "properties": {
        "version": {"enum": [SCHEMA_VERSION]},
        "command": {"enum": ["install", "check"]},
        "python": _NULLABLE_STRING,
        "ok": {"type": "boolean"},
        "requirements": {"type": "array", "items": _REQUIREMENT},
        "missing_dependencies": {"type": ["array", "null"], "items": _MISSING},
        "unchecked_dependencies": {"type": ["array", "null"], "items": _UNCHECKED},
    },
}


@frozen
class RequirementRecord:
    """One requirement's line in the report."""

    name: str
    version: str | None
    requirement: str
    location: str
    filename: str | None
    url: str | None
    size: int | None
    sha256: str | None
    source: Literal["index", "file", "cache"] | None
    verification: Literal["ok", "missing", "mismatch", "error"] | None
    action: Action
    error: str | None


def records(
    verdicts: Sequence[Verdict],
    problems: Sequence[Problem] = (),
    *,
    installed: Iterable[str] = (),
    skipped: Sequence[ReqLine] = (),
    not_applicable: Sequence[ReqLine] = (),
) -> list[RequirementRecord]:
    """One record per requirement: verified ones, failed ones, skipped and not applicable.

    ``installed`` names (canonical) the projects the installer was given; verified ones
    not among them are "verified-only".
    """
    done = set(installed)
    out = []
    for verdict in verdicts:
        req = verdict.requirement
        sha256 = verdict.actual.get("sha256")
        out.append(
            RequirementRecord(
                name=req.name,
                version=req.version,
                requirement=redact_text(req.text),
                location=str(req.location),
                filename=verdict.filename,
                url=verdict.url,
                size=verdict.size,
                sha256=sha256.hex if sha256 is not None else None,
                source="cache" if verdict.from_cache else _source(verdict.url),
                verification=verdict.kind,
                action="installed" if req.name in done else "verified-only",
                error=None,
            )
        )
    out.extend(
        _plain(p.requirement, "not-installed", verification="error", error=p.message)
        for p in problems
    )
    out.extend(_plain(req, "skipped") for req in skipped)
    out.extend(_plain(req, "not-applicable") for req in not_applicable)
    return out


def build(
    command: Literal["install", "check"],
    requirements: Sequence[RequirementRecord],
    *,
    python: str | None,
    completeness: Completeness | None,
    ok: bool,
) -> dict[str, Any]:
    """The whole report as JSON-ready data (see SCHEMA)."""
    missing = unchecked = None
    if completeness is not None:
        missing = [
            {
                "needed_by": m.needed_by.name,
                "location": str(m.needed_by.location),
                "dependency": str(m.dependency),
                "name": m.name,
                "pinned": m.pinned,
                "message": m.message(completeness.files),
            }
            for m in completeness.missing
        ]
        unchecked = [
            {
                "name": u.requirement.name,
                "location": str(u.requirement.location),
                "reason": u.reason,
            }
            for u in completeness.unchecked
        ]
    return {
        "version": SCHEMA_VERSION,
        "command": command,
        "python": python,
        "ok": ok,
        "requirements": [asdict(r) for r in requirements],
        "missing_dependencies": missing,
        "unchecked_dependencies": unchecked,
    }


def dumps(report: Mapping[str, Any]) -> str:
    """The report as JSON text, ending in a newline; no URL credentials in any of its fields."""
    return redact_text(json.dumps(report, indent=2, sort_keys=False)) + "\n"


def _plain(
    req: ReqLine,
    action: Action,
    *,
    verification: Literal["error"] | None = None,
    error: str | None = None,
) -> RequirementRecord:
    return RequirementRecord(
        name=req.name,
        version=req.version,
        requirement=redact_text(req.text),
        location=str(req.location),
        filename=None,
        url=None,
        size=None,
        sha256=None,
        source=None,
        verification=verification,
        action=action,
        error=error,
    )


def _source(url: str) -> Literal["index", "file"]:
    return "file" if urlsplit(url).scheme.lower() == "file" else "index"
