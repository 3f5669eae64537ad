"""A PEP 751 lock file as a requirements file in pip's or peep's format (pure)."""

from __future__ import annotations

import os
import re
import shlex
from urllib.parse import urlsplit

from peep_setuptools.errors import RequirementsFileError
from peep_setuptools.hashes import Digest
from peep_setuptools.lock.model import LockedFile, LockedPackage, LockFile, LockLocation
from peep_setuptools.requirements.lines import Comment, Entry, OptionLine
from peep_setuptools.requirements.porting import Target, port_entries
from peep_setuptools.requirements.spec import Location, ReqLine
from peep_setuptools.urls import file_url_path

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
        os.path.dirname(path)
        for package, req in zip(lock.packages, requirements)
        if req.url is None and package.index is None
        for file in package.files()
        if (path := _local_path(file.url)) is not None
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
    versions = {v for file in package.files() if (v := file.named_version) is not None}
    if len(versions) != 1:
        raise RequirementsFileError(
            f"{lock.path}: {package.key}.version: {package.display_name} states no version and "
            "its files do not name one; a requirements file needs name==version"
        )
    return versions.pop()


def _local_path(url: str) -> str | None:
    if urlsplit(url).scheme != "file":
        return None
    try:
        return file_url_path(url)
    except ValueError:  # file://host/...: not a folder on this machine
        return None
