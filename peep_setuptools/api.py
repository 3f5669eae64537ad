"""The one pipeline every front end calls: parse, find, fetch, verify, and only then install."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from peep_setuptools.errors import PeepError, VerificationFailed
from peep_setuptools.hashes import hash_file
from peep_setuptools.installing.plan import Plan, plan
from peep_setuptools.installing.verdicts import Problem, Verdict
from peep_setuptools.lock.model import LockLocation
from peep_setuptools.requirements.lines import IndexOptions
from peep_setuptools.requirements.spec import ReqLine
from peep_setuptools.target import Target

# The network half (http and ssl, index, download, cache, backends, progress, report) is
# imported inside install() once there is something to fetch: a no-op run, where everything
# is installed already, never needs it, and importing it was a third of that run's time.
if TYPE_CHECKING:
    from peep_setuptools.checks.completeness import Completeness
    from peep_setuptools.index.http import HttpClient
    from peep_setuptools.index.pages import IndexClient
    from peep_setuptools.installing.backends import (
        BuildIndex,
        Compile,
        InstallerBackend,
        VerifiedArchive,
    )
    from peep_setuptools.installing.fetch import Outcome, Session
    from peep_setuptools.installing.picking import Filters
    from peep_setuptools.installing.pinning import Pins
    from peep_setuptools.installing.progress import Progress
    from peep_setuptools.installing.settings import IndexSettings
    from peep_setuptools.installing.strictbuild import BuildStage

logger = logging.getLogger(__name__)

DEFAULT_JOBS = 8


@dataclass(frozen=True)
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
    installer: Literal["pip", "uv"] = "pip"
    compile: Compile = "default"
    jobs: int = DEFAULT_JOBS
    #: the environment to read PIP_* defaults and ${VAR}s from; None means os.environ
    environ: Mapping[str, str] | None = None
    #: move archives that fail their hash check here (for forensics) instead of deleting them
    keep_mismatched: str | None = None
    #: the verified archive cache; None means $PEEP_CACHE_DIR or ~/.cache/peep-setuptools
    cache_dir: str | None = None
    no_cache: bool = False
    #: fetch and verify even what is installed at its pinned version (for an observer)
    fetch_installed: bool = False
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
    #: why a dry run installs nothing, for its last line; None when the command never installs
    dry_run_reason: str | None = "--dry-run"


@dataclass(frozen=True)
class InstallerOutput:
    """Where the installer's own output goes: the front end's concern, not the pipeline's."""

    #: pass ``--quiet`` to the installer
    quiet: bool = False
    #: its standard output goes to our standard error (stdout carries a JSON report)
    to_stderr: bool = False


@dataclass(frozen=True)
class InstallResult:
    """What ``install`` did."""

    installed: tuple[VerifiedArchive, ...]
    #: named requirements already installed at their pinned version
    skipped: tuple[ReqLine, ...]
    #: requirements whose environment markers do not apply to the target
    not_applicable: tuple[ReqLine, ...]
    verified: tuple[Verdict, ...]
    dry_run: bool


@dataclass(frozen=True)
class Verified:
    """What a run knows once every archive is fetched and checked, before installing."""

    target: Target
    #: the requirement files read, includes too
    files: tuple[str, ...]
    #: the requirements that apply to the target, merged
    requirements: tuple[ReqLine, ...]
    skipped: tuple[ReqLine, ...]
    not_applicable: tuple[ReqLine, ...]
    verdicts: tuple[Verdict, ...]
    problems: tuple[Problem, ...]
    client: IndexClient
    http: HttpClient
    #: --strict: the build dependencies no file pins, with the hashes proposed for them
    build_proposed: tuple[Verdict, ...] = ()
    #: what the verified archives need that no line pins (None: not checked)
    completeness: Completeness | None = None
    #: the lines that would pin what is missing (None unless the run refuses for it)
    pins: Pins | None = None


class InstallObserver(Protocol):
    """Extra checks a front end runs on the verified archives (``peep check``, ``verify``)."""

    def verified(self, run: Verified) -> Collection[str]:
        """Return the canonical names to leave out of the install, or raise a PeepError.

        Called once every archive is checked, before a failed check is reported.
        """
        ...


def install(
    requirement_files: Sequence[str],
    options: InstallOptions | None = None,
    *,
    backend: InstallerBackend | None = None,
    progress: Progress | None = None,
    observer: InstallObserver | None = None,
    output: InstallerOutput | None = None,
) -> InstallResult:
    """Verify every archive named by the files, then install them all in one installer call.

    Archives come from the verified cache when it holds one with an allowed hash (re-hashed
    on the way out), else from the index; ``progress`` hears about each of them. Without
    a ``backend``, the one ``options.installer`` names is made, writing as ``output`` says.

    Raises VerificationFailed (its ``report`` is peep's text) when any hash is missing or
    wrong or any archive cannot be had, and other PeepErrors for bad input; nothing is
    installed unless every archive verified.

    The pipeline: ``plan`` (files and target, no network) -> ``fetch_and_verify`` ->
    ``build`` (--strict, and wheels from the cache) -> the installer backend.
    """
    options = options or InstallOptions()
    environ = os.environ if options.environ is None else options.environ
    planned = _plan(requirement_files, options, environ)
    if not planned.to_fetch:
        logger.info("Nothing to install: every requirement is installed at its pinned version.")
        return InstallResult((), planned.skipped, planned.not_applicable, (), options.dry_run)
    # Before any download: an installer that is asked for but missing fails fast.
    chosen = None if options.dry_run else backend or _backend(options, output or InstallerOutput())
    with _session(planned, options, environ, progress, chosen) as (session, settings):
        checked = fetch_and_verify(planned, session, options)
        left_out = _observe(observer, planned, checked, session)
        _accept(checked)
        verdicts = checked.verdicts
        skipped = planned.skipped + tuple(
            v.requirement for v in verdicts if v.requirement.name in left_out
        )
        archives = tuple(_archive(v) for v in verdicts if v.requirement.name not in left_out)
        if not archives and not options.dry_run:
            logger.info("Nothing to install: every installed copy checked out.")
            return InstallResult((), skipped, planned.not_applicable, verdicts, False)
        if options.dry_run:
            why = options.dry_run_reason
            reason = f"; not installing ({why})" if why else ""
            logger.info("All %d archives match their hashes%s.", len(verdicts), reason)
            return InstallResult((), skipped, planned.not_applicable, verdicts, True)
        assert chosen is not None  # noqa: S101 -- set whenever this is not a dry run
        build_index = settings.build_index()
        archives = build(session, checked, archives, chosen, build_index)
        chosen.install(
            archives,
            target=planned.target,
            workdir=session.workdir,
            build_index=build_index,
        )
        return InstallResult(archives, skipped, planned.not_applicable, verdicts, False)


def _plan(
    requirement_files: Sequence[str], options: InstallOptions, environ: Mapping[str, str]
) -> Plan:
    return plan(
        requirement_files,
        environ=environ,
        python=options.python,
        lock_files=options.lock_files,
        only_binary=options.index.only_binary,
        build_requirements=options.build_requirements if options.strict else (),
        # A dry run verifies every archive the files name, installed or not.
        fetch_installed=options.force_reinstall or options.fetch_installed or options.dry_run,
    )


def _accept(checked: Checked) -> None:
    """Raise VerificationFailed unless every archive verified; note what was not checked."""
    if checked.report:
        raise VerificationFailed(
            checked.summary, checked.report, verdicts=checked.verdicts, problems=checked.problems
        )
    if checked.completeness is not None:
        from peep_setuptools.installing.pinning import log_dependencies

        log_dependencies(checked.completeness)


@contextlib.contextmanager
def _session(
    planned: Plan,
    options: InstallOptions,
    environ: Mapping[str, str],
    progress: Progress | None,
    chosen: InstallerBackend | None,
) -> Iterator[tuple[Session, IndexSettings]]:
    """A run's index client, cache and private work folder; all closed and removed after."""
    from peep_setuptools.installing.cache import default_cache_dir, open_cache
    from peep_setuptools.installing.cachetrust import default_key_file
    from peep_setuptools.installing.fetch import Session
    from peep_setuptools.installing.progress import NoProgress
    from peep_setuptools.installing.settings import resolve_settings

    settings = resolve_settings(
        environ,
        planned.index,
        options.index,
        cert=options.cert,
        timeout=options.timeout,
        retries=options.retries,
    )
    cache_root = options.cache_dir or default_cache_dir(environ)
    cache = None if options.no_cache else open_cache(cache_root, default_key_file(environ))
    workdir = tempfile.mkdtemp(prefix="peep-")  # 0700: only we can swap files in it
    client = settings.open()
    try:
        yield (
            Session(
                target=planned.target,
                options=settings.options,
                client=client,
                http=client.http,
                workdir=workdir,
                cache=cache,
                progress=progress or NoProgress(),
                cache_in_place=chosen is not None and chosen.name == "uv",
            ),
            settings,
        )
    finally:
        client.http.close()
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass(frozen=True)
class Checked:
    """The fetch-and-verify stage's result: a verdict or a problem for every archive."""

    verdicts: tuple[Verdict, ...]
    problems: tuple[Problem, ...]
    #: --strict: the verified build environment and what it lacks
    build_stage: BuildStage | None
    #: what the verified archives need that no line pins (None: not checked)
    completeness: Completeness | None
    #: the lines that would pin what is missing (None unless the run refuses for it)
    pins: Pins | None
    #: the text report of what failed; empty when everything verified
    report: str
    #: the one-line message of the VerificationFailed ``report`` goes with
    summary: str


def fetch_and_verify(planned: Plan, session: Session, options: InstallOptions) -> Checked:
    """Fetch every archive (and, for --strict, the build dependencies) and check its hashes."""
    from peep_setuptools.installing.fetch import fetch_all, quarantine_mismatched, summary
    from peep_setuptools.installing.pinning import check_dependencies
    from peep_setuptools.installing.report import render

    progress = session.progress
    progress.begin(len(planned.to_fetch) + len(planned.build_requirements))
    try:
        outcomes: list[Outcome] = fetch_all(session, planned.to_fetch, options.jobs)
        build_fetched = fetch_build_requirements(session, planned.build_requirements, options.jobs)
    finally:
        progress.end()
    outcomes += [Problem(req, message) for req, message in planned.lock_problems]
    stage = _build_stage(session, outcomes, build_fetched) if options.strict else None
    if stage is not None:
        outcomes += stage.report
    verdicts = tuple(o for o in outcomes if isinstance(o, Verdict))
    problems = tuple(o for o in outcomes if isinstance(o, Problem))
    note = stage.note if stage is not None else None
    completeness: Completeness | None = None
    pins: Pins | None = None
    dependencies = ""
    if options.check_dependencies:
        completeness, pins, dependencies = check_dependencies(
            session,
            verdicts,
            planned.requirements,
            planned.files,
            refuse=not options.allow_incomplete,
            filters=options.pin_filters,
        )
    report = render(verdicts, problems, note=note, dependencies=dependencies)
    if options.keep_mismatched:
        quarantine_mismatched(verdicts, options.keep_mismatched)
    missing = len(completeness.missing) if completeness and pins else 0
    message = summary(verdicts, problems, missing)
    return Checked(verdicts, problems, stage, completeness, pins, report, message)


def build(
    session: Session,
    checked: Checked,
    archives: tuple[VerifiedArchive, ...],
    backend: InstallerBackend,
    build_index: BuildIndex,
) -> tuple[VerifiedArchive, ...]:
    """The build stage: return what to install, sdists built where we build them.

    --strict builds every sdist from verified build dependencies; otherwise sdists become
    wheels from the cache where it has them, and the installer builds the rest.
    """
    from peep_setuptools.installing.builtwheels import with_built_wheels

    if checked.build_stage is not None:
        from peep_setuptools.installing.strictbuild import build_all

        archives = build_all(session, checked.build_stage.builder, archives)
    return with_built_wheels(
        archives,
        backend,
        session.cache,
        target=session.target,
        workdir=session.workdir,
        build_index=build_index,
    )


def _observe(
    observer: InstallObserver | None, planned: Plan, checked: Checked, session: Session
) -> Collection[str]:
    if observer is None:
        return ()
    stage = checked.build_stage
    return observer.verified(
        Verified(
            planned.target,
            planned.files,
            planned.requirements,
            planned.skipped,
            planned.not_applicable,
            checked.verdicts,
            checked.problems,
            session.client,
            session.http,
            stage.proposed if stage is not None else (),
            checked.completeness,
            checked.pins,
        )
    )


def fetch_build_requirements(
    session: Session, build_reqs: Sequence[ReqLine], jobs: int
) -> tuple[Outcome, ...]:
    """The pipeline's build-requirements fetch (--strict only): their outcomes, own folders."""
    if not build_reqs:
        return ()
    from peep_setuptools.installing import strictbuild  # only --strict pays for the builder

    return strictbuild.fetch_build_requirements(session, build_reqs, jobs)


def _build_stage(
    session: Session, requirements: Sequence[Outcome], build: Sequence[Outcome]
) -> BuildStage:
    """The pipeline's build stage (--strict): the verified build environment, or what it lacks."""
    from peep_setuptools.installing import strictbuild

    return strictbuild.plan_environment(session, requirements, build)


def hash_files(paths: Sequence[str], *, style: Literal["peep", "pip"] = "peep") -> list[str]:
    """Return the hash line of each archive: ``# sha256: B64`` or ``--hash=sha256:HEX``."""
    lines = []
    for path in paths:
        try:
            digest = hash_file(path)["sha256"]
        except OSError as exc:
            raise PeepError(f"cannot hash {path}: {exc.strerror or exc}") from exc
        lines.append(digest.peep_line() if style == "peep" else digest.pip_option())
    return lines


def port_file(
    paths: Sequence[str],
    *,
    to: Literal["pip", "peep", "pylock"] = "pip",
    environ: Mapping[str, str] | None = None,
    options: InstallOptions | None = None,
    lock_dir: str | None = None,
) -> str:
    """Return the files rewritten in another format.

    Requirement files become one requirements file in pip's or peep's hash format
    (includes flattened, comments kept), or with ``to="pylock"`` a PEP 751 lock file
    whose files and hashes are looked up on the index (``options`` gives the index
    options, as for ``install``; local files get paths relative to ``lock_dir``, else
    absolute ones). A lock file (``pylock*.toml`` or any ``*.toml``) becomes a
    requirements file in pip's or peep's format. Raises UsageError, RequirementsFileError,
    IndexLookupError or DownloadError.
    """
    from peep_setuptools.port import (
        port,  # only `peep port` pays for the porting and pylock writers
    )

    options = options or InstallOptions()
    return port(
        paths,
        to=to,
        environ=os.environ if environ is None else environ,
        index=options.index,
        cert=options.cert,
        timeout=options.timeout,
        retries=options.retries,
        lock_dir=lock_dir,
    )


def _archive(verdict: Verdict) -> VerifiedArchive:
    """The verified file, and what the environment is to record about it (``recorded.py``)."""
    from peep_setuptools.installing.backends import VerifiedArchive
    from peep_setuptools.urls import strip_credentials

    req = verdict.requirement
    index_file = isinstance(req.location, LockLocation) and req.location.index_file
    url = None if req.url is None or index_file else strip_credentials(req.url)
    digest = verdict.actual["sha256"]
    return VerifiedArchive(req.name, verdict.path, digest, req.version, url, digest)


def _backend(options: InstallOptions, output: InstallerOutput) -> InstallerBackend:
    from peep_setuptools.installing.backends import PipBackend, UvBackend, find_uv

    if options.installer == "uv":
        find_uv()
        return UvBackend(options.compile, output.quiet, output.to_stderr)
    return PipBackend(options.compile, output.quiet, output.to_stderr)
