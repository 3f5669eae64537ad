"""Picking a version and its hashes from an index, as ``peep add`` does (trust on first use).

``peep add``, ``upgrade`` and ``check --fix`` pin with these, ``install`` proposes the
dependencies its files leave out with them (``pins_for``: the Pins it refuses with), and
``--strict`` the build dependencies nobody pinned yet, so that every tool picks alike.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName
from packaging.version import Version

from peep_setuptools.archives import Link, parse_filename
from peep_setuptools.errors import IndexLookupError, PeepError
from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import Digest
from peep_setuptools.index.download import fetch
from peep_setuptools.index.http import HttpClient
from peep_setuptools.index.pages import IndexClient
from peep_setuptools.requirements.spec import HashStyle
from peep_setuptools.urls import redact_url, redacting_repr

if TYPE_CHECKING:
    from peep_setuptools.checks.completeness import Completeness
    from peep_setuptools.requirements.editing import NewRequirement
    from peep_setuptools.requirements.spec import ReqLine

logger = logging.getLogger(__name__)

TOFU_NOTE = (
    "Note: these hashes were taken from {where} as it serves the files today (trust on first "
    "use). Vet the files, or hash archives you have checked with --from FILE."
)


@frozen
class Filters:
    """Which files of a version to hash, like hashin's options; empty means all."""

    python_versions: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    implementations: tuple[str, ...] = ()
    pre: bool = False
    style: HashStyle | None = None

    def accepts(self, link: Link) -> bool:
        """Tell whether a file passes the filters (sdists always do)."""
        parsed = parse_filename(link.filename)
        if parsed is None:
            return False
        tags = parsed.tags
        return not tags or any(self._tag_ok(tag) for tag in tags)

    def _tag_ok(self, tag: Tag) -> bool:
        if (
            self.platforms
            and tag.platform != "any"
            and not any(fnmatch.fnmatch(tag.platform, p) for p in self.platforms)
        ):
            return False
        if self.implementations and not tag.interpreter.startswith(("py", *self.implementations)):
            return False
        return not self.python_versions or any(
            _interpreter_fits(tag, v) for v in self.python_versions
        )


def _interpreter_fits(tag: Tag, version: str) -> bool:
    major, _, minor = version.partition(".")
    digits = tag.interpreter.lstrip("abcdefghijklmnopqrstuvwxyz")
    if digits in (major, major + minor):
        return True
    # abi3 wheels built for 3.N serve every later 3.x
    if tag.abi == "abi3" and digits[:1] == major and digits[1:].isdigit() and minor.isdigit():
        return int(digits[1:]) <= int(minor)
    return False


def newest_version(
    links: Iterable[Link],
    name: NormalizedName,
    *,
    specifier: SpecifierSet,
    filters: Filters,
    python: Version | None = None,
) -> Version | None:
    """The newest version with a file passing ``filters`` inside ``specifier`` (pure).

    Yanked files do not count; pre-releases only with ``filters.pre``; ``python`` drops
    files whose Requires-Python excludes it.
    """
    best = None
    for link in links:
        parsed = parse_filename(link.filename)
        if parsed is None or parsed.name != name or link.yanked or not filters.accepts(link):
            continue
        version = parsed.version
        if version.is_prerelease and not filters.pre:
            continue
        if not specifier.contains(version, prereleases=True):
            continue
        if python is not None and link.requires_python:
            try:
                if not SpecifierSet(link.requires_python).contains(python, prereleases=True):
                    continue
            except ValueError:
                pass
        if best is None or version > best:
            best = version
    return best


def hash_version(
    client: IndexClient,
    http: HttpClient,
    name: NormalizedName,
    version: Version,
    filters: Filters,
    *,
    links: Sequence[Link] | None = None,
) -> tuple[Digest, ...]:
    """Download every file of ``name==version`` that passes the filters; their sha256s."""
    found = links if links is not None else client.find_links(name)
    chosen: dict[str, Link] = {}
    for link in found:
        parsed = parse_filename(link.filename)
        if parsed and parsed.name == name and parsed.version == version and filters.accepts(link):
            chosen.setdefault(link.filename, link)
    if not chosen:
        raise IndexLookupError(f"{name}=={version}: no file fits the filters")
    workdir = tempfile.mkdtemp(prefix="peep-add-")
    try:
        digests = []
        for number, link in enumerate(chosen.values()):
            fetched = fetch(link, os.path.join(workdir, f"{number:04d}"), http)
            logger.debug("Hashed %s from %s", fetched.filename, redact_url(link.url))
            digests.append(fetched.digests["sha256"])
        return tuple(dict.fromkeys(digests))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@redacting_repr
@frozen
class Pins:
    """The lines that would make a run complete, by the file each goes into."""

    #: (file, the requirements to add to it or replace in it); file is "" when the run
    #: read lock files only, which are not edited in place
    by_file: tuple[tuple[str, tuple[NewRequirement, ...]], ...]
    #: dependencies no version fits, each said as a clause: "no version of x>=2 fits on URL"
    unfound: tuple[str, ...]
    #: the indexes the hashes came from, for the trust-on-first-use note
    where: str


def pins_for(
    completeness: Completeness,
    requirements: Sequence[ReqLine],
    files: Sequence[str],
    *,
    client: IndexClient,
    http: HttpClient,
    filters: Filters,
    python: Version,
) -> Pins:
    """Pin each missing dependency to its newest fitting version, with every file's hash.

    A dependency pinned outside its specifier is re-pinned in the file that pins it; a new
    one goes into the first requirements file. Lookups that fail become ``unfound``.
    """
    from peep_setuptools.requirements.editing import NewRequirement

    wanted: dict[NormalizedName, SpecifierSet] = {}
    spelled: dict[NormalizedName, str] = {}
    for missing in completeness.missing:
        wanted[missing.name] = (
            wanted.get(missing.name, SpecifierSet()) & missing.dependency.specifier
        )
        spelled.setdefault(missing.name, missing.dependency.name)
    pinned_in = {r.name: r.location.path for r in requirements}
    first = next((f for f in files if not f.endswith(".toml")), "")
    by_file: dict[str, list[NewRequirement]] = {}
    unfound = []
    where = client.where
    for name, specifier in wanted.items():
        try:
            links = client.find_links(name)
            version = newest_version(
                links, name, specifier=specifier, filters=filters, python=python
            )
            if version is None:
                raise IndexLookupError(f"no version of {spelled[name]}{specifier} fits on {where}")
            digests = hash_version(client, http, name, version, filters, links=links)
        except PeepError as exc:
            unfound.append(str(exc))
            continue
        by_file.setdefault(pinned_in.get(name, first), []).append(
            NewRequirement(spelled[name], str(version), digests)
        )
    return Pins(tuple((f, tuple(n)) for f, n in by_file.items()), tuple(unfound), where)
