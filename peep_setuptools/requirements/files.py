"""Requirement files, peep's and pip's formats: files in, frozen values out.

``load_reqfiles`` reads files and follows their ``-r`` includes; ``merge_requirements``
folds the lines that name one project. The text of one file is parsed by
``requirements.lines``, and the text of one requirement by ``requirements.spec``.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import NoReturn

from packaging.utils import NormalizedName
from packaging.version import InvalidVersion, Version

from peep_setuptools.errors import ConflictingRequirementsError, RequirementsFileError
from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import open_regular
from peep_setuptools.requirements.lines import (
    Entry,
    IncludeLine,
    IndexOptions,
    collect_options,
    parse_reqfile,
)
from peep_setuptools.requirements.spec import (
    Location,
    ReqLine,
    absolute_path,
    fail_at,
    is_url,
)
from peep_setuptools.urls import file_url_path, is_remote_path


@frozen
class RequirementsSet:
    """Everything read from one or more requirement files, includes flattened in order."""

    requirements: tuple[ReqLine, ...]
    options: IndexOptions
    entries: tuple[Entry, ...]
    #: the files that were read, first the ones given, then includes, each once
    files: tuple[str, ...]


def _read_text(absolute: str, shown: str, origin: Location | None) -> str:
    """Read a file as strict UTF-8 (BOM allowed) without ever blocking on a FIFO."""

    def fail(reason: str) -> NoReturn:
        if origin is None:
            raise RequirementsFileError(f"cannot read requirements file {shown!r}: {reason}")
        fail_at(origin, f"cannot read included file {shown!r}: {reason}")

    try:
        with open_regular(absolute) as stream:  # never blocks on a FIFO
            data = stream.read()
    except (OSError, ValueError) as exc:
        fail(getattr(exc, "strerror", None) or str(exc))
    body = data[len(_BOM) :] if data.startswith(_BOM) else data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        fail(f"line {line} is not UTF-8 text (byte {body[exc.start]:#04x}); save it as UTF-8")
    if body is data:
        _refuse_other_encoding(data, text, fail)
    return text


def _refuse_other_encoding(data: bytes, text: str, fail: Callable[[str], NoReturn]) -> None:
    """Refuse a coding declaration under which pip would read other text than peep.

    pip decodes a file without a BOM with the encoding a ``# coding: NAME`` comment names
    in its first two lines (PEP 263); in UTF-7, for one, ``+AAo-`` in a comment is a
    line break and the rest of that comment a requirement pip reads and peep does not.
    """
    for number, line in enumerate(data.split(b"\n")[:2], 1):
        found = _PEP263.search(line) if line[:1] == b"#" else None
        if found is None:
            continue
        name = found.group(1).decode("ascii")
        try:
            same = data.decode(name) == text
        except (LookupError, UnicodeDecodeError):
            same = False
        if not same:
            fail(
                f"line {number} declares the encoding {name!r}, under which pip reads "
                "this file differently from peep (UTF-8); save it as UTF-8 and remove "
                "the declaration"
            )
        return


#: pip's reading of a PEP 263 declaration (pip._internal.req.req_file)
_PEP263 = re.compile(rb"coding[:=]\s*([-\w.]+)")


_BOM = b"\xef\xbb\xbf"


class _Loader:
    """Follows ``-r`` includes depth first, reading each file once."""

    def __init__(self, environ: Mapping[str, str], cwd: str) -> None:
        self.environ = environ
        self.cwd = cwd
        self.entries: list[Entry] = []
        self.files: list[str] = []
        self._seen: set[str] = set()
        self._stack: list[tuple[str, str]] = []

    def visit(self, shown: str, absolute: str, origin: Location | None) -> None:
        key = os.path.realpath(absolute)
        keys = [k for k, _ in self._stack]
        if key in keys:
            assert origin is not None  # noqa: S101 - only an include can close a cycle
            cycle = [s for _, s in self._stack[keys.index(key) :]] + [shown]
            fail_at(origin, f"including {shown!r} again closes a cycle: {' -> '.join(cycle)}")
        if key in self._seen:
            return
        text = _read_text(absolute, shown, origin)
        self._seen.add(key)
        self.files.append(shown)
        self._stack.append((key, shown))
        for item in parse_reqfile(text, path=shown, environ=self.environ, cwd=self.cwd):
            if isinstance(item, IncludeLine):
                self._include(item, shown, absolute)
            else:
                self.entries.append(item)
        self._stack.pop()

    def _include(self, item: IncludeLine, shown: str, absolute: str) -> None:
        target = item.target
        if is_url(target):
            if not target.lower().startswith("file:"):
                fail_at(
                    item.location,
                    f"remote requirements files are not supported ({target!r}): "
                    "download it, check it, and include the local copy",
                )
            try:
                target = file_url_path(target)
            except ValueError:
                fail_at(item.location, f"{target!r}: file:// URLs must name a local file")
        elif is_remote_path(os.path.join(os.path.dirname(absolute), target)):
            fail_at(
                item.location, f"{target!r}: paths must name a local file, not one on another host"
            )
        self.visit(
            os.path.normpath(os.path.join(os.path.dirname(shown), target)),
            os.path.normpath(os.path.join(os.path.dirname(absolute), target)),
            item.location,
        )


def load_reqfiles(
    paths: Sequence[str], *, environ: Mapping[str, str] | None = None, cwd: str | None = None
) -> RequirementsSet:
    """Read files and their includes; raises RequirementsFileError or MalformedHashError.

    Files are read in the order given, each include expanded where it appears and
    every file read once; ``environ`` defaults to ``os.environ`` and ``cwd`` (for
    relative paths and local archives) to the process's working directory.
    """
    base = os.getcwd() if cwd is None else cwd
    loader = _Loader(os.environ if environ is None else environ, base)
    for path in paths:
        loader.visit(path, absolute_path(path, base), None)
    entries = tuple(loader.entries)
    return RequirementsSet(
        requirements=tuple(entry for entry in entries if isinstance(entry, ReqLine)),
        options=collect_options(entries),
        entries=entries,
        files=tuple(loader.files),
    )


def _same_version(first: str | None, second: str | None) -> bool:
    if first == second:
        return True
    if first is None or second is None:
        return False
    try:
        return Version(first) == Version(second)
    except InvalidVersion:
        return False


def _merge_pair(first: ReqLine, line: ReqLine) -> ReqLine:
    here = f"{line.location}: {line.text!r} and {first.text!r} at {first.location}"
    if first.url is not None or line.url is not None:
        if first.url != line.url:
            raise ConflictingRequirementsError(
                f"{here} ask for different archives of {first.display_name}; keep one of them"
            )
    elif not _same_version(first.version, line.version):
        raise ConflictingRequirementsError(
            f"{here} pin {first.display_name} to different versions; keep one of them"
        )
    if first.digests and line.digests:
        # Kept simple on purpose: the first line's digests that the second line also
        # lists (same algorithm and value). sha256 on one line and sha512 on the
        # other therefore share nothing.
        digests = tuple(digest for digest in first.digests if digest in line.digests)
        if not digests:
            raise ConflictingRequirementsError(
                f"{line.location}: these lines allow no common hash: {line.text!r} here and "
                f"{first.text!r} at {first.location}; give them the same hashes"
            )
    else:
        digests = first.digests or line.digests
    extras = tuple(sorted(set(first.extras) | set(line.extras)))
    return dataclasses.replace(first, digests=digests, extras=extras)


def merge_requirements(requirements: Sequence[ReqLine]) -> tuple[ReqLine, ...]:
    """Merge lines naming one project: same version, allowed hashes intersected.

    Call it after filtering out lines whose markers do not apply. The merged line
    keeps the first line's location, text and marker; if both lines list hashes it
    allows the first line's hashes that the other also lists (none in common is a
    ConflictingRequirementsError), else the hashes of whichever has them. Extras are
    unioned; the order is that of first appearance.
    """
    merged: dict[NormalizedName, ReqLine] = {}
    for line in requirements:
        first = merged.get(line.name)
        merged[line.name] = line if first is None else _merge_pair(first, line)
    return tuple(merged.values())
