"""What one wheel's zip directory says, read once a run, and its members read through it.

The dependency check (``metadata``), the installer split (``installing/batches``,
``preparable``) and the choice of who compiles (``installing/bytecode``) take this value
instead of each opening the wheel and parsing its directory again.
"""

from __future__ import annotations

import contextlib
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from typing import BinaryIO

from peep_setuptools.checks.metadata import (
    WHEEL_READ_ERRORS,
    ArchiveReadError,
    Dependencies,
    parse_metadata,
    read_dist_info,
    unreadable,
)
from peep_setuptools.frozen import frozen

#: verified wheels larger than this together are installed in one run (``batches``): their
#: directories are read for the other looks and dropped
DIRECTORIES_KEPT_AT_MOST = 16 << 20
#: the same for wheels with more members than this together: a kept entry costs ~0.5 KB for
#: the whole run (400 wheels of 10,000 members each would keep ~2 GB)
MEMBERS_KEPT_AT_MOST = 20_000

#: general purpose flags ``zipfile.ZipFile.open`` refuses or reads names by
_ENCRYPTED, _PATCHED, _STRONG, _UTF8 = 0x1, 0x20, 0x40, 0x800


@frozen
class WheelFacts:
    """A wheel's directory and METADATA, read once; ``opened`` reads its other members."""

    #: the directory's entries in its order, folders and repeated names kept (never changed)
    members: tuple[zipfile.ZipInfo, ...] = ()
    #: where the directory starts, and the archive's comment (``preparable``'s layout check)
    directory_at: int = 0
    comment: bytes = b""
    #: METADATA's text, as ``metadata.read_wheel_member`` reads it
    metadata: str | None = None
    #: why ``metadata`` is None
    metadata_problem: str | None = None
    #: why the zip cannot be read at all (``members`` is then empty)
    unreadable: str | None = None
    #: the ``.py`` members: how many, and their size unpacked (``bytecode``'s estimate)
    sources: tuple[int, int] = (0, 0)
    #: False: ``members`` were dropped once read (``DIRECTORIES_KEPT_AT_MOST``)
    directory_kept: bool = True

    def without_directory(self) -> WheelFacts:
        """These facts with the directory's entries dropped (no split reads them)."""
        return replace(self, members=(), directory_kept=False) if self.directory_kept else self

    def dependencies(self, path: str) -> Dependencies:
        """What ``metadata.read_dependencies(path)`` returns for this wheel."""
        if self.metadata is None:
            return unreadable(path, self.metadata_problem or self.unreadable or "unknown")
        return parse_metadata(self.metadata, sdist=False)

    @contextlib.contextmanager
    def opened(self, path: str) -> Iterator[OpenedWheel]:
        """``path`` (the wheel these facts were read from) open for reading its members."""
        with open(path, "rb") as stream:
            yield OpenedWheel(self, stream)


def read_wheel_facts(path: str, *, keep_directory: bool = True) -> WheelFacts:
    """Read the wheel at ``path``: its directory and METADATA. Never raises for a bad wheel.

    ``keep_directory``: False drops the directory's entries once read (no split needs them).
    """
    try:
        with zipfile.ZipFile(path) as wheel:
            members = tuple(wheel.infolist())
            try:
                metadata, problem = read_dist_info(wheel, members, "METADATA", path), None
            except ArchiveReadError as exc:
                metadata, problem = None, str(exc)
            except WHEEL_READ_ERRORS as exc:
                metadata, problem = None, f"it is not a readable wheel ({exc})"
            sizes = [i.file_size for i in members if i.filename.endswith(".py")]
            return WheelFacts(
                members if keep_directory else (),
                wheel.start_dir,
                wheel.comment,
                metadata,
                problem,
                sources=(len(sizes), sum(sizes)),
                directory_kept=keep_directory,
            )
    except WHEEL_READ_ERRORS as exc:
        return WheelFacts(unreadable=f"it is not a readable wheel ({exc})")


class OpenedWheel:
    """A wheel's file read through the directory ``WheelFacts`` holds (not parsed again).

    The part of ``zipfile.ZipFile`` ``preparable`` and ``batches`` use, with the same
    checks: a member opens as ``ZipFile.open`` opens it (its local header there and naming
    the same file, no encryption), and is inflated and CRC-checked by ``zipfile`` itself.
    """

    def __init__(self, facts: WheelFacts, stream: BinaryIO) -> None:
        self.fp = stream
        self.start_dir = facts.directory_at
        self.comment = facts.comment
        self._members = facts.members
        # ZipFile's name lookup: of repeated names, the last entry
        self._named = {info.filename: info for info in facts.members}

    def infolist(self) -> list[zipfile.ZipInfo]:
        """The directory's entries, as ``ZipFile.infolist``."""
        return list(self._members)

    def open(self, member: str | zipfile.ZipInfo) -> zipfile.ZipExtFile:
        """The member's bytes, as ``ZipFile.open`` gives them; KeyError if there is none."""
        info = self._named[member] if isinstance(member, str) else member
        self.fp.seek(info.header_offset)
        header = self.fp.read(30)
        if len(header) != 30:
            raise zipfile.BadZipFile("Truncated file header")
        if header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("Bad magic number for file header")
        (flags,) = struct.unpack("<H", header[6:8])
        name_size, extra_size = struct.unpack("<HH", header[26:30])
        name = self.fp.read(name_size)
        self.fp.read(extra_size)
        if info.flag_bits & (_PATCHED | _STRONG):
            raise NotImplementedError("compressed patched data or strong encryption")
        if name.decode("utf-8" if flags & _UTF8 else "cp437") != info.orig_filename:
            raise zipfile.BadZipFile(f"File name in directory {info.orig_filename!r} differs")
        end = getattr(info, "_end_offset", None)  # Python 3.12+: where the next entry starts
        if end is not None and self.fp.tell() + info.compress_size > end:
            raise zipfile.BadZipFile(f"Overlapped entries: {info.orig_filename!r}")
        if info.flag_bits & _ENCRYPTED:
            raise RuntimeError(f"File {info.filename!r} is encrypted")
        return zipfile.ZipExtFile(self.fp, "r", info)
