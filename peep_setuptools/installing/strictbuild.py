"""--strict in the pipeline: fetch verified build dependencies, then build every sdist with them.

``strict.py`` knows how to read and build one sdist; this module runs it over a whole install
(``api`` imports it only for --strict). Unmet build requirements are fetched like any other
requirement, so they are reported in peep's words: a pin and hash to add, or a mismatch.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import replace

from packaging.utils import canonicalize_name

from peep_setuptools.archives import is_wheel
from peep_setuptools.errors import DownloadError, VerificationFailed
from peep_setuptools.hashes import hash_file
from peep_setuptools.installing import strict
from peep_setuptools.installing.backends import VerifiedArchive
from peep_setuptools.installing.builddeps import BuildRequirement
from peep_setuptools.installing.fetch import Outcome, Session, fetch_one, summary
from peep_setuptools.installing.report import render
from peep_setuptools.installing.verdicts import Problem, Verdict
from peep_setuptools.requirements.files import ReqLine
from peep_setuptools.target import Target

logger = logging.getLogger("peep_setuptools")


def builder(target: Target, workdir: str, fetched: Sequence[Outcome]) -> strict.StrictBuilder:
    """A builder whose build environments may use the verified wheels among ``fetched``."""
    tools = strict.tools_from(o.path for o in fetched if isinstance(o, Verdict) and o.kind == "ok")
    return strict.StrictBuilder(
        python=target.python, tools=tools, marker_env=target.marker_env, workdir=workdir
    )


def _candidates(session: Session, unmet: Sequence[BuildRequirement], start: int) -> list[Outcome]:
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
            version = strict.pin_candidate(need, session.client.find_links(name))
        except DownloadError as exc:
            outcomes.append(Problem(line, f"build dependency {req}: {exc}"))
            continue
        if version is None:
            outcomes.append(
                Problem(line, f"build dependency {req} not found on {session.index_names}")
            )
            continue
        lines.append(replace(line, text=f"{req.name}=={version}", version=version))
    # Numbered past the requirements' own download folders, so that none is reused.
    outcomes += [fetch_one(session, start + i, line) for i, line in enumerate(lines)]
    return outcomes


def unmet_build_requirements(
    session: Session, builder: strict.StrictBuilder, outcomes: Sequence[Outcome]
) -> list[Outcome]:
    """--strict, before anything runs: every verified sdist's static build requirements."""
    unmet: dict[str, BuildRequirement] = {}
    for outcome in outcomes:
        if isinstance(outcome, Verdict) and outcome.kind == "ok" and not is_wheel(outcome.path):
            _, missing = builder.static_unmet(outcome.path)
            for need in missing:
                unmet.setdefault(str(need.requirement), need)
    return _candidates(session, list(unmet.values()), 10000) if unmet else []


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
        system, _ = builder.static_unmet(archive.path)
        outcome = builder.prepare(archive.path, system, number)
        if isinstance(outcome, strict.Prepared):
            prepared[archive.path] = outcome
        else:
            unmet += outcome
    if unmet:
        found = _candidates(session, unmet, 20000)
        verdicts = [o for o in found if isinstance(o, Verdict)]
        problems = [o for o in found if isinstance(o, Problem)]
        raise VerificationFailed(summary(verdicts, problems), render(verdicts, problems))
    built: list[VerifiedArchive] = []
    for archive in archives:
        if archive.path in prepared:
            path = builder.build(prepared[archive.path])
            logger.info("Built %s with verified build dependencies only", os.path.basename(path))
            built.append(VerifiedArchive(archive.name, path, hash_file(path)["sha256"]))
        else:
            built.append(archive)
    return tuple(built)
