"""``peep port``: rewrite requirements, or a PEP 751 lock file, in pip's or peep's format (pure)."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Sequence
from typing import Literal
from urllib.parse import urlsplit
from urllib.request import url2pathname

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion

from .errors import RequirementsFileError
from .hashes import Digest
from .pylock import LockedFile, LockedPackage, LockFile, LockLocation
from .reqfile import Comment, Entry, IncludeLine, Location, OptionLine, ReqLine

Target = Literal["pip", "peep"]

_CONTINUATION = " \\\n    "


def requirement_spec(line: ReqLine) -> str:
    """Return the requirement as both formats write it, without its hashes.

    Named requirements are written as they were; URL and local-archive requirements
    become ``name[extras] @ URL ; marker``, which pip reads the same from any directory.
    A requirement written with ``${VAR}`` stays as written, so that porting never
    copies a credential from the environment into a file.
    """
    if line.url is None or "${" in line.text:
        return line.text
    extras = f"[{','.join(line.extras)}]" if line.extras else ""
    marker = f" ; {line.marker}" if line.marker is not None else ""
    return f"{line.display_name}{extras} @ {line.url}{marker}"


def _pip_lines(line: ReqLine) -> str:
    words = [requirement_spec(line), *(digest.pip_option() for digest in line.digests)]
    return (_CONTINUATION if len(words) > 2 else " ").join(words)


def _peep_lines(line: ReqLine) -> str:
    hash_lines = []
    for digest in line.digests:
        if digest.algorithm != "sha256":
            raise RequirementsFileError(
                f"{line.location}: peep's format carries only sha256 hashes; "
                "keep this file in pip's format"
            )
        hash_lines.append(digest.peep_line())
    return "\n".join([*hash_lines, requirement_spec(line)])


def port_entries(entries: Sequence[Entry | IncludeLine], *, to: Target) -> str:
    """Return the text of a requirements file in pip's (``to="pip"``) or peep's format.

    pip's format is what ``pip install --require-hashes -r`` accepts: one
    ``--hash=ALGO:HEX`` per digest, continued over lines when there are several.
    peep's puts ``# sha256: B64`` lines above each requirement and raises
    RequirementsFileError for any other algorithm. Comments, blank lines and
    option lines are kept in place; the text ends with a newline unless empty.
    """
    render = _pip_lines if to == "pip" else _peep_lines
    out: list[str] = []
    for entry in entries:
        if isinstance(entry, ReqLine):
            out.append(render(entry))
        elif isinstance(entry, (Comment, OptionLine)):
            out.append(entry.text)
        else:
            out.append(f"--requirement {entry.target}")
    return "\n".join(out) + "\n" if out else ""


# -- lock files ------------------------------------------------------------------------------

#: marker variables that only a lock file has; a requirements file cannot evaluate them
_LOCK_ONLY_VARIABLES = re.compile(r"\b(extras|dependency_groups)\b")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def port_lock(lock: LockFile, *, to: Target) -> str:
    """Return a requirements file that allows exactly the files of a PEP 751 lock file.

    Each package becomes ``name==version`` with every hash of every one of its files as
    allowed alternatives, or ``name @ URL`` for an ``archive`` entry and for a lone file
    that no index is named for; markers are kept. The packages' index becomes
    ``--index-url`` (several: the others ``--extra-index-url``); the folders of local files
    of packages with no index become ``--find-links``. Raises RequirementsFileError, naming
    the key path, for what a requirements file cannot say.
    """
    top = Location(lock.path, 0)
    requirements = [_locked_requirement(lock, package, to) for package in lock.packages]
    options: list[tuple[str, str]] = []
    indexes = list(dict.fromkeys(p.index for p in lock.packages if p.index is not None))
    options += [("--index-url", url) for url in indexes[:1]]
    options += [("--extra-index-url", url) for url in indexes[1:]]
    folders = dict.fromkeys(
        os.path.dirname(url2pathname(urlsplit(file.url).path))
        for package, req in zip(lock.packages, requirements)
        if req.url is None and package.index is None
        for file in package.files()
        if urlsplit(file.url).scheme == "file"
    )
    options += [("--find-links", folder) for folder in folders]
    header = f"# Ported from {os.path.basename(lock.path)} (created by {lock.created_by})."
    entries: list[Entry] = [Comment(top, header.replace("\n", " "))]
    entries += [
        OptionLine(top, f"{name} {shlex.quote(value)}", name, value) for name, value in options
    ]
    if entries and requirements:
        entries.append(Comment(top, ""))
    entries += requirements
    return port_entries(entries, to=to)


def _locked_requirement(lock: LockFile, package: LockedPackage, to: Target) -> ReqLine:
    location = LockLocation(lock.path, 0, package.key)
    marker = str(package.marker) if package.marker is not None else None
    if marker is not None:
        found = _LOCK_ONLY_VARIABLES.search(_QUOTED.sub("", marker))
        if found:
            raise RequirementsFileError(
                f"{location}.marker: {marker!r} uses {found.group(1)}, which only a lock file "
                "can evaluate; a requirements file cannot say it"
            )
    files = package.files()
    digests = tuple(dict.fromkeys(d for file in files for d in _digests(lock, file, to)))
    url = None
    if package.archive is not None or (package.index is None and len(files) == 1):
        url = files[0].url
        text = f"{package.display_name} @ {url}"
        version = package.version
    else:
        version = package.version or _version(lock, package)
        text = f"{package.display_name}=={version}"
    return ReqLine(
        location=location,
        text=text + (f" ; {marker}" if marker is not None else ""),
        name=package.name,
        display_name=package.display_name,
        version=version,
        url=url,
        extras=(),
        marker=package.marker,
        digests=digests,
        hash_style=to,
    )


def _digests(lock: LockFile, file: LockedFile, to: Target) -> tuple[Digest, ...]:
    if to == "pip":
        return file.digests
    sha256 = tuple(d for d in file.digests if d.algorithm == "sha256")
    if not sha256:
        raise RequirementsFileError(
            f"{lock.path}: {file.key}.hashes: has no sha256 hash, the only one peep's format "
            "carries; port to pip's format instead"
        )
    return sha256


def _version(lock: LockFile, package: LockedPackage) -> str:
    """The version the file names agree on, for a package that does not state one."""
    versions = set()
    for file in package.files():
        try:
            if file.kind == "wheel":
                versions.add(str(parse_wheel_filename(file.filename)[1]))
            else:
                versions.add(str(parse_sdist_filename(file.filename)[1]))
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            continue
    if len(versions) != 1:
        raise RequirementsFileError(
            f"{lock.path}: {package.key}.version: {package.display_name} states no version and "
            "its files do not name one; a requirements file needs name==version"
        )
    return versions.pop()
