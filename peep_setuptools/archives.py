"""Archive files: the one filename parser (name, version, tags, kind) and the ``Link`` value."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from packaging.tags import Tag
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import Digest

WHEEL_SUFFIX = ".whl"


#: the suffixes pip accepts for sdists; ".tar" after ".tar.gz", which also ends in it
SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar")
#: PEP 625's sdist suffixes, the only ones a lock file calls "sdist"
STANDARD_SDIST_SUFFIXES = (".tar.gz", ".zip")
ARCHIVE_SUFFIXES = (WHEEL_SUFFIX, *SDIST_SUFFIXES)
_SDIST_LIST = ", ".join(SDIST_SUFFIXES)

ArchiveKind = Literal["wheel", "sdist"]


_MAX_FILENAME = 255


@frozen
class Link:
    """An archive offered by an index or find-links location; its hashes are only hints."""

    #: absolute URL, without fragment
    url: str
    #: the last path segment of ``url``, percent-decoded; a safe basename
    filename: str
    hashes: tuple[Digest, ...] = ()
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None
    #: the page URL or folder the link came from
    source: str = ""

    @property
    def is_wheel(self) -> bool:
        """Tell whether the archive is a wheel."""
        return is_wheel(self.filename)


def is_archive_name(name: str) -> bool:
    """Tell whether ``name`` ends with one of ARCHIVE_SUFFIXES (in any case)."""
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def safe_filename(name: str) -> str | None:
    """Return ``name`` if it is a plain archive basename we may write to disk, else None."""
    if (
        not name
        or len(name) > _MAX_FILENAME
        or name.startswith(".")
        or ".." in name
        or any(c in name for c in "/\\:")
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
    ):
        return None
    lowered = name.lower()
    if not any(lowered.endswith(suffix) and len(name) > len(suffix) for suffix in ARCHIVE_SUFFIXES):
        return None
    return name


class InvalidArchiveName(ValueError):
    """A filename that does not name a wheel or an sdist; ``str()`` says why."""


@frozen
class ArchiveName:
    """What an archive's filename states: project, version, wheel tags and kind."""

    filename: str
    kind: ArchiveKind
    #: the project as the filename spells it (``Foo_Bar`` in ``Foo_Bar-1.0.tar.gz``)
    project: str
    name: NormalizedName
    version: Version
    #: the version as the filename spells it (``01.0`` where ``version`` is ``1.0``)
    version_text: str
    #: wheels only; sdists run on any platform they can be built on
    tags: frozenset[Tag] = frozenset()

    @classmethod
    def parse(cls, filename: str) -> ArchiveName:
        """Parse a wheel or sdist filename; raises InvalidArchiveName saying why not."""
        if filename.endswith(WHEEL_SUFFIX):
            try:
                name, version, _build, tags = parse_wheel_filename(filename)
            except (InvalidWheelFilename, InvalidVersion) as exc:
                raise InvalidArchiveName(str(exc).splitlines()[0]) from None
            project, version_text = filename.split("-")[:2]
            return cls(filename, "wheel", project, name, version, version_text, tags)
        suffix = sdist_suffix(filename)
        if suffix is None:
            raise InvalidArchiveName(
                f"{filename!r} ends neither in .whl nor in an sdist suffix ({_SDIST_LIST})"
            )
        # The version never contains "-": split at the last one, as packaging does.
        project, dash, version_text = filename[: -len(suffix)].rpartition("-")
        if not dash or not project:
            raise InvalidArchiveName(f"{filename!r} is not of the form name-version{suffix}")
        try:
            version = Version(version_text)
        except InvalidVersion:
            raise InvalidArchiveName(f"{version_text!r} in {filename!r} is not a version") from None
        return cls(filename, "sdist", project, canonicalize_name(project), version, version_text)

    @property
    def is_standard(self) -> bool:
        """Tell whether a specification defines the name: wheels, PEP 625 sdists.

        PEP 625 names sdists ``.tar.gz`` or ``.zip`` (in lower case); a lock file calls
        only those "sdist".
        """
        return self.kind == "wheel" or self.filename.endswith(STANDARD_SDIST_SUFFIXES)


def parse_filename(filename: str) -> ArchiveName | None:
    """Return what a wheel or sdist filename states, or None if it is neither.

    The one filename parser of the package: every stage asks it, so that what peep checks
    and what it installs agree on which project and version a file is.
    """
    try:
        return ArchiveName.parse(filename)
    except InvalidArchiveName:
        return None


def is_wheel(filename: str) -> bool:
    """Tell whether a filename or path names a wheel (``.whl``, as the wheel spec spells it)."""
    return filename.endswith(WHEEL_SUFFIX)


def sdist_suffix(filename: str) -> str | None:
    """Return the sdist suffix ``filename`` ends with, in its own spelling, or None."""
    lowered = filename.lower()
    for suffix in SDIST_SUFFIXES:
        if lowered.endswith(suffix):
            return filename[-len(suffix) :]
    return None


def files_of(links: Iterable[Link], name: NormalizedName, version: Version) -> list[Link]:
    """The links whose filename says they are ``name`` at ``version``, in order."""
    found = []
    for link in links:
        parsed = parse_filename(link.filename)
        if parsed is not None and parsed.name == name and parsed.version == version:
            found.append(link)
    return found
