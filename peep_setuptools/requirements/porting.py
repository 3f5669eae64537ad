"""``peep port``: rewrite requirements, or a PEP 751 lock file, in pip's or peep's format (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from peep_setuptools.errors import RequirementsFileError
from peep_setuptools.requirements.lines import Comment, Entry, IncludeLine, OptionLine
from peep_setuptools.requirements.spec import ReqLine

Target = Literal["pip", "peep"]

_CONTINUATION = " \\\n    "


def requirement_spec(line: ReqLine) -> str:
    """Return the requirement as both formats write it, without its hashes.

    Named requirements are written as they were; URL and local-archive requirements
    become ``name[extras] @ URL ; marker``, which pip reads the same from any directory.
    A requirement written with ``${VAR}`` stays as written, so that porting never
    copies a credential from the environment into a file.
    """
    if line.url is None or "${" in line.text:
        return line.text
    extras = f"[{','.join(line.extras)}]" if line.extras else ""
    marker = f" ; {line.marker}" if line.marker is not None else ""
    return f"{line.display_name}{extras} @ {line.url}{marker}"


def _pip_lines(line: ReqLine) -> str:
    words = [requirement_spec(line), *(digest.pip_option() for digest in line.digests)]
    return (_CONTINUATION if len(words) > 2 else " ").join(words)


def _peep_lines(line: ReqLine) -> str:
    hash_lines = []
    for digest in line.digests:
        if digest.algorithm != "sha256":
            raise RequirementsFileError(
                f"{line.location}: peep's format carries only sha256 hashes; "
                "keep this file in pip's format"
            )
        hash_lines.append(digest.peep_line())
    return "\n".join([*hash_lines, requirement_spec(line)])


def port_entries(entries: Sequence[Entry | IncludeLine], *, to: Target) -> str:
    """Return the text of a requirements file in pip's (``to="pip"``) or peep's format.

    pip's format is what ``pip install --require-hashes -r`` accepts: one
    ``--hash=ALGO:HEX`` per digest, continued over lines when there are several.
    peep's puts ``# sha256: B64`` lines above each requirement and raises
    RequirementsFileError for any other algorithm. Comments, blank lines and
    option lines are kept in place; the text ends with a newline unless empty.
    """
    render = _pip_lines if to == "pip" else _peep_lines
    out: list[str] = []
    for entry in entries:
        if isinstance(entry, ReqLine):
            out.append(render(entry))
        elif isinstance(entry, (Comment, OptionLine)):
            out.append(entry.text)
        else:
            out.append(f"--requirement {entry.target}")
    return "\n".join(out) + "\n" if out else ""


# -- lock files ------------------------------------------------------------------------------
