"""Pure: verdicts and problems to text, in peep's wording that users' scripts look for."""

from __future__ import annotations

from collections.abc import Sequence

from peep_setuptools.installing.verdicts import Problem, Verdict, actual_display, expected_display
from peep_setuptools.requirements.porting import requirement_spec

MISMATCH_HEAD = (
    "THE FOLLOWING PACKAGES DIDN'T MATCH THE HASHES SPECIFIED IN THE REQUIREMENTS FILE. "
    "If you have updated the package versions, update the hashes. Otherwise, examine the "
    "packages, and be very careful."
)
MISSING_HEAD = (
    "The following packages had no hashes specified in the requirements file, which\n"
    "leaves them open to tampering. Vet these packages to your satisfaction, then\n"
    'add these "sha256" lines like so:'
)
PROBLEM_HEAD = "The following requirements could not be found or downloaded:"
NOT_PROCEEDING = "Not proceeding to installation."


def render(
    verdicts: Sequence[Verdict], problems: Sequence[Problem], *, note: str | None = None
) -> str:
    """The whole report of a failed verification; empty if there is nothing to report.

    ``note`` follows the missing-hash block (where the proposed hashes came from).
    """
    blocks: list[str] = []
    mismatched = [v for v in verdicts if v.kind == "mismatch"]
    missing = [v for v in verdicts if v.kind == "missing"]
    if mismatched:
        blocks.append(render_mismatches(mismatched))
    if missing:
        blocks.append(render_missing(missing))
        if note:
            blocks.append(note)
    if problems:
        blocks.append(render_problems(problems))
    if not blocks:
        return ""
    blocks.append("-------------------------------\n" + NOT_PROCEEDING)
    return "\n\n".join(blocks) + "\n"


def render_mismatches(verdicts: Sequence[Verdict]) -> str:
    """Peep's fearsome block: ``name: expected X`` over ``got Y``, aligned as peep did."""
    lines = [MISMATCH_HEAD, ""]
    for verdict in verdicts:
        req = verdict.requirement
        expected = expected_display(req)
        preamble = f"    {req.display_name}: expected" + (" one of" if len(expected) > 1 else "")
        lines.append(f"{preamble} " + ("\n" + " " * (len(preamble) + 1)).join(expected))
        lines.append(" " * (len(preamble) - 4) + " got " + actual_display(req, verdict.actual))
        lines.append(" " * (len(preamble) - 4) + f"     ({req.location}, {verdict.url})")
    return "\n".join(lines)


def render_missing(verdicts: Sequence[Verdict]) -> str:
    """Peep's missing-hash block: the lines to add, in file order, ready to paste."""
    lines = [MISSING_HEAD]
    for verdict in verdicts:
        req = verdict.requirement
        digest = verdict.actual["sha256"]
        lines.append("")
        lines.append(f"# from {req.location}")
        if req.hash_style == "pip":
            lines.append(f"{requirement_spec(req)} {digest.pip_option()}")
        else:
            lines.append(digest.peep_line())
            lines.append(requirement_spec(req))
    return "\n".join(lines)


def render_problems(problems: Sequence[Problem]) -> str:
    """Requirements that could not be found or fetched, each with its file:line."""
    lines = [PROBLEM_HEAD, ""]
    lines.extend(f"    {p.requirement.location}: {p.message}" for p in problems)
    return "\n".join(lines)
