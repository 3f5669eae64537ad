"""The first stage of ``install``: what the files ask of the target, before any network."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from packaging.version import Version

from peep_setuptools.errors import RequirementsFileError
from peep_setuptools.frozen import frozen
from peep_setuptools.lock.names import is_lock_file
from peep_setuptools.requirements.files import load_reqfiles, merge_requirements
from peep_setuptools.requirements.lines import IndexOptions
from peep_setuptools.requirements.spec import ReqLine
from peep_setuptools.target import MarkerEvaluationError, Target, probe
from peep_setuptools.urls import redact_text

if TYPE_CHECKING:
    from peep_setuptools.lock.model import LockSelection

logger = logging.getLogger(__name__)


@frozen
class Plan:
    """The first stage's result: what the files ask of the target, before any network."""

    target: Target
    #: the requirement files read, includes too, then the lock files
    files: tuple[str, ...]
    #: the index options the files give
    index: IndexOptions
    #: the requirements that apply to the target, merged
    requirements: tuple[ReqLine, ...]
    #: what to fetch and verify: ``requirements`` less ``skipped``
    to_fetch: tuple[ReqLine, ...]
    #: named requirements already installed at their pinned version
    skipped: tuple[ReqLine, ...]
    #: requirements whose markers do not apply to the target
    not_applicable: tuple[ReqLine, ...]
    #: lock-file packages with no file for the target, and why
    lock_problems: tuple[tuple[ReqLine, str], ...] = ()
    #: --strict: the pinned build dependencies (never installed)
    build_requirements: tuple[ReqLine, ...] = ()


def plan(
    requirement_files: Sequence[str],
    *,
    environ: Mapping[str, str],
    python: str | None = None,
    lock_files: Sequence[str] = (),
    only_binary: frozenset[str] = frozenset(),
    build_requirements: Sequence[str] = (),
    fetch_installed: bool = False,
) -> Plan:
    """Read the files and probe the target: what to fetch, skip, and leave out.

    ``only_binary`` comes from the command line (the files add theirs); ``build_requirements``
    are --strict's files of pinned build dependencies; ``fetch_installed`` fetches and
    verifies what is installed at its pinned version too.

    Raises RequirementsFileError for bad input, TargetError if the target cannot be probed.
    """
    locks = [*lock_files, *(f for f in requirement_files if is_lock_file(f))]
    if not requirement_files and not locks:
        raise RequirementsFileError("no requirements file given; use -r FILE")
    reqset = load_reqfiles([f for f in requirement_files if not is_lock_file(f)], environ=environ)
    target = probe(python)
    applicable, not_applicable = _split_by_markers(reqset.requirements, target)
    lock_problems: tuple[tuple[ReqLine, str], ...] = ()
    if locks:
        locked = _from_locks(locks, target, only_binary | reqset.options.only_binary)
        applicable += locked.requirements
        not_applicable += locked.not_applicable
        lock_problems = locked.problems
    for req in not_applicable:
        logger.info(
            "Ignoring %s (%s): markers do not apply to this interpreter",
            redact_text(req.text),
            req.location,
        )
    requirements = merge_requirements(applicable)
    build_reqs: tuple[ReqLine, ...] = ()
    if build_requirements:
        build_set = load_reqfiles(build_requirements, environ=environ)
        build_reqs = merge_requirements(_split_by_markers(build_set.requirements, target)[0])
    to_fetch, skipped = _split_installed(requirements, target, fetch_installed)
    for req in skipped:
        logger.info("Skipping %s==%s: already installed.", req.display_name, req.version)
    return Plan(
        target,
        (*reqset.files, *locks),
        reqset.options,
        tuple(requirements),
        to_fetch,
        skipped,
        not_applicable,
        lock_problems,
        build_reqs,
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
                f"{req.location}: cannot evaluate the marker of {redact_text(req.text)!r}: {exc}"
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
    if req.url is None:
        return True
    from peep_setuptools.lock.select import is_locked_release  # see _from_locks

    return is_locked_release(req)


# -- lock files ---------------------------------------------------------------------------


def _from_locks(paths: Sequence[str], target: Target, only_binary: frozenset[str]) -> LockSelection:
    """The requirements PEP 751 lock files ask of the target: chosen URLs with their hashes."""
    # Imported here: a run without lock files (most) never loads the lock-file code.
    from peep_setuptools.lock.model import LockSelection
    from peep_setuptools.lock.parse import load_pylock
    from peep_setuptools.lock.select import select_files

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
