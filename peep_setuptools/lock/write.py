"""``peep port --to pylock``: hashed requirements to a PEP 751 lock file, and its TOML writer.

Which files a requirement allows is known only from the index: every file of the pinned
version whose hash is among the requirement's allowed hashes goes into the lock. The index
lookup and the downloads are passed in (``find``, ``hash_link``), so that this module does
no I/O of its own except ``write_atomically``.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Callable, Union
from urllib.parse import unquote, urlsplit

from packaging.utils import (
    NormalizedName,
)
from packaging.version import Version

from peep_setuptools.archives import Link, files_of, parse_filename
from peep_setuptools.atomic import replace_text
from peep_setuptools.errors import IndexLookupError, PeepError, RequirementsFileError
from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import Algorithm, Digest
from peep_setuptools.lock.model import FileKind
from peep_setuptools.placing import advertised, place_hashes, unplaced_message
from peep_setuptools.requirements.files import merge_requirements
from peep_setuptools.requirements.spec import ReqLine
from peep_setuptools.urls import file_url_path, strip_credentials

LOCK_VERSION = "1.0"
CREATED_BY = "peep-setuptools"

#: the value shapes the writer knows: strings, integers, booleans, arrays and inline tables
TomlValue = Union[str, int, bool, Sequence["TomlValue"], Mapping[str, "TomlValue"]]
#: project -> every link the indexes and find-links locations offer for it
Finder = Callable[[NormalizedName], Sequence[Link]]
#: (link, algorithms) -> (digests of the downloaded bytes, size in bytes)
LinkHasher = Callable[[Link, Sequence[Algorithm]], tuple[Mapping[Algorithm, Digest], int]]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


@frozen
class PinnedFile:
    """One archive of a locked package, as the lock file states it."""

    kind: FileKind
    #: the archive's file name (not written for ``archive`` entries, which have no name key)
    filename: str
    #: an absolute URL; None for a local file
    url: str | None
    #: a local file: relative to the lock file's folder, or absolute; None for a URL
    path: str | None
    digests: tuple[Digest, ...]
    size: int | None = None


@frozen
class PinnedPackage:
    """One ``[[packages]]`` entry."""

    name: str
    version: str | None
    marker: str | None
    requires_python: str | None
    index: str | None
    files: tuple[PinnedFile, ...]


# -- TOML ------------------------------------------------------------------------------------


def toml_string(text: str) -> str:
    """Return ``text`` as a TOML basic string: quotes, backslashes and controls escaped."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_key(key: str) -> str:
    """Return ``key`` bare if TOML allows it, else quoted."""
    return key if _BARE_KEY.fullmatch(key) else toml_string(key)


def toml_value(value: TomlValue) -> str:
    """Return ``value`` on one line: a string, integer, boolean, array or inline table."""
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, Mapping):
        items = ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{" + items + "}" if items else "{}"
    return "[" + ", ".join(toml_value(item) for item in value) + "]"


def _file_table(file: PinnedFile) -> dict[str, TomlValue]:
    table: dict[str, TomlValue] = {}
    if file.kind != "archive":
        table["name"] = file.filename
    if file.url is not None:
        table["url"] = file.url
    if file.path is not None:
        table["path"] = file.path
    if file.size is not None:
        table["size"] = file.size
    table["hashes"] = {d.algorithm: d.hex for d in file.digests}
    return table


def render_pylock(
    packages: Sequence[PinnedPackage],
    *,
    requires_python: str | None = None,
    created_by: str = CREATED_BY,
) -> str:
    """Return the text of a PEP 751 lock file (pure); ``tomllib`` reads it back as written."""
    lines = [
        f"lock-version = {toml_string(LOCK_VERSION)}",
        f"created-by = {toml_string(created_by)}",
    ]
    if requires_python is not None:
        lines.append(f"requires-python = {toml_string(requires_python)}")
    if not packages:
        lines.append("packages = []")
    for package in packages:
        lines += ["", "[[packages]]", f"name = {toml_string(package.name)}"]
        optional = {
            "version": package.version,
            "marker": package.marker,
            "requires-python": package.requires_python,
            "index": package.index,
        }
        lines += [f"{key} = {toml_string(v)}" for key, v in optional.items() if v is not None]
        wheels = [_file_table(f) for f in package.files if f.kind == "wheel"]
        if wheels:
            lines.append("wheels = [")
            lines += [f"    {toml_value(table)}," for table in wheels]
            lines.append("]")
        for file in package.files:
            if file.kind != "wheel":
                lines.append(f"{file.kind} = {toml_value(_file_table(file))}")
    return "\n".join(lines) + "\n"


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` so that readers see the old file or the new one.

    Raises PeepError naming the path if it cannot be written.
    """
    try:
        replace_text(path, text)
    except OSError as exc:
        raise PeepError(f"cannot write {path}: {exc.strerror or exc}") from None


# -- requirements to packages ----------------------------------------------------------------


def pin_requirements(
    requirements: Sequence[ReqLine],
    *,
    find: Finder,
    hash_link: LinkHasher,
    index_urls: Sequence[str],
    where: str,
    lock_dir: str | None = None,
) -> tuple[PinnedPackage, ...]:
    """Return the lock file's packages for hashed requirements, in their order.

    A named requirement locks every file of its version that ``find`` offers and whose
    hash is allowed: the index's advertised hashes are used when they say enough, else
    the file is downloaded and hashed with ``hash_link``. URL and local requirements
    lock their own archive. Lines naming one project under the same marker are merged.
    Local files get a ``path`` relative to ``lock_dir`` (absolute when it is None).
    ``where`` names the indexes in messages. Raises RequirementsFileError for a
    requirement without hashes, IndexLookupError when the version, or a file with one of
    the allowed hashes, is not on the index, and DownloadError from ``find``/``hash_link``.
    """
    groups: dict[tuple[NormalizedName, str], list[ReqLine]] = {}
    for req in requirements:
        groups.setdefault((req.name, str(req.marker)), []).append(req)
    packages = []
    for lines in groups.values():
        (req,) = merge_requirements(lines)
        if not req.digests:
            raise RequirementsFileError(
                f"{req.location}: {req.text!r} has no hashes; a lock file pins every file "
                "by its hashes (get them with 'peep hash ARCHIVE')"
            )
        if req.url is not None:
            packages.append(_url_package(req, lock_dir))
        else:
            packages.append(_index_package(req, find, hash_link, index_urls, where, lock_dir))
    return tuple(packages)


def _kind_of(filename: str, name: NormalizedName) -> tuple[FileKind, str | None]:
    """What the lock calls a file of project ``name``, and the version its name states."""
    parsed = parse_filename(filename)
    if parsed is None or not parsed.is_standard or parsed.name != name:
        return "archive", None
    return parsed.kind, str(parsed.version)


def _location(url: str, lock_dir: str | None) -> tuple[str | None, str | None]:
    """(url, path) for the lock: local files become paths, others keep their URL."""
    if urlsplit(url).scheme.lower() != "file":
        return url, None
    try:
        local = file_url_path(url)
    except ValueError:  # file://host/...: a URL, not a path on this machine
        return url, None
    if lock_dir is not None:
        with contextlib.suppress(ValueError):  # another drive (Windows): stay absolute
            return None, Path(os.path.relpath(local, lock_dir)).as_posix()
    return None, Path(local).as_posix()


def _url_package(req: ReqLine, lock_dir: str | None) -> PinnedPackage:
    if "${" in req.text:
        raise RequirementsFileError(
            f"{req.location}: {req.text!r} uses an environment variable; a lock file cannot "
            "refer to one, and peep does not write its value into a file"
        )
    assert req.url is not None  # noqa: S101 - the caller checked
    filename = unquote(posixpath.basename(urlsplit(req.url).path))
    kind, version = _kind_of(filename, req.name)
    url, path = _location(req.url, lock_dir)
    return PinnedPackage(
        name=req.display_name,
        version=version or req.version,
        marker=str(req.marker) if req.marker is not None else None,
        requires_python=None,
        index=None,
        files=(PinnedFile(kind, filename, url, path, req.digests),),
    )


def _index_package(
    req: ReqLine,
    find: Finder,
    hash_link: LinkHasher,
    index_urls: Sequence[str],
    where: str,
    lock_dir: str | None,
) -> PinnedPackage:
    assert req.version is not None  # noqa: S101 - the parser lets only pinned names through
    pinned = f"{req.display_name}=={req.version}"
    links = files_of(find(req.name), req.name, Version(req.version))
    if not links:
        raise IndexLookupError(f"{req.location}: {pinned} not found on {where}")
    algorithms = tuple(dict.fromkeys(d.algorithm for d in req.digests))
    sizes: dict[str, int] = {}

    def digests_of(link: Link, unplaced: Sequence[Digest]) -> Mapping[Algorithm, Digest]:
        # Advertised hashes are enough unless an allowed hash still to place is of an
        # algorithm the index did not give for this file.
        actual = advertised(link)
        if any(d.algorithm not in actual for d in unplaced):
            actual, sizes[link.filename] = hash_link(link, algorithms)
        return actual

    placement = place_hashes(req.digests, links, digests_of)
    chosen: dict[str, tuple[Link, PinnedFile]] = {}
    for link, matched in placement.placed:
        kind, _ = _kind_of(link.filename, req.name)
        if kind == "archive":
            raise IndexLookupError(
                f"{req.location}: {pinned}: {link.filename} has an allowed hash but is neither "
                "a wheel nor an sdist named as PEP 625 says (.tar.gz or .zip); a lock file "
                "cannot list it beside the other files"
            )
        url, path = _location(strip_credentials(link.url), lock_dir)
        size = sizes.get(link.filename)
        chosen[link.filename] = (link, PinnedFile(kind, link.filename, url, path, matched, size))
    if placement.unplaced:
        raise IndexLookupError(
            unplaced_message(str(req.location), pinned, where, placement.unplaced, links)
        )
    sdists = [file.filename for _, file in chosen.values() if file.kind == "sdist"]
    if len(sdists) > 1:
        raise IndexLookupError(
            f"{req.location}: {pinned}: the allowed hashes match {len(sdists)} sdists "
            f"({', '.join(sdists)}); a lock file holds one sdist per package, so drop the "
            "hashes of all but one"
        )
    used = [link for link, _ in chosen.values()]
    return PinnedPackage(
        name=req.display_name,
        version=req.version,
        marker=str(req.marker) if req.marker is not None else None,
        requires_python=_common({link.requires_python for link in used}),
        index=_common({_index_of(link, index_urls) for link in used}),
        files=tuple(file for _, file in chosen.values()),
    )


def _common(values: set[str | None]) -> str | None:
    """The one value every file shares, else None."""
    return values.pop() if len(values) == 1 else None


def _index_of(link: Link, index_urls: Sequence[str]) -> str | None:
    """The index whose project page offered ``link`` (None for find-links), credentials cut."""
    for index_url in index_urls:
        base = index_url if index_url.endswith("/") else index_url + "/"
        if link.source.startswith(base):
            return strip_credentials(index_url)
    return None
