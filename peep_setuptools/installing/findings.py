"""Pure: what finding a requirement's archive says, naming the real cause of each failure."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from packaging.version import Version

from peep_setuptools.archives import parse_filename
from peep_setuptools.hashes import Algorithm, Digest
from peep_setuptools.index.choose import Choice, unfit_text
from peep_setuptools.placing import place_hashes
from peep_setuptools.requirements.spec import ReqLine
from peep_setuptools.target import Target

if TYPE_CHECKING:  # the index pages' code is loaded only by a run that looks projects up
    from peep_setuptools.index.pages import Found

#: how many versions "from versions: ..." shows around the pinned one
VERSIONS_SHOWN = 10


def pinned(req: ReqLine) -> str:
    """``Name==version`` as the file spells the name."""
    return f"{req.display_name}=={req.version}"


def not_found(req: ReqLine, found: Found, where: str) -> str:
    """The version is not offered: say which versions are, as pip does, or that none is."""
    failures = found.errors
    if not found.links and failures:
        return f"{pinned(req)}: {failures}"
    versions = sorted(
        {
            parsed.version
            for link in found.links
            if (parsed := parse_filename(link.filename)) and parsed.name == req.name
        }
    )
    if versions:
        detail = f"from versions: {_near(versions, req)}"
    else:
        detail = f"no project named {req.display_name}"
    return f"{pinned(req)} not found on {where} ({detail})" + (f"; {failures}" if failures else "")


def _near(versions: Sequence[Version], req: ReqLine) -> str:
    """The sorted ``versions`` around the pinned one, "..." where some are left out."""
    at = bisect.bisect_left(versions, Version(str(req.version)))
    start = max(0, min(at - VERSIONS_SHOWN // 2, len(versions) - VERSIONS_SHOWN))
    shown = [str(v) for v in versions[start : start + VERSIONS_SHOWN]]
    if start > 0:
        shown.insert(0, "...")
    if start + VERSIONS_SHOWN < len(versions):
        shown.append("...")
    return ", ".join(shown)


def no_fit(req: ReqLine, choice: Choice, where: str, target: Target) -> str:
    """Files of the version exist, none usable here: why, grouped by reason."""
    groups: dict[str, list[str]] = {}
    for link, why in choice.unfit:
        groups.setdefault(unfit_text(link, why), []).append(link.filename)
    reasons = "; ".join(f"{text} ({', '.join(names)})" for text, names in groups.items())
    return (
        f"{pinned(req)} has no file that fits {target.python} "
        f"(Python {target.python_version}) on {where}: {reasons}"
    )


def pinned_elsewhere(
    req: ReqLine,
    choice: Choice,
    actual: Mapping[Algorithm, Digest],
    target: Target,
) -> str | None:
    """Why a mismatch is no tampering: every allowed hash is another file's; else None.

    Said only when the index's hashes place every allowed hash on another file of
    the version, and do not contradict the bytes of the file that was fetched.
    """
    chosen = choice.link
    placement = place_hashes(req.digests, choice.files)
    if chosen is None or not placement.placed or placement.unplaced:
        return None
    if any(link.filename == chosen.filename for link, _ in placement.placed):
        return None
    if any(d.algorithm in actual and not actual[d.algorithm].matches(d) for d in chosen.hashes):
        return None
    why = {link.filename: unfit_text(link, reason) for link, reason in choice.unfit}
    why.update((link.filename, reason) for link, reason in choice.passed_over)
    files = ", ".join(f"{link.filename} ({why[link.filename]})" for link, _ in placement.placed)
    return (
        f"{pinned(req)}: the allowed hashes are for other files of this version, none of "
        f"which fits {target.python} (Python {target.python_version}): {files}; this "
        f"interpreter needs {chosen.filename}, which no pinned hash vouches for. Vet it, then "
        f"pin its hash too with: peep add {pinned(req)} -r {req.location.path}"
    )


def chosen(req: ReqLine, choice: Choice) -> str:
    """For -v: the file chosen, why, and why each other file of the version was not."""
    assert choice.link is not None  # noqa: S101 -- only called with a choice
    others = [f"{link.filename} ({why})" for link, why in choice.passed_over]
    others += [f"{link.filename} ({unfit_text(link, why)})" for link, why in choice.unfit]
    text = f"{pinned(req)} ({req.location}): chose {choice.link.filename}: {choice.reason}"
    return text + (f"; passed over {', '.join(others)}" if others else "")
