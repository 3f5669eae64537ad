"""What a dependency check found: a dependency no line pins, an archive it could not read.

``completeness`` makes these only when there is something to report (see its imports).
"""

from __future__ import annotations

from collections.abc import Sequence

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from peep_setuptools.frozen import frozen
from peep_setuptools.requirements.spec import ReqLine
from peep_setuptools.urls import redacting_repr


@redacting_repr
@frozen
class MissingDependency:
    """A dependency of ``needed_by`` that no requirement satisfies."""

    needed_by: ReqLine
    #: the dependency as declared, markers left out: ``werkzeug>=3.0.0``
    dependency: Requirement
    #: the version the files pin it to (outside the specifier), or None if absent
    pinned: str | None
    #: the installed version that satisfies it, when no requirement pins it
    installed: str | None = None

    @property
    def name(self) -> NormalizedName:
        """The dependency's canonical name."""
        return canonicalize_name(self.dependency.name)

    def message(self, files: Sequence[str]) -> str:
        """``flask==3.0.0 requires werkzeug>=3.0.0, which is not in requirements.txt``.

        The requirement keeps its extras: ``httpx[http2]==0.28.1 requires h2<5,>=3``.
        """
        where = " or ".join(files) or "the requirements files"
        req = self.needed_by
        needed_by = req.display_name + (f"[{','.join(req.extras)}]" if req.extras else "")
        if req.version is not None:
            needed_by += f"=={req.version}"
        wanted = _without_marker(self.dependency)
        if self.pinned is not None:
            return f"{needed_by} requires {wanted}, but {where} pins {self.pinned}"
        if self.installed is not None:
            return (
                f"{needed_by} requires {wanted}, which is not in {where}; "
                f"{self.dependency.name} {self.installed} is installed"
            )
        return f"{needed_by} requires {wanted}, which is not in {where}"


@redacting_repr
@frozen
class Unchecked:
    """A requirement whose dependencies could not be read."""

    requirement: ReqLine
    reason: str


def _without_marker(dep: Requirement) -> str:
    text = dep.name
    if dep.extras:
        text += "[" + ",".join(sorted(dep.extras)) + "]"
    if dep.url:
        return f"{text} @ {dep.url}"
    return text + str(dep.specifier)
