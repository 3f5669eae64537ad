"""The one pipeline every front end calls: parse, find, fetch, verify, and only then install."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from packaging.version import Version

from peep_setuptools.errors import PeepError, RequirementsFileError, VerificationFailed
from peep_setuptools.hashes import hash_file
from peep_setuptools.installing.verdicts import Problem, Verdict
from peep_setuptools.lock.model import LockLocation, LockSelection
from peep_setuptools.lock.parse import is_lock_file, load_pylock
from peep_setuptools.lock.select import is_locked_release, select_files
from peep_setuptools.requirements.files import load_reqfiles, merge_requirements
from peep_setuptools.requirements.lines import IndexOptions
from peep_setuptools.requirements.spec import ReqLine
from peep_setuptools.target import MarkerEvaluationError, Target, probe

# The network half (http and ssl, index, download, cache, backends, progress, report) is
# imported inside install() once there is something to fetch: a no-op run, where everything
# is installed already, never needs it, and importing it was a third of that run's time.
if TYPE_CHECKING:
    from peep_setuptools.checks.completeness import Completeness
    from peep_setuptools.index.http import HttpClient
    from peep_setuptools.index.pages import IndexClient
    from peep_setuptools.installing.backends import Compile, InstallerBackend, VerifiedArchive
    from peep_setuptools.installing.fetch import Outcome, Session
    from peep_setuptools.installing.picking import Filters
    from peep_setuptools.installing.pinning import Pins
    from peep_setuptools.installing.progress import Progress
    from peep_setuptools.installing.strictbuild import BuildStage

logger = logging.getLogger("peep_setuptools")

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
    quiet: bool = False
    #: the installer's output goes to stderr (stdout carries a JSON report)
    installer_output_to_stderr: bool = False
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
) -> InstallResult:
    """Verify every archive named by the files, then install them all in one installer call.

    Archives come from the verified cache when it holds one with an allowed hash (re-hashed
    on the way out), else from the index; ``progress`` hears about each of them.

    Raises VerificationFailed (its ``report`` is peep's text) when any hash is missing or
    wrong or any archive cannot be had, and other PeepErrors for bad input; nothing is
    installed unless every archive verified.
    """
    options = options or InstallOptions()
    environ = os.environ if options.environ is None else options.environ
    locks = [*options.lock_files, *(f for f in requirement_files if is_lock_file(f))]
    if not requirement_files and not locks:
        raise RequirementsFileError("no requirements file given; use -r FILE")
    reqset = load_reqfiles([f for f in requirement_files if not is_lock_file(f)], environ=environ)
    target = probe(options.python)
    applicable, not_applicable = _split_by_markers(reqset.requirements, target)
    locked = _from_locks(locks, target, options.index.only_binary | reqset.options.only_binary)
    applicable += locked.requirements
    not_applicable += locked.not_applicable
    for req in not_applicable:
        logger.info(
            "Ignoring %s (%s): markers do not apply to this interpreter", req.text, req.location
        )
    requirements = merge_requirements(applicable)
    build_reqs: tuple[ReqLine, ...] = ()
    if options.strict and options.build_requirements:
        build_set = load_reqfiles(options.build_requirements, environ=environ)
        build_reqs = merge_requirements(_split_by_markers(build_set.requirements, target)[0])
    # A dry run verifies every archive the files name, installed or not.
    to_fetch, skipped = _split_installed(
        requirements,
        target,
        options.force_reinstall or options.fetch_installed or options.dry_run,
    )
    for req in skipped:
        logger.info("Skipping %s==%s: already installed.", req.display_name, req.version)
    if not to_fetch:
        logger.info("Nothing to install: every requirement is installed at its pinned version.")
        return InstallResult((), skipped, not_applicable, (), options.dry_run)
    from peep_setuptools.installing.builtwheels import with_built_wheels
    from peep_setuptools.installing.cache import default_cache_dir, open_cache
    from peep_setuptools.installing.cachetrust import default_key_file
    from peep_setuptools.installing.fetch import (
        Session,
        fetch_all,
        quarantine_mismatched,
        summary,
    )
    from peep_setuptools.installing.pinning import check_dependencies, log_dependencies
    from peep_setuptools.installing.progress import NoProgress
    from peep_setuptools.installing.report import render
    from peep_setuptools.installing.settings import resolve_settings

    # Before any download: an installer that is asked for but missing fails fast.
    chosen = None if options.dry_run else backend or _backend(options)

    settings = resolve_settings(
        environ,
        reqset.options,
        options.index,
        cert=options.cert,
        timeout=options.timeout,
        retries=options.retries,
    )
    cache_root = options.cache_dir or default_cache_dir(environ)
    cache = None if options.no_cache else open_cache(cache_root, default_key_file(environ))
    progress = progress or NoProgress()

    workdir = tempfile.mkdtemp(prefix="peep-")  # 0700: only we can swap files in it
    client = settings.open()
    http = client.http
    try:
        session = Session(
            target=target,
            options=settings.options,
            client=client,
            http=http,
            workdir=workdir,
            cache=cache,
            progress=progress,
            cache_in_place=chosen is not None and chosen.name == "uv",
        )
        progress.begin(len(to_fetch) + len(build_reqs))
        try:
            outcomes: list[Outcome] = fetch_all(session, to_fetch, options.jobs)
            build_fetched = fetch_build_requirements(session, build_reqs, options.jobs)
        finally:
            progress.end()
        outcomes += [Problem(req, message) for req, message in locked.problems]
        stage = _build_stage(session, outcomes, build_fetched) if options.strict else None
        if stage is not None:
            outcomes += stage.report
        verdicts = tuple(o for o in outcomes if isinstance(o, Verdict))
        problems = [o for o in outcomes if isinstance(o, Problem)]
        note = stage.note if stage is not None else None
        files = (*reqset.files, *locks)
        completeness: Completeness | None = None
        pins: Pins | None = None
        dependencies = ""
        if options.check_dependencies:
            completeness, pins, dependencies = check_dependencies(
                session,
                verdicts,
                requirements,
                files,
                refuse=not options.allow_incomplete,
                filters=options.pin_filters,
            )
        report = render(verdicts, problems, note=note, dependencies=dependencies)
        if options.keep_mismatched:
            quarantine_mismatched(verdicts, options.keep_mismatched)
        left_out: Collection[str] = ()
        if observer is not None:
            left_out = observer.verified(
                Verified(
                    target,
                    files,
                    requirements,
                    skipped,
                    not_applicable,
                    verdicts,
                    tuple(problems),
                    session.client,
                    http,
                    stage.proposed if stage is not None else (),
                    completeness,
                    pins,
                )
            )
        if report:
            missing = len(completeness.missing) if completeness and pins else 0
            raise VerificationFailed(summary(verdicts, problems, missing), report)
        if completeness is not None:
            log_dependencies(completeness)
        skipped += tuple(v.requirement for v in verdicts if v.requirement.name in left_out)
        archives = tuple(_archive(v) for v in verdicts if v.requirement.name not in left_out)
        if not archives and not options.dry_run:
            logger.info("Nothing to install: every installed copy checked out.")
            return InstallResult((), skipped, not_applicable, verdicts, False)
        if options.dry_run:
            why = options.dry_run_reason
            reason = f"; not installing ({why})" if why else ""
            logger.info("All %d archives match their hashes%s.", len(verdicts), reason)
            return InstallResult((), skipped, not_applicable, verdicts, True)
        assert chosen is not None  # noqa: S101 -- set whenever this is not a dry run
        build_index = settings.build_index()
        if stage is not None:
            from peep_setuptools.installing.strictbuild import build_all

            archives = build_all(session, stage.builder, archives)
        archives = with_built_wheels(
            archives, chosen, cache, target=target, workdir=workdir, build_index=build_index
        )
        chosen.install(
            archives,
            target=target,
            workdir=workdir,
            build_index=build_index,
            force_reinstall=True,
        )
        return InstallResult(archives, skipped, not_applicable, verdicts, False)
    finally:
        http.close()
        shutil.rmtree(workdir, ignore_errors=True)


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


def _split_by_markers(
    requirements: Sequence[ReqLine], target: Target
) -> tuple[list[ReqLine], tuple[ReqLine, ...]]:
    applicable: list[ReqLine] = []
    skipped: list[ReqLine] = []
    for req in requirements:
        if req.marker is None:
            applicable.append(req)
            continue
        try:
            applies = target.marker_holds(req.marker)
        except MarkerEvaluationError as exc:
            raise RequirementsFileError(
                f"{req.location}: cannot evaluate the marker of {req.text!r}: {exc}"
            ) from exc
        (applicable if applies else skipped).append(req)
    return applicable, tuple(skipped)


def _split_installed(
    requirements: Sequence[ReqLine], target: Target, force: bool
) -> tuple[tuple[ReqLine, ...], tuple[ReqLine, ...]]:
    """Requirements to fetch, and those installed at their pinned version (left alone).

    Only a requirement with hashes is ever left alone: one without is fetched, so that the
    missing-hash block can give its line to add, and the run fails, installed or not.
    """
    to_fetch: list[ReqLine] = []
    skipped: list[ReqLine] = []
    for req in requirements:
        installed = target.installed_version(req.name)
        if (
            not force
            and req.digests
            and _pins_a_version(req)
            and installed is not None
            and req.version is not None
            and installed == Version(req.version)
        ):
            skipped.append(req)
        else:
            to_fetch.append(req)
    return tuple(to_fetch), tuple(skipped)


def _pins_a_version(req: ReqLine) -> bool:
    # URL requirements always reinstall: a same-version archive must replace the code. A
    # lock file's wheel or sdist of a locked version is a pin like ``name==version``.
    return req.url is None or is_locked_release(req)


def _archive(verdict: Verdict) -> VerifiedArchive:
    """The verified file, and what the environment is to record about it (``recorded.py``)."""
    from peep_setuptools.installing.backends import VerifiedArchive
    from peep_setuptools.urls import strip_credentials

    req = verdict.requirement
    index_file = isinstance(req.location, LockLocation) and req.location.index_file
    url = None if req.url is None or index_file else strip_credentials(req.url)
    digest = verdict.actual["sha256"]
    return VerifiedArchive(req.name, verdict.path, digest, req.version, url, digest)


def _backend(options: InstallOptions) -> InstallerBackend:
    from peep_setuptools.installing.backends import PipBackend, UvBackend, find_uv

    if options.installer == "uv":
        find_uv()
        return UvBackend(options.compile, options.quiet, options.installer_output_to_stderr)
    return PipBackend(options.compile, options.quiet, options.installer_output_to_stderr)


# -- lock files ---------------------------------------------------------------------------


def _from_locks(paths: Sequence[str], target: Target, only_binary: frozenset[str]) -> LockSelection:
    """The requirements PEP 751 lock files ask of the target: chosen URLs with their hashes."""
    chosen: list[ReqLine] = []
    skipped: list[ReqLine] = []
    problems: list[tuple[ReqLine, str]] = []
    for path in paths:
        lock = load_pylock(path)
        for warning in lock.warnings:
            logger.warning("%s", warning)
        selection = select_files(
            lock,
            marker_env=target.marker_env,
            tags=target.tags,
            python_version=target.python_version,
            only_binary=only_binary,
        )
        chosen += selection.requirements
        skipped += selection.not_applicable
        problems += selection.problems
    return LockSelection(tuple(chosen), tuple(skipped), tuple(problems))
