"""Reading an archive's metadata (dependencies, RECORD) without running or extracting it."""

from __future__ import annotations

import lzma  # zipfile has imported it
import posixpath
import re
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from typing import IO

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from peep_setuptools import archives
from peep_setuptools.archives import parse_filename
from peep_setuptools.frozen import frozen

#: A METADATA, PKG-INFO or RECORD larger than this is refused: no real one comes close.
MAX_MEMBER_SIZE = 16 * 1024 * 1024
#: An sdist is read as a stream; stop after this many members or uncompressed bytes.
MAX_TAR_MEMBERS = 100_000
MAX_TAR_BYTES = 2 * 1024 * 1024 * 1024
_DIST_INFO = re.compile(r"(?P<stem>[^/]+)\.dist-info/(?P<file>[^/]+)")
#: a header line read without the email parser: a plain name, no CR anywhere
_PLAIN_FIELD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*:[^\r]*")
#: Requires-Dist in an sdist is final only from metadata 2.2 on (PEP 643), unless Dynamic.
_STATIC_SDIST_METADATA = Version("2.2")
#: what reading a damaged wheel raises (zlib, lzma: a member whose stream is broken; a
#: version, method or flag zipfile does not read: NotImplementedError; encrypted: RuntimeError)
WHEEL_READ_ERRORS = (
    OSError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    ValueError,
    zlib.error,
    lzma.LZMAError,
    NotImplementedError,
    RuntimeError,
)


class ArchiveReadError(Exception):
    """An archive's metadata cannot be read; callers turn it into a note or a PeepError."""


@frozen
class Dependencies:
    """What an archive says it needs; ``requires`` is None when that cannot be known."""

    name: str
    version: str
    requires: tuple[Requirement, ...] | None
    #: why ``requires`` is None, as a clause: "its PKG-INFO is metadata 2.1, ..."
    reason: str | None = None


def is_wheel(path: str) -> bool:
    """Tell whether ``path`` names a wheel (by its extension)."""
    # In any case: a local archive named FOO.WHL is still read as the zip it is.
    return archives.is_wheel(path.lower())


def read_dependencies(path: str) -> Dependencies:
    """Return the dependencies a wheel or sdist declares, reading only its metadata file.

    Never raises for a bad archive: an unreadable one yields ``requires=None`` and a reason.
    """
    try:
        if is_wheel(path):
            return parse_metadata(read_wheel_member(path, "METADATA"), sdist=False)
        text = read_sdist_pkg_info(path)
    except ArchiveReadError as exc:
        return unreadable(path, str(exc))
    if text is None:
        return unreadable(path, "it has no PKG-INFO, so only building it would tell")
    return parse_metadata(text, sdist=True)


def unreadable(path: str, reason: str) -> Dependencies:
    """The dependencies of an archive whose metadata cannot be read: unknown, for ``reason``."""
    name, version = _name_version(posixpath.basename(path))
    return Dependencies(name, version, None, reason)


def parse_metadata(text: str, *, sdist: bool) -> Dependencies:
    """Parse a METADATA or PKG-INFO text (pure).

    For an sdist the dependencies are known only for metadata 2.2 and later with
    ``Requires-Dist`` not listed as ``Dynamic``.
    """
    headers = header_fields(text)
    name = (first_field(headers, "name") or "").strip()
    version = (first_field(headers, "version") or "").strip()
    if sdist:
        declared = (first_field(headers, "metadata-version") or "").strip()
        try:
            static = Version(declared) >= _STATIC_SDIST_METADATA
        except InvalidVersion:
            static = False
        if not static:
            return Dependencies(
                name,
                version,
                None,
                f"its PKG-INFO is metadata {declared or 'of no version'}, which does not "
                "promise that its Requires-Dist is final; only building it would tell",
            )
        dynamic = {v.strip().lower() for v in headers.get("dynamic", ())}
        if "requires-dist" in dynamic:
            return Dependencies(
                name,
                version,
                None,
                "its PKG-INFO marks Requires-Dist as dynamic; only building it would tell",
            )
    requires = []
    for raw in headers.get("requires-dist", ()):
        try:
            requires.append(Requirement(raw.strip()))
        except InvalidRequirement:
            return Dependencies(
                name, version, None, f"its Requires-Dist {raw.strip()!r} is not valid"
            )
    return Dependencies(name, version, tuple(requires))


def header_fields(text: str) -> Mapping[str, Sequence[str]]:
    """The header block at the start of ``text``: each name (lowercase) -> its values, in order.

    What the email parser (compat32, as ``HeaderParser`` reads) gives; a plain block is read
    here, without it: importing it (with socket and datetime) was ~4 ms of a warm run.
    """
    fields = _plain_fields(text)
    if fields is None:
        import email.parser  # its default policy is compat32; naming it imports email.policy

        fields = {}
        for key, value in email.parser.HeaderParser().parsestr(text).items():
            fields.setdefault(key.lower(), []).append(str(value))
    return fields


def _plain_fields(text: str) -> dict[str, list[str]] | None:
    """``header_fields`` of a plain block, or None when only the email parser may tell.

    Plain: "Name: value" lines (folded ones too) up to an empty line or the text's end, each
    ending as the first one does, in LF or in CR LF (some sdists' PKG-INFO: the parser
    keeps that ending inside a folded value); not plain: any other CR, an odd name, a
    first line that is not a field, a surrogate. Only the block is split and checked: a
    METADATA's description after it is most of its text.
    """
    newline = "\r\n" if text.partition("\n")[0].endswith("\r") else "\n"
    end = text.find(newline * 2)
    block = text if end < 0 else text[: end + len(newline)]  # with its last line's ending
    read: list[tuple[str, list[str]]] = []  # each field's name and lines
    for line in block.split("\n"):
        if newline == "\r\n" and line:
            if not line.endswith("\r"):
                return None  # a line ended by "\n" alone, or the text's last, unended
            line = line[:-1]
        if not line:
            break  # the empty line ending the block
        if line[0] in " \t" and read and "\r" not in line:
            read[-1][1].append(line)  # folded: the parser keeps the line, after the ending
        elif _PLAIN_FIELD.fullmatch(line):
            key, _, first = line.partition(":")
            read.append((key.lower(), [first.lstrip(" \t")]))
        else:
            return None
    try:
        block.encode()  # a surrogate: the parser hands back an email Header, not the text
    except UnicodeEncodeError:
        return None
    fields: dict[str, list[str]] = {}
    for key, lines in read:
        fields.setdefault(key, []).append(newline.join(lines))
    return fields


def first_field(headers: Mapping[str, Sequence[str]], key: str) -> str | None:
    """The first value of ``key`` (lowercase) in ``header_fields``: ``Message.get``'s."""
    values = headers.get(key)
    return values[0] if values else None


def read_wheel_member(path: str, filename: str) -> str:
    """Return the text of ``*.dist-info/<filename>`` in a wheel; raises ArchiveReadError."""
    try:
        with zipfile.ZipFile(path) as archive:
            return read_dist_info(archive, archive.infolist(), filename, path)
    except WHEEL_READ_ERRORS as exc:
        raise ArchiveReadError(f"it is not a readable wheel ({exc})") from exc


def read_dist_info(
    archive: zipfile.ZipFile, infos: Sequence[zipfile.ZipInfo], filename: str, path: str
) -> str:
    """``read_wheel_member`` in an open wheel whose directory is ``infos``.

    Raises ArchiveReadError if it has none, or what reading the member raises.
    """
    named = {
        info.filename: info  # of a name given twice, the last: zipfile's, and what pip writes
        for info in infos
        # (the suffix first: a wheel's other members, thousands of them, skip the pattern)
        if info.filename.endswith(filename)
        and (m := _DIST_INFO.fullmatch(info.filename))
        and m.group("file") == filename
    }
    found = list(named.values())
    if len(found) > 1:
        # Several dist-info folders: the one named for the wheel's project wins.
        wanted = _name_version(posixpath.basename(path))[0]
        found = [i for i in found if _stem_name(i.filename) == wanted] or found[:1]
    if not found:
        raise ArchiveReadError(f"it has no .dist-info/{filename}")
    with archive.open(found[0]) as stream:
        return _read_capped(stream, found[0].file_size, filename)


def read_wheel_file(path: str, member: str) -> bytes:
    """Return the bytes of the wheel member named exactly ``member``; raises ArchiveReadError."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(member)
            with archive.open(info) as stream:
                return _read_capped_bytes(stream, info.file_size, member)
    except KeyError:
        raise ArchiveReadError(f"it has no {member}") from None
    except WHEEL_READ_ERRORS as exc:
        raise ArchiveReadError(f"it is not a readable wheel ({exc})") from exc


def read_sdist_pkg_info(path: str) -> str | None:
    """Return the text of an sdist's top-level ``PKG-INFO``, or None if it has none.

    Tarballs are read as a stream (nothing is extracted, links are never followed);
    raises ArchiveReadError for a broken archive or one past the size caps.
    """
    if path.lower().endswith(".zip"):
        return _zip_pkg_info(path)
    import tarfile  # only an sdist is a tarball: a run of wheels need not load it

    seen = 0
    scanned = 0
    try:
        with tarfile.open(path, "r|*") as archive:
            for member in archive:
                seen += 1
                scanned += max(member.size, 0)
                if seen > MAX_TAR_MEMBERS or scanned > MAX_TAR_BYTES:
                    raise ArchiveReadError("it is too large to look inside safely")
                if not (member.isfile() and is_top_member(member.name, "PKG-INFO")):
                    continue
                stream = archive.extractfile(member)
                if stream is None:
                    return None
                return _read_capped(stream, member.size, "PKG-INFO")
    except (OSError, tarfile.TarError, EOFError, ValueError) as exc:
        raise ArchiveReadError(f"it is not a readable sdist ({exc})") from exc
    return None


def _zip_pkg_info(path: str) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir() and is_top_member(info.filename, "PKG-INFO"):
                    with archive.open(info) as stream:
                        return _read_capped(stream, info.file_size, "PKG-INFO")
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise ArchiveReadError(f"it is not a readable sdist ({exc})") from exc
    return None


def is_top_member(name: str, filename: str) -> bool:
    """Whether archive member ``name`` is ``filename`` in an sdist's one top folder (pure)."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return len(parts) == 2 and parts[1] == filename and parts[0] != ".."


def _read_capped(stream: IO[bytes], declared: int, what: str) -> str:
    return _read_capped_bytes(stream, declared, what).decode("utf-8", errors="replace")


def _read_capped_bytes(stream: IO[bytes], declared: int, what: str) -> bytes:
    # The declared size may lie; read one byte past the cap to catch it.
    if declared > MAX_MEMBER_SIZE:
        raise ArchiveReadError(f"its {what} is larger than {MAX_MEMBER_SIZE // 2**20} MB")
    data = stream.read(MAX_MEMBER_SIZE + 1)
    if len(data) > MAX_MEMBER_SIZE:
        raise ArchiveReadError(f"its {what} is larger than {MAX_MEMBER_SIZE // 2**20} MB")
    return data


def _stem_name(member: str) -> str:
    match = _DIST_INFO.fullmatch(member)
    stem = match.group("stem") if match else ""
    return canonicalize_name(stem.rsplit("-", 1)[0])


def _name_version(filename: str) -> tuple[str, str]:
    """(canonical name, version) of an archive filename; for messages only, so never fails."""
    parsed = parse_filename(filename)
    if parsed is None:
        return canonicalize_name(filename.partition("-")[0]), ""
    return parsed.name, parsed.version_text
