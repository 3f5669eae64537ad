"""PEP 751 lock files as values: the frozen dataclasses ``lock.parse`` parses into.

Kept apart from parsing and from choosing files (``lock.select``) so that both can import
them without importing each other.
"""

from __future__ import annotations

from typing import Literal

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName

from peep_setuptools.archives import parse_filename
from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import Digest
from peep_setuptools.requirements.spec import Location, ReqLine

FileKind = Literal["wheel", "sdist", "archive"]


@frozen
class LockLocation(Location):
    """A value of a lock file, named by its TOML key path; ``line`` is 0 (TOML has none)."""

    key: str = ""
    #: a ``wheels`` or ``sdist`` file of a package with a version: an index's file, recorded
    #: in the environment as ``name==version`` (an ``archive`` is recorded by its URL)
    index_file: bool = False

    def __str__(self) -> str:
        return f"{self.path}: {self.key}"

    def names_index_file(self) -> bool:
        """A ``wheels`` or ``sdist`` file: an index's (see ``index_file``)."""
        return self.index_file


@frozen
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

    @property
    def named_version(self) -> str | None:
        """The version the filename states, if it is named as its kind's specification says."""
        parsed = parse_filename(self.filename)
        if (
            parsed is None
            or not parsed.is_standard
            or (parsed.kind == "wheel") != (self.kind == "wheel")
        ):
            return None
        return str(parsed.version)


@frozen
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


@frozen
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


@frozen
class LockSelection:
    """What a lock file asks of one target interpreter."""

    #: one requirement per applicable package: the chosen file's URL and its strongest hash
    requirements: tuple[ReqLine, ...]
    #: packages whose marker does not apply (url None, no digests)
    not_applicable: tuple[ReqLine, ...]
    #: applicable packages with no file for this interpreter: (requirement, reason)
    problems: tuple[tuple[ReqLine, str], ...]
