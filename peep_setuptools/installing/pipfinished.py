"""Which wheels pip has finished, told from its site folders while it goes on (``bytecode``).

pip installs one wheel after another: it writes the wheel's files (its own RECORD among
them), then INSTALLER, then its RECORD (by renaming a whole file in place). Of those, only
pip's last RECORD has a row for INSTALLER with a hash: the wheel's own RECORD has none
(a wheel that names its INSTALLER, or writes it or its RECORD under another name, as pip
normalises names, is never told finished), and the RECORD pip writes
for a wheel it stopped installing has no hashes. So a wheel is finished once the RECORD in
its dist-info folder, named as in the wheel, has that row and is not the RECORD that was
there before pip began (a reinstall of the same version).

Compiling a finished wheel while pip goes on must not race pip's later work: a wheel that
writes where another of the install does (a shared ``__init__.py``, another's dist-info
folder), or where an installed copy pip removes has files, is told finished only once pip
has exited (``Expected.alone``).
"""

from __future__ import annotations

import contextlib
import csv
import email.parser
import io
import os
import posixpath
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace

from packaging.utils import canonicalize_name

from peep_setuptools.checks.claims import metadata_project
from peep_setuptools.frozen import frozen

#: a RECORD file's identity (``record_id``)
RecordId = tuple[int, int, int, int]

#: what pip writes itself into a dist-info folder; a wheel that names it is never told finished
_MADE = "installer"
#: a wheel's RECORD larger than this is not read (its wheel is compiled once pip has exited)
_MAX_RECORD = 64 << 20


@frozen
class Expected:
    """A verified wheel as pip installs it: its dist-info folder, the sources it writes."""

    entry: str
    #: its dist-info folder with pip's last RECORD means pip has finished it (``_read``)
    told: bool
    #: nothing else pip does in this install writes where compiling this wheel reads or writes
    alone: bool
    #: its ``.py`` members (as the zip names them), and its entry points' script names
    sources: tuple[str, ...] = ()
    wrappers: frozenset[str] = frozenset()
    #: the scheme pip puts its dist-info folder in (Root-Is-Purelib): "purelib", "platlib"
    lib: str = "purelib"

    def installs_into(self, folder: str, schemes: Mapping[str, str]) -> bool:
        """Whether pip puts this wheel's dist-info folder in ``folder``.

        A folder of the same name in the other site folder (a wheel's ``.data`` may write
        one) is not pip's.
        """
        return schemes.get(self.lib, folder) == folder

    def compiled(self, lib: str, schemes: Mapping[str, str]) -> list[str]:
        """The files pip compiles installing this wheel into ``lib`` (its dist-info's folder).

        What pip writes from the wheel, and no other file its RECORD may name: not a
        script pip generates, nor a path the wheel's own RECORD names and does not carry.
        A script of the wheel that an entry point replaces is not written (pip: "entry
        point wrappers"); a header is not compiled here (its folder is pip's own choice).
        """
        found = []
        for name in self.sources:
            dest = written_to(name, lib, schemes)
            if dest is None or (_script(name) and _wrapper(dest, self.wrappers)):
                continue
            found.append(dest)
        return found


@frozen
class Before:
    """The site folders as pip found them: read before it starts."""

    #: each ``.dist-info`` folder's RECORD (``record_id``), by (folder, entry)
    records: Mapping[tuple[str, str], RecordId | None]
    #: where the installed copies of the projects being installed have files (pip removes them)
    removed: Mapping[str, frozenset[str]]
    #: an installed copy whose files no RECORD tells (an egg): nothing is ``alone``
    unknown: bool


def before(names: Collection[str], schemes: Mapping[str, str]) -> Before:
    """The site folders ``schemes`` names, before pip installs ``names`` (canonical) there."""
    records: dict[tuple[str, str], RecordId | None] = {}
    removed: dict[str, set[str]] = {}
    unknown = False
    for folder in lib_folders(schemes):
        for entry in entries(folder):
            if entry.endswith(".dist-info"):
                records[folder, entry] = record_id(folder, entry)
            named = metadata_project(entry, eggs=True)
            project = canonicalize_name(named) if named else None
            if project is None or project not in names:
                continue
            unknown = unknown or not entry.endswith(".dist-info")
            removed.setdefault(project, set()).update(_recorded_keys(folder, entry))
    frozen = {project: frozenset(keys) for project, keys in removed.items()}
    return Before(records, frozen, unknown)


def expected(
    wheels: Sequence[tuple[str, str]], schemes: Mapping[str, str], found: Before
) -> dict[str, Expected]:
    """``Expected`` of each readable (project, archive), by its dist-info folder's name.

    ``wheels``: every archive of the install (an sdist too). ``schemes``: the target's
    install folders (purelib, platlib, scripts, data...). A wheel that may forge what
    ``finished_by_pip`` reads (``_forges``) is not ``told`` (compiled once pip has exited).
    """
    read: dict[str, Expected] = {}
    keys: dict[str, set[str]] = {}
    unknown = found.unknown  # where some archive writes is not known: nothing is alone
    for name, path in wheels:
        keys[path] = set(found.removed.get(canonicalize_name(name), ()))
        got = _read(path, schemes)
        if got is None:
            unknown = True  # an sdist pip builds, or a wheel it may refuse
        else:
            read[path], written = got
            keys[path] |= written
    owners = Counter(key for found_keys in keys.values() for key in found_keys)
    told: dict[str, Expected] = {}
    for path, wheel in read.items():
        alone = not unknown and all(owners[k] == 1 for k in keys[path])
        same = told.get(wheel.entry)
        if same is not None:  # two wheels of one dist-info folder: the last pip installs wins
            sources, wrappers = (*same.sources, *wheel.sources), same.wrappers | wheel.wrappers
            told_too = same.told and wheel.told
            wheel = replace(wheel, told=told_too, sources=sources, wrappers=wrappers)
        told[wheel.entry] = replace(wheel, alone=alone and same is None)
    return told


def record_id(folder: str, entry: str) -> RecordId | None:
    """Which file the RECORD of ``folder/entry`` is; None if there is none.

    Its device and inode, and its size and time: a new file may get the inode of one
    removed (pip may copy an old RECORD away and remove it before writing its own).
    """
    try:
        stat = os.stat(os.path.join(folder, entry, "RECORD"))
    except OSError:
        return None
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def finished_by_pip(folder: str, entry: str) -> bool:
    """Whether ``folder/entry/RECORD`` is the one pip writes last, with INSTALLER's hash."""
    info = os.path.join(folder, entry)
    if not os.path.isfile(os.path.join(info, "INSTALLER")):
        return False
    try:
        with open(os.path.join(info, "RECORD"), encoding="utf-8", newline="") as stream:
            rows = list(csv.reader(stream))
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    installer = f"{entry}/INSTALLER"
    return any(len(row) > 1 and row[0] == installer and row[1] for row in rows)


def _read(path: str, schemes: Mapping[str, str]) -> tuple[Expected, set[str]] | None:
    """The wheel at ``path`` as ``Expected`` (not yet ``alone``), and where it writes."""
    try:
        with zipfile.ZipFile(path) as wheel:
            names = [n for n in wheel.namelist() if not n.endswith("/")]
            tops = {n.split("/", 1)[0] for n in names if "/" in n}
            infos = [top for top in tops if top.endswith(".dist-info")]
            if len(infos) != 1:
                return None  # pip refuses it
            (entry,) = infos
            record, points = wheel.getinfo(f"{entry}/RECORD"), f"{entry}/entry_points.txt"
            big = record.file_size > _MAX_RECORD
            text = "" if big else wheel.read(record).decode("utf-8", "replace")
            scripts = wheel.read(points).decode("utf-8", "replace") if points in names else ""
            about = wheel.read(f"{entry}/WHEEL").decode("utf-8", "replace")
    except Exception:  # any member zipfile cannot read (a method, a cipher): pip says why
        return None
    # as pip reads it (``wheel_root_is_purelib``)
    purelib = email.parser.Parser().parsestr(about).get("Root-Is-Purelib", "").lower() == "true"
    rows = None if big else _first_fields(text)
    sources = tuple(n for n in names if n.endswith(".py"))
    # a RECORD not read (too big, not CSV as finished_by_pip reads it) may name INSTALLER;
    # its wheel is still known (what pip writes from it, and compiles, is its members)
    told = rows is not None and not _forges(entry, names, rows, schemes)
    lib = "purelib" if purelib else "platlib"
    found = Expected(entry, told, False, sources, _script_names(scripts), lib)
    return found, _member_keys(names, schemes)


def _forges(
    entry: str, names: Sequence[str], rows: Sequence[str], schemes: Mapping[str, str]
) -> bool:
    """Whether the wheel may put there, before pip's last RECORD, what ``finished_by_pip`` reads.

    A member pip writes as its dist-info folder's INSTALLER, or as its RECORD (but the
    wheel's RECORD itself), wherever written (``written_to``: a ``.data`` scheme reaches
    the site folder, ``x/..`` climbs back), or a member or row of its RECORD that names
    INSTALLER however spelt (either separator, either case). Not another folder's INSTALLER
    (setuptools vendors dist-info folders) nor "installer" in another name (installer.py).
    """
    made, own = _tail(f"{entry}/{_MADE}", 0), f"{entry}/RECORD"
    record = _tail(own, 0)
    if any(made in _spellings(row, len(made)) for row in rows):
        return True
    kept = {
        _key(os.path.join(lib, entry, file))
        for lib in lib_folders(schemes)
        for file in ("INSTALLER", "RECORD")
    }
    for name in names:
        if name == own:
            continue
        if made in _spellings(name, len(made)) or record in _spellings(name, len(record)):
            return True
        for lib in lib_folders(schemes):
            dest = written_to(name, lib, schemes)
            if dest is not None and _key(dest) in kept:
                return True
    return False


def _spellings(name: str, count: int) -> tuple[tuple[str, ...], ...]:
    """The last ``count`` parts of ``name``: as written, and as pip on Windows normalises it.

    There either separator splits, and "x/.." climbs back.
    """
    normal = posixpath.normpath(name.replace("\\", "/"))
    return _tail(name, count), _tail(normal, count)


def _first_fields(text: str) -> list[str] | None:
    """Each row's path, read as ``finished_by_pip`` reads the file (any line end ends one).

    None: not CSV so read.
    """
    try:
        return [row[0] for row in csv.reader(io.StringIO(text, newline="")) if row]
    except csv.Error:
        return None


def _tail(name: str, count: int) -> tuple[str, ...]:
    """The last ``count`` parts (0: all) of a member or RECORD row, case-folded.

    Split at either separator (Windows takes both).
    """
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    return tuple(_fold(p) for p in parts[-count:])


def written_to(name: str, lib: str, schemes: Mapping[str, str]) -> str | None:
    """Where pip writes member ``name`` of a wheel whose root goes to ``lib``.

    As pip does (``_install_wheel``): the name normalised first, then a ``.data`` member's
    scheme is the second part of what is left (``a.data/x/../purelib/m.py`` goes to
    purelib). None where pip refuses it, or its scheme's folder is not known.
    """
    normal = os.path.normpath(name)
    root = lib
    if name.split("/", 1)[0].endswith(".data"):
        parts = normal.split(os.sep, 2)
        if len(parts) < 3:
            return None
        root = schemes.get(parts[1], lib if parts[1] in ("purelib", "platlib") else "")
        normal = parts[2]
    dest = os.path.join(root, normal)
    # pip refuses a member outside its folder (``is_within_directory``: by their prefix)
    inside = os.path.commonprefix([os.path.abspath(root), os.path.abspath(dest)])  # noqa: RUF071
    return dest if root and inside == os.path.abspath(root) else None


def _script(name: str) -> bool:
    """Whether pip takes member ``name`` for a script (its name as written: ``.data/scripts``)."""
    parts = name.split("/", 2)
    return len(parts) > 2 and parts[0].endswith(".data") and parts[1] == "scripts"


def _script_names(text: str) -> frozenset[str]:
    """The names of the console and GUI scripts an entry_points.txt declares."""
    found, section = set(), ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section in ("console_scripts", "gui_scripts") and "=" in line:
            found.add(line.split("=", 1)[0].strip())
    return frozenset(found)


def _wrapper(name: str, wrappers: frozenset[str]) -> bool:
    """Whether pip leaves out the wheel's script ``name``: an entry point writes it."""
    base = os.path.basename(name)
    lower = base.lower()
    for suffix in (".exe", "-script.py", ".pya"):
        if lower.endswith(suffix):
            return base[: -len(suffix)] in wrappers
    return base in wrappers


def _member_keys(names: Iterable[str], schemes: Mapping[str, str]) -> set[str]:
    """Where each member is written, its bytecode, and the dist-info folders it writes into."""
    found: set[str] = set()
    for name in names:
        for lib in lib_folders(schemes):
            dest = written_to(name, lib, schemes)
            if dest is not None:
                found |= _keys(dest)
    return found


def _recorded_keys(folder: str, entry: str) -> set[str]:
    """The keys of what an installed copy's RECORD names (pip removes it all)."""
    found = _keys(os.path.join(folder, entry, "RECORD"))
    try:
        with open(os.path.join(folder, entry, "RECORD"), "rb") as stream:
            text = stream.read(_MAX_RECORD).decode("utf-8", "replace")
    except OSError:
        return found
    with contextlib.suppress(csv.Error):
        for row in csv.reader(io.StringIO(text)):
            if row and row[0]:
                found |= _keys(os.path.join(folder, row[0]))
    return found


def _keys(path: str) -> set[str]:
    """``path`` (normalised, case-folded), its bytecode's, and the dist-info folder it is in."""
    path = _key(path)
    folder, name = os.path.split(path)
    keys = {path}
    if name.endswith(".py"):
        keys.add(f"{os.path.join(folder, '__pycache__', name[:-3])}\0pyc")
    elif os.path.basename(folder) == "__pycache__":
        keys.add(f"{os.path.join(folder, name.split('.', 1)[0])}\0pyc")
    parts = path.split(os.sep)
    for end, part in enumerate(parts):
        if part.endswith(".dist-info"):
            keys.add(f"{os.sep.join(parts[: end + 1])}\0dist-info")
    return keys


def _key(path: str) -> str:
    """``path`` as a case- and normalisation-insensitive file system takes it."""
    return _fold(os.path.normpath(path))


def _fold(name: str) -> str:
    """``name`` decomposed and case-folded, upper-cased first (dotless i is I upper-cased)."""
    return unicodedata.normalize("NFD", name.upper()).casefold()


def lib_folders(schemes: Mapping[str, str]) -> list[str]:
    """The folders pip puts dist-info folders in: purelib and platlib (often one)."""
    return list(dict.fromkeys(schemes[k] for k in ("purelib", "platlib") if k in schemes))


def entries(folder: str) -> list[str]:
    """What ``folder`` holds; nothing if it cannot be listed (not made yet)."""
    try:
        return os.listdir(folder)
    except OSError:
        return []


def in_a_venv(schemes: Mapping[str, str]) -> bool:
    """Whether the target is a virtual environment: its data folder holds pyvenv.cfg.

    Then the standard library the compiler imports from is its base interpreter's, where
    pip writes nothing.
    """
    data = schemes.get("data")
    return data is not None and os.path.isfile(os.path.join(data, "pyvenv.cfg"))
