"""PEP 751 lock files (``pylock.toml``): TOML in, validated frozen values out, files chosen (pure).

Parsing and choosing are pure; ``load_pylock`` reads the file. Every message names the file
and the TOML key path of the offending value, e.g. ``pylock.toml: packages[3].wheels[0].hashes``.
"""

from __future__ import annotations

import datetime
import importlib
import importlib.util
import os
import posixpath
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Literal, NoReturn, Union, cast
from urllib.parse import unquote, urlsplit

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .errors import MalformedHashError, RequirementsFileError
from .hashes import ALGORITHMS, WEAK_ALGORITHMS, Digest, InvalidDigest
from .reqfile import Location, ReqLine

FileKind = Literal["wheel", "sdist", "archive"]

#: the major version of PEP 751 we read; a newer minor version is read with a warning
SUPPORTED_MAJOR = 1
SUPPORTED_MINOR = 0
_LOCK_NAME = re.compile(r"pylock\.([^.]+)\.toml")
_URL_SCHEMES = ("http", "https", "file")
_SOURCE_KINDS = ("vcs", "directory", "archive", "sdist", "wheels")
_UNPINNABLE = {
    "vcs": "a version-control checkout cannot be hash-checked",
    "directory": "a local directory cannot be hash-checked",
}
TomlLoads = Callable[[str], dict[str, Any]]


def is_lock_file(path: str) -> bool:
    """Tell whether a file name is a PEP 751 lock file: ``pylock.toml`` or ``pylock.NAME.toml``."""
    name = os.path.basename(path)
    return name == "pylock.toml" or _LOCK_NAME.fullmatch(name) is not None


# -- TOML ------------------------------------------------------------------------------------


def _vendored_tomli() -> ModuleType | None:
    """Load setuptools' own copy of tomli, loaded by file without importing setuptools."""
    spec = importlib.util.find_spec("setuptools")
    if spec is None or not spec.submodule_search_locations:
        return None
    for base in spec.submodule_search_locations:
        package = Path(base) / "_vendor" / "tomli"
        if (package / "__init__.py").is_file():
            name = "_peep_vendored_tomli"
            if name in sys.modules:
                return sys.modules[name]
            found = importlib.util.spec_from_file_location(
                name, package / "__init__.py", submodule_search_locations=[str(package)]
            )
            if found is None or found.loader is None:
                return None
            module = importlib.util.module_from_spec(found)
            sys.modules[name] = module  # its relative imports look it up there
            try:
                found.loader.exec_module(module)
            except Exception:  # any failure just means "not usable"
                del sys.modules[name]
                return None
            return module
    return None


def _toml_parser() -> TomlLoads:
    for name in ("tomllib", "tomli"):
        try:
            return cast(TomlLoads, importlib.import_module(name).loads)
        except ImportError:
            continue
    vendored = _vendored_tomli()
    if vendored is not None:
        return cast(TomlLoads, vendored.loads)
    raise RequirementsFileError(
        "reading TOML needs Python 3.11 or newer, or the 'tomli' package on older Pythons; "
        "run 'pip install tomli' (or use Python 3.11+)"
    )


def toml_loads(text: str, *, source: str) -> dict[str, Any]:
    """Parse TOML text; RequirementsFileError naming ``source`` if it is not valid TOML."""
    loads = _toml_parser()
    try:
        return loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise RequirementsFileError(f"{source}: not valid TOML: {exc}") from None


# -- values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LockLocation(Location):
    """A value of a lock file, named by its TOML key path; ``line`` is 0 (TOML has none)."""

    key: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.key}"


@dataclass(frozen=True)
class LockedFile:
    """One archive of a package: a wheel, its sdist, or an ``archive`` entry."""

    key: str
    kind: FileKind
    #: absolute ``http(s)://`` or ``file://`` URL (``path`` keys are made absolute)
    url: str
    filename: str
    #: accepted digests, strongest first; the first is the one that is checked
    digests: tuple[Digest, ...]
    size: int | None = None
    #: wheels only: the tags the filename declares
    tags: frozenset[Tag] = frozenset()


@dataclass(frozen=True)
class LockedPackage:
    """One ``[[packages]]`` entry whose source is archives we can hash-check."""

    key: str
    name: NormalizedName
    display_name: str
    version: str | None
    marker: Marker | None
    requires_python: SpecifierSet | None
    index: str | None
    wheels: tuple[LockedFile, ...]
    sdist: LockedFile | None
    archive: LockedFile | None

    def files(self) -> tuple[LockedFile, ...]:
        """Every file of the package, wheels first."""
        rest = tuple(f for f in (self.sdist, self.archive) if f is not None)
        return self.wheels + rest


@dataclass(frozen=True)
class LockFile:
    """A whole lock file, validated."""

    path: str
    lock_version: str
    created_by: str
    environments: tuple[Marker, ...]
    requires_python: SpecifierSet | None
    extras: tuple[str, ...]
    dependency_groups: tuple[str, ...]
    default_groups: tuple[str, ...]
    packages: tuple[LockedPackage, ...]
    #: non-fatal notes, such as a newer minor lock-version
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class LockSelection:
    """What a lock file asks of one target interpreter."""

    #: one requirement per applicable package: the chosen file's URL and its strongest hash
    requirements: tuple[ReqLine, ...]
    #: packages whose marker does not apply (url None, no digests)
    not_applicable: tuple[ReqLine, ...]
    #: applicable packages with no file for this interpreter: (requirement, reason)
    problems: tuple[tuple[ReqLine, str], ...]


# -- parsing ---------------------------------------------------------------------------------


class _Reader:
    """Typed access to the TOML document; every failure names the key path."""

    def __init__(self, path: str, base_dir: str) -> None:
        self.path = path
        self.base_dir = base_dir

    def fail(self, key: str, reason: str) -> NoReturn:
        where = f"{self.path}: {key}" if key else self.path
        raise RequirementsFileError(f"{where}: {reason}")

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
        warnings=tuple(warnings),
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


def _parse_package(reader: _Reader, entry: object, number: int) -> LockedPackage:
    key = f"packages[{number}]"
    if not isinstance(entry, dict):
        reader.fail(key, f"must be a table, not {_kind(entry)}")
    display = reader.string(entry, "name", f"{key}.name", required=True)
    assert display is not None  # noqa: S101 - required=True
    name = canonicalize_name(display)
    version = reader.string(entry, "version", f"{key}.version")
    if version is not None:
        try:
            Version(version)
        except InvalidVersion:
            reader.fail(f"{key}.version", f"{version!r} is not a valid version")
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
    index = reader.string(entry, "index", f"{key}.index")
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
    url = reader.string(entry, "url", f"{key}.url")
    local = reader.string(entry, "path", f"{key}.path")
    if url is None and local is None:
        reader.fail(key, "needs a url or a path")
    if url is not None:
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
    if not filename or "/" in filename or "\\" in filename:
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
        if kind == "wheel":
            file_name, file_version, _, tags = parse_wheel_filename(filename)
        else:
            file_name, file_version = parse_sdist_filename(filename)
            tags = frozenset()
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion) as exc:
        reader.fail(key, f"{filename!r} is not a valid {kind} file name: {_first_line(exc)}")
    if file_name != name:
        reader.fail(key, f"{filename!r} is a file of {file_name}, not of {name}")
    if version is not None and file_version != Version(version):
        reader.fail(key, f"{filename!r} is version {file_version}, but the package is {version}")
    return tags


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
        with open(path, "rb") as stream:
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


# -- choosing files for one interpreter -------------------------------------------------------

MarkerEnv = Mapping[str, Union[str, frozenset[str]]]


def _applies(marker: Marker, environment: MarkerEnv, where: str) -> bool:
    try:
        try:
            return marker.evaluate(dict(environment), context="lock_file")  # type: ignore[call-arg,arg-type,unused-ignore]
        except TypeError:  # packaging before 25 has no lock-file context
            return marker.evaluate({k: v for k, v in environment.items() if isinstance(v, str)})
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as exc:
        raise RequirementsFileError(
            f"{where}: cannot evaluate the marker {marker}: {exc}"
        ) from None


def select_files(
    lock: LockFile,
    *,
    marker_env: Mapping[str, str],
    tags: Sequence[Tag],
    python_version: Version,
    only_binary: frozenset[str] = frozenset(),
    extras: Sequence[str] = (),
    groups: Sequence[str] | None = None,
) -> LockSelection:
    """Choose, for each package that applies to the target, the file to install (pure).

    ``tags`` is the target's wheel tags, most preferred first. The best wheel wins, then
    the sdist, then the archive. ``groups`` defaults to the lock's ``default-groups``.
    Raises RequirementsFileError when the lock as a whole does not fit the target
    (requires-python, environments) or locks one project twice for it; a package with no
    fitting file is returned among ``problems``.
    """
    environment: dict[str, str | frozenset[str]] = {
        **marker_env,
        "extra": "",
        "extras": frozenset(extras),
        "dependency_groups": frozenset(lock.default_groups if groups is None else groups),
    }
    python = marker_env.get("python_full_version", str(python_version))
    if lock.requires_python is not None and not lock.requires_python.contains(
        python_version, prereleases=True
    ):
        raise RequirementsFileError(
            f"{lock.path}: requires-python: the lock is for Python {lock.requires_python}, "
            f"and the target is Python {python}"
        )
    if lock.environments and not any(
        _applies(m, environment, f"{lock.path}: environments") for m in lock.environments
    ):
        raise RequirementsFileError(
            f"{lock.path}: environments: none of the locked environments "
            f"({'; '.join(str(m) for m in lock.environments)}) is the target's"
        )
    rank = {tag: i for i, tag in reversed(list(enumerate(tags)))}
    chosen: list[ReqLine] = []
    skipped: list[ReqLine] = []
    problems: list[tuple[ReqLine, str]] = []
    seen: dict[NormalizedName, str] = {}
    for package in lock.packages:
        location = LockLocation(lock.path, 0, package.key)
        if package.marker is not None and not _applies(
            package.marker, environment, f"{location}.marker"
        ):
            skipped.append(_requirement(package, location, None))
            continue
        if package.name in seen:
            raise RequirementsFileError(
                f"{location}: {package.display_name} is locked again for this interpreter "
                f"(also at {seen[package.name]}); their markers must not both apply"
            )
        seen[package.name] = package.key
        if package.requires_python is not None and not package.requires_python.contains(
            python_version, prereleases=True
        ):
            problems.append(
                (
                    _requirement(package, location, None),
                    f"{package.display_name} requires Python {package.requires_python}, "
                    f"and the target is Python {python}",
                )
            )
            continue
        picked = _pick(package, rank, package.name in only_binary or ":all:" in only_binary)
        if isinstance(picked, str):
            problems.append((_requirement(package, location, None), picked))
        else:
            chosen.append(_requirement(package, LockLocation(lock.path, 0, picked.key), picked))
    return LockSelection(tuple(chosen), tuple(skipped), tuple(problems))


def _pick(package: LockedPackage, rank: Mapping[Tag, int], only_binary: bool) -> LockedFile | str:
    """The best file, or why there is none."""
    best: tuple[int, LockedFile] | None = None
    for wheel in package.wheels:
        ranks = [rank[tag] for tag in wheel.tags if tag in rank]
        if ranks and (best is None or min(ranks) < best[0]):
            best = (min(ranks), wheel)
    if best is not None:
        return best[1]
    if only_binary:
        return f"{package.display_name} has no wheel for this interpreter (--only-binary)"
    if package.sdist is not None:
        return package.sdist
    if package.archive is not None:
        return package.archive
    files = ", ".join(w.filename for w in package.wheels)
    return f"{package.display_name} has no wheel for this interpreter and no sdist ({files})"


def _requirement(
    package: LockedPackage, location: LockLocation, file: LockedFile | None
) -> ReqLine:
    """The requirement the rest of the pipeline handles: a URL with its strongest hash."""
    version = package.version
    if file is not None and version is None and file.kind != "archive":
        version = _version_from(file)
    text = f"{package.display_name}=={version}" if version else package.display_name
    return ReqLine(
        location=location,
        text=text,
        name=package.name,
        display_name=package.display_name,
        version=version,
        url=file.url if file is not None else None,
        extras=(),
        marker=None,  # already evaluated, with the lock's extras and groups
        digests=file.digests[:1] if file is not None else (),
        hash_style="pip",
    )


def _version_from(file: LockedFile) -> str | None:
    try:
        if file.kind == "wheel":
            return str(parse_wheel_filename(file.filename)[1])
        return str(parse_sdist_filename(file.filename)[1])
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
