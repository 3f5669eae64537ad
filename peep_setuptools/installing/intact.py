"""Installed copies against their verified wheels: ``--verify-installed`` and ``peep verify``.

``keep_intact`` decides which installed copies ``peep install --verify-installed`` trusts and
does not reinstall: only a requirement installed at its pinned version whose files match,
one for one, the RECORD inside the wheel this run just verified (``checks.installed``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

from packaging.utils import NormalizedName
from packaging.version import Version

from peep_setuptools.checks.installed import (
    InstalledCheck,
    Verified,
    check_environment,
    notes,
    remove_stray_bytecode,
)
from peep_setuptools.errors import PeepError
from peep_setuptools.installing.verdicts import Verdict
from peep_setuptools.target import Target

logger = logging.getLogger(__name__)


def compare_installed(target: Target, verdicts: Sequence[Verdict]) -> tuple[InstalledCheck, ...]:
    """``peep verify``: compare each verified archive with its installed copy; change nothing."""
    return _compare(target, verdicts, repair="")


def keep_intact(
    target: Target, verdicts: Sequence[Verdict], *, dry_run: bool = False
) -> tuple[InstalledCheck, ...]:
    """``--verify-installed``: compare the copies installed at their pinned version.

    Only the verified archives of ``ok`` verdicts may be given. A copy that differs is
    reinstalled: its stray bytecode (which a reinstall would leave) is removed here, unless
    this is a ``dry_run``, which changes nothing in the target.
    """
    pinned = [
        v
        for v in verdicts
        if v.kind == "ok"
        and v.requirement.version is not None
        and target.installed_version(v.requirement.name) == Version(v.requirement.version)
    ]
    return _compare(target, pinned, repair="dry-run" if dry_run else "repair")


def confirm_repaired(
    target: Target, verdicts: Sequence[Verdict], checks: Sequence[InstalledCheck]
) -> None:
    """After the reinstall, each copy that differed must match its wheel; else PeepError.

    ``_refuse_leftovers`` predicts what an installer leaves from the installed RECORD; this
    checks the result, so a run never reports a copy repaired that still differs.
    """
    differed = {c.requirement.name for c in checks if c.status == "files-differ"}
    again = [v for v in verdicts if v.requirement.name in differed]
    if not again:
        return
    still = [c for c in _check(target, again) if c.status != "ok"]
    if still:
        lines = [c.render() or c.requirement.display_name for c in still]
        raise PeepError(
            "\n".join(lines)
            + "\nThe verified wheels were installed, but these files still differ from them. "
            "Remove the files named, then run peep install --verify-installed again."
        )


def trusted(checks: Sequence[InstalledCheck]) -> frozenset[NormalizedName]:
    """The projects whose installed files match the verified wheel: not to be reinstalled."""
    return frozenset(c.requirement.name for c in checks if c.status == "ok")


def _compare(
    target: Target, verdicts: Sequence[Verdict], *, repair: Literal["", "repair", "dry-run"]
) -> tuple[InstalledCheck, ...]:
    checks = _check(target, verdicts)
    if repair:
        _refuse_leftovers(checks)
    for check in checks:
        req = check.requirement
        if check.status == "ok":
            logger.info(
                "%s==%s: the installed files match the verified wheel.",
                req.display_name,
                req.version,
            )
        elif repair == "dry-run":
            logger.warning("%s; it would be reinstalled (--dry-run).", check.render())
        elif repair:
            logger.warning("%s; reinstalling it.", check.render())
            remove_stray_bytecode(check)
        if notes(check):
            logger.info("%s", notes(check))
    return checks


def _check(target: Target, verdicts: Sequence[Verdict]) -> tuple[InstalledCheck, ...]:
    archives = [Verified(v.requirement, v.local_path, v.url) for v in verdicts]
    return tuple(check_environment(target.python, archives))


def _refuse_leftovers(checks: Sequence[InstalledCheck]) -> None:
    """Raise PeepError, before anything changes, if a reinstall would leave a differing file.

    The installers remove only what the installed RECORD names, so a file planted beside
    (an extension module, a package, an ``__init__`` above a namespace package) would still
    run after "reinstalling it", and the run would claim a verified copy.
    """
    left = [c for c in checks if c.leftover]
    if not left:
        return
    lines = [c.render() for c in left]
    lines.append("A reinstall would leave these files, which no installed RECORD names:")
    lines += [f"    {c.requirement.display_name}: {path}" for c in left for path in c.leftover]
    lines.append(
        "Remove them (and find out how they got there), then run again. Nothing was installed."
    )
    raise PeepError("\n".join(lines))
