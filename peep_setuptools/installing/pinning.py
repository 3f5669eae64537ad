"""The dependency step of a run: what verified archives need that no line pins, and its pins.

The pins are picked as ``peep add`` picks (``picking``): the newest fitting version, every
file of it hashed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from peep_setuptools.checks.completeness import Completeness, Examined, check_completeness
from peep_setuptools.checks.metadata import Dependencies, read_dependencies
from peep_setuptools.errors import IndexLookupError, PeepError
from peep_setuptools.installing.fetch import Session
from peep_setuptools.installing.report import render_dependencies
from peep_setuptools.installing.verdicts import Verdict
from peep_setuptools.requirements.spec import HashStyle, ReqLine
from peep_setuptools.target import Target
from peep_setuptools.urls import redacting_repr

# Picking pins looks projects up; a run whose files are complete never loads that code.
if TYPE_CHECKING:
    from peep_setuptools.index.http import HttpClient
    from peep_setuptools.index.pages import IndexClient
    from peep_setuptools.installing.picking import Filters
    from peep_setuptools.requirements.editing import NewRequirement

logger = logging.getLogger(__name__)


@redacting_repr
@dataclass(frozen=True)
class Pins:
    """The lines that would make a run complete, by the file each goes into."""

    #: (file, the requirements to add to it or replace in it); file is "" when the run
    #: read lock files only, which are not edited in place
    by_file: tuple[tuple[str, tuple[NewRequirement, ...]], ...]
    #: dependencies no version fits, each said as a clause: "no version of x>=2 fits on URL"
    unfound: tuple[str, ...]
    #: the indexes the hashes came from, for the trust-on-first-use note
    where: str


def check_dependencies(
    session: Session,
    verdicts: Sequence[Verdict],
    requirements: Sequence[ReqLine],
    files: Sequence[str],
    *,
    refuse: bool,
    filters: Filters | None = None,
) -> tuple[Completeness, Pins | None, str]:
    """The dependency step: what the verified archives need that no line pins.

    When ``refuse`` and something is missing, also the pins that would complete the files
    and the report's block with them (else None and ""). ``filters`` choose the files hashed.
    """
    completeness = examine(verdicts, requirements, session.target, files)
    if completeness.complete or not refuse:
        return completeness, None, ""
    from peep_setuptools.installing.picking import Filters  # see the imports above

    filters = filters or Filters()
    pins = pins_for(
        completeness,
        requirements,
        files,
        client=session.client,
        http=session.http,
        filters=filters,
        python=session.target.python_version,
    )
    # as ``peep add`` writes them: the file's own format (a line without hashes has it too)
    pip_files = {r.location.path for r in requirements if r.hash_style == "pip"}
    styles: dict[str, HashStyle] = {
        path: filters.style or ("pip" if path in pip_files else "peep") for path, _ in pins.by_file
    }
    return completeness, pins, render_dependencies(completeness, pins, styles)


def log_dependencies(completeness: Completeness) -> None:
    """Warn of missing dependencies (--allow-incomplete); notes of what was not checked."""
    if completeness.missing:
        logger.warning("%s", completeness.render().rstrip())
        return
    notes = completeness.render_notes()
    if notes:
        logger.info("%s", notes)


def examine(
    verdicts: Sequence[Verdict],
    requirements: Sequence[ReqLine],
    target: Target,
    files: Sequence[str],
) -> Completeness:
    """Read each verified archive's dependencies and check them against the requirements."""
    examined = [Examined(v.requirement, _dependencies(v)) for v in verdicts if v.kind == "ok"]
    return check_completeness(
        examined,
        requirements,
        marker_env=target.marker_env,
        files=files,
        installed=target.installed,
    )


def _dependencies(verdict: Verdict) -> Dependencies:
    """What a verified archive declares: from its wheel's facts, else read from the file."""
    if verdict.facts is not None:
        return verdict.facts.dependencies(verdict.local_path)
    return read_dependencies(verdict.local_path)


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
    from peep_setuptools.installing.picking import hash_version, newest_version
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
