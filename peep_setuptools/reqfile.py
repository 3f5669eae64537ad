"""Requirement files, peep's and pip's formats: text in, frozen values out (pure)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import posixpath
import re
import shlex
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NoReturn, Union
from urllib.parse import unquote, urlsplit, urlunsplit
from urllib.request import url2pathname

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .errors import ConflictingRequirementsError, MalformedHashError, RequirementsFileError
from .hashes import Digest, InvalidDigest, check_algorithm

HashStyle = Literal["peep", "pip"]


@dataclass(frozen=True)
class Location:
    """A line of a requirements file."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class ReqLine:
    """One requirement with the hashes that are allowed for its archive."""

    location: Location
    #: the requirement as written, without options or hash comments: ``Foo[bar]==1.0; marker``
    #: (``${VAR}`` references are kept unexpanded, so that porting never writes secrets out)
    text: str
    name: NormalizedName
    #: the project name as the file spells it, for messages and peep's blocks
    display_name: str
    #: the pinned version (``==``/``===``); for URL requirements, the version in the
    #: archive's filename if it has one, else None
    version: str | None
    #: absolute ``http(s)://`` or ``file://`` URL for URL and local-archive requirements
    url: str | None
    extras: tuple[str, ...]
    marker: Marker | None
    digests: tuple[Digest, ...]
    #: how this requirement's hashes are (or should be) written: "peep" comment lines or
    #: pip ``--hash`` options; requirements without hashes take the file's dominant style
    hash_style: HashStyle


@dataclass(frozen=True)
class IndexOptions:
    """Index options as given in files or on the command line; None means "not given"."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    trusted_hosts: tuple[str, ...] = ()
    #: canonical names that must come as wheels; ``":all:"`` for every project
    only_binary: frozenset[str] = frozenset()

    def overridden_by(self, other: IndexOptions) -> IndexOptions:
        """Return these options with every option that ``other`` gives taking its value."""
        return IndexOptions(
            index_url=other.index_url if other.index_url is not None else self.index_url,
            extra_index_urls=tuple(dict.fromkeys(self.extra_index_urls + other.extra_index_urls)),
            find_links=tuple(dict.fromkeys(self.find_links + other.find_links)),
            no_index=self.no_index or other.no_index,
            trusted_hosts=tuple(dict.fromkeys(self.trusted_hosts + other.trusted_hosts)),
            only_binary=self.only_binary | other.only_binary,
        )


@dataclass(frozen=True)
class Comment:
    """A comment or blank line, kept so that ``peep port`` can copy it (not hash lines)."""

    location: Location
    text: str


@dataclass(frozen=True)
class OptionLine:
    """An index option line, normalised to its long spelling: ``--index-url URL``."""

    location: Location
    #: the option as written but spelled long, ``${VAR}`` unexpanded: what porting writes
    text: str
    #: the long option name, e.g. ``--index-url``
    option: str = ""
    #: the value with ``${VAR}`` expanded and relative ``--find-links`` paths made
    #: absolute; None for flags
    value: str | None = None


Entry = Union[ReqLine, Comment, OptionLine]


@dataclass(frozen=True)
class RequirementsSet:
    """Everything read from one or more requirement files, includes flattened in order."""

    requirements: tuple[ReqLine, ...]
    options: IndexOptions
    entries: tuple[Entry, ...]
    #: the files that were read, first the ones given, then includes, each once
    files: tuple[str, ...]


@dataclass(frozen=True)
class IncludeLine:
    """A ``-r FILE`` line; ``load_reqfiles`` follows it."""

    location: Location
    target: str


ARCHIVE_EXTENSIONS = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar")
_URL_SCHEMES = ("http", "https", "file")

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_HASH_LINE = re.compile(r"\s*#\s*sha256\s*:(?P<rest>.*)", re.IGNORECASE)
_COMMENT_OR_BLANK = re.compile(r"\s*(#.*)?")
# As pip: a '#' starts a comment only at the start or after whitespace, so URL
# fragments such as '#egg=' and '#sha256=' survive.
_INLINE_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
_OPTION_START = re.compile(r"(?:^|\s)(?=-)")
# Two or more letters, so that a Windows drive ("C:") is not taken for a scheme.
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+):")
_VCS = re.compile(r"(git|hg|svn|bzr)\+", re.IGNORECASE)
_URL_MARKER = re.compile(r"\s+;\s*|;\s+")
_PATH_EXTRAS = re.compile(r"(.+)(\[[^\]]*\])")
_PROJECT_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
_SAFE_VALUE = re.compile(r"[^\s'\"\\#]+")

_SHORT_OPTIONS = {
    "-r": "--requirement",
    "-c": "--constraint",
    "-e": "--editable",
    "-i": "--index-url",
    "-f": "--find-links",
}
#: long option -> whether it takes a value
_LONG_OPTIONS = {
    "--requirement": True,
    "--constraint": True,
    "--editable": True,
    "--index-url": True,
    "--extra-index-url": True,
    "--find-links": True,
    "--no-index": False,
    "--trusted-host": True,
    "--only-binary": True,
    "--require-hashes": False,
    "--pre": False,
    "--prefer-binary": False,
    "--hash": True,
}
_ARCHIVE_HINT = "build an archive (sdist or wheel) and pin it with its hashes"


def _fail(location: Location, reason: str) -> NoReturn:
    raise RequirementsFileError(f"{location}: {reason}")


def _first_line(exc: Exception) -> str:
    """Return the first line: packaging's messages draw a caret under the input."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def expand_env(text: str, environ: Mapping[str, str] | None) -> str:
    """Expand ``${NAME}`` as pip does (upper case, digits, ``_``); unset names stay as written."""
    if environ is None:
        return text
    return _ENV_VAR.sub(lambda m: environ.get(m.group(1), m.group(0)), text)


def is_archive_name(name: str) -> bool:
    """Return True if ``name`` ends with one of ARCHIVE_EXTENSIONS (case-insensitive)."""
    return name.lower().endswith(ARCHIVE_EXTENSIONS)


def _split_lines(text: str) -> list[str]:
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


@dataclass(frozen=True)
class _Logical:
    """One logical line: continuations joined, its inline comment removed."""

    kind: Literal["hash", "comment", "line"]
    location: Location
    text: str


def _logical_lines(text: str, path: str) -> Iterator[_Logical]:
    lines = _split_lines(text)
    index = 0
    while index < len(lines):
        line = lines[index]
        location = Location(path, index + 1)
        index += 1
        if _HASH_LINE.match(line):
            yield _Logical("hash", location, line)
            continue
        if _COMMENT_OR_BLANK.fullmatch(line):
            yield _Logical("comment", location, line.rstrip())
            continue
        parts = []
        while line.endswith("\\"):
            parts.append(line[:-1])
            # As pip: a comment or blank line ends a continuation and adds nothing;
            # it is left to be read as the comment it is.
            if index == len(lines) or _COMMENT_OR_BLANK.fullmatch(lines[index]):
                line = ""
                break
            line = lines[index]
            index += 1
        parts.append(line)
        joined = _INLINE_COMMENT.sub("", "".join(parts)).strip()
        if joined:
            yield _Logical("line", location, joined)


def _parse_peep_hash(logical: _Logical) -> Digest:
    match = _HASH_LINE.match(logical.text)
    assert match is not None  # noqa: S101 - the caller matched it already
    words = match.group("rest").split(None, 1)
    if not words:
        raise MalformedHashError(f"{logical.location}: '# sha256:' line with no hash after it")
    if len(words) > 1 and not words[1].startswith("#"):
        raise MalformedHashError(
            f"{logical.location}: unexpected {words[1]!r} after the hash; "
            "write one '# sha256: HASH' line per hash"
        )
    try:
        return Digest.from_peep(words[0])
    except InvalidDigest as exc:
        raise MalformedHashError(
            f"{logical.location}: {exc}; recompute it with 'peep hash ARCHIVE'"
        ) from None


def _parse_pip_hash(value: str, location: Location) -> Digest:
    algorithm, colon, hex_value = value.partition(":")
    if not colon:
        _fail(location, f"--hash={value} needs an algorithm: write --hash=sha256:HEX")
    try:
        check_algorithm(algorithm)
    except InvalidDigest as exc:
        _fail(location, str(exc))
    try:
        return Digest.from_hex(algorithm, hex_value)
    except InvalidDigest as exc:
        raise MalformedHashError(
            f"{location}: {exc}; recompute it with 'peep hash ARCHIVE'"
        ) from None


def _parse_options(text: str, location: Location) -> list[tuple[str, str | None]]:
    """Split an option string as pip does (shlex) into (long name, raw value) pairs."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        _fail(location, f"cannot read the options {text!r}: {exc}")
    options: list[tuple[str, str | None]] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token.startswith("--"):
            name, equals, value = token.partition("=")
            attached = value if equals else None
        elif token.startswith("-") and len(token) > 1:
            name, attached = _SHORT_OPTIONS.get(token[:2], token[:2]), token[2:] or None
        else:
            _fail(location, f"unexpected {token!r}; write one requirement or option per line")
        if name not in _LONG_OPTIONS:
            _fail(location, f"unknown option {name}")
        if not _LONG_OPTIONS[name]:
            if attached is not None:
                _fail(location, f"{name} takes no value")
            options.append((name, None))
            continue
        if attached is None and index < len(tokens):
            attached = tokens[index]
            index += 1
        if not attached:
            _fail(location, f"{name} needs a value")
        options.append((name, attached))
    return options


def _quote(value: str) -> str:
    return value if _SAFE_VALUE.fullmatch(value) else shlex.quote(value)


def _absolute(path: str, cwd: str | None) -> str:
    if os.path.isabs(path):
        return os.path.normpath(path)
    return os.path.normpath(os.path.join(cwd, path)) if cwd else os.path.abspath(path)


def _is_url(text: str) -> bool:
    match = _SCHEME.match(text)
    if match is None:
        return False
    # "file:/abs/x.whl" is a URL too; "name:thing" without "//" otherwise is not.
    return match.group(1).lower() in _URL_SCHEMES or text[match.end() : match.end() + 2] == "//"


@dataclass(frozen=True)
class _Requirement:
    """What a requirement's text says, before hashes are attached."""

    name: NormalizedName
    display_name: str
    version: str | None
    url: str | None
    extras: tuple[str, ...]
    marker: Marker | None
    digests: tuple[Digest, ...] = ()


def _parse_marker(text: str, shown: str, location: Location) -> Marker | None:
    if not text.strip():
        return None
    try:
        return Marker(text)
    except InvalidMarker as exc:
        _fail(location, f"{shown!r} has an invalid environment marker: {_first_line(exc)}")


def _name_from_filename(filename: str) -> tuple[str, NormalizedName, str] | None:
    """(spelling, name, version) from a wheel or sdist filename, or None if it has none."""
    if filename.lower().endswith(".whl"):
        try:
            name, wheel_version, _, _ = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            return None
        return filename.split("-", 1)[0], name, str(wheel_version)
    base = filename
    for extension in ARCHIVE_EXTENSIONS:
        if filename.lower().endswith(extension):
            base = filename[: -len(extension)]
            break
    spelling, dash, version = base.rpartition("-")
    if not dash or not _PROJECT_NAME.fullmatch(spelling):
        return None
    try:
        Version(version)
    except InvalidVersion:
        return None
    return spelling, canonicalize_name(spelling), version


def _named_from(
    filename: str, name: str | None, shown: str, location: Location, hint: str
) -> tuple[str, NormalizedName, str | None]:
    parsed = _name_from_filename(filename)
    if name is None:
        if parsed is None:
            _fail(location, f"cannot tell the project name from {shown!r}; {hint}")
        return parsed
    canonical = canonicalize_name(name)
    # The filename's version is only ours if the filename names the same project.
    version = parsed[2] if parsed is not None and parsed[1] == canonical else None
    return name, canonical, version


def _url_requirement(
    url: str,
    *,
    name: str | None,
    extras: tuple[str, ...],
    marker: Marker | None,
    shown: str,
    location: Location,
) -> _Requirement:
    if _VCS.match(url):
        _fail(
            location,
            f"{shown!r} is a version-control requirement, which cannot be hash-checked; "
            f"{_ARCHIVE_HINT}",
        )
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        _fail(location, f"{url!r} is not a valid URL: {exc}")
    scheme = parts.scheme.lower()
    if scheme not in _URL_SCHEMES:
        _fail(location, f"{shown!r}: only http://, https:// and file:// URLs are supported")
    egg = None
    digests: list[Digest] = []
    for item in parts.fragment.split("&"):
        key, _, value = item.partition("=")
        if key == "egg":
            egg = value
        elif key.lower() in hashlib.algorithms_guaranteed:
            digests.append(_parse_pip_hash(f"{key}:{value}", location))
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            _fail(location, f"{url!r}: file:// URLs must name a local file")
        if os.path.isdir(url2pathname(parts.path)):
            _fail(
                location, f"{shown!r} is a directory, which cannot be hash-checked; {_ARCHIVE_HINT}"
            )
    filename = unquote(posixpath.basename(parts.path))
    if not is_archive_name(filename):
        _fail(
            location,
            f"{shown!r} is not an archive ({', '.join(ARCHIVE_EXTENSIONS)}); {_ARCHIVE_HINT}",
        )
    if name is None and egg is not None:
        try:
            egg_req = Requirement(egg)
        except InvalidRequirement:
            egg_req = None
        if egg_req is None or egg_req.url or egg_req.specifier or egg_req.marker:
            _fail(location, f"'#egg={egg}' is not a project name; write #egg=NAME")
        name, extras = egg_req.name, tuple(sorted(egg_req.extras))
    spelling, canonical, version = _named_from(
        filename, name, shown, location, "add #egg=NAME to the URL"
    )
    clean = urlunsplit(parts._replace(fragment=""))
    return _Requirement(canonical, spelling, version, clean, extras, marker, tuple(digests))


def _path_requirement(
    text: str, *, name: str | None, marker: Marker | None, cwd: str | None, location: Location
) -> _Requirement:
    extras: tuple[str, ...] = ()
    match = _PATH_EXTRAS.fullmatch(text)
    if match and name is None:
        text = match.group(1)
        try:
            extras = tuple(sorted(Requirement("x" + match.group(2)).extras))
        except InvalidRequirement as exc:
            _fail(location, f"{match.group(2)!r} are not valid extras: {_first_line(exc)}")
    absolute = _absolute(text, cwd)
    if os.path.isdir(absolute):
        _fail(location, f"{text!r} is a directory, which cannot be hash-checked; {_ARCHIVE_HINT}")
    filename = os.path.basename(absolute)
    if not is_archive_name(filename):
        _fail(
            location,
            f"{text!r} is not an archive ({', '.join(ARCHIVE_EXTENSIONS)}); {_ARCHIVE_HINT}",
        )
    url = Path(absolute).as_uri()
    spelling, canonical, version = _named_from(
        filename, name, text, location, f"write it as 'NAME @ {url}'"
    )
    return _Requirement(canonical, spelling, version, url, extras, marker)


def _looks_like_path(text: str) -> bool:
    return text.startswith(".") or any(sep and sep in text for sep in ("/", os.sep, os.altsep))


def _parse_requirement(text: str, shown: str, location: Location, cwd: str | None) -> _Requirement:
    """Parse an expanded requirement; ``shown`` is the text as written, for messages."""
    if _VCS.match(text):
        return _url_requirement(
            text, name=None, extras=(), marker=None, shown=shown, location=location
        )
    if _is_url(text):
        pieces = _URL_MARKER.split(text, maxsplit=1)
        url = pieces[0]
        marker = _parse_marker(pieces[1] if len(pieces) > 1 else "", shown, location)
        return _url_requirement(
            url, name=None, extras=(), marker=marker, shown=shown, location=location
        )
    candidate, semicolon, marker_text = text.partition(";")
    candidate = candidate.strip()
    before_at, at, _ = candidate.partition("@")
    # As pip: "name @ url" is PEP 508 unless what comes before the "@" is a path.
    if not (at and not _looks_like_path(before_at)) and (
        _looks_like_path(candidate) or is_archive_name(_PATH_EXTRAS.sub(r"\1", candidate))
    ):
        marker = _parse_marker(marker_text, shown, location) if semicolon else None
        return _path_requirement(candidate, name=None, marker=marker, cwd=cwd, location=location)
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        _fail(location, f"{shown!r} is not a valid requirement: {_first_line(exc)}")
    extras = tuple(sorted(req.extras))
    if req.url is not None:
        if _VCS.match(req.url) or _is_url(req.url):
            return _url_requirement(
                req.url,
                name=req.name,
                extras=extras,
                marker=req.marker,
                shown=shown,
                location=location,
            )
        found = _path_requirement(
            req.url, name=req.name, marker=req.marker, cwd=cwd, location=location
        )
        return dataclasses.replace(found, extras=extras)
    specifiers = list(req.specifier)
    if (
        len(specifiers) != 1
        or specifiers[0].operator not in ("==", "===")
        or specifiers[0].version.endswith(".*")
    ):
        _fail(location, f"{shown!r} is not pinned; pin it with == so its hashes can be checked")
    return _Requirement(
        canonicalize_name(req.name), req.name, specifiers[0].version, None, extras, req.marker
    )


def _split_line(text: str) -> tuple[str, str]:
    """Split off the options as pip does: they start at the first word beginning with '-'."""
    match = _OPTION_START.search(text)
    if match is None:
        return text.strip(), ""
    return text[: match.start()].strip(), text[match.end() :]


def _option_items(
    options: Sequence[tuple[str, str | None]],
    location: Location,
    environ: Mapping[str, str] | None,
    base_dir: str,
) -> Iterator[OptionLine | IncludeLine]:
    for name, raw in options:
        if name == "--hash":
            _fail(
                location,
                "--hash must be on the same line as its requirement; "
                "join the lines with a backslash (\\)",
            )
        if name == "--editable":
            _fail(location, f"editable requirements cannot be hash-checked; {_ARCHIVE_HINT}")
        if name == "--constraint":
            _fail(
                location,
                "constraints files are not supported: "
                "pin every requirement with its hashes in a requirements file",
            )
        if raw is None:
            yield OptionLine(location, name, name, None)
            continue
        value = expand_env(raw, environ)
        if name == "--requirement":
            yield IncludeLine(location, value)
            continue
        if name == "--find-links" and not _is_url(value):
            # As pip: a relative find-links path in a file is relative to that file.
            value = os.path.normpath(os.path.join(base_dir, value))
        yield OptionLine(location, f"{name} {_quote(raw)}", name, value)


def parse_reqfile(
    text: str, *, path: str, environ: Mapping[str, str] | None = None, cwd: str | None = None
) -> tuple[Entry | IncludeLine, ...]:
    """Parse one file's text; includes are returned, not followed.

    ``path`` names the file in messages (and relative ``--find-links`` are taken
    relative to its directory); local archive paths resolve against ``cwd``
    (default: the process's). ``${VAR}`` is expanded from ``environ`` only if given.
    Raises RequirementsFileError, or MalformedHashError for a hash value that is
    not a digest at all.
    """
    base_dir = os.path.dirname(_absolute(path, cwd))
    items: list[Entry | IncludeLine] = []
    pending: list[Digest] = []
    pending_at: Location | None = None
    uses_pip_hashes = False
    for logical in _logical_lines(text, path):
        location = logical.location
        if logical.kind == "hash":
            pending_at = pending_at or location
            pending.append(_parse_peep_hash(logical))
            continue
        if logical.kind == "comment":
            items.append(Comment(location, logical.text))
            continue
        shown, option_text = _split_line(logical.text)
        options = _parse_options(option_text, location) if option_text else []
        if not shown:
            items.extend(_option_items(options, location, environ, base_dir))
            if pending_at is not None:
                _fail(pending_at, "hash lines with no requirement below them")
            continue
        pip_digests = []
        for name, value in options:
            if name != "--hash":
                _fail(location, f"{name} must be on a line of its own, not after a requirement")
            pip_digests.append(_parse_pip_hash(expand_env(value or "", environ), location))
        found = _parse_requirement(expand_env(shown, environ), shown, location, cwd)
        uses_pip_hashes = uses_pip_hashes or bool(pip_digests)
        pip_side = (*pip_digests, *found.digests)
        items.append(
            ReqLine(
                location=location,
                text=shown,
                name=found.name,
                display_name=found.display_name,
                version=found.version,
                url=found.url,
                extras=found.extras,
                marker=found.marker,
                digests=tuple(dict.fromkeys((*pending, *pip_side))),
                hash_style="pip" if pip_side or not pending else "peep",
            )
        )
        pending, pending_at = [], None
    if pending_at is not None:
        _fail(pending_at, "hash lines with no requirement below them")
    default: HashStyle = "pip" if uses_pip_hashes else "peep"
    return tuple(
        dataclasses.replace(item, hash_style=default)
        if isinstance(item, ReqLine) and not item.digests
        else item
        for item in items
    )


def _apply_option(options: IndexOptions, line: OptionLine) -> IndexOptions:
    value = line.value or ""
    if line.option == "--index-url":
        return dataclasses.replace(options, index_url=value)
    if line.option == "--extra-index-url":
        return options.overridden_by(IndexOptions(extra_index_urls=(value,)))
    if line.option == "--find-links":
        return options.overridden_by(IndexOptions(find_links=(value,)))
    if line.option == "--trusted-host":
        return options.overridden_by(IndexOptions(trusted_hosts=(value,)))
    if line.option == "--no-index":
        return dataclasses.replace(options, no_index=True)
    if line.option == "--only-binary":
        only_binary = parse_only_binary([value], options.only_binary)
        return dataclasses.replace(options, only_binary=only_binary)
    # --require-hashes, --pre, --prefer-binary: accepted, no effect on the indexes.
    return options


def parse_only_binary(
    values: Iterable[str], start: frozenset[str] = frozenset()
) -> frozenset[str]:
    """Fold ``--only-binary`` values (comma lists, ``:all:``; ``:none:`` clears) into names."""
    names = set(start)
    for value in values:
        for item in (part.strip() for part in value.split(",")):
            if item == ":none:":
                names.clear()
            elif item == ":all:":
                names.add(item)
            elif item:
                names.add(canonicalize_name(item))
    return frozenset(names)


def collect_options(entries: Iterable[object], base: IndexOptions | None = None) -> IndexOptions:
    """Fold the OptionLines among ``entries``, in order, into ``base``.

    A later ``--index-url`` wins; lists accumulate without duplicates;
    ``--only-binary :none:`` clears what came before it.
    """
    options = base if base is not None else IndexOptions()
    for entry in entries:
        if isinstance(entry, OptionLine):
            options = _apply_option(options, entry)
    return options


def _read_text(absolute: str, shown: str, origin: Location | None) -> str:
    """Read a file as strict UTF-8 (BOM allowed) without ever blocking on a FIFO."""

    def fail(reason: str) -> NoReturn:
        if origin is None:
            raise RequirementsFileError(f"cannot read requirements file {shown!r}: {reason}")
        _fail(origin, f"cannot read included file {shown!r}: {reason}")

    def check(mode: int) -> None:
        if stat.S_ISDIR(mode):
            fail("it is a directory")
        if not stat.S_ISREG(mode):
            fail("it is not a regular file")

    try:
        check(os.stat(absolute).st_mode)
        # O_NONBLOCK: should the path turn into a FIFO after the stat, open() still
        # returns at once, and fstat refuses it.
        fd = os.open(absolute, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as stream:
            check(os.fstat(stream.fileno()).st_mode)
            data = stream.read()
    except (OSError, ValueError) as exc:
        fail(getattr(exc, "strerror", None) or str(exc))
    body = data[len(_BOM) :] if data.startswith(_BOM) else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        fail(f"line {line} is not UTF-8 text (byte {body[exc.start]:#04x}); save it as UTF-8")


_BOM = b"\xef\xbb\xbf"


class _Loader:
    """Follows ``-r`` includes depth first, reading each file once."""

    def __init__(self, environ: Mapping[str, str], cwd: str) -> None:
        self.environ = environ
        self.cwd = cwd
        self.entries: list[Entry] = []
        self.files: list[str] = []
        self._seen: set[str] = set()
        self._stack: list[tuple[str, str]] = []

    def visit(self, shown: str, absolute: str, origin: Location | None) -> None:
        key = os.path.realpath(absolute)
        keys = [k for k, _ in self._stack]
        if key in keys:
            assert origin is not None  # noqa: S101 - only an include can close a cycle
            cycle = [s for _, s in self._stack[keys.index(key) :]] + [shown]
            _fail(origin, f"including {shown!r} again closes a cycle: {' -> '.join(cycle)}")
        if key in self._seen:
            return
        text = _read_text(absolute, shown, origin)
        self._seen.add(key)
        self.files.append(shown)
        self._stack.append((key, shown))
        for item in parse_reqfile(text, path=shown, environ=self.environ, cwd=self.cwd):
            if isinstance(item, IncludeLine):
                self._include(item, shown, absolute)
            else:
                self.entries.append(item)
        self._stack.pop()

    def _include(self, item: IncludeLine, shown: str, absolute: str) -> None:
        target = item.target
        if _is_url(target):
            if not target.lower().startswith("file:"):
                _fail(
                    item.location,
                    f"remote requirements files are not supported ({target!r}): "
                    "download it, check it, and include the local copy",
                )
            target = url2pathname(urlsplit(target).path)
        self.visit(
            os.path.normpath(os.path.join(os.path.dirname(shown), target)),
            os.path.normpath(os.path.join(os.path.dirname(absolute), target)),
            item.location,
        )


def load_reqfiles(
    paths: Sequence[str], *, environ: Mapping[str, str] | None = None, cwd: str | None = None
) -> RequirementsSet:
    """Read files and their includes; raises RequirementsFileError or MalformedHashError.

    Files are read in the order given, each include expanded where it appears and
    every file read once; ``environ`` defaults to ``os.environ`` and ``cwd`` (for
    relative paths and local archives) to the process's working directory.
    """
    base = os.getcwd() if cwd is None else cwd
    loader = _Loader(os.environ if environ is None else environ, base)
    for path in paths:
        loader.visit(path, _absolute(path, base), None)
    entries = tuple(loader.entries)
    return RequirementsSet(
        requirements=tuple(entry for entry in entries if isinstance(entry, ReqLine)),
        options=collect_options(entries),
        entries=entries,
        files=tuple(loader.files),
    )


def _same_version(first: str | None, second: str | None) -> bool:
    if first == second:
        return True
    if first is None or second is None:
        return False
    try:
        return Version(first) == Version(second)
    except InvalidVersion:
        return False


def _merge_pair(first: ReqLine, line: ReqLine) -> ReqLine:
    here = f"{line.location}: {line.text!r} and {first.text!r} at {first.location}"
    if first.url is not None or line.url is not None:
        if first.url != line.url:
            raise ConflictingRequirementsError(
                f"{here} ask for different archives of {first.display_name}; keep one of them"
            )
    elif not _same_version(first.version, line.version):
        raise ConflictingRequirementsError(
            f"{here} pin {first.display_name} to different versions; keep one of them"
        )
    if first.digests and line.digests:
        # Kept simple on purpose: the first line's digests that the second line also
        # lists (same algorithm and value). sha256 on one line and sha512 on the
        # other therefore share nothing.
        digests = tuple(digest for digest in first.digests if digest in line.digests)
        if not digests:
            raise ConflictingRequirementsError(
                f"{line.location}: these lines allow no common hash: {line.text!r} here and "
                f"{first.text!r} at {first.location}; give them the same hashes"
            )
    else:
        digests = first.digests or line.digests
    extras = tuple(sorted(set(first.extras) | set(line.extras)))
    return dataclasses.replace(first, digests=digests, extras=extras)


def merge_requirements(requirements: Sequence[ReqLine]) -> tuple[ReqLine, ...]:
    """Merge lines naming one project: same version, allowed hashes intersected.

    Call it after filtering out lines whose markers do not apply. The merged line
    keeps the first line's location, text and marker; if both lines list hashes it
    allows the first line's hashes that the other also lists (none in common is a
    ConflictingRequirementsError), else the hashes of whichever has them. Extras are
    unioned; the order is that of first appearance.
    """
    merged: dict[NormalizedName, ReqLine] = {}
    for line in requirements:
        first = merged.get(line.name)
        merged[line.name] = line if first is None else _merge_pair(first, line)
    return tuple(merged.values())
