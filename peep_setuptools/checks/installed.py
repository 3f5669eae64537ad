"""``peep verify``: compare installed files with the RECORD inside the verified wheel."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import os
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from peep_setuptools.errors import TargetError
from peep_setuptools.hashes import Digest, InvalidDigest, hash_file
from peep_setuptools.requirements.spec import ReqLine
from peep_setuptools.target import run_script

# Runs in the target interpreter, stdlib only: where each named distribution lives.
_PROBE = r"""
import importlib.metadata as md, json, sys
wanted = set(json.loads(sys.argv[1]))
def canon(name):
    import re
    return re.sub(r"[-_.]+", "-", name).lower()
found = {}
for dist in md.distributions():
    name = canon(dist.metadata["Name"] or "")
    if name in wanted and name not in found:
        found[name] = {
            "version": dist.version,
            "base": str(dist.locate_file("")),
            "files": [str(f) for f in (dist.files or [])],
        }
print(json.dumps(found))
"""
#: Files an installer writes into the dist-info folder itself; they are not in wheels.
_INSTALLER_FILES = frozenset({"INSTALLER", "REQUESTED", "direct_url.json", "RECORD"})
_SITE_SCHEMES = frozenset({"purelib", "platlib"})

Status = Literal["ok", "not-installed", "version-differs", "files-differ", "not-a-wheel"]


@dataclass(frozen=True)
class RecordEntry:
    """One line of a RECORD file."""

    path: str
    digest: Digest | None
    size: int | None


@dataclass(frozen=True)
class InstalledDist:
    """A distribution as the target interpreter reports it."""

    name: NormalizedName
    version: str
    #: the directory RECORD paths are relative to (site-packages)
    base: str
    #: the paths the installed RECORD lists, relative to ``base``
    files: tuple[str, ...]


@dataclass(frozen=True)
class InstalledCheck:
    """How one requirement's installed copy compares with its verified archive."""

    requirement: ReqLine
    status: Status
    installed_version: str | None = None
    changed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    #: wheel files that cannot be compared (scripts and data are rewritten on install)
    unchecked: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when nothing differs; an sdist install cannot be compared, so it passes."""
        return self.status in ("ok", "not-a-wheel")

    def render(self) -> str:
        """Lines for the human report; empty when the requirement checks out."""
        req = self.requirement
        head = f"{req.display_name}=={req.version} ({req.location})"
        if self.status == "ok":
            return ""
        if self.status == "not-installed":
            return f"{head}: not installed"
        if self.status == "version-differs":
            return f"{head}: version {self.installed_version} is installed"
        if self.status == "not-a-wheel":
            return (
                f"{head}: note: an sdist has no RECORD to compare the installed files "
                "with, so they were not checked; reinstall it with --force-reinstall to be sure"
            )
        lines = [f"{head}: installed files differ from the verified wheel"]
        lines.extend(f"    changed: {p}" for p in self.changed)
        lines.extend(f"    missing: {p}" for p in self.missing)
        lines.extend(f"    added:   {p}" for p in self.added)
        return "\n".join(lines)


def parse_record(text: str) -> tuple[RecordEntry, ...]:
    """Parse a RECORD (CSV: path, ``algo=urlsafe-b64``, size); bad hashes become None."""
    entries = []
    for row in csv.reader(io.StringIO(text)):
        if not row or not row[0]:
            continue
        digest = _record_digest(row[1]) if len(row) > 1 else None
        size = int(row[2]) if len(row) > 2 and row[2].isdigit() else None
        entries.append(RecordEntry(row[0], digest, size))
    return tuple(entries)


def _record_digest(value: str) -> Digest | None:
    algorithm, equals, encoded = value.partition("=")
    if not equals:
        return None
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        return Digest.from_hex(algorithm, raw.hex())
    except (binascii.Error, ValueError, InvalidDigest):
        return None


def probe_installed(
    python: str, names: Iterable[NormalizedName]
) -> dict[NormalizedName, InstalledDist]:
    """Ask ``python`` where each named distribution is installed; raises TargetError."""
    wanted = sorted(set(names))
    done = run_script(python, _PROBE, json.dumps(wanted))
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise TargetError(f"cannot list the installed files of {python}: {last}")
    try:
        data = json.loads(done.stdout)
        return {
            canonicalize_name(name): InstalledDist(
                canonicalize_name(name),
                str(info["version"]),
                str(info["base"]),
                tuple(str(f) for f in info["files"]),
            )
            for name, info in data.items()
        }
    except (ValueError, KeyError, TypeError) as exc:
        raise TargetError(f"cannot understand what {python} reports about its files") from exc


def check_installed(
    requirement: ReqLine,
    installed: InstalledDist | None,
    *,
    archive: str,
    record: Sequence[RecordEntry] | None,
) -> InstalledCheck:
    """Compare one installed distribution with the RECORD of its verified ``archive``.

    ``record`` is None for sdists. Hashes the installed files (reads them, runs nothing).
    """
    if installed is None:
        return InstalledCheck(requirement, "not-installed")
    if not _same_version(installed.version, requirement.version):
        return InstalledCheck(requirement, "version-differs", installed.version)
    if record is None:
        return InstalledCheck(requirement, "not-a-wheel", installed.version)
    expected, unchecked = _expected_files(record)
    changed, missing = [], []
    for relative, entry in sorted(expected.items()):
        path = os.path.join(installed.base, *relative.split("/"))
        try:
            actual = hash_file(path, (entry.algorithm,))[entry.algorithm]
        except FileNotFoundError:
            missing.append(relative)
            continue
        except OSError:
            changed.append(relative)
            continue
        if not actual.matches(entry):
            changed.append(relative)
    added = sorted(_added_files(installed, expected))
    status: Status = "files-differ" if changed or missing or added else "ok"
    return InstalledCheck(
        requirement,
        status,
        installed.version,
        tuple(changed),
        tuple(missing),
        tuple(added),
        tuple(unchecked),
    )


def _expected_files(record: Sequence[RecordEntry]) -> tuple[dict[str, Digest], list[str]]:
    expected: dict[str, Digest] = {}
    unchecked: list[str] = []
    for entry in record:
        if entry.digest is None or not _safe(entry.path):
            continue
        first, _, rest = entry.path.partition("/")
        if first.endswith(".data"):
            scheme, _, inner = rest.partition("/")
            if scheme in _SITE_SCHEMES and inner:
                expected[inner] = entry.digest
            else:
                unchecked.append(entry.path)  # scripts get new shebangs; data goes elsewhere
            continue
        expected[entry.path] = entry.digest
    return expected, unchecked


def _safe(path: str) -> bool:
    parts = path.split("/")
    return not path.startswith("/") and ".." not in parts and "\\" not in path


def _added_files(installed: InstalledDist, expected: Mapping[str, Digest]) -> set[str]:
    """Files that the wheel did not have: from the installed RECORD and on disk."""
    candidates = {posixpath.normpath(f) for f in installed.files if _safe(f)}
    # Walk the wheel's own package folders (those with an __init__.py, so not shared
    # namespace folders) and its dist-info, to find files no RECORD mentions.
    roots = {p.split("/", 1)[0] for p in expected if "/" in p}
    walked = {r for r in roots if f"{r}/__init__.py" in expected or r.endswith(".dist-info")}
    for root in walked:
        top = os.path.join(installed.base, root)
        for folder, dirs, names in os.walk(top):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            relative = os.path.relpath(folder, installed.base).replace(os.sep, "/")
            candidates.update(f"{relative}/{n}" for n in names)
    return {path for path in candidates if path not in expected and not _installer_made(path)}


def _installer_made(path: str) -> bool:
    parts = path.split("/")
    if "__pycache__" in parts and path.endswith(".pyc"):
        return True
    return len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] in _INSTALLER_FILES


def _same_version(installed: str, pinned: str | None) -> bool:
    if pinned is None:
        return True
    try:
        return Version(installed) == Version(pinned)
    except InvalidVersion:
        return installed == pinned
