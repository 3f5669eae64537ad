"""Pure: which declared dependencies no requirement satisfies, for one target interpreter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from peep_setuptools.checks.metadata import Dependencies
from peep_setuptools.frozen import frozen
from peep_setuptools.requirements.spec import ReqLine
from peep_setuptools.target import MarkerEvaluationError, evaluate_marker
from peep_setuptools.urls import redacting_repr

# What is missing or unreadable is said by ``checks.missing``'s values, made only when there
# is something to say: a run whose files are complete never makes those two dataclasses.
if TYPE_CHECKING:
    from peep_setuptools.checks.missing import MissingDependency, Unchecked

MISSING_HEAD = (
    "The following dependencies are not in the requirements files. peep installs with "
    "--no-deps, so\nwithout them the installed code may fail at import time. Vet them, "
    "then add them with\n'peep check --fix' or 'peep add NAME==VERSION':"
)
UNPINNED_HEAD = (
    "These dependencies are not in the requirements files, but what is installed satisfies "
    "them\n(pip accepts that too; peep did not verify their files):"
)
UNCHECKED_HEAD = "The dependencies of these archives could not be checked:"


@frozen
class Examined:
    """One verified archive and what its metadata says it needs."""

    requirement: ReqLine
    dependencies: Dependencies


@redacting_repr
@frozen
class Completeness:
    """The outcome of the check; ``complete`` when nothing is missing."""

    missing: tuple[MissingDependency, ...]
    unchecked: tuple[Unchecked, ...]
    files: tuple[str, ...]
    #: dependencies no line pins that an installed version satisfies (pip accepts those)
    unpinned: tuple[MissingDependency, ...] = ()

    @property
    def complete(self) -> bool:
        """True when every dependency that could be read is pinned or installed."""
        return not self.missing

    def missing_lines(self) -> list[str]:
        """One indented line per missing dependency, with the line that needs it."""
        return self._lines(self.missing)

    def _lines(self, dependencies: Sequence[MissingDependency]) -> list[str]:
        return [f"    {m.message(self.files)} ({m.needed_by.location})" for m in dependencies]

    def render(self) -> str:
        """The warning block of what is missing, then the notes; empty if nothing to say."""
        blocks = []
        if self.missing:
            blocks.append("\n".join([MISSING_HEAD, "", *self.missing_lines()]))
        notes = self.render_notes()
        if notes:
            blocks.append(notes)
        return "\n\n".join(blocks) + "\n" if blocks else ""

    def render_notes(self) -> str:
        """What is unpinned but installed, and what could not be checked (no newline)."""
        blocks = []
        if self.unpinned:
            blocks.append("\n".join([UNPINNED_HEAD, "", *self._lines(self.unpinned)]))
        if self.unchecked:
            lines = [UNCHECKED_HEAD, ""]
            lines.extend(
                f"    {u.requirement.display_name} ({u.requirement.location}): {u.reason}"
                for u in self.unchecked
            )
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)


def check_completeness(
    examined: Sequence[Examined],
    requirements: Sequence[ReqLine],
    *,
    marker_env: Mapping[str, str],
    files: Sequence[str] = (),
    installed: Mapping[NormalizedName, str] | None = None,
) -> Completeness:
    """Find the dependencies of ``examined`` archives that ``requirements`` leave unmet.

    ``requirements`` are the lines that apply to the target (markers evaluated, merged).
    Markers of dependencies are evaluated with ``marker_env`` and the extras asked for,
    also transitively (``a[x]`` needing ``b[y]`` asks ``b`` for ``y``). pip, setuptools
    and wheel get no exemption. A requirement without a known version (a URL without one
    in its filename) satisfies any specifier. A dependency that no line pins but whose
    ``installed`` version satisfies it is ``unpinned``, not missing: pip accepts it too.
    """
    pinned = {req.name: req for req in requirements}
    extras = _wanted_extras(examined, pinned, marker_env)
    missing: dict[tuple[NormalizedName, str], MissingDependency] = {}
    unchecked: list[Unchecked] = []
    for item in examined:
        requires = item.dependencies.requires
        if requires is None:
            from peep_setuptools.checks.missing import Unchecked  # see the imports above

            unchecked.append(Unchecked(item.requirement, item.dependencies.reason or "unknown"))
            continue
        for dep in requires:
            if not _applies(dep, extras.get(item.requirement.name, set()), marker_env):
                continue
            found = pinned.get(canonicalize_name(dep.name))
            if found is not None and _satisfies(found, dep):
                continue
            from peep_setuptools.checks.missing import MissingDependency  # see the imports above

            key = (item.requirement.name, str(dep))
            have = None if found else _installed_fit((installed or {}), dep)
            missing.setdefault(
                key,
                MissingDependency(item.requirement, dep, found.version if found else None, have),
            )
    absent = tuple(m for m in missing.values() if m.installed is None)
    unpinned = tuple(m for m in missing.values() if m.installed is not None)
    return Completeness(absent, tuple(unchecked), tuple(files), unpinned)


def _installed_fit(installed: Mapping[NormalizedName, str], dep: Requirement) -> str | None:
    """The installed version of ``dep``'s project if it satisfies ``dep``."""
    version = installed.get(canonicalize_name(dep.name))
    if version is None or dep.url is not None:
        return None
    try:
        fits = dep.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return None
    return version if fits else None


def _wanted_extras(
    examined: Sequence[Examined],
    pinned: Mapping[NormalizedName, ReqLine],
    marker_env: Mapping[str, str],
) -> dict[NormalizedName, set[str]]:
    extras: dict[NormalizedName, set[str]] = {
        name: {str(canonicalize_name(e)) for e in req.extras} for name, req in pinned.items()
    }
    changed = True
    while changed:  # a fixed point: each round can only add extras, and they are finite
        changed = False
        for item in examined:
            for dep in item.dependencies.requires or ():
                if not dep.extras or not _applies(
                    dep, extras.get(item.requirement.name, set()), marker_env
                ):
                    continue
                wanted = extras.setdefault(canonicalize_name(dep.name), set())
                new = {str(canonicalize_name(e)) for e in dep.extras} - wanted
                if new:
                    wanted |= new
                    changed = True
    return extras


def _applies(dep: Requirement, extras: set[str], marker_env: Mapping[str, str]) -> bool:
    if dep.marker is None:
        return True
    for extra in ("", *sorted(extras)):
        try:
            if evaluate_marker(dep.marker, {**marker_env, "extra": extra}):
                return True
        except MarkerEvaluationError:
            # A marker we cannot evaluate: count the dependency as needed, not silently off.
            return True
    return False


def _satisfies(req: ReqLine, dep: Requirement) -> bool:
    if req.version is None or dep.url is not None:
        return True
    try:
        version = Version(req.version)
    except InvalidVersion:
        # "===" pins an arbitrary string; only an exact "===" can be judged.
        return all(s.operator == "===" and s.version == req.version for s in dep.specifier)
    return dep.specifier.contains(version, prereleases=True)
