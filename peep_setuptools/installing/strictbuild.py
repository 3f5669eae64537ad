"""--strict in the pipeline: the verified build environment, then every sdist built with it.

``strict.py`` knows how to read and build one sdist; this module runs it over a whole install
(``api`` imports it only for --strict). The pipeline's build stage is ``plan_environment``:
from the verified archives and the build requirements files' own outcomes it makes the
builder, and lists what to report. Build dependencies nobody pinned (the build requirements
of each sdist and, transitively, their dependencies) are proposed like ``peep add`` would
pin them, all in one missing-hash block, so one round of pasting is enough.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from collections.abc import Sequence

from packaging.utils import NormalizedName, canonicalize_name

from peep_setuptools.archives import is_wheel
from peep_setuptools.errors import BackendError, DownloadError, VerificationFailed
from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import hash_file
from peep_setuptools.installing import strict
from peep_setuptools.installing.backends import VerifiedArchive
from peep_setuptools.installing.builddeps import BuildRequirement
from peep_setuptools.installing.fetch import Outcome, Session, fetch_all, summary
from peep_setuptools.installing.picking import TOFU_NOTE, Filters, newest_version
from peep_setuptools.installing.report import render
from peep_setuptools.installing.verdicts import Problem, Verdict
from peep_setuptools.requirements.spec import ReqLine

logger = logging.getLogger(__name__)

#: Download threads for the build stage's own fetches (few files).
_JOBS = 4
#: At most this many build dependencies are proposed in one run (real closures: ~20).
MAX_PROPOSED = 200


@frozen
class BuildStage:
    """The build stage's result: the strict builder, and what stops the run if anything."""

    builder: strict.StrictBuilder
    #: failed build requirements, then the proposed pins for every missing build dependency
    report: tuple[Outcome, ...]
    #: the trust-on-first-use note the report needs when it proposes hashes
    note: str | None = None

    @property
    def proposed(self) -> tuple[Verdict, ...]:
        """The missing-hash verdicts of build dependencies no file pins (for ``check --fix``)."""
        return tuple(v for v in self.report if isinstance(v, Verdict) and v.kind == "missing")


def fetch_build_requirements(
    session: Session, build_requirements: Sequence[ReqLine], jobs: int
) -> tuple[Outcome, ...]:
    """Fetch and verify the --build-requirements files' pins, in folders of their own."""
    if not build_requirements:
        return ()
    return tuple(fetch_all(_own_folder(session, "build-requirements-"), build_requirements, jobs))


def plan_environment(
    session: Session, requirements: Sequence[Outcome], build_requirements: Sequence[Outcome]
) -> BuildStage:
    """--strict, before anything runs: the builder, and every static build need it lacks.

    Its tools are the verified wheels among both lists; each verified sdist's build
    requirements must be met by them, with their whole dependency closure.
    """
    verified = [*requirements, *build_requirements]
    tools = strict.tools_from(
        o.local_path for o in verified if isinstance(o, Verdict) and o.kind == "ok"
    )
    builder = strict.StrictBuilder(
        python=session.target.python,
        tools=tools,
        marker_env=session.target.marker_env,
        workdir=session.workdir,
    )
    failed = [o for o in build_requirements if not (isinstance(o, Verdict) and o.kind == "ok")]
    needs: list[BuildRequirement] = []
    for outcome in requirements:
        if isinstance(outcome, Verdict) and outcome.kind == "ok" and not is_wheel(outcome.filename):
            needs += builder.read(outcome.local_path).requires
    report = (*failed, *propose(session, builder, needs))
    return BuildStage(builder, report, tofu_note(session, report))


def propose(
    session: Session, builder: strict.StrictBuilder, needs: Sequence[BuildRequirement]
) -> list[Outcome]:
    """The closure of ``needs`` that verified tools lack, as peep's missing-hash verdicts.

    Each missing member is fetched (picked like ``peep add``: newest fitting release,
    wheels only); its own metadata (read, never run) then names the next ones, until
    nothing is missing, so that the one report lists them all.
    """
    reported: list[Outcome] = []
    proposed: list[strict.Tool] = []
    asked: set[NormalizedName] = set()
    while True:
        unmet = builder.unmet(needs, proposed)
        new: dict[NormalizedName, BuildRequirement] = {}
        for need in unmet:
            name = canonicalize_name(need.requirement.name)
            if name not in asked:
                new.setdefault(name, need)
        if not new:
            return reported
        asked.update(new)
        if len(asked) > MAX_PROPOSED:
            # Unverified metadata names the next round: an index must not make it endless.
            raise BackendError(
                f"the build dependencies of these sdists name more than {MAX_PROPOSED} "
                f"projects that no file pins ({', '.join(sorted(asked)[:10])}, ...); "
                "not fetching more. Pin the build environment in --build-requirements."
            )
        found = _candidates(session, list(new.values()))
        reported += found
        proposed += strict.tools_from(
            o.local_path for o in found if isinstance(o, Verdict) and o.kind == "missing"
        )


def _candidates(session: Session, unmet: Sequence[BuildRequirement]) -> list[Outcome]:
    """Fetch what the index offers for unmet build requirements: peep's missing-hash block."""
    lines: list[ReqLine] = []
    outcomes: list[Outcome] = []
    for need in unmet:
        req = need.requirement
        name = canonicalize_name(req.name)
        line = ReqLine(
            location=need.location,
            text=str(req),
            name=name,
            display_name=req.name,
            version=None,
            url=None,
            extras=(),
            marker=None,
            digests=(),
            hash_style="pip",
        )
        try:
            version = newest_version(
                session.client.find_links(name),
                name,
                specifier=req.specifier,
                filters=Filters(),
                python=session.target.python_version,
            )
        except DownloadError as exc:
            outcomes.append(Problem(line, f"build dependency {req}: {exc}"))
            continue
        if version is None:
            outcomes.append(
                Problem(line, f"build dependency {req} not found on {session.client.where}")
            )
            continue
        lines.append(dataclasses.replace(line, text=f"{req.name}=={version}", version=str(version)))
    if lines:
        # Build environments are made of wheels: an sdist would be no use to one.
        wheels = dataclasses.replace(
            session.options, only_binary=session.options.only_binary | {":all:"}
        )
        into = dataclasses.replace(_own_folder(session, "build-dependencies-"), options=wheels)
        outcomes += fetch_all(into, lines, _JOBS)
    return outcomes


def tofu_note(session: Session, outcomes: Sequence[Outcome]) -> str | None:
    """The trust-on-first-use note for a report that proposes hashes, else None."""
    if any(isinstance(o, Verdict) and o.kind == "missing" for o in outcomes):
        return TOFU_NOTE.format(where=session.client.where)
    return None


def build_all(
    session: Session,
    builder: strict.StrictBuilder,
    archives: Sequence[VerifiedArchive],
) -> tuple[VerifiedArchive, ...]:
    """Build every sdist from verified wheels only; dynamic needs are checked first."""
    prepared: dict[str, strict.Prepared] = {}
    unmet: list[BuildRequirement] = []
    for number, archive in enumerate(archives):
        if is_wheel(archive.path):
            continue
        outcome = builder.prepare(archive.path, builder.read(archive.path), number)
        if isinstance(outcome, strict.Prepared):
            prepared[archive.path] = outcome
        else:
            unmet += outcome
    if unmet:
        found = propose(session, builder, unmet)
        verdicts = [o for o in found if isinstance(o, Verdict)]
        problems = [o for o in found if isinstance(o, Problem)]
        report = render(verdicts, problems, note=tofu_note(session, found))
        raise VerificationFailed(
            summary(verdicts, problems), report, verdicts=verdicts, problems=problems
        )
    built: list[VerifiedArchive] = []
    for archive in archives:
        if archive.path in prepared:
            path = builder.build(prepared[archive.path])
            logger.info("Built %s with verified build dependencies only", os.path.basename(path))
            built.append(dataclasses.replace(archive, path=path, digest=hash_file(path)["sha256"]))
        else:
            built.append(archive)
    return tuple(built)


def _own_folder(session: Session, prefix: str) -> Session:
    """The session, downloading into a new folder of the run's workdir (no number clashes)."""
    return dataclasses.replace(
        session, workdir=tempfile.mkdtemp(prefix=prefix, dir=session.workdir)
    )
