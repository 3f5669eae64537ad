"""The dependency step of a run: what verified archives need that no line pins, and its pins.

The pins are picked as ``peep add`` picks (``picking``): the newest fitting version, every
file of it hashed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from peep_setuptools.checks.completeness import Completeness, Examined, check_completeness
from peep_setuptools.checks.metadata import Dependencies, read_dependencies
from peep_setuptools.installing.fetch import Session
from peep_setuptools.installing.report import render_dependencies
from peep_setuptools.installing.verdicts import Verdict
from peep_setuptools.requirements.spec import HashStyle, ReqLine
from peep_setuptools.target import Target

# Picking pins looks projects up (``picking.pins_for``, which makes the Pins): a run whose
# files are complete never loads that code.
if TYPE_CHECKING:
    from peep_setuptools.installing.picking import Filters, Pins

logger = logging.getLogger(__name__)


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
    from peep_setuptools.installing.picking import Filters, pins_for  # see the imports above

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
