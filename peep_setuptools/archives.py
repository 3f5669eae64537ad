"""Archive files: the one filename parser (name, version, tags, kind) and the ``Link`` value."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.tags import Tag
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from peep_setuptools.hashes import Digest

WHEEL_SUFFIX = ".whl"


SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar")


ARCHIVE_SUFFIXES = (WHEEL_SUFFIX, *SDIST_SUFFIXES)


_MAX_FILENAME = 255


@dataclass(frozen=True)
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
        return self.filename.endswith(WHEEL_SUFFIX)


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


def parse_filename(filename: str) -> tuple[NormalizedName, Version, frozenset[Tag]] | None:
    """Return (name, version, wheel tags) of an archive filename; sdists have no tags.

    None if the name is not a wheel or sdist filename we understand.
    """
    if filename.endswith(WHEEL_SUFFIX):
        try:
            name, version, _build, tags = parse_wheel_filename(filename)
        except (InvalidWheelFilename, InvalidVersion):
            return None
        return name, version, tags
    lowered = filename.lower()
    for suffix in SDIST_SUFFIXES:
        if lowered.endswith(suffix):
            stem = filename[: -len(suffix)]
            break
    else:
        return None
    # The version never contains "-": split at the last one, as packaging does.
    project, dash, version_text = stem.rpartition("-")
    if not dash or not project:
        return None
    try:
        return canonicalize_name(project), Version(version_text), frozenset()
    except InvalidVersion:
        return None
