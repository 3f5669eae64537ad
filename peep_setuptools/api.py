"""The one pipeline every front end calls: parse, find, fetch, verify, and only then install."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from peep_setuptools.errors import VerificationFailed, interrupts_deferred
from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import hash_files as hash_files  # public here too: api.hash_files
from peep_setuptools.installing.plan import Plan, plan
from peep_setuptools.values import (
    EnvironmentCheck,
    InstalledArchive,
    InstallerOutput,
    InstallOptions,
    InstallResult,
    Verified,
)

# The network half (http and ssl, index, download, cache, backends, progress, report) is imported
# in install() once there is something to fetch: a no-op run never needs it (a third of its time).
if TYPE_CHECKING:
    from peep_setuptools.checks.completeness import Completeness
    from peep_setuptools.checks.installed import InstalledCheck
    from peep_setuptools.installing.backends import BuildIndex, InstallerBackend, VerifiedArchive
    from peep_setuptools.installing.fetch import Outcome, Session
    from peep_setuptools.installing.picking import Pins
    from peep_setuptools.installing.progress import Progress
    from peep_setuptools.installing.settings import IndexSettings
    from peep_setuptools.installing.strictbuild import BuildStage
    from peep_setuptools.installing.verdicts import Problem, Verdict
    from peep_setuptools.requirements.spec import ReqLine

logger = logging.getLogger(__name__)


def install(
    requirement_files: Sequence[str],
    options: InstallOptions | None = None,
    *,
    backend: InstallerBackend | None = None,
    progress: Progress | None = None,
    output: InstallerOutput | None = None,
) -> InstallResult:
    """Verify every archive named by the files, then install them all in one installer call.

    Archives come from the verified cache when it holds one with an allowed hash (re-hashed
    on the way out), else from the index; ``progress`` hears about each of them. Without
    a ``backend``, the one ``options.installer`` names is made, writing as ``output`` says.

    Raises VerificationFailed (its ``report`` is peep's text, its ``verified`` the values)
    when any hash is missing or wrong or any archive cannot be had, and other PeepErrors
    for bad input; nothing is installed unless every archive verified.

    The pipeline: ``plan`` (files and target, no network) -> ``fetch_and_verify`` ->
    ``keep_intact`` (``verify_installed`` only) -> ``build`` (--strict, and wheels from the
    cache) -> the installer backend.
    """
    options = options or InstallOptions()
    environ = os.environ if options.environ is None else options.environ
    # A dry run verifies every archive the files name, installed or not.
    fetch_installed = options.force_reinstall or options.verify_installed or options.dry_run
    planned = _plan(requirement_files, options, environ, fetch_installed=fetch_installed)
    if not planned.to_fetch:
        logger.info(_NOTHING_TO_FETCH)
        return InstallResult((), planned.skipped, planned.not_applicable, (), options.dry_run)
    # Before any download: an installer that is asked for but missing fails fast.
    chosen = None if options.dry_run else backend or _backend(options, output or InstallerOutput())
    with _verifying(planned, options, environ, progress, chosen) as run:
        checks = keep_intact(run, options.dry_run) if options.verify_installed else ()
        _note_dependencies(run.checked)
        return _install(run, options, run.installer, checks)


def verify(
    requirement_files: Sequence[str],
    options: InstallOptions | None = None,
    *,
    progress: Progress | None = None,
) -> Verified:
    """Fetch every archive the files name, installed or not, and check it; install nothing.

    Returns the verdicts (and, unless ``options.check_dependencies`` is off, what the
    archives need that no line pins). Raises VerificationFailed, whose ``verified`` is
    this same value, when anything failed; other PeepErrors for bad input.
    """
    return _verify(requirement_files, options, progress, installed=False).verified


def verify_environment(
    requirement_files: Sequence[str],
    options: InstallOptions | None = None,
    *,
    progress: Progress | None = None,
) -> EnvironmentCheck:
    """``verify``, then compare each verified archive with its installed copy (``peep verify``).

    Changes nothing. Raises as ``verify`` does, and TargetError when the target's files
    cannot be listed.
    """
    return _verify(requirement_files, options, progress, installed=True)


_NOTHING_TO_FETCH = "Nothing to install: every requirement is installed at its pinned version."
# verify and verify_environment fetch what is installed too: only markers leave nothing to do
_NOTHING_TO_CHECK = "Nothing to check: no requirement applies to this interpreter."
_NOTHING_TO_VERIFY = "Nothing to verify: no requirement applies to this interpreter."


def _verify(
    requirement_files: Sequence[str],
    options: InstallOptions | None,
    progress: Progress | None,
    *,
    installed: bool,
) -> EnvironmentCheck:
    options = options or InstallOptions()
    environ = os.environ if options.environ is None else options.environ
    planned = _plan(requirement_files, options, environ, fetch_installed=True)
    if not planned.to_fetch:
        logger.info(_NOTHING_TO_VERIFY if installed else _NOTHING_TO_CHECK)
        return EnvironmentCheck(Verified.unfetched(planned), ())
    with _verifying(planned, options, environ, progress, None) as run:
        if installed:
            from peep_setuptools.installing.intact import compare_installed

            checks = compare_installed(planned.target, run.verified.verdicts)
        else:
            checks = ()
        _note_dependencies(run.checked)
    logger.info("All %d archives match their hashes.", len(run.verified.verdicts))
    return EnvironmentCheck(run.verified.detached(), checks)


def _plan(
    requirement_files: Sequence[str],
    options: InstallOptions,
    environ: Mapping[str, str],
    *,
    fetch_installed: bool,
) -> Plan:
    return plan(
        requirement_files,
        environ=environ,
        python=options.python,
        lock_files=options.lock_files,
        only_binary=options.index.only_binary,
        build_requirements=options.build_requirements if options.strict else (),
        fetch_installed=fetch_installed,
    )


@frozen
class _Run:
    """A run inside its session, once every archive verified."""

    planned: Plan
    session: Session
    settings: IndexSettings
    checked: Checked
    verified: Verified
    installer: InstallerBackend | None  # with what it started as we fetched (started_ahead)


@contextlib.contextmanager
def _verifying(
    planned: Plan,
    options: InstallOptions,
    environ: Mapping[str, str],
    progress: Progress | None,
    chosen: InstallerBackend | None,
) -> Iterator[_Run]:
    """Fetch and verify in a new session; raise VerificationFailed unless all verified."""
    session_of = _session(planned, options, environ, progress, chosen)
    with session_of as (session, settings), _ahead(chosen, planned, session, options) as installer:
        checked = fetch_and_verify(planned, session, options)
        verified = dataclasses.replace(
            Verified.unfetched(planned),
            verdicts=checked.verdicts,
            problems=checked.problems,
            index=settings,
            build_proposed=checked.build_stage.proposed if checked.build_stage else (),
            completeness=checked.completeness,
            pins=checked.pins,
        )
        if checked.report:
            raise VerificationFailed(
                checked.summary,
                checked.report,
                verdicts=_detached(checked.verdicts),
                problems=checked.problems,
                verified=verified.detached(),  # the run's folder goes as this is raised
            )
        yield _Run(planned, session, settings, checked, verified, installer)


def _ahead(
    chosen: InstallerBackend | None, planned: Plan, session: Session, options: InstallOptions
) -> contextlib.AbstractContextManager[InstallerBackend | None]:
    """``chosen`` with its installer starting now; not for --verify-installed (mostly intact)."""
    if chosen is None or options.verify_installed:
        return contextlib.nullcontext(chosen)
    from peep_setuptools.installing.ahead import started_ahead

    return started_ahead(chosen, planned.target, session.workdir, planned.to_fetch)


def _detached(verdicts: Sequence[object]) -> tuple[object, ...]:
    """Verdicts as the library returns them: the files they name go with the run's folder."""
    from peep_setuptools.installing.verdicts import Verdict

    return tuple(v.detached() if isinstance(v, Verdict) else v for v in verdicts)


def _note_dependencies(checked: Checked) -> None:
    """Warn of missing dependencies (--allow-incomplete); note what was not checked."""
    if checked.completeness is not None:
        from peep_setuptools.installing.pinning import log_dependencies

        log_dependencies(checked.completeness)


def keep_intact(run: _Run, dry_run: bool) -> tuple[InstalledCheck, ...]:
    """The ``verify_installed`` stage: which installed copies need no reinstall (``intact``)."""
    from peep_setuptools.installing import intact

    return intact.keep_intact(run.planned.target, run.verified.verdicts, dry_run=dry_run)


def _install(
    run: _Run,
    options: InstallOptions,
    chosen: InstallerBackend | None,
    checks: tuple[InstalledCheck, ...],
) -> InstallResult:
    """Build and install what verified, less the installed copies ``checks`` found intact."""
    from peep_setuptools.installing.backends import VerifiedArchive

    planned, verdicts, left_out = run.planned, run.verified.verdicts, _trusted(checks)
    skipped = planned.skipped + tuple(
        v.requirement for v in verdicts if v.requirement.name in left_out
    )
    archives = tuple(VerifiedArchive.of(v) for v in verdicts if v.requirement.name not in left_out)
    returned = run.verified.detached()  # the run's folder goes before the caller sees it

    def result(installed: tuple[VerifiedArchive, ...], dry_run: bool) -> InstallResult:
        given = tuple(InstalledArchive.of(a) for a in installed)
        return InstallResult(
            given, skipped, planned.not_applicable, returned.verdicts, dry_run, checks, returned
        )

    if not archives and not options.dry_run:
        logger.info("Nothing to install: every installed copy checked out.")
        return result((), False)
    if options.dry_run:
        logger.info(
            "All %d archives match their hashes; not installing (--dry-run).", len(verdicts)
        )
        return result((), True)
    assert chosen is not None  # noqa: S101 -- set whenever this is not a dry run
    build_index = run.settings.build_index()
    try:
        archives = build(run.session, run.checked, archives, chosen, build_index)
    except VerificationFailed as exc:
        # --strict found more build dependencies to pin: the run's verification stands
        raise VerificationFailed(
            str(exc),
            exc.report,
            verdicts=_detached(exc.verdicts),
            problems=exc.problems,
            verified=returned,
        ) from None
    if run.session.cache_in_place and run.session.cache is not None:
        from peep_setuptools.installing.uvlinks import linked

        archives = linked(archives, run.session.cache)  # uv: a few stable folders, not one each
    chosen.install(
        archives, target=planned.target, workdir=run.session.workdir, build_index=build_index
    )
    if checks:  # only what differed is checked
        from peep_setuptools.installing.intact import confirm_repaired

        confirm_repaired(planned.target, verdicts, checks)
    return result(archives, False)


def _trusted(checks: tuple[InstalledCheck, ...]) -> frozenset[str]:
    """The projects --verify-installed found intact (a plain install never loads ``intact``)."""
    if not checks:
        return frozenset()
    from peep_setuptools.installing.intact import trusted

    return trusted(checks)


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
    from peep_setuptools.installing.fetch import IndexConnection, Session
    from peep_setuptools.installing.progress import NoProgress
    from peep_setuptools.installing.settings import resolve_settings

    settings = resolve_settings(
        environ,
        planned.index,
        options.index,
        cert=options.cert,
        timeout=options.timeout,
        retries=options.retries,
        prefix=planned.target.prefix or None,
    )
    cache_root = options.cache_dir or default_cache_dir(environ)
    cache = None if options.no_cache else open_cache(cache_root, default_key_file(environ))
    # opened when something is not in the cache: a warm run never loads the HTTP code
    index = IndexConnection(settings.open)
    # uv and pip (--require-hashes) hash again the wheels they install; --strict and
    # --verify-installed read the wheels themselves: theirs must be private copies
    rehashing = None if options.strict or options.verify_installed else chosen
    # last before the try that removes it: a signal in between left it behind
    workdir = tempfile.mkdtemp(prefix="peep-")  # 0700: only we can swap files in it
    try:
        yield (
            Session(
                target=planned.target,
                options=settings.options,
                index=index,
                workdir=workdir,
                cache=cache,
                progress=progress or NoProgress(),
                cache_in_place=rehashing is not None and rehashing.name == "uv",
                cache_linked=rehashing is not None and rehashing.name == "pip",
            ),
            settings,
        )
    finally:
        with interrupts_deferred():  # a second Ctrl-C must not leave part of the folder
            index.close()
            shutil.rmtree(workdir, ignore_errors=True)


@frozen
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
    from peep_setuptools.installing.verdicts import Problem, Verdict, with_facts

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
    verdicts = with_facts([o for o in outcomes if isinstance(o, Verdict)])
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
        in_place=session.cache_in_place,
        link=session.cache_linked,
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


def port_file(
    paths: Sequence[str],
    *,
    to: Literal["pip", "peep", "pylock"] = "pip",
    environ: Mapping[str, str] | None = None,
    options: InstallOptions | None = None,
    lock_dir: str | None = None,
) -> str:
    """Return the files rewritten in another format.

    Requirement files become one requirements file in pip's or peep's hash format (includes
    flattened, comments kept), or with ``to="pylock"`` a PEP 751 lock file whose files and
    hashes are looked up on the index (``options`` gives the index options, as for
    ``install``; local files get paths relative to ``lock_dir``, else absolute ones). A lock
    file (``pylock*.toml`` or any ``*.toml``) becomes a requirements file in pip's or peep's
    format. Raises UsageError, RequirementsFileError, IndexLookupError or DownloadError.
    """
    from peep_setuptools.port import port  # only `peep port` loads the porting, pylock writers

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


def _backend(options: InstallOptions, output: InstallerOutput) -> InstallerBackend:
    from peep_setuptools.installing.backends import backend_named

    return backend_named(options.installer, options.compile, output.quiet, output.to_stderr)
