"""Editing requirement files: add or replace a requirement and its hashes, atomically.

Every line we do not rewrite is kept byte for byte (line endings included), and a file
that does not parse is never touched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from packaging.utils import NormalizedName, canonicalize_name

from peep_setuptools.atomic import replace_text
from peep_setuptools.errors import RequirementsFileError
from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import Digest, open_regular
from peep_setuptools.requirements.lines import parse_reqfile
from peep_setuptools.requirements.spec import HashStyle, ReqLine

_PHYSICAL = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_EOL = re.compile(r"(\r\n|\r|\n)\Z")
_HASH_LINE = re.compile(r"\s*#\s*sha256\s*:", re.IGNORECASE)
_COMMENT_OR_BLANK = re.compile(r"\s*(#.*)?")
_BOM = "\ufeff"


@frozen
class NewRequirement:
    """A pinned requirement to write, with the hashes of its files."""

    name: str
    version: str
    digests: tuple[Digest, ...]
    #: used only when the requirement is new; a replaced line keeps its own
    extras: tuple[str, ...] = ()
    marker: str | None = None

    @property
    def key(self) -> NormalizedName:
        """The canonical project name."""
        return canonicalize_name(self.name)


@frozen
class Edit:
    """A file's text before and after; ``changed`` tells whether writing would change it."""

    path: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        """True if the edit changes the file."""
        return self.before != self.after

    def diff(self) -> str:
        """A unified diff of the edit (empty if nothing changes)."""
        import difflib  # only the editing commands show one; every command imports this module

        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                fromfile=self.path,
                tofile=self.path,
            )
        )


@frozen
class _Span:
    """Where one requirement lives: its hash comment lines and its (continued) lines."""

    hash_lines: tuple[int, ...]
    first: int
    last: int


def set_requirements(
    text: str, requirements: Sequence[NewRequirement], *, path: str, style: HashStyle | None = None
) -> str:
    """Return ``text`` with each requirement replaced in place, or appended if absent (pure).

    A replaced line keeps its name spelling, extras, marker and hash format; new lines use
    ``style``, else the file's own format (pip ``--hash`` if any line uses it, else peep's
    comments). Raises RequirementsFileError (or MalformedHashError) if ``text`` does not
    parse, or if the project is pinned by URL in this file.
    """
    for new in requirements:
        text = _set_one(text, new, path=path, style=style)
    return text


def _set_one(text: str, new: NewRequirement, *, path: str, style: HashStyle | None) -> str:
    body = text[1:] if text.startswith(_BOM) else text
    entries = parse_reqfile(body, path=path)
    lines = _PHYSICAL.findall(body)
    eol = _dominant_eol(lines)
    reqs = [e for e in entries if isinstance(e, ReqLine)]
    existing = [r for r in reqs if r.name == new.key]
    for req in existing:
        if req.url is not None:
            raise RequirementsFileError(
                f"{req.location}: {req.display_name} is pinned by URL here; edit that line by hand"
            )
    default: HashStyle = style or ("pip" if any(r.hash_style == "pip" for r in reqs) else "peep")
    if not existing:
        block = _render(new, new.name, new.extras, new.marker, default, eol)
        if lines and not _EOL.search(lines[-1]):
            lines[-1] += eol
        return (_BOM if text.startswith(_BOM) else "") + "".join(lines) + block
    spans = _spans(lines)
    out = list(lines)
    # Bottom up, so that earlier line numbers stay valid.
    for req in sorted(existing, key=lambda r: r.location.line, reverse=True):
        span = spans[req.location.line - 1]
        line_eol = _line_eol(lines[span.last], eol)
        marker = str(req.marker) if req.marker is not None else None
        block = _render(
            new, req.display_name, req.extras, marker, style or req.hash_style, line_eol
        )
        out[span.first : span.last + 1] = [block]
        for index in sorted(span.hash_lines, reverse=True):
            del out[index]
    return (_BOM if text.startswith(_BOM) else "") + "".join(out)


def requirement_lines(new: NewRequirement, style: HashStyle) -> str:
    """The lines ``peep add`` writes for a new requirement in ``style`` (pure)."""
    return _render(new, new.name, new.extras, new.marker, style, "\n")


def _render(
    new: NewRequirement,
    name: str,
    extras: Sequence[str],
    marker: str | None,
    style: HashStyle,
    eol: str,
) -> str:
    spec = name + (f"[{','.join(extras)}]" if extras else "") + f"=={new.version}"
    if marker:
        spec += f"; {marker}"
    if style == "peep" and all(d.algorithm == "sha256" for d in new.digests):
        return "".join(d.peep_line() + eol for d in new.digests) + spec + eol
    if len(new.digests) <= 1:
        return " ".join([spec, *(d.pip_option() for d in new.digests)]) + eol
    options = [f"    {d.pip_option()}" for d in new.digests]
    return f" \\{eol}".join([spec, *options]) + eol


def _spans(lines: Sequence[str]) -> dict[int, _Span]:
    """Map the index of each logical line's first physical line to its span.

    Mirrors how ``requirements.lines`` reads a file: hash comment lines belong to the next
    requirement, and a trailing backslash continues a line unless a comment or blank line
    follows.
    """
    spans: dict[int, _Span] = {}
    pending: list[int] = []
    index = 0
    while index < len(lines):
        content = _EOL.sub("", lines[index])
        if _HASH_LINE.match(content):
            pending.append(index)
            index += 1
            continue
        if _COMMENT_OR_BLANK.fullmatch(content):
            index += 1
            continue
        first = index
        while (
            content.endswith("\\")
            and index + 1 < len(lines)
            and not _COMMENT_OR_BLANK.fullmatch(_EOL.sub("", lines[index + 1]))
        ):
            index += 1
            content = _EOL.sub("", lines[index])
        spans[first] = _Span(tuple(pending), first, index)
        pending = []
        index += 1
    return spans


def _dominant_eol(lines: Sequence[str]) -> str:
    counts = {"\r\n": 0, "\n": 0, "\r": 0}
    for line in lines:
        match = _EOL.search(line)
        if match:
            counts[match.group(1)] += 1
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] else "\n"


def _line_eol(line: str, default: str) -> str:
    match = _EOL.search(line)
    return match.group(1) if match else default


def read_text(path: str) -> str:
    """Read a requirements file for editing: strict UTF-8, a BOM kept; raises on error."""
    try:
        with open_regular(path) as stream:  # never blocks on a FIFO
            data = stream.read()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise RequirementsFileError(
            f"cannot read requirements file {path!r}: {exc.strerror or exc}"
        ) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequirementsFileError(
            f"{path}: not UTF-8 text (byte {data[exc.start]:#04x}); not editing it"
        ) from exc


def plan_edit(
    path: str, requirements: Sequence[NewRequirement], *, style: HashStyle | None = None
) -> Edit:
    """Read ``path`` (missing means empty) and return the edit, without writing it."""
    before = read_text(path)
    return Edit(path, before, set_requirements(before, requirements, path=path, style=style))


def write_atomic(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8, no newline translation) in one rename.

    The old file's permissions are kept. Raises RequirementsFileError if it cannot be written.
    """
    try:
        replace_text(path, text)
    except OSError as exc:
        raise RequirementsFileError(f"cannot write {path}: {exc.strerror or exc}") from exc


def apply_edit(edit: Edit) -> None:
    """Write an edit if it changes anything."""
    if edit.changed:
        write_atomic(edit.path, edit.after)
