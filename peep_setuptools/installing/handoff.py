"""The installer's input: what pip or uv read, written by one writer from validated values only.

Verified wheels of index requirements go into one private folder per run, and the installer
is told ``--no-index --find-links FOLDER`` and ``name==version --hash=...``: it can pick no
other file, re-checks the hash, and records ``name==version`` (what ``pip freeze`` shows).
Everything else (URL requirements, sdists the installer must build) is named by its local
``file://`` URL; ``recorded.py`` then writes down the URL the requirements gave (PEP 610).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from peep_setuptools.archives import is_wheel, parse_filename
from peep_setuptools.errors import BackendError
from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import Digest
from peep_setuptools.installing.verdicts import Verdict
from peep_setuptools.requirements.spec import control_character
from peep_setuptools.urls import redact_url, redacting_repr, strip_credentials

if TYPE_CHECKING:
    from peep_setuptools.checks.wheelfacts import WheelFacts


@redacting_repr
@frozen
class VerifiedArchive:
    """A local archive whose bytes matched an allowed hash, and what the environment records."""

    #: the canonical project name
    name: str
    path: str
    digest: Digest
    #: the pinned version; None for a URL requirement whose file name gives none
    version: str | None = None
    #: the URL the requirement named (credentials removed), recorded in direct_url.json;
    #: None for index and find-links requirements, recorded as ``name==version``
    url: str | None = None
    #: the hash of the archive at ``url`` (the sdist's, when ``path`` is a wheel built from it)
    url_digest: Digest | None = None
    #: taken from the verified cache (not downloaded or built in this run)
    from_cache: bool = False
    #: a wheel's zip directory and METADATA, read once (``wheel_facts``); None: not yet
    facts: WheelFacts | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, verdict: Verdict) -> VerifiedArchive:
        """The verified file of an ``ok`` verdict, and what the environment is to record."""
        req = verdict.requirement
        index_file = req.location.names_index_file()
        url = None if req.url is None or index_file else strip_credentials(req.url)
        digest = verdict.actual["sha256"]
        path = verdict.local_path
        facts = verdict.facts
        return cls(req.name, path, digest, req.version, url, digest, verdict.from_cache, facts)

    def wheel_facts(self) -> WheelFacts:
        """``facts``, or read now if this run has not read them (a wheel built in it)."""
        if self.facts is not None:
            return self.facts
        from peep_setuptools.checks.wheelfacts import read_wheel_facts

        return read_wheel_facts(self.path)

    def with_facts(self) -> VerifiedArchive:
        """The archive with its wheel's facts read, for every later look (an sdist as it is)."""
        if self.facts is not None or not is_wheel(self.path):
            return self
        return replace(self, facts=self.wheel_facts())


@frozen
class Origin:
    """What to record for one installed distribution that the installer got by a local URL."""

    name: str
    #: the ``file://`` URL the installer was given (so we fix only what we installed)
    local_url: str
    #: the requirement's URL and its archive's hash; None: record no URL (``name==version``)
    url: str | None
    digest: Digest | None


@frozen
class Staged:
    """The installer's input for one run: its requirement lines and what to fix afterwards."""

    lines: tuple[str, ...]
    origins: tuple[Origin, ...]
    #: the private folder the pinned lines are found in (``--no-index``, and no other
    #: ``--find-links``: the installer's configuration must not add any); None: no pins
    folder: str | None = None
    #: folders of the verified cache that hold one pinned wheel each, handed over in place
    #: (uv knows a local file it has unpacked before by its folder and mtime)
    in_place: tuple[str, ...] = ()


def write_installer_input(lines: Sequence[str], path: str) -> None:
    """THE writer of files the installer reads: new, 0600, one value per line.

    Every value in them was validated where it was read; a control character or line
    break here would be a line of its own (another package, another hash), so it is refused.
    """
    for line in lines:
        bad = control_character(line)
        if bad is not None:
            raise BackendError(
                f"refusing to hand the installer a value with the control character {bad!r}: "
                f"{redact_url(line)!r}"
            )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write("".join(f"{line}\n" for line in lines))


def stage(
    archives: Sequence[VerifiedArchive], workdir: str, *, in_place: bool = False, batch: int = 0
) -> Staged:
    """Requirement lines naming only the verified files; index wheels in a private folder.

    When any archive is an sdist, the installer builds it and needs an index for its build
    dependencies: then no archive goes through ``--find-links`` (the index could offer
    other files for the same pin), all are named by their local URL. ``batch``: each
    installer run of a split install has its own folder.
    """
    folder = staged_folder(workdir, batch)
    os.mkdir(folder, 0o700)  # new: it holds nothing but what we put there
    pinned = all(is_wheel(a.path) for a in archives)
    lines: list[str] = []
    origins: list[Origin] = []
    kept: list[str] = []
    for archive in archives:
        if pinned and archive.url is None and _fits_pin(archive):
            home = os.path.dirname(os.path.abspath(archive.path))
            if in_place and not _is_within(home, workdir):
                kept.append(home)  # its cache entry's own folder: one wheel, ours alone
            else:
                _link(archive.path, os.path.join(folder, os.path.basename(archive.path)))
            lines.append(f"{archive.name}=={archive.version} {archive.digest.pip_option()}")
            continue
        lines.append(local_line(archive))
        origins.append(Origin(archive.name, _local_url(archive), archive.url, archive.url_digest))
    return Staged(
        tuple(lines), tuple(origins), folder if pinned else None, tuple(dict.fromkeys(kept))
    )


def staged_folder(workdir: str, batch: int) -> str:
    """The private folder of verified wheels of one installer run (``stage``)."""
    return os.path.join(workdir, f"verified-files-{batch}" if batch else "verified-files")


def _is_within(path: str, folder: str) -> bool:
    return os.path.commonpath([os.path.abspath(folder), path]) == os.path.abspath(folder)


def local_line(archive: VerifiedArchive) -> str:
    """``name @ file:///... --hash=...``: the verified file, which the installer re-hashes."""
    return f"{archive.name} @ {_local_url(archive)} {archive.digest.pip_option()}"


def _local_url(archive: VerifiedArchive) -> str:
    return Path(archive.path).resolve().as_uri()


def _fits_pin(archive: VerifiedArchive) -> bool:
    """The wheel's file name says the pinned project and version (so the finder takes it)."""
    parsed = parse_filename(os.path.basename(archive.path))
    if archive.version is None or parsed is None or parsed.kind != "wheel":
        return False
    try:
        return parsed.name == canonicalize_name(archive.name) and parsed.version == Version(
            archive.version
        )
    except InvalidVersion:
        return False


def _link(source: str, dest: str) -> None:
    if os.path.lexists(dest):
        raise BackendError(f"two verified archives are both named {os.path.basename(dest)}")
    try:
        os.link(source, dest)
    except OSError:  # another file system, or links not allowed: copy
        shutil.copyfile(source, dest)
