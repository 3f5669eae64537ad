"""The values the library takes and returns; ``api`` runs the pipeline on them.

``InstallOptions`` in; ``Verified``, ``InstallResult`` and ``EnvironmentCheck`` out, which the
front ends render (and ``VerificationFailed.verified`` carries).
"""

from __future__ import annotations

import os
from dataclasses import field, replace
from typing import TYPE_CHECKING, Literal

from peep_setuptools.frozen import frozen
from peep_setuptools.requirements.lines import IndexOptions
from peep_setuptools.requirements.spec import ReqLine
from peep_setuptools.target import Target
from peep_setuptools.urls import redacting_repr

# Types only: importing this module must stay as cheap as importing ``api``.
if TYPE_CHECKING:
    from collections.abc import Mapping

    from peep_setuptools.checks.completeness import Completeness
    from peep_setuptools.checks.installed import InstalledCheck
    from peep_setuptools.hashes import Digest
    from peep_setuptools.installing.backends import Compile, VerifiedArchive
    from peep_setuptools.installing.picking import Filters, Pins
    from peep_setuptools.installing.plan import Plan
    from peep_setuptools.installing.settings import IndexSettings
    from peep_setuptools.installing.verdicts import Problem, Verdict

DEFAULT_JOBS = 8


@redacting_repr
@frozen
class InstallOptions:
    """Everything a front end can ask of ``install``; None means "as pip would default"."""

    python: str | None = None
    #: index options from the command line; they override those in the files
    index: IndexOptions = field(default_factory=IndexOptions)
    cert: str | None = None
    timeout: float | None = None
    retries: int | None = None
    dry_run: bool = False
    force_reinstall: bool = False
    #: check the copies installed at their pinned version against their verified wheels
    #: instead of skipping them; reinstall only those that differ (``installing/intact.py``)
    verify_installed: bool = False
    installer: Literal["pip", "uv"] = "pip"
    compile: Compile = "default"
    jobs: int = DEFAULT_JOBS
    #: the environment to read PIP_* defaults and ${VAR}s from; None means os.environ
    #: (not in repr(): tokens that are no URL's credentials would show)
    environ: Mapping[str, str] | None = field(default=None, repr=False)
    #: move archives that fail their hash check here (for forensics) instead of deleting them
    keep_mismatched: str | None = None
    #: the verified archive cache; None means $PEEP_CACHE_DIR or ~/.cache/peep-setuptools
    cache_dir: str | None = None
    no_cache: bool = False
    #: PEP 751 lock files to install from, besides ``pylock*.toml`` files among the -r files
    lock_files: tuple[str, ...] = ()
    #: build sdists ourselves from verified build dependencies only (see strict.py)
    strict: bool = False
    #: files pinning build dependencies (with hashes) for strict mode; never installed
    build_requirements: tuple[str, ...] = ()
    #: read each verified archive's dependencies and refuse when a line is missing, as pip
    #: does (``peep verify`` does not look)
    check_dependencies: bool = True
    #: install anyway when a dependency is missing, with a warning
    allow_incomplete: bool = False
    #: which files of a missing dependency's version the suggested lines hash (default: all)
    pin_filters: Filters | None = None


@frozen
class InstallerOutput:
    """Where the installer's own output goes: the front end's concern, not the pipeline's."""

    #: pass ``--quiet`` to the installer
    quiet: bool = False
    #: its standard output goes to our standard error (stdout carries a JSON report)
    to_stderr: bool = False


@redacting_repr
@frozen
class Verified:
    """What a run knows once every archive is fetched and checked: ``verify``'s result.

    A ``VerificationFailed`` carries the same value as ``verified``; its text report is
    rendered from these verdicts and problems.
    """

    target: Target
    #: the requirement files read, includes too
    files: tuple[str, ...]
    #: the requirements that apply to the target, merged
    requirements: tuple[ReqLine, ...]
    #: named requirements already installed at their pinned version (not fetched)
    skipped: tuple[ReqLine, ...]
    not_applicable: tuple[ReqLine, ...]
    #: one per archive fetched: ``ok``, ``missing`` (no hash pinned) or ``mismatch``
    verdicts: tuple[Verdict, ...]
    #: the requirements whose archive could not be had, and why
    problems: tuple[Problem, ...]
    #: the index and HTTP settings the run used (``open()`` them to look more up); None
    #: when nothing needed fetching
    index: IndexSettings | None = None
    #: --strict: the build dependencies no file pins, with the hashes proposed for them
    build_proposed: tuple[Verdict, ...] = ()
    #: what the verified archives need that no line pins (None: not checked)
    completeness: Completeness | None = None
    #: the lines that would pin what is missing (None unless the run refuses for it)
    pins: Pins | None = None

    @classmethod
    def unfetched(cls, planned: Plan) -> Verified:
        """What a run knows that had nothing to fetch: the plan, no verdicts."""
        return cls(
            planned.target,
            planned.files,
            planned.requirements,
            planned.skipped,
            planned.not_applicable,
            (),
            (),
        )

    def detached(self) -> Verified:
        """The value as the library returns it: no verdict names a file of the removed run."""
        return replace(
            self,
            verdicts=tuple(v.detached() for v in self.verdicts),
            build_proposed=tuple(v.detached() for v in self.build_proposed),
        )

    @property
    def archives_ok(self) -> bool:
        """Every archive was had and matched a pinned hash (dependencies aside)."""
        return not self.problems and all(v.kind == "ok" for v in self.verdicts)


@redacting_repr
@frozen
class InstalledArchive:
    """An archive ``install`` gave the installer: what it was (its file went with the run)."""

    #: the canonical project name
    name: str
    #: the pinned version; None for a URL requirement whose file name gives none
    version: str | None
    #: the file's name; a wheel built from a verified sdist has the wheel's
    filename: str
    digest: Digest
    #: the URL the requirement named (credentials removed); None for index requirements
    url: str | None = None
    #: the hash of the archive at ``url`` (the sdist's, when this is a wheel built from it)
    url_digest: Digest | None = None

    @classmethod
    def of(cls, archive: VerifiedArchive) -> InstalledArchive:
        """What ``archive`` was, without its path."""
        filename = os.path.basename(archive.path)
        return cls(
            archive.name, archive.version, filename, archive.digest, archive.url, archive.url_digest
        )


@redacting_repr
@frozen
class InstallResult:
    """What ``install`` did; no value in it names a file of the run's removed folder."""

    installed: tuple[InstalledArchive, ...]
    #: named requirements already installed at their pinned version, and with
    #: ``verify_installed`` those whose installed files matched the verified wheel
    skipped: tuple[ReqLine, ...]
    #: requirements whose environment markers do not apply to the target
    not_applicable: tuple[ReqLine, ...]
    verified: tuple[Verdict, ...]
    dry_run: bool
    #: ``verify_installed``: how each installed copy compared with its verified wheel
    installed_checks: tuple[InstalledCheck, ...] = ()
    #: the verification the run passed; None when nothing needed fetching
    verification: Verified | None = None


@redacting_repr
@frozen
class EnvironmentCheck:
    """``verify_environment``'s result: the verified archives against what is installed."""

    verified: Verified
    #: one per verified archive, in the order of ``verified.verdicts``
    checks: tuple[InstalledCheck, ...]

    @property
    def differing(self) -> tuple[InstalledCheck, ...]:
        """The requirements whose installed copy is not the verified one."""
        return tuple(check for check in self.checks if not check.ok)
