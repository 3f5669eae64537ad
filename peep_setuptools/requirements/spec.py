"""One requirement's text, as a requirements file writes it: values and a pure parser.

A line's requirement is a named, pinned requirement (``Foo[bar]==1.0; marker``), a
``name @ URL``, a bare ``http(s)://`` or ``file://`` URL (``#egg=``, ``#sha256=``), or a path
to a local archive; ``parse_requirement`` turns any of them into a ``ReqLine``. The values
and helpers here are shared by ``requirements.lines`` (one file's text) and
``requirements.files`` (files and their includes).
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, NoReturn
from urllib.parse import SplitResult, quote, unquote, urlsplit, urlunsplit

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    NormalizedName,
    canonicalize_name,
)

from peep_setuptools.archives import ARCHIVE_SUFFIXES, is_archive_name, parse_filename
from peep_setuptools.errors import MalformedHashError, RequirementsFileError
from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import Digest, InvalidDigest, check_algorithm
from peep_setuptools.urls import file_url_path, is_remote_path, redacting_repr, url_problem

HashStyle = Literal["peep", "pip"]


@frozen
class Location:
    """A line of a requirements file."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"

    def names_index_file(self) -> bool:
        """Whether a URL found here is an index's file, recorded as ``name==version``."""
        return False


@redacting_repr
@frozen
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


_URL_SCHEMES = ("http", "https", "file")
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
#: what a ${VAR} in a URL's credentials keeps as it is: all but "/?#@", spaces and controls
_USERINFO_SAFE = "!$&'()*+,;=:%-._~"
# The credentials part of a URL as written (``scheme://USERINFO@``), before expansion.
_USERINFO = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#\s]*)@")
# Two or more letters, so that a Windows drive ("C:") is not taken for a scheme.
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+):")
_VCS = re.compile(r"(git|hg|svn|bzr)\+", re.IGNORECASE)
_PATH_EXTRAS = re.compile(r"(.+)(\[[^\]]*\])")
# These two are text, compiled by ``re`` (and kept in its cache) on first use: a file of
# pinned names needs neither.
_PROJECT_NAME = r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?"
# pip finds "egg=" and the hashes it knows after a "#" or an "&" anywhere in a URL, and takes
# the first of each: "?a=1&egg=x" names a project, "#sha256=A&sha256=B" pins A only.
_PIP_URL_KEY = r"[#&](egg|subdirectory|md5|sha1|sha224|sha256|sha384|sha512)="
ARCHIVE_HINT = "build an archive (sdist or wheel) and pin it with its hashes"


def fail_at(location: Location, reason: str) -> NoReturn:
    """Raise RequirementsFileError for the line at ``location``."""
    raise RequirementsFileError(f"{location}: {reason}")


def _first_line(exc: Exception) -> str:
    """Return the first line: packaging's messages draw a caret under the input."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def expand_env(text: str, environ: Mapping[str, str] | None) -> str:
    """Expand ``${NAME}`` as pip does (upper case, digits, ``_``).

    As pip: a name that is unset or set to the empty string stays as written.
    """
    if environ is None:
        return text
    userinfo = [m.span(1) for m in _USERINFO.finditer(text)]

    def value(match: re.Match[str]) -> str:
        found = environ.get(match.group(1))
        if not found:  # as pip: unset or empty stays as written
            return match.group(0)
        if any(start <= match.start() < end for start, end in userinfo):
            # A token with "/", "?", "#" or "@" would end the host part early: the URL
            # would name another host, and its messages would show the token.
            return quote(found, safe=_USERINFO_SAFE)
        return found

    return _ENV_VAR.sub(value, text)


def is_project_name(text: str) -> bool:
    """Tell whether ``text`` is a valid project name (PEP 508; ASCII letters, digits, ``._-``)."""
    return re.fullmatch(_PROJECT_NAME, text) is not None


def control_character(text: str) -> str | None:
    """The first character of ``text`` that ends or breaks a line or is a control, or None.

    Line-based readers (pip's requirements files, ``str.splitlines``) split on more than a
    newline: vertical tab, form feed, the file/group/record separators, NEL, U+2028, U+2029.
    """
    for char in text:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return char
    return None


def parse_pip_hash(value: str, location: Location) -> Digest:
    """Parse ``ALGORITHM:HEX`` (a ``--hash`` value or a URL fragment's hash)."""
    algorithm, colon, hex_value = value.partition(":")
    if not colon:
        fail_at(location, f"--hash={value} needs an algorithm: write --hash=sha256:HEX")
    try:
        check_algorithm(algorithm)
    except InvalidDigest as exc:
        fail_at(location, str(exc))
    if algorithm != algorithm.lower():
        # pip refuses --hash=SHA256:... and ignores #SHA256=... in a URL: one file, two readings.
        fail_at(
            location,
            f"{algorithm!r}: pip knows hash algorithms by their lower-case names only; "
            f"write {algorithm.lower()}",
        )
    try:
        return Digest.from_hex(algorithm, hex_value)
    except InvalidDigest as exc:
        raise MalformedHashError(
            f"{location}: {exc}; recompute it with 'peep hash ARCHIVE'"
        ) from None


def absolute_path(path: str, cwd: str | None) -> str:
    """Return ``path`` made absolute against ``cwd`` (default: the process's), normalised."""
    if os.path.isabs(path):
        return os.path.normpath(path)
    return os.path.normpath(os.path.join(cwd, path)) if cwd else os.path.abspath(path)


def is_url(text: str) -> bool:
    """Return True if ``text`` starts with a URL scheme rather than a path or a name."""
    match = _SCHEME.match(text)
    if match is None:
        return False
    # "file:/abs/x.whl" is a URL too; "name:thing" without "//" otherwise is not.
    return match.group(1).lower() in _URL_SCHEMES or text[match.end() : match.end() + 2] == "//"


def _parse_marker(text: str, shown: str, location: Location) -> Marker | None:
    if not text.strip():
        return None
    try:
        return Marker(text)
    except InvalidMarker as exc:
        fail_at(location, f"{shown!r} has an invalid environment marker: {_first_line(exc)}")


def _name_from_filename(filename: str) -> tuple[str, NormalizedName, str] | None:
    """(spelling, name, version) from a wheel or sdist filename, or None if it has none."""
    parsed = parse_filename(filename)
    # pip reads the line as "NAME==VERSION": a name outside PEP 508's ("¹-1.0-py3-none-any.whl"
    # is a wheel filename) is no project name, and porting could not write it back.
    if parsed is None or not re.fullmatch(_PROJECT_NAME, parsed.project):
        return None
    if parsed.kind == "wheel":
        return parsed.project, parsed.name, str(parsed.version)
    return parsed.project, parsed.name, parsed.version_text


def _named_from(
    filename: str, name: str | None, shown: str, location: Location, hint: str
) -> tuple[str, NormalizedName, str | None]:
    parsed = _name_from_filename(filename)
    if name is None:
        if parsed is None:
            fail_at(location, f"cannot tell the project name from {shown!r}; {hint}")
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
) -> ReqLine:
    parts = _split_url(url, shown, location)
    egg, digests = _url_fragment(url, parts.fragment, shown, location)
    filename = _url_archive_name(url, parts, shown, location)
    if name is None and egg is not None:
        name, extras = _egg_name(egg, location)
        _check_wheel_egg(filename, name, extras, location)
    spelling, canonical, version = _named_from(
        filename, name, shown, location, "add #egg=NAME to the URL"
    )
    clean = urlunsplit(parts._replace(fragment=""))
    return ReqLine(
        location, shown, canonical, spelling, version, clean, extras, marker, digests, "pip"
    )


def _split_url(url: str, shown: str, location: Location) -> SplitResult:
    """The parts of an http(s):// or file:// URL without blanks; no version control."""
    if _VCS.match(url):
        fail_at(
            location,
            f"{shown!r} is a version-control requirement, which cannot be hash-checked; "
            f"{ARCHIVE_HINT}",
        )
    if any(char.isspace() for char in url):
        # A URL has no blanks (RFC 3986); "name @ URL" could not even write this one.
        fail_at(location, f"{url!r} is not a valid URL: it contains whitespace; write it as %20")
    problem = url_problem(url)
    if problem is not None:
        fail_at(location, f"{url!r} is not a valid URL: {problem}")
    parts = urlsplit(url)
    if parts.scheme.lower() not in _URL_SCHEMES:
        fail_at(location, f"{shown!r}: only http://, https:// and file:// URLs are supported")
    return parts


def _url_fragment(
    url: str, fragment: str, shown: str, location: Location
) -> tuple[str | None, tuple[Digest, ...]]:
    """The ``#egg=`` value and the hashes (``#sha256=...``) of a URL's fragment, as pip's."""
    keys = [match.group(1) for match in re.finditer(_PIP_URL_KEY, url)]
    if re.search(_PIP_URL_KEY, url.partition("#")[0]):
        fail_at(
            location,
            f"{shown!r}: pip reads '&egg=', '&subdirectory=' and '&sha256=' before the '#' "
            "too; move them to the URL's fragment (after '#')",
        )
    if "subdirectory" in keys:
        # pip builds the project in that folder of the archive; peep hands over the archive
        fail_at(
            location,
            f"{shown!r}: #subdirectory= cannot be installed from a hash-checked archive; "
            f"{ARCHIVE_HINT}",
        )
    if keys.count("egg") > 1 or len(keys) - keys.count("egg") > 1:
        fail_at(
            location,
            f"{shown!r}: pip reads only the first #egg= and the first hash of a URL; "
            "give one of each (more hashes go in --hash options)",
        )
    import hashlib  # it loads OpenSSL's libcrypto: only a URL requirement needs it

    egg = None
    digests: list[Digest] = []
    for item in fragment.split("&"):
        key, _, value = item.partition("=")
        if key == "egg":
            egg = value
        elif key.lower() in hashlib.algorithms_guaranteed:
            digests.append(parse_pip_hash(f"{key}:{value}", location))
    return egg, tuple(digests)


def _url_archive_name(url: str, parts: SplitResult, shown: str, location: Location) -> str:
    """The filename the URL ends in: an archive's, and for file:// a local file's."""
    if parts.scheme.lower() == "file":
        try:
            local = file_url_path(url)
        except ValueError:
            fail_at(location, f"{url!r}: file:// URLs must name a local file")
        if os.path.isdir(local):
            fail_at(
                location, f"{shown!r} is a directory, which cannot be hash-checked; {ARCHIVE_HINT}"
            )
    filename = unquote(posixpath.basename(parts.path))
    if not is_archive_name(filename):
        fail_at(
            location,
            f"{shown!r} is not an archive ({', '.join(ARCHIVE_SUFFIXES)}); {ARCHIVE_HINT}",
        )
    return filename


def _check_wheel_egg(filename: str, name: str, extras: tuple[str, ...], location: Location) -> None:
    """Refuse an ``#egg=`` on a wheel's URL naming another project or extras than pip reads."""
    parsed = parse_filename(filename)
    if parsed is None or parsed.kind != "wheel":
        return
    if parsed.name != canonicalize_name(name) or extras:
        fail_at(
            location,
            f"'#egg={name}{'[' + ','.join(extras) + ']' if extras else ''}': pip takes a "
            f"wheel's project from its filename ({parsed.project}) and ignores #egg=; "
            "remove it or write 'NAME[EXTRAS] @ URL'",
        )


def _egg_name(egg: str, location: Location) -> tuple[str, tuple[str, ...]]:
    """The project name and extras of ``#egg=NAME[EXTRAS]``: nothing more is allowed."""
    try:
        egg_req = Requirement(egg)
    except InvalidRequirement:
        egg_req = None
    if egg_req is None or egg_req.url or egg_req.specifier or egg_req.marker:
        fail_at(location, f"'#egg={egg}' is not a project name; write #egg=NAME")
    return egg_req.name, tuple(sorted(egg_req.extras))


def _path_requirement(
    text: str,
    *,
    name: str | None,
    marker: Marker | None,
    cwd: str | None,
    shown: str,
    location: Location,
) -> ReqLine:
    extras: tuple[str, ...] = ()
    match = _PATH_EXTRAS.fullmatch(text)
    if match and name is None:
        text = match.group(1)
        try:
            extras = tuple(sorted(Requirement("x" + match.group(2)).extras))
        except InvalidRequirement as exc:
            fail_at(location, f"{match.group(2)!r} are not valid extras: {_first_line(exc)}")
    absolute = absolute_path(text, cwd)
    if is_remote_path(absolute):
        fail_at(location, f"{text!r}: paths must name a local file, not one on another host")
    if os.path.isdir(absolute):
        fail_at(location, f"{text!r} is a directory, which cannot be hash-checked; {ARCHIVE_HINT}")
    filename = os.path.basename(absolute)
    if not is_archive_name(filename):
        fail_at(
            location,
            f"{text!r} is not an archive ({', '.join(ARCHIVE_SUFFIXES)}); {ARCHIVE_HINT}",
        )
    url = Path(absolute).as_uri()
    spelling, canonical, version = _named_from(
        filename, name, text, location, f"write it as 'NAME @ {url}'"
    )
    return ReqLine(location, shown, canonical, spelling, version, url, extras, marker, (), "pip")


def _looks_like_path(text: str) -> bool:
    return text.startswith(".") or any(sep and sep in text for sep in ("/", os.sep, os.altsep))


def parse_requirement(text: str, shown: str, location: Location, cwd: str | None) -> ReqLine:
    """Parse an expanded requirement; ``shown`` is the text as written, for messages.

    The ReqLine has ``shown`` as its text, the hashes of the URL's fragment (if any) as its
    digests, and a placeholder hash_style: the caller adds the line's hashes and style.
    """
    if text.endswith("\\"):
        # pip reads "foo===1.0\ " (a blank after it) as it stands; written again without
        # the blank (peep port, an editor), the backslash joins the next line to it.
        fail_at(
            location,
            f"{shown!r} ends in a backslash, which joins the next line to it once the blank "
            "after it is gone; remove the backslash",
        )
    if _VCS.match(text):
        return _url_requirement(
            text, name=None, extras=(), marker=None, shown=shown, location=location
        )
    if is_url(text):
        # As pip: a URL's marker follows "; " exactly (" ;" or ";<tab>" stay in the URL).
        pieces = text.split("; ", 1)
        url = pieces[0].strip()
        marker = _parse_marker(pieces[1] if len(pieces) > 1 else "", shown, location)
        return _url_requirement(
            url, name=None, extras=(), marker=marker, shown=shown, location=location
        )
    candidate, semicolon, marker_text = text.partition(";")
    candidate = candidate.strip()
    before_at, at, _ = candidate.partition("@")
    # As pip: "name @ url" is PEP 508 unless what comes before the "@" is a path.
    named_at = bool(at) and not _looks_like_path(before_at)
    if named_at:
        _refuse_file_named_like(candidate, cwd, shown, location)
    if not named_at and (
        _looks_like_path(candidate) or is_archive_name(_PATH_EXTRAS.sub(r"\1", candidate))
    ):
        marker = _parse_marker(marker_text, shown, location) if semicolon else None
        return _path_requirement(
            candidate, name=None, marker=marker, cwd=cwd, shown=shown, location=location
        )
    return _pep508_requirement(text, shown, location, cwd)


def _refuse_file_named_like(
    candidate: str, cwd: str | None, shown: str, location: Location
) -> None:
    """Refuse ``name@archive`` where a file of that whole name exists: pip installs that file."""
    path = _PATH_EXTRAS.sub(r"\1", candidate)
    if is_archive_name(path) and os.path.isfile(absolute_path(path, cwd)):
        fail_at(
            location,
            f"{shown!r}: pip reads this as the file {path!r}, which exists, and peep as "
            "'NAME @ PATH'; write './' before the file, or spaces around the '@'",
        )


def _pep508_requirement(text: str, shown: str, location: Location, cwd: str | None) -> ReqLine:
    """``name[extras]==version; marker`` or ``name @ URL-or-path``."""
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        fail_at(location, f"{shown!r} is not a valid requirement: {_first_line(exc)}")
    extras = tuple(sorted(req.extras))
    if req.url is not None:
        if _VCS.match(req.url) or is_url(req.url):
            return _url_requirement(
                req.url,
                name=req.name,
                extras=extras,
                marker=req.marker,
                shown=shown,
                location=location,
            )
        found = _path_requirement(
            req.url, name=req.name, marker=req.marker, cwd=cwd, shown=shown, location=location
        )
        return dataclasses.replace(found, extras=extras)
    specifiers = list(req.specifier)
    if (
        len(specifiers) != 1
        or specifiers[0].operator not in ("==", "===")
        or specifiers[0].version.endswith(".*")
    ):
        fail_at(location, f"{shown!r} is not pinned; pin it with == so its hashes can be checked")
    return ReqLine(
        location,
        shown,
        canonicalize_name(req.name),
        req.name,
        specifiers[0].version,
        None,
        extras,
        req.marker,
        (),
        "pip",
    )
