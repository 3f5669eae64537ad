"""``peep verify``: compare installed files with the RECORD inside the verified wheel."""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import field
from functools import partial
from typing import Literal

from packaging.version import InvalidVersion, Version

from peep_setuptools.checks.bytecode import MODULE_ENDINGS, namespace_folders, shadowing
from peep_setuptools.checks.claims import claiming
from peep_setuptools.checks.datafiles import placed_data
from peep_setuptools.checks.located import InstalledDist, probe_installed
from peep_setuptools.checks.metadata import (
    ArchiveReadError,
    is_wheel,
    read_wheel_file,
    read_wheel_member,
)
from peep_setuptools.checks.record import RecordEntry, parse_record, with_member_hashes
from peep_setuptools.checks.scripts import (
    EntryPoint,
    check_copied_script,
    check_script,
    launcher_places,
    parse_entry_points,
)
from peep_setuptools.errors import PeepError
from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import Digest, hash_file
from peep_setuptools.requirements.spec import ReqLine
from peep_setuptools.urls import redacting_repr

#: Files an installer writes into the dist-info folder itself; they are not in wheels.
_INSTALLER_FILES = frozenset(
    {"INSTALLER", "REQUESTED", "direct_url.json", "RECORD", "uv_cache.json"}
)
_SITE_SCHEMES = frozenset({"purelib", "platlib"})

Status = Literal["ok", "not-installed", "version-differs", "files-differ", "not-a-wheel"]


@redacting_repr
@frozen
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
    #: the ``.pth`` files it installs: Python runs their ``import`` lines at every start
    startup: tuple[str, ...] = ()
    #: pycs that would run instead of a verified source (a reinstall may leave them)
    stray_bytecode: tuple[str, ...] = ()
    #: other differing files no installed RECORD names (absolute): a reinstall leaves them
    leftover: tuple[str, ...] = ()

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
        # changed: also pycs and scripts that would run other code than the verified files
        lines.extend(f"    changed: {p}" for p in self.changed)
        lines.extend(f"    missing: {p}" for p in self.missing)
        lines.extend(f"    added:   {p}" for p in self.added)
        return "\n".join(lines)


@frozen
class Verified:
    """A requirement's verified archive, to compare with what is installed."""

    requirement: ReqLine
    path: str
    #: the archive's URL, for messages
    url: str


def check_environment(python: str, archives: Sequence[Verified]) -> list[InstalledCheck]:
    """Check each verified archive against its installed copy in ``python``'s environment.

    Files are hashed here; the target lists its distributions and compares bytecode with
    ``-I -S``, so nothing installed runs. Raises TargetError, or PeepError for a wheel whose
    RECORD cannot be read.
    """
    dists = probe_installed(python, [a.requirement.name for a in archives])
    records: dict[str, tuple[RecordEntry, ...]] = {}
    sources: list[str] = []
    folders: list[str] = []
    for archive in archives:
        if not is_wheel(archive.path):
            continue
        try:
            listed = parse_record(read_wheel_member(archive.path, "RECORD"))
            records[archive.path] = with_member_hashes(
                listed, partial(read_wheel_file, archive.path)
            )
        except ArchiveReadError as exc:
            raise PeepError(f"{archive.url}: cannot read its RECORD: {exc}") from exc
        dist = dists.get(archive.requirement.name)
        if dist is not None:
            sources += verified_sources(dist, records[archive.path])
            folders += _namespace_paths(dist, records[archive.path])
    runs_instead = shadowing(python, sources, folders)
    checks = []
    for archive in archives:
        record = records.get(archive.path)
        entry_points, unreadable = _entry_points(archive.path, record or ())
        check = check_installed(
            archive.requirement,
            dists.get(archive.requirement.name),
            archive=archive.path,
            record=record,
            runs_instead=runs_instead,
            entry_points=entry_points,
            python=python,
        )
        if unreadable:
            check = dataclasses.replace(check, unchecked=(*check.unchecked, unreadable))
        checks.append(check)
    return checks


def _entry_points(wheel: str, record: Sequence[RecordEntry]) -> tuple[tuple[EntryPoint, ...], str]:
    """The wheel's scripts, and why they cannot be checked ("" when they can)."""
    if not any(e.path.endswith(".dist-info/entry_points.txt") for e in record):
        return (), ""
    try:
        return parse_entry_points(read_wheel_member(wheel, "entry_points.txt")), ""
    except (ArchiveReadError, ValueError) as exc:
        return (), f"its launchers (entry_points.txt cannot be read: {exc})"


def notes(check: InstalledCheck) -> str:
    """What the report says about a requirement besides differences: unchecked, startup files."""
    req = check.requirement
    head = f"{req.display_name}=={req.version}"
    lines = [f"{head}: not checked: {p}" for p in check.unchecked]
    lines += [f"{head}: runs at every Python start: {p} (verified)" for p in check.startup]
    return "\n".join(lines)


def verified_sources(installed: InstalledDist, record: Sequence[RecordEntry]) -> list[str]:
    """Absolute paths of the verified modules, what may run instead ``shadowing`` checks."""
    expected = _site_files(installed, record)[0]
    return [_installed_path(installed, p) for p in sorted(expected) if p.endswith(MODULE_ENDINGS)]


def _namespace_paths(installed: InstalledDist, record: Sequence[RecordEntry]) -> list[str]:
    expected = _site_files(installed, record)[0]
    return [_installed_path(installed, p) for p in namespace_folders(expected)]


def _site_files(
    installed: InstalledDist, record: Sequence[RecordEntry]
) -> tuple[dict[str, Digest], dict[str, Digest], list[str]]:
    """(in site-packages, under the data folder, not checked): the wheel's files, installed."""
    expected, unchecked = _expected_files(record)
    inside, outside, placed = placed_data(record, installed.data, installed.base)
    expected.update(inside)
    return expected, outside, [m for m in unchecked if m not in placed]


def _installed_path(installed: InstalledDist, relative: str) -> str:
    return os.path.normpath(os.path.join(installed.base, *relative.split("/")))


def _compare_files(root: str, expected: Mapping[str, Digest]) -> tuple[list[str], list[str]]:
    """(changed, missing): the RECORD's files whose bytes in ``root`` differ, or are gone."""
    changed: list[str] = []
    missing: list[str] = []
    for relative, entry in sorted(expected.items()):
        path = os.path.join(root, *relative.split("/"))
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
    return changed, missing


def check_installed(
    requirement: ReqLine,
    installed: InstalledDist | None,
    *,
    archive: str,
    record: Sequence[RecordEntry] | None,
    runs_instead: Mapping[str, Sequence[tuple[str, str]]] | None = None,
    entry_points: Sequence[EntryPoint] = (),
    python: str = "",
) -> InstalledCheck:
    """Compare one installed distribution with the RECORD of its verified ``archive``.

    ``record`` is None for sdists. Hashes the installed files (reads them, runs nothing).
    ``runs_instead`` is what ``bytecode.shadowing`` found for the verified sources, and
    each of ``entry_points`` must have a launcher that runs it with ``python``.
    """
    if installed is None:
        return InstalledCheck(requirement, "not-installed")
    if not _same_version(installed.version, requirement.version):
        return InstalledCheck(requirement, "version-differs", installed.version)
    if record is None:
        return InstalledCheck(requirement, "not-a-wheel", installed.version)
    expected, outside, unchecked = _site_files(installed, record)
    changed, missing = _compare_files(installed.base, expected)
    for found, into in zip(_compare_files(installed.data, outside), (changed, missing)):
        into += [os.path.join(installed.data, p) for p in found]
    added = sorted(_added_files(installed, expected))
    recorded = {posixpath.normpath(f) for f in installed.files if _safe(f)}
    # the installers remove only what the installed RECORD names
    leftover = [_installed_path(installed, p) for p in added if p not in recorded]
    stray = []
    for path, reason in _running_instead(installed, expected, runs_instead or {}):
        changed.append(f"{_shown(installed, path)} ({reason})")
        if path.endswith(".pyc") and os.path.basename(os.path.dirname(path)) == "__pycache__":
            stray.append(path)
        elif _shown(installed, path) not in recorded:
            leftover.append(path)
    wrong, absent = _check_scripts(installed, entry_points, python)
    copied_wrong, copied_absent, unchecked = _check_copied(installed, archive, unchecked, python)
    changed += wrong + copied_wrong
    missing += absent + copied_absent
    unchecked.extend(_unchecked_scripts(entry_points))
    status: Status = "files-differ" if changed or missing or added else "ok"
    startup = {p for p in (*expected, *installed.files) if "/" not in p and p.endswith(".pth")}
    return InstalledCheck(
        requirement,
        status,
        installed.version,
        tuple(changed),
        tuple(missing),
        tuple(added),
        tuple(unchecked),
        tuple(sorted(startup)),
        tuple(stray),
        tuple(dict.fromkeys(leftover)),
    )


def _running_instead(
    installed: InstalledDist,
    expected: Iterable[str],
    runs_instead: Mapping[str, Sequence[tuple[str, str]]],
) -> list[tuple[str, str]]:
    """(file, why) for each file Python would run instead of, or before, a verified one."""
    found = []
    for relative in sorted(expected):
        for path, reason in runs_instead.get(_installed_path(installed, relative), ()):
            found.append((path, f"{reason}: it runs instead of {relative}"))
    for folder in namespace_folders(expected):
        for path, reason in runs_instead.get(_installed_path(installed, folder), ()):
            found.append((path, f"{reason}: it runs before the modules in {folder}/"))
    return found


def remove_stray_bytecode(check: InstalledCheck) -> None:
    """Delete the pycs that would run instead of verified sources (Python writes them anew).

    A reinstall rewrites only the pycs its installer compiles, so an ``.opt-1`` or
    hash-based one planted beside them would survive it.
    """
    for path in check.stray_bytecode:
        try:
            os.remove(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise PeepError(f"cannot remove {path}: {exc.strerror or exc}") from None


def _shown(installed: InstalledDist, path: str) -> str:
    """A path relative to site-packages when it is inside, else absolute."""
    relative = os.path.relpath(path, installed.base)
    return path if relative.startswith("..") else relative.replace(os.sep, "/")


def _check_scripts(
    installed: InstalledDist, entry_points: Sequence[EntryPoint], python: str
) -> tuple[list[str], list[str]]:
    """(launchers that would run something else, with why; entry points without one)."""
    wrong: list[str] = []
    absent: list[str] = []
    if os.name == "nt":
        return wrong, absent  # .exe launchers: listed as unchecked
    for entry in entry_points:
        missing = f"the {entry.group} launcher {entry.name!r}"
        check = partial(check_script, entry=entry, python=python)
        _judge_launchers(installed, entry.name, missing, check, wrong, absent)
    return wrong, absent


def _judge_launchers(
    installed: InstalledDist,
    name: str,
    missing: str,
    check: Callable[[str], str | None],
    wrong: list[str],
    absent: list[str],
) -> None:
    """Sort the launchers of script ``name``: faulted by ``check`` into ``wrong``, with why.

    With none, the place it should be goes to ``absent`` (``missing`` if none is known).
    """
    present, paths = launcher_places(name, installed.scripts, installed.base, installed.files)
    if not present:
        absent.append(paths[0] if paths else missing)
    for path in present:
        why = check(path)
        if why is not None:
            wrong.append(f"{path} ({why})")


_DATA_SCRIPT = re.compile(r"[^/]+\.data/scripts/(?P<name>[^/]+)")


def _check_copied(
    installed: InstalledDist, wheel: str, unchecked: Sequence[str], python: str
) -> tuple[list[str], list[str], list[str]]:
    """(changed, missing, still unchecked): the wheel's ``.data/scripts`` files, installed."""
    wrong: list[str] = []
    absent: list[str] = []
    left: list[str] = []
    for member in unchecked:
        match = _DATA_SCRIPT.fullmatch(member)
        if match is None or os.name == "nt":
            left.append(member)
            continue
        try:
            original = read_wheel_file(wheel, member)
        except ArchiveReadError:
            left.append(member)
            continue
        check = partial(check_copied_script, original=original, python=python)
        _judge_launchers(installed, match.group("name"), member, check, wrong, absent)
    return wrong, absent, left


def _unchecked_scripts(entry_points: Sequence[EntryPoint]) -> list[str]:
    if os.name != "nt":
        return []
    return [f"{e.name}.exe (a Windows launcher; peep cannot read it)" for e in entry_points]


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
    # namespace folders, but the packages inside them) and its dist-info, to find files
    # no RECORD mentions.
    packages = {p[: -len("/__init__.py")] for p in expected if p.endswith("/__init__.py")}
    packages |= {p.split("/", 1)[0] for p in expected if p.split("/", 1)[0].endswith(".dist-info")}
    walked = {p for p in packages if not any(p.startswith(f"{q}/") for q in packages)}
    candidates.update(claiming(installed.base, installed.name, packages))
    for root in walked:
        top = os.path.join(installed.base, root)
        for folder, dirs, names in os.walk(top):
            relative = os.path.relpath(folder, installed.base).replace(os.sep, "/")
            # os.walk does not enter a symlinked folder, but an import does: it is added
            links = {d for d in dirs if os.path.islink(os.path.join(folder, d))}
            dirs[:] = [d for d in dirs if d != "__pycache__" and d not in links]
            candidates.update(f"{relative}/{n}" for n in (*names, *links))
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
