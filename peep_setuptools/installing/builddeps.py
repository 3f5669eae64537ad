"""Strict mode: an sdist's ``[build-system]``, read from the verified archive without running it."""

from __future__ import annotations

import ntpath
import os
import posixpath
import tarfile
import zipfile
from collections.abc import Sequence
from typing import Any, NoReturn

from packaging.requirements import InvalidRequirement, Requirement

from peep_setuptools.checks.metadata import is_top_member
from peep_setuptools.errors import BackendError, PeepError
from peep_setuptools.frozen import frozen
from peep_setuptools.requirements.spec import Location

#: What pip assumes for an sdist without ``[build-system]`` (PEP 518).
DEFAULT_REQUIRES = ("setuptools>=40.8.0",)
#: PEP 517's fallback backend for a project without ``build-backend``.
DEFAULT_BACKEND = "setuptools.build_meta:__legacy__"
#: A pyproject.toml larger than this is not one we will read.
MAX_PYPROJECT_SIZE = 1024 * 1024


@frozen
class BuildRequirement:
    """One build dependency, with where it was asked for."""

    requirement: Requirement
    location: Location


@frozen
class BuildSystem:
    """What building an sdist needs: the static requirements and the backend to call."""

    requires: tuple[BuildRequirement, ...]
    backend: str
    #: in-tree backend directories, relative to the project root
    backend_path: tuple[str, ...]
    #: True when the sdist declares no ``[build-system]`` and pip's defaults were assumed
    assumed: bool


def parse_build_system(text: str | None, *, source: str) -> BuildSystem:
    """Read ``[build-system]`` from pyproject.toml text, or pip's defaults if absent (pure).

    ``source`` names the file in messages (e.g. ``foo-1.0.tar.gz/foo-1.0/pyproject.toml``).
    Raises BackendError for a malformed table or requirement.
    """
    if text is None:
        return _assumed(source)
    from peep_setuptools.tomlread import toml_loads  # one TOML loader for the whole package

    try:
        data = toml_loads(text, source=source)
    except PeepError as exc:
        raise BackendError(str(exc)) from None
    table = data.get("build-system")
    if table is None:
        return _assumed(source)
    if not isinstance(table, dict):
        _fail(source, 0, "build-system: must be a table")
    requires = table.get("requires")
    if requires is None:
        # PEP 518: a [build-system] without requires is an error; pip refuses it too.
        _fail(source, 0, "build-system.requires: is required when [build-system] is present")
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        _fail(source, 0, "build-system.requires: must be an array of strings")
    lines = text.splitlines()
    found = tuple(
        _requirement(item, f"build-system.requires[{i}]", source, _line_of(lines, item))
        for i, item in enumerate(requires)
    )
    backend = _string(table, "build-backend", source)
    backend_path = table.get("backend-path", [])
    if not isinstance(backend_path, list) or not all(isinstance(p, str) for p in backend_path):
        _fail(source, 0, "build-system.backend-path: must be an array of strings")
    for index, entry in enumerate(backend_path):
        problem = backend_path_problem(entry)
        if problem:
            _fail(
                source,
                0,
                f"build-system.backend-path[{index}]: {entry!r} {problem}; PEP 517 allows only "
                "relative folders inside the project; refusing to build it",
            )
    return BuildSystem(found, backend or DEFAULT_BACKEND, tuple(backend_path), assumed=False)


def backend_path_problem(entry: str) -> str:
    """Why a ``backend-path`` entry may not be used ("" if it may), as written (pure).

    The folder must be named relative to the project and stay inside it: ``/x``, ``C:x``
    and ``../x`` would let a build import code that was never verified.
    """
    if "\0" in entry:
        return "is not a path"
    if entry.startswith(("/", "\\")) or ntpath.isabs(entry) or ntpath.splitdrive(entry)[0]:
        return "is absolute"
    parts = posixpath.normpath(entry.replace("\\", "/")).split("/")
    return "climbs out of the project" if parts[0] == ".." else ""


def parse_requirement(text: str, location: Location) -> BuildRequirement:
    """Parse a requirement a backend asked for; BackendError naming ``location`` if invalid."""
    try:
        return BuildRequirement(Requirement(text), location)
    except InvalidRequirement as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid"
        raise BackendError(f"{location}: {text!r} is not a valid requirement: {first}") from None


def _assumed(source: str) -> BuildSystem:
    location = Location(source, 0)
    return BuildSystem(
        tuple(BuildRequirement(Requirement(r), location) for r in DEFAULT_REQUIRES),
        DEFAULT_BACKEND,
        (),
        assumed=True,
    )


def _fail(source: str, line: int, reason: str) -> NoReturn:
    where = f"{source}:{line}" if line else source
    raise BackendError(f"{where}: {reason}")


def _string(table: dict[str, Any], key: str, source: str) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        _fail(source, 0, f"build-system.{key}: must be a string")
    return value


def _line_of(lines: Sequence[str], item: str) -> int:
    """The first line quoting ``item``: TOML parsers keep no positions, so look for it."""
    for number, line in enumerate(lines, 1):
        if f'"{item}"' in line or f"'{item}'" in line:
            return number
    return 0


def _requirement(text: str, key: str, source: str, line: int) -> BuildRequirement:
    try:
        return BuildRequirement(Requirement(text), Location(source, line))
    except InvalidRequirement as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid"
        where = f"{source}:{line}" if line else source
        raise BackendError(
            f"{where}: {key}: {text!r} is not a valid requirement: {first}"
        ) from None


def read_build_system(sdist: str) -> BuildSystem:
    """Read the build system of a verified sdist (``.tar.gz``, ``.zip``...) without running it.

    The project's pyproject.toml is the one at the archive's top directory; without one,
    pip's defaults are assumed. Raises BackendError if the archive cannot be read.
    """
    name = os.path.basename(sdist)
    try:
        member, data = _pyproject_of(sdist)
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise BackendError(f"cannot read the sdist {name}: {exc}") from None
    source = f"{name}/{member}" if member else name
    if data is None:
        return parse_build_system(None, source=source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BackendError(f"{source}: not UTF-8 text") from None
    return parse_build_system(text, source=source)


def _pyproject_of(sdist: str) -> tuple[str, bytes | None]:
    """(member name, bytes) of the top-level pyproject.toml, or ("", None) if there is none."""
    if sdist.lower().endswith(".zip"):
        with zipfile.ZipFile(sdist) as archive:
            for info in archive.infolist():
                if is_top_member(info.filename, "pyproject.toml") and not info.is_dir():
                    _check_size(info.file_size, sdist)
                    return info.filename, archive.read(info)
        return "", None
    with tarfile.open(sdist) as tar:
        for tarinfo in tar:
            if is_top_member(tarinfo.name, "pyproject.toml") and tarinfo.isfile():
                _check_size(tarinfo.size, sdist)
                stream = tar.extractfile(tarinfo)
                if stream is None:
                    return "", None
                return tarinfo.name, stream.read()
    return "", None


def _check_size(size: int, sdist: str) -> None:
    if size > MAX_PYPROJECT_SIZE:
        raise BackendError(
            f"{os.path.basename(sdist)}: its pyproject.toml is larger than "
            f"{MAX_PYPROJECT_SIZE // 1024} KiB; not reading it"
        )
