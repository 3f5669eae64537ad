"""Pure: verdicts and problems to text, in peep's wording that users' scripts look for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from peep_setuptools.installing.verdicts import Problem, Verdict, actual_display, expected_display
from peep_setuptools.requirements.spec import HashStyle

if TYPE_CHECKING:
    from peep_setuptools.checks.completeness import Completeness
    from peep_setuptools.installing.picking import Pins

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
DEPENDENCY_HEAD = (
    "The following dependencies are not in the requirements files. peep installs with\n"
    "--no-deps, so without them the installed code would fail (pip refuses such files too):"
)
PINS_HEAD = (
    "Vet them to your satisfaction, then add these lines (or run 'peep check --fix';\n"
    "--allow-incomplete installs without them). Trust on first use: these are the hashes\n"
    "of the newest fitting version's files as {where} serves them today:"
)
LOCK_ONLY = "lock files are edited with `peep port --to pylock` after editing the requirements"
PROBLEM_HEAD = "The following requirements could not be found or downloaded:"
NOT_PROCEEDING = "Not proceeding to installation."


def render(
    verdicts: Sequence[Verdict],
    problems: Sequence[Problem],
    *,
    note: str | None = None,
    dependencies: str = "",
) -> str:
    """The whole report of a failed verification; empty if there is nothing to report.

    ``note`` follows the missing-hash block (where the proposed hashes came from);
    ``dependencies``, the block of ``render_dependencies``, comes after them.
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
    if dependencies:
        blocks.append(dependencies)
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
    # the porting code: only a run that lacks hashes writes requirement lines
    from peep_setuptools.requirements.porting import requirement_spec

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


def render_dependencies(
    completeness: Completeness, pins: Pins, styles: Mapping[str, HashStyle]
) -> str:
    """The missing dependencies, then the lines to add, by file, in each file's hash format."""
    # Imported here: a run whose files are complete never renders pins, nor loads editing.
    from peep_setuptools.requirements.editing import requirement_lines

    lines = [DEPENDENCY_HEAD, "", *completeness.missing_lines()]
    if pins.by_file:
        lines += ["", PINS_HEAD.format(where=pins.where)]
    replaced = {m.name: m.pinned for m in completeness.missing if m.pinned is not None}
    for path, news in pins.by_file:
        for new in news:
            lines.append("")
            if not path:
                lines.append(f"# {new.name}: {LOCK_ONLY}")
            elif new.key in replaced:
                lines.append(f"# in {path}, instead of {new.name}=={replaced[new.key]}")
            else:
                lines.append(f"# to {path}")
            lines.append(requirement_lines(new, styles.get(path, "peep")).rstrip("\n"))
    if pins.unfound:
        lines += ["", *(f"    {clause}" for clause in pins.unfound)]
    notes = completeness.render_notes()  # what could not be checked stays a note
    return "\n".join(lines) + (f"\n\n{notes}" if notes else "")
