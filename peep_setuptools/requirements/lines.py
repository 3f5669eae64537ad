"""One requirements file's text, peep's and pip's formats: text in, frozen values out (pure).

Logical lines (backslash continuations, comments), peep's ``# sha256:`` lines, pip's ``--hash``
and index options; each requirement's own text is left to ``requirements.spec``, and
``requirements.files`` follows includes.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Literal, NoReturn, Union

from packaging.utils import canonicalize_name

from peep_setuptools.errors import MalformedHashError
from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import Digest, InvalidDigest
from peep_setuptools.requirements.spec import (
    ARCHIVE_HINT,
    HashStyle,
    Location,
    ReqLine,
    absolute_path,
    expand_env,
    fail_at,
    is_url,
    parse_pip_hash,
    parse_requirement,
)
from peep_setuptools.urls import redacting_repr, url_problem


@redacting_repr
@frozen
class IndexOptions:
    """Index options as given in files or on the command line; None means "not given"."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    trusted_hosts: tuple[str, ...] = ()
    #: canonical names that must come as wheels; ``":all:"`` for every project
    only_binary: frozenset[str] = frozenset()

    def overridden_by(self, other: IndexOptions) -> IndexOptions:
        """Return these options with every option that ``other`` gives taking its value."""
        return IndexOptions(
            index_url=other.index_url if other.index_url is not None else self.index_url,
            extra_index_urls=tuple(dict.fromkeys(self.extra_index_urls + other.extra_index_urls)),
            find_links=tuple(dict.fromkeys(self.find_links + other.find_links)),
            no_index=self.no_index or other.no_index,
            trusted_hosts=tuple(dict.fromkeys(self.trusted_hosts + other.trusted_hosts)),
            only_binary=self.only_binary | other.only_binary,
        )


@frozen
class Comment:
    """A comment or blank line, kept so that ``peep port`` can copy it (not hash lines)."""

    location: Location
    text: str


@frozen
class OptionLine:
    """An index option line, normalised to its long spelling: ``--index-url URL``."""

    location: Location
    #: the option as written but spelled long, ``${VAR}`` unexpanded: what porting writes
    text: str
    #: the long option name, e.g. ``--index-url``
    option: str = ""
    #: the value with ``${VAR}`` expanded and relative ``--find-links`` paths made
    #: absolute; None for flags
    value: str | None = None


Entry = Union[ReqLine, Comment, OptionLine]


@frozen
class IncludeLine:
    """A ``-r FILE`` line; ``load_reqfiles`` follows it."""

    location: Location
    target: str


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
#: what str.splitlines() (and so pip) also breaks lines at
_OTHER_LINE_BREAK = re.compile("[\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_HASH_LINE = re.compile(r"\s*#\s*sha256\s*:(?P<rest>.*)", re.IGNORECASE)
_COMMENT_OR_BLANK = re.compile(r"\s*(#.*)?")
# As pip: a '#' starts a comment only at the start or after whitespace, so URL
# fragments such as '#egg=' and '#sha256=' survive.
_INLINE_COMMENT = re.compile(r"(^|\s+)#.*$")
# As pip: options start at the first word (split at spaces only, not tabs or other
# whitespace) that begins with '-'.
_OPTION_START = re.compile(r"(?:^| )(?=-)")
# text, compiled by ``re`` on first use: only writing a file quotes values
_SAFE_VALUE = r"[^\s'\"\\#]+"

_SHORT_OPTIONS = {
    "-r": "--requirement",
    "-c": "--constraint",
    "-e": "--editable",
    "-i": "--index-url",
    "-f": "--find-links",
}
#: long option -> whether it takes a value
_LONG_OPTIONS = {
    "--requirement": True,
    "--constraint": True,
    "--editable": True,
    "--index-url": True,
    "--extra-index-url": True,
    "--find-links": True,
    "--no-index": False,
    "--trusted-host": True,
    "--only-binary": True,
    "--require-hashes": False,
    "--pre": False,
    "--prefer-binary": False,
    "--hash": True,
}


def _split_lines(text: str, path: str) -> list[str]:
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, 1):
        other = _OTHER_LINE_BREAK.search(line)
        if other is not None:
            # pip splits lines with str.splitlines(): one file, two readings.
            fail_at(
                Location(path, number),
                f"U+{ord(other.group()):04X} starts a new line for pip but not for peep; "
                "remove it (end lines with \\n)",
            )
    return lines


@frozen
class _Logical:
    """One logical line: continuations joined, its inline comment removed."""

    kind: Literal["hash", "comment", "line"]
    location: Location
    text: str


def _logical_lines(text: str, path: str) -> Iterator[_Logical]:
    lines = _split_lines(text, path)
    index = 0
    while index < len(lines):
        line = lines[index]
        location = Location(path, index + 1)
        index += 1
        if _HASH_LINE.match(line):
            yield _Logical("hash", location, line)
            continue
        if _COMMENT_OR_BLANK.fullmatch(line):
            yield _Logical("comment", location, line.rstrip())
            continue
        parts = []
        while line.endswith("\\"):
            parts.append(line[:-1])
            # As pip: a comment or blank line ends a continuation and adds nothing;
            # it is left to be read as the comment it is.
            if index == len(lines) or _COMMENT_OR_BLANK.fullmatch(lines[index]):
                line = ""
                break
            line = lines[index]
            index += 1
        parts.append(line)
        joined = _INLINE_COMMENT.sub("", "".join(parts)).strip()
        if joined:
            yield _Logical("line", location, joined)


def _parse_peep_hash(logical: _Logical) -> Digest:
    match = _HASH_LINE.match(logical.text)
    assert match is not None  # noqa: S101 - the caller matched it already
    words = match.group("rest").split(None, 1)
    if not words:
        raise MalformedHashError(f"{logical.location}: '# sha256:' line with no hash after it")
    if len(words) > 1 and not words[1].startswith("#"):
        raise MalformedHashError(
            f"{logical.location}: unexpected {words[1]!r} after the hash; "
            "write one '# sha256: HASH' line per hash"
        )
    try:
        return Digest.from_peep(words[0])
    except InvalidDigest as exc:
        raise MalformedHashError(
            f"{logical.location}: {exc}; recompute it with 'peep hash ARCHIVE'"
        ) from None


def _parse_options(text: str, location: Location) -> list[tuple[str, str | None]]:
    """Split an option string as pip does (shlex) into (long name, raw value) pairs."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        fail_at(location, f"cannot read the options {text!r}: {exc}")
    options: list[tuple[str, str | None]] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token.startswith("--"):
            name, equals, value = token.partition("=")
            attached = value if equals else None
        elif token.startswith("-") and len(token) > 1:
            name, attached = _SHORT_OPTIONS.get(token[:2], token[:2]), token[2:] or None
        else:
            fail_at(location, f"unexpected {token!r}; write one requirement or option per line")
        if name not in _LONG_OPTIONS:
            fail_at(location, f"unknown option {name}")
        if not _LONG_OPTIONS[name]:
            if attached is not None:
                fail_at(location, f"{name} takes no value")
            options.append((name, None))
            continue
        if attached is None and index < len(tokens):
            attached = tokens[index]
            index += 1
        if not attached:
            fail_at(location, f"{name} needs a value")
        options.append((name, attached))
    return options


def _quote(value: str) -> str:
    return value if re.fullmatch(_SAFE_VALUE, value) else shlex.quote(value)


def _split_line(text: str) -> tuple[str, str]:
    """Split off the options as pip does: they start at the first word beginning with '-'."""
    match = _OPTION_START.search(text)
    if match is None:
        return text.strip(), ""
    return text[: match.start()].strip(), text[match.end() :]


def _words(option_text: str) -> list[str] | None:
    try:
        return shlex.split(option_text)
    except ValueError:
        return None


def _refuse_splitting_expansion(
    text: str, location: Location, environ: Mapping[str, str] | None
) -> None:
    """Refuse a ``${VAR}`` whose value would make pip split the line differently.

    pip expands variables in the whole line before it finds the options and splits them
    into words; peep expands each piece after splitting (so that porting keeps
    ``${VAR}``). A value with spaces, quotes or a leading '-' reads two ways.
    """
    expanded = expand_env(text, environ)
    if expanded == text:
        return
    shown, option_text = _split_line(text)
    pip_shown, pip_options = _split_line(expanded)
    mine = _words(option_text)
    if mine is None:
        return  # _parse_options reports the line's own quoting error
    if expand_env(shown, environ) == pip_shown and (
        [expand_env(word, environ) for word in mine] == _words(pip_options)
    ):
        return
    fail_at(
        location,
        "an environment variable's value here holds spaces, quotes or option text, "
        "which pip would read as more words or options than peep; "
        "give the variable a plain value",
    )


def _option_items(
    options: Sequence[tuple[str, str | None]],
    location: Location,
    environ: Mapping[str, str] | None,
    base_dir: str,
) -> Iterator[OptionLine | IncludeLine]:
    for name, raw in options:
        if name == "--hash":
            fail_at(
                location,
                "--hash must be on the same line as its requirement; "
                "join the lines with a backslash (\\)",
            )
        if name == "--editable":
            fail_at(location, f"editable requirements cannot be hash-checked; {ARCHIVE_HINT}")
        if name == "--constraint":
            fail_at(
                location,
                "constraints files are not supported: "
                "pin every requirement with its hashes in a requirements file",
            )
        if raw is None:
            yield OptionLine(location, name, name, None)
            continue
        value = expand_env(raw, environ)
        if name == "--requirement":
            yield IncludeLine(location, value)
            continue
        if name == "--find-links" and not is_url(value):
            # As pip: a relative find-links path in a file is relative to that file.
            value = os.path.normpath(os.path.join(base_dir, value))
        elif name in ("--index-url", "--extra-index-url", "--find-links"):
            problem = url_problem(value)
            if problem is not None:
                fail_at(location, f"{name} {raw}: not a valid URL: {problem}")
        yield OptionLine(location, f"{name} {_quote(raw)}", name, value)


def _refuse_mixed(location: Location, shown: str, hashes_at: Location, options: str) -> NoReturn:
    """Refuse peep's hash lines above a requirement that pins itself the pip way.

    pip reads such a requirement as pinned to its own hashes only; taking the comment's
    hashes too would let a comment allow an archive that pip (and a reviewer) refuses.
    """
    pinned = options or "a hash in its URL"
    fail_at(
        location,
        f"{shown!r} has {pinned} and '# sha256:' lines above it (at {hashes_at}): pip allows "
        f"only {'the --hash values' if options else 'the URL hash'}, peep would allow the "
        "comment's hashes too; write this requirement's hashes one way only",
    )


def parse_reqfile(
    text: str, *, path: str, environ: Mapping[str, str] | None = None, cwd: str | None = None
) -> tuple[Entry | IncludeLine, ...]:
    """Parse one file's text; includes are returned, not followed.

    ``path`` names the file in messages (and relative ``--find-links`` are taken
    relative to its directory); local archive paths resolve against ``cwd``
    (default: the process's). ``${VAR}`` is expanded from ``environ`` only if given.
    Raises RequirementsFileError, or MalformedHashError for a hash value that is
    not a digest at all.
    """
    base_dir = os.path.dirname(absolute_path(path, cwd))
    items: list[Entry | IncludeLine] = []
    pending: list[Digest] = []
    pending_at: Location | None = None
    uses_pip_hashes = False
    for logical in _logical_lines(text, path):
        location = logical.location
        if logical.kind == "hash":
            pending_at = pending_at or location
            pending.append(_parse_peep_hash(logical))
            continue
        if logical.kind == "comment":
            items.append(Comment(location, logical.text))
            continue
        _refuse_splitting_expansion(logical.text, location, environ)
        shown, option_text = _split_line(logical.text)
        options = _parse_options(option_text, location) if option_text else []
        if not shown:
            items.extend(_option_items(options, location, environ, base_dir))
            if pending_at is not None:
                fail_at(pending_at, "hash lines with no requirement below them")
            continue
        pip_digests = []
        for name, value in options:
            if name != "--hash":
                fail_at(location, f"{name} must be on a line of its own, not after a requirement")
            pip_digests.append(parse_pip_hash(expand_env(value or "", environ), location))
        found = parse_requirement(expand_env(shown, environ), shown, location, cwd)
        uses_pip_hashes = uses_pip_hashes or bool(pip_digests)
        pip_side = (*pip_digests, *found.digests)
        if pip_side and pending_at is not None:
            _refuse_mixed(location, shown, pending_at, "--hash options" if pip_digests else "")
        items.append(
            dataclasses.replace(
                found,
                digests=tuple(dict.fromkeys(pip_side or pending)),
                hash_style="pip" if pip_side or not pending else "peep",
            )
        )
        pending, pending_at = [], None
    if pending_at is not None:
        fail_at(pending_at, "hash lines with no requirement below them")
    default: HashStyle = "pip" if uses_pip_hashes else "peep"
    return tuple(
        dataclasses.replace(item, hash_style=default)
        if isinstance(item, ReqLine) and not item.digests
        else item
        for item in items
    )


def _apply_option(options: IndexOptions, line: OptionLine) -> IndexOptions:
    value = line.value or ""
    if line.option == "--index-url":
        return dataclasses.replace(options, index_url=value)
    if line.option == "--extra-index-url":
        return options.overridden_by(IndexOptions(extra_index_urls=(value,)))
    if line.option == "--find-links":
        return options.overridden_by(IndexOptions(find_links=(value,)))
    if line.option == "--trusted-host":
        return options.overridden_by(IndexOptions(trusted_hosts=(value,)))
    if line.option == "--no-index":
        return dataclasses.replace(options, no_index=True)
    if line.option == "--only-binary":
        only_binary = parse_only_binary([value], options.only_binary)
        return dataclasses.replace(options, only_binary=only_binary)
    # --require-hashes, --pre, --prefer-binary: accepted, no effect on the indexes.
    return options


def parse_only_binary(values: Iterable[str], start: frozenset[str] = frozenset()) -> frozenset[str]:
    """Fold ``--only-binary`` values (comma lists, ``:all:``; ``:none:`` clears) into names."""
    names = set(start)
    for value in values:
        for item in (part.strip() for part in value.split(",")):
            if item == ":none:":
                names.clear()
            elif item == ":all:":
                names.add(item)
            elif item:
                names.add(canonicalize_name(item))
    return frozenset(names)


def collect_options(entries: Iterable[object], base: IndexOptions | None = None) -> IndexOptions:
    """Fold the OptionLines among ``entries``, in order, into ``base``.

    A later ``--index-url`` wins; lists accumulate without duplicates;
    ``--only-binary :none:`` clears what came before it.
    """
    options = base if base is not None else IndexOptions()
    for entry in entries:
        if isinstance(entry, OptionLine):
            options = _apply_option(options, entry)
    return options
