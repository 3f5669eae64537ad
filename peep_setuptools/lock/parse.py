"""PEP 751 lock files (``pylock.toml``): TOML in, validated frozen values out (pure parsing).

Parsing is pure; ``load_pylock`` reads the file. Every message names the file and the TOML
key path of the offending value, e.g. ``pylock.toml: packages[3].wheels[0].hashes``. The
values live in ``lock.model``; choosing files for a target is ``lock.select``.
"""

from __future__ import annotations

import datetime
import os
import posixpath
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit

from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    NormalizedName,
    canonicalize_name,
)
from packaging.version import InvalidVersion, Version

from peep_setuptools.archives import ArchiveName, InvalidArchiveName
from peep_setuptools.errors import MalformedHashError, RequirementsFileError
from peep_setuptools.hashes import (
    ALGORITHMS,
    WEAK_ALGORITHMS,
    Digest,
    InvalidDigest,
    open_regular,
)
from peep_setuptools.lock.model import (
    FileKind,
    LockedFile,
    LockedPackage,
    LockFile,
)
from peep_setuptools.requirements.spec import control_character, is_project_name
from peep_setuptools.tomlread import toml_loads
from peep_setuptools.urls import url_problem

#: the major version of PEP 751 we read; a newer minor version is read with a warning
SUPPORTED_MAJOR = 1
SUPPORTED_MINOR = 0
_URL_SCHEMES = ("http", "https", "file")
_SOURCE_KINDS = ("vcs", "directory", "archive", "sdist", "wheels")
_UNPINNABLE = {
    "vcs": "a version-control checkout cannot be hash-checked",
    "directory": "a local directory cannot be hash-checked",
}
#: PEP 751 keys of a package that no file table has: found in a file table, they were
#: almost surely meant for the package (written below a ``[[packages.wheels]]`` header)
_PACKAGE_ONLY_KEYS = frozenset(
    (
        "version",
        "marker",
        "requires-python",
        "dependencies",
        "index",
        "attestation-identities",
        *_SOURCE_KINDS,
    )
)
_FILE_HEADERS: dict[FileKind, str] = {
    "wheel": "[[packages.wheels]]",
    "sdist": "[packages.sdist]",
    "archive": "[packages.archive]",
}


# -- parsing ---------------------------------------------------------------------------------


class _Reader:
    """Typed access to the TOML document; every failure names the key path."""

    def __init__(self, path: str, base_dir: str) -> None:
        self.path = path
        self.base_dir = base_dir
        #: non-fatal notes, in document order
        self.warnings: list[str] = []

    def fail(self, key: str, reason: str) -> NoReturn:
        where = f"{self.path}: {key}" if key else self.path
        raise RequirementsFileError(f"{where}: {reason}")

    def warn(self, key: str, reason: str) -> None:
        self.warnings.append(f"{self.path}: {key}: {reason}")

    def table(self, data: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any] | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.fail(path, f"must be a table, not {_kind(value)}")
        return value

    def string(
        self, data: Mapping[str, Any], key: str, path: str, *, required: bool = False
    ) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(path, "is required")
            return None
        if not isinstance(value, str):
            self.fail(path, f"must be a string, not {_kind(value)}")
        return value

    def strings(self, data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.fail(path, "must be an array of strings")
        return tuple(value)

    def marker(self, text: str | None, path: str) -> Marker | None:
        if text is None:
            return None
        try:
            return Marker(text)
        except InvalidMarker as exc:
            self.fail(path, f"{text!r} is not a valid environment marker: {_first_line(exc)}")

    def specifier(self, text: str | None, path: str) -> SpecifierSet | None:
        if text is None:
            return None
        try:
            return SpecifierSet(text)
        except InvalidSpecifier:
            self.fail(path, f"{text!r} is not a valid version specifier such as '>=3.9'")


def _kind(value: object) -> str:
    names = {dict: "a table", list: "an array", str: "a string", bool: "a boolean"}
    for python_type, name in names.items():
        if isinstance(value, python_type):
            return name
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (datetime.date, datetime.time)):
        return "a date/time"
    return type(value).__name__


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def parse_pylock(text: str, *, path: str, base_dir: str | None = None) -> LockFile:
    """Parse and validate a lock file's text (pure).

    ``path`` names the file in messages; relative ``path`` keys resolve against
    ``base_dir`` (default: the directory of ``path``). Raises RequirementsFileError
    naming the TOML key path, or MalformedHashError for a hash that is not a digest.
    """
    base = base_dir if base_dir is not None else os.path.dirname(os.path.abspath(path))
    reader = _Reader(path, base)
    data = toml_loads(text, source=path)
    warnings: list[str] = []
    version = reader.string(data, "lock-version", "lock-version", required=True)
    assert version is not None  # noqa: S101 - required=True
    warnings.extend(_check_lock_version(reader, version))
    created_by = reader.string(data, "created-by", "created-by", required=True)
    assert created_by is not None  # noqa: S101 - required=True
    environments = tuple(
        reader.marker(text, f"environments[{i}]")
        for i, text in enumerate(reader.strings(data, "environments", "environments"))
    )
    requires_python = reader.specifier(
        reader.string(data, "requires-python", "requires-python"), "requires-python"
    )
    raw_packages = data.get("packages")
    if raw_packages is None:
        reader.fail("packages", "is required (write 'packages = []' for an empty lock)")
    if not isinstance(raw_packages, list):
        reader.fail("packages", f"must be an array of tables, not {_kind(raw_packages)}")
    packages = tuple(_parse_package(reader, entry, i) for i, entry in enumerate(raw_packages))
    return LockFile(
        path=path,
        lock_version=version,
        created_by=created_by,
        environments=tuple(m for m in environments if m is not None),
        requires_python=requires_python,
        extras=reader.strings(data, "extras", "extras"),
        dependency_groups=reader.strings(data, "dependency-groups", "dependency-groups"),
        default_groups=reader.strings(data, "default-groups", "default-groups"),
        packages=packages,
        warnings=tuple(warnings + reader.warnings),
    )


def _check_lock_version(reader: _Reader, version: str) -> list[str]:
    match = re.fullmatch(r"(\d+)\.(\d+)", version)
    if match is None:
        reader.fail("lock-version", f"{version!r} is not a version such as '1.0'")
    major, minor = int(match.group(1)), int(match.group(2))
    if major != SUPPORTED_MAJOR:
        reader.fail(
            "lock-version",
            f"{version!r} is not supported; this tool reads lock-version {SUPPORTED_MAJOR}.x files",
        )
    if minor > SUPPORTED_MINOR:
        return [
            f"{reader.path}: lock-version {version} is newer than "
            f"{SUPPORTED_MAJOR}.{SUPPORTED_MINOR}; reading it as {SUPPORTED_MAJOR}."
            f"{SUPPORTED_MINOR}"
        ]
    return []


def _check_sources(reader: _Reader, entry: Mapping[str, Any], key: str, display: str) -> None:
    """A package has archives we can hash-check: wheels and/or an sdist, or one archive."""
    present = [kind for kind in _SOURCE_KINDS if entry.get(kind) is not None]
    exclusive = [kind for kind in present if kind not in ("sdist", "wheels")]
    if len(exclusive) > 1 or (exclusive and len(present) > 1):
        reader.fail(
            key,
            f"{display} has {' and '.join(present)}; a package takes exactly one of vcs, "
            "directory or archive, or else sdist and/or wheels",
        )
    if not present:
        reader.fail(
            key, f"{display} has no source: give one of wheels, sdist, archive, vcs or directory"
        )
    if exclusive and exclusive[0] in _UNPINNABLE:
        reader.fail(
            f"{key}.{exclusive[0]}",
            f"{display}: {_UNPINNABLE[exclusive[0]]}; lock an archive (sdist or wheel) "
            "with its hashes instead",
        )


def _parse_package(reader: _Reader, entry: object, number: int) -> LockedPackage:
    key = f"packages[{number}]"
    if not isinstance(entry, dict):
        reader.fail(key, f"must be a table, not {_kind(entry)}")
    display = _package_name(reader, entry, key)
    name = canonicalize_name(display)
    version = _package_version(reader, entry, key)
    _check_sources(reader, entry, key, display)
    wheels, sdist, archive = _package_files(reader, entry, key, display, version)
    index = reader.string(entry, "index", f"{key}.index")
    if index is not None:
        _check_url(reader, index, f"{key}.index")
    if index is not None and urlsplit(index).scheme.lower() not in ("http", "https", "file"):
        reader.fail(f"{key}.index", f"{index!r} is not an http(s):// or file:// URL")
    return LockedPackage(
        key=key,
        name=name,
        display_name=display,
        version=version,
        marker=reader.marker(reader.string(entry, "marker", f"{key}.marker"), f"{key}.marker"),
        requires_python=reader.specifier(
            reader.string(entry, "requires-python", f"{key}.requires-python"),
            f"{key}.requires-python",
        ),
        index=index,
        wheels=wheels,
        sdist=sdist,
        archive=archive,
    )


def _package_name(reader: _Reader, entry: dict[str, Any], key: str) -> str:
    """The package's name as spelled, a valid project name."""
    display = reader.string(entry, "name", f"{key}.name", required=True)
    assert display is not None  # noqa: S101 - required=True
    if not is_project_name(display):
        # Names reach the installer's input and every message: a newline there would be a
        # line (a package, a hash) of its own.
        reader.fail(
            f"{key}.name",
            f"{display!r} is not a valid project name (ASCII letters, digits, '.', '_' and '-', "
            "starting and ending with a letter or digit)",
        )
    return display


def _package_version(reader: _Reader, entry: dict[str, Any], key: str) -> str | None:
    """The package's version, a valid one as written (None: the lock gives none)."""
    version = reader.string(entry, "version", f"{key}.version")
    if version is not None:
        try:
            Version(version)
        except InvalidVersion:
            reader.fail(f"{key}.version", f"{version!r} is not a valid version")
        if version != version.strip():  # packaging allows the spaces; the installer's input not
            reader.fail(f"{key}.version", f"{version!r} is not a valid version (spaces)")
    return version


def _package_files(
    reader: _Reader, entry: dict[str, Any], key: str, display: str, version: str | None
) -> tuple[tuple[LockedFile, ...], LockedFile | None, LockedFile | None]:
    """The package's wheels, sdist and archive, each naming this project and version."""
    name = canonicalize_name(display)
    wheels_raw = entry.get("wheels", [])
    if "wheels" in entry and (not isinstance(wheels_raw, list) or not wheels_raw):
        reader.fail(f"{key}.wheels", "must be a non-empty array of tables")
    wheels = tuple(
        _parse_file(reader, item, f"{key}.wheels[{i}]", "wheel", name, version)
        for i, item in enumerate(wheels_raw)
    )
    sdist = archive = None
    if entry.get("sdist") is not None:
        sdist = _parse_file(reader, entry["sdist"], f"{key}.sdist", "sdist", name, version)
    if entry.get("archive") is not None:
        archive = _parse_file(reader, entry["archive"], f"{key}.archive", "archive", name, version)
        if "subdirectory" in entry["archive"]:
            # PEP 751: the project is in that folder of the archive; the installer would
            # build the archive's top instead, another project than the lock means.
            reader.fail(
                f"{key}.archive.subdirectory",
                f"{display}: an archive's subdirectory cannot be installed as locked; "
                "lock an archive (sdist or wheel) of the project itself",
            )
    return wheels, sdist, archive


def _parse_file(
    reader: _Reader,
    entry: object,
    key: str,
    kind: FileKind,
    name: NormalizedName,
    version: str | None,
) -> LockedFile:
    if not isinstance(entry, dict):
        reader.fail(key, f"must be a table, not {_kind(entry)}")
    _warn_misplaced_keys(reader, entry, key, kind)
    url = reader.string(entry, "url", f"{key}.url")
    local = reader.string(entry, "path", f"{key}.path")
    if url is None and local is None:
        reader.fail(key, "needs a url or a path")
    for field, value in (("url", url), ("path", local)):
        if value is not None and control_character(value) is not None:
            reader.fail(f"{key}.{field}", f"{value!r} has a control character or line break")
    if url is not None:
        _check_url(reader, url, f"{key}.url")
        scheme = urlsplit(url).scheme.lower()
        if scheme not in _URL_SCHEMES:
            reader.fail(f"{key}.url", f"{url!r}: only http://, https:// and file:// are supported")
        location = url
    else:
        assert local is not None  # noqa: S101 - checked above
        location = Path(os.path.join(reader.base_dir, local)).resolve().as_uri()
    filename = reader.string(entry, "name", f"{key}.name")
    if filename is None:
        source = url if url is not None else (local or "")
        filename = unquote(posixpath.basename(urlsplit(source).path if url else source))
    if (
        not filename
        or "/" in filename
        or "\\" in filename
        or filename in (".", "..")
        or control_character(filename) is not None
    ):
        reader.fail(f"{key}.name", f"{filename!r} is not a file name")
    size = entry.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        reader.fail(f"{key}.size", "must be a non-negative integer")
    tags = _check_filename(reader, key, kind, filename, name, version)
    return LockedFile(
        key=key,
        kind=kind,
        url=location,
        filename=filename,
        digests=_parse_hashes(reader, entry, f"{key}.hashes"),
        size=size,
        tags=tags,
    )


def _check_url(reader: _Reader, url: str, key: str) -> None:
    """Refuse a URL urlsplit cannot read here, not deep in the run (its error quotes it)."""
    problem = url_problem(url)
    if problem is not None:
        reader.fail(key, f"{url!r} is not a valid URL: {problem}")


def _warn_misplaced_keys(
    reader: _Reader, entry: Mapping[str, Any], key: str, kind: FileKind
) -> None:
    """Warn of package keys inside a file table; PEP 751 lets readers ignore unknown keys."""
    for misplaced in (k for k in entry if k in _PACKAGE_ONLY_KEYS):
        reader.warn(
            f"{key}.{misplaced}",
            f"ignored: {misplaced!r} is a key of the package, not of a file (keys written "
            f"below a {_FILE_HEADERS[kind]} header belong to that file; move them above it)",
        )


def _check_filename(
    reader: _Reader,
    key: str,
    kind: FileKind,
    filename: str,
    name: NormalizedName,
    version: str | None,
) -> frozenset[Tag]:
    """The wheel's tags; wheels and sdists must name the package (and version, if given)."""
    if kind == "archive":
        return frozenset()
    try:
        parsed = ArchiveName.parse(filename)
    except InvalidArchiveName as exc:
        reader.fail(key, f"{filename!r} is not a valid {kind} file name: {exc}")
    if parsed.kind != kind or not parsed.is_standard:
        wanted = "a wheel" if kind == "wheel" else "an sdist as PEP 625 names them (.tar.gz, .zip)"
        reader.fail(key, f"{filename!r} is not a valid {kind} file name: it is not {wanted}")
    if parsed.name != name:
        reader.fail(key, f"{filename!r} is a file of {parsed.name}, not of {name}")
    if version is not None and parsed.version != Version(version):
        reader.fail(key, f"{filename!r} is version {parsed.version}, but the package is {version}")
    return parsed.tags


def _parse_hashes(reader: _Reader, entry: Mapping[str, Any], key: str) -> tuple[Digest, ...]:
    hashes = entry.get("hashes")
    if hashes is None:
        reader.fail(key, "is required: every file must be pinned by its hashes")
    if not isinstance(hashes, dict) or not hashes:
        reader.fail(key, 'must be a table of algorithm = "hex digest", such as sha256 = "..."')
    digests: list[Digest] = []
    for algorithm, value in hashes.items():
        if algorithm.lower() not in ALGORITHMS:
            continue
        if not isinstance(value, str):
            reader.fail(f"{key}.{algorithm}", f"must be a string, not {_kind(value)}")
        try:
            digests.append(Digest.from_hex(algorithm, value))
        except InvalidDigest as exc:
            raise MalformedHashError(f"{reader.path}: {key}.{algorithm}: {exc}") from None
    if not digests:
        given = ", ".join(sorted(hashes))
        weak = " (too weak)" if set(hashes) <= WEAK_ALGORITHMS else ""
        reader.fail(key, f"has only {given}{weak}; give a sha256, sha384 or sha512 hash")
    digests.sort(key=lambda d: ALGORITHMS.index(d.algorithm), reverse=True)
    return tuple(digests)


def load_pylock(path: str) -> LockFile:
    """Read and parse a lock file; RequirementsFileError if it cannot be read."""
    try:
        with open_regular(path) as stream:  # never blocks on a FIFO
            data = stream.read()
    except OSError as exc:
        raise RequirementsFileError(
            f"cannot read lock file {path!r}: {exc.strerror or exc}"
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RequirementsFileError(f"{path}: not UTF-8 text; a lock file is TOML") from None
    return parse_pylock(text, path=path)
