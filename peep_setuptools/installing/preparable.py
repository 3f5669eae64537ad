"""Whether pip and uv take a wheel as it is, before installing anything (``batches.py``).

One installer run that refuses a wheel while it prepares (its metadata disagrees with its
file name, its Requires-Python or tags exclude the target, its WHEEL is of another version,
uv cannot unpack it) installs nothing at all. Split into several runs, the others would
install theirs. So a wheel is split off only when nothing here gives either installer a
reason to refuse it, nor to fail half-way through it (a member it cannot place or unpack).
"""

from __future__ import annotations

import csv
import io
import lzma
import os
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Mapping, Sequence

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from peep_setuptools.archives import parse_filename
from peep_setuptools.checks.metadata import first_field, header_fields
from peep_setuptools.checks.wheelfacts import OpenedWheel
from peep_setuptools.index.choose import tag_ranks
from peep_setuptools.installing.handoff import VerifiedArchive
from peep_setuptools.target import Target

#: a METADATA or WHEEL larger than this is not read (the split reads before any install)
_MAX_HEADER_FILE = 1 << 24
#: a wheel unpacking to more than this is not unpacked to check it (nor split off)
_MAX_UNPACKED = 1 << 26
#: a plainly zipped member: deflate's options, a UTF-8 name (no data descriptor: none of 300
#: real wheels had one); stored or
#: deflated; extra fields of ZIP64 sizes, times, owners (Info-ZIP's, NTFS's)
_UTF8 = 0x800
_PLAIN_FLAGS = 0x2 | 0x4 | _UTF8
_ZIP64 = 0xFFFFFFFF
_PLAIN_COMPRESSION = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_PLAIN_EXTRA = frozenset({0x0001, 0x5455, 0x7875, 0x000A})

_WHEEL_VERSION = re.compile(r"1\.\d+")

#: the longest name of one file or folder (bytes) file systems take, and of a member's path
_MAX_PART, _MAX_PATH = 255, 1024

#: the folders of ``NAME.data`` pip and uv know
_SCHEMES = frozenset({"purelib", "platlib", "headers", "scripts", "data"})


def refused(
    wheel: OpenedWheel, members: Sequence[str], archive: VerifiedArchive, target: Target | None
) -> str | None:
    """Why an installer might refuse ``wheel`` before installing; None: no reason found.

    ``members``: its file names. ``target`` None (tests): tags and Requires-Python are not
    checked. Raises what reading the zip raises.
    """
    parsed = parse_filename(os.path.basename(archive.path))
    if parsed is None or parsed.kind != "wheel" or parsed.name != archive.name:
        return "its file name is not a wheel of its project"
    if archive.version is not None and _version(archive.version) != parsed.version:
        return "its file name has another version"
    if target is not None and not any(tag in tag_ranks(target.tags) for tag in parsed.tags):
        return "none of its tags is the target's"
    misplaced = next((m for m in members if not _placeable(m)), None)
    if misplaced is not None:
        return f"pip cannot place its member {misplaced!r}"
    damage = _damaged(wheel)
    if damage is not None:
        return damage
    folders = {m.split("/", 1)[0] for m in members if m.split("/", 1)[0].endswith(".dist-info")}
    if len(folders) != 1:
        return "it has not one .dist-info folder"
    info = folders.pop()
    name, _, version = info[: -len(".dist-info")].partition("-")
    if not _same(name, version, parsed.name, parsed.version):
        return "its .dist-info folder names another project or version"
    wheel_file = _headers(wheel, members, f"{info}/WHEEL")
    if wheel_file is None or not _WHEEL_VERSION.fullmatch(
        first_field(wheel_file, "wheel-version") or ""
    ):
        return "its WHEEL file is not of version 1"
    metadata = _headers(wheel, members, f"{info}/METADATA")
    if metadata is None or "metadata-version" not in metadata or f"{info}/RECORD" not in members:
        return "it has no readable METADATA (with its Metadata-Version) or no RECORD"
    name, version = first_field(metadata, "name") or "", first_field(metadata, "version") or ""
    if not _same(name, version, parsed.name, parsed.version):
        return "its METADATA names another project or version"
    if not _plain_record(_text(wheel, f"{info}/RECORD")):
        return "its RECORD is not plain CSV of three fields a row"
    return _requires_refused(metadata, target) or _python_refused(
        first_field(metadata, "requires-python"), target
    )


def _requires_refused(metadata: Mapping[str, Sequence[str]], target: Target | None) -> str | None:
    """Why pip may refuse the wheel's Requires-Dist even with ``--no-deps``; None: none.

    Newer pips take one that does not parse for "invalid metadata", and evaluate each
    marker (pip 26 stops with a traceback on ``python_full_version ~= '3'``): so a marker
    that cannot be evaluated on the target, with no extra or any the wheel provides, too.
    """
    extras = ["", *metadata.get("provides-extra", ())]
    for line in metadata.get("requires-dist", ()):
        try:
            marker = Requirement(line).marker
        except InvalidRequirement:
            return f"its Requires-Dist {line!r} is not valid"
        if marker is None or target is None:
            continue
        try:
            for extra in extras:
                target.marker_holds(marker, extra=extra.strip())
        except ValueError:  # MarkerEvaluationError, InvalidVersion
            return f"its Requires-Dist {line!r} has a marker that cannot be evaluated"
    return None


def _placeable(member: str) -> bool:
    """Whether pip installs this member where it belongs rather than failing half-way.

    pip refuses a path outside its folder, and a ``NAME.data`` member without a known
    scheme folder, only when it comes to it, with the wheels before it installed.
    """
    normal = posixpath.normpath(member)
    if normal.startswith("/") or normal == ".." or normal.startswith("../"):
        return False
    if not member.split("/", 1)[0].endswith(".data"):
        return True
    parts = normal.split("/", 2)
    return len(parts) == 3 and parts[1] in _SCHEMES


def _damaged(wheel: OpenedWheel) -> str | None:
    """Why a member may not be unpacked as it is: ``_plain`` says no, or it cannot be read.

    uv unpacks every wheel before it installs any, and refuses such a wheel then: one uv
    run installs nothing. pip fails on the member half-way through its wheels. Every
    member is read: its CRC is known only at its end.
    """
    infos = wheel.infolist()
    if sum(info.file_size for info in infos) > _MAX_UNPACKED:
        return "it is too large to unpack before installing"
    if not _laid_out(wheel, infos):
        return "its members are not laid out plainly (bytes between them, local headers)"
    for info in infos:
        if not _nameable(info.orig_filename):
            return f"its member name {info.orig_filename!r} cannot be written as it is"
        if not _plain(info):
            return f"its member {info.filename!r} is not plainly zipped"
        try:
            with wheel.open(info) as stream:
                while stream.read(1 << 20):
                    pass
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError) as exc:
            return f"its member {info.filename!r} cannot be unpacked: {exc}"
        except (zlib.error, lzma.LZMAError) as exc:
            return f"its member {info.filename!r} cannot be unpacked: {exc}"
    return None


def _nameable(name: str) -> bool:
    """Whether every installer writes a member (file or folder) by this name as it is.

    uv refuses, as it unpacks (before installing any wheel), an empty name and one with
    any of Unicode's "other" characters (controls, format characters such as the soft
    hyphen, private use, unassigned; ``isprintable`` refuses those and non-ASCII spaces).
    A name of the folder itself (``.``, ``a/..``) or a part longer than a file system
    takes fails both, pip half-way.
    """
    path = name.rstrip("/")
    if not (path and path.isprintable()) or len(path.encode("utf-8")) > _MAX_PATH:
        return False
    if posixpath.normpath(path) in (".", ".."):
        return False
    return all(len(part.encode("utf-8")) <= _MAX_PART for part in path.split("/"))


def _laid_out(wheel: OpenedWheel, infos: list[zipfile.ZipInfo]) -> bool:
    """Whether members lie one after another, then the directory, headers agreeing.

    Python's reader skips bytes before the first member and after the directory's end
    record, and takes a member's method, CRC, sizes and extra fields from the directory;
    uv refuses the first and, handed a wheel through ``--find-links``, reads the local
    header instead (it refuses a mismatch as it unpacks, or names the file otherwise).
    """
    stream = wheel.fp
    at = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        stream.seek(info.header_offset)
        header = stream.read(30)
        if info.header_offset != at or len(header) < 30 or header[:4] != b"PK\x03\x04":
            return False
        fields = struct.unpack("<HHHHIIIHH", header[6:30])
        flags, method, _, _, crc, packed, size, name, extra = fields
        stream.seek(name, 1)
        if (flags, method, crc) != (info.flag_bits, info.compress_type, info.CRC):
            return False
        sizes = (packed, size) in ((info.compress_size, info.file_size), (_ZIP64, _ZIP64))
        if not (sizes and _plain_extra(stream.read(extra))):
            return False
        at = info.header_offset + 30 + name + extra + info.compress_size
    return wheel.start_dir == at and _ends_plainly(wheel, len(infos))


def _ends_plainly(wheel: OpenedWheel, count: int) -> bool:
    """Whether the directory runs to the end record, which ends the file and counts it right.

    Python's reader takes the directory's size and skips the rest; uv refuses an entry
    count that disagrees, a ZIP64 end record's extra data, and a comment holding bytes 1-8
    (as if a zip were inside it): no comment, no ZIP64 end record here.
    """
    stream = wheel.fp
    stream.seek(0, 2)
    end = stream.tell() - 22
    if wheel.comment or end < 0:
        return False
    stream.seek(end)
    fields = struct.unpack("<4sHHHHIIH", stream.read(22))
    signature, disk, first_disk, here, total, size, offset, comment = fields
    entries = (disk, first_disk, here, total, comment) == (0, 0, count, count, 0)
    return signature == b"PK\x05\x06" and entries and offset == wheel.start_dir == end - size


def _plain(info: zipfile.ZipInfo) -> bool:
    """Whether every reader takes this member as Python does: anything else keeps one run.

    uv's reader is stricter than Python's and reads more: a name not flagged as UTF-8
    (Python reads cp437), an extra field naming the file otherwise (Info-ZIP's Unicode
    Path), encryption, a compression other than deflate. Only what real wheels use passes.
    """
    if info.flag_bits & ~_PLAIN_FLAGS or info.compress_type not in _PLAIN_COMPRESSION:
        return False
    if not (info.flag_bits & _UTF8 or info.filename.isascii()):
        return False
    return _plain_extra(info.extra)


def _plain_extra(extra: bytes) -> bool:
    """Whether a member's extra fields are only ZIP64 sizes, times and owners."""
    while len(extra) >= 4:
        kind, size = struct.unpack("<HH", extra[:4])
        if kind not in _PLAIN_EXTRA:
            return False
        extra = extra[4 + size :]
    return not extra


def _same(name: str, version: str, project: NormalizedName, expected: Version) -> bool:
    return canonicalize_name(name) == project and _version(version) == expected


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _python_refused(requires: str | None, target: Target | None) -> str | None:
    if requires is None:
        return None
    try:
        specifier = SpecifierSet(requires)
    except InvalidSpecifier:
        return "its Requires-Python is not a specifier"
    if target is not None and not specifier.contains(target.python_version, prereleases=True):
        return "its Requires-Python excludes the target"
    return None


def _headers(
    wheel: OpenedWheel, members: Sequence[str], member: str
) -> Mapping[str, Sequence[str]] | None:
    """The header block of a METADATA-like member; None if missing, too large or not UTF-8."""
    text = _text(wheel, member) if member in members else None
    return None if text is None else header_fields(text)


def _text(wheel: OpenedWheel, member: str) -> str | None:
    """A member's text; None if too large or not UTF-8. KeyError if there is none."""
    with wheel.open(member) as stream:
        data = stream.read(_MAX_HEADER_FILE + 1)
    if len(data) > _MAX_HEADER_FILE:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _plain_record(text: str | None) -> bool:
    """Whether every reader takes RECORD's rows alike: three fields, quoted as csv writes them.

    uv reads every wheel's RECORD before it installs any, and refuses a row of fewer
    fields or a name not UTF-8; pip refuses the latter half-way. Rows are kept to what
    Python's csv writer makes of them, which both readers parse the same way.
    """
    if text is None:
        return False
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for line in lines:
        line = line.removesuffix("\r")
        row = next(csv.reader([line]), [])
        out.seek(0)
        out.truncate()
        writer.writerow(row)
        if len(row) != 3 or out.getvalue() != f"{line}\n":
            return False
    return True


#: a script name in ``console_scripts`` or ``gui_scripts``: a file name in any file system
_SCRIPT_NAME = re.compile(r"[\w+-][\w.+-]{0,99}")
#: an entry point's object reference (``module.sub:attr.attr``) and extras, as pip requires
_IDENTIFIERS = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
_SCRIPT_VALUE = re.compile(rf"{_IDENTIFIERS}\s*:\s*{_IDENTIFIERS}(?:\s*\[[\w\s,.-]*\])?")
_SECTION = re.compile(r"\[([\w.-]+)\]")
_SCRIPT_SECTIONS = ("console_scripts", "gui_scripts")


def entry_points_refused(text: str) -> str | None:
    """Why pip or uv may fail on this ``entry_points.txt`` as it installs; None: no reason.

    uv refuses a file that is not plain INI (a line before any section, a continuation
    line); both refuse a script whose name leaves the scripts folder (``..``, too long for
    a file name) or whose object reference is not one, with the wheels before installed.
    Only what real wheels use passes: sections once, names once in each, '#' comments.
    """
    section: str | None = None
    seen: set[tuple[str, str]] = set()
    for line in text.split("\n"):  # uv's lines: Python's splitlines() ends more of them
        line = line.removesuffix("\r")
        if not line.strip() or line.startswith("#"):  # ';' is no comment to importlib
            continue
        header = _SECTION.fullmatch(line.rstrip())
        key, equals, value = (part.strip() for part in line.partition("="))
        plain = line.replace("\t", " ").isprintable() and not line[0].isspace()
        entry = ("", header.group(1)) if header else (section or "", key)
        if entry in seen or not (plain and (header or (section and equals and key))):
            return f"its entry_points.txt line {line!r} may be read otherwise"
        seen.add(entry)
        if header is not None:
            section = header.group(1)
        elif section in _SCRIPT_SECTIONS and not (
            _SCRIPT_NAME.fullmatch(key) and _SCRIPT_VALUE.fullmatch(value)
        ):
            return f"its script {key!r} = {value!r} may not be installable"
    return None
