"""Splitting one install of verified wheels into batches that give the same environment.

pip installs one wheel after another in one process, and its resolver's work grows with the
square of the requirements it is given; uv's memory grows with the local wheels it is handed.
Several smaller installer runs (pip's side by side, uv's one after another) do the same work
in less time or memory, provided no two runs touch the same file: then the order in which
they write does not matter and every file ends up as one run would have left it.

So wheels that would write the same path (a shared ``__init__.py``, a console script of the
same name, the same data file) share a batch, and an install that replaces anything already
installed is not split at all: removing the old copy could delete what another run writes.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import unicodedata
import zipfile
from collections.abc import Collection, Sequence

from packaging.utils import canonicalize_name

from peep_setuptools.archives import is_wheel
from peep_setuptools.checks.claims import metadata_project
from peep_setuptools.checks.wheelfacts import DIRECTORIES_KEPT_AT_MOST
from peep_setuptools.installing.children import run_count
from peep_setuptools.installing.handoff import VerifiedArchive
from peep_setuptools.installing.preparable import entry_points_refused, refused
from peep_setuptools.target import Target

logger = logging.getLogger(__name__)

#: wheels larger than this together are installed in one run (``_too_large``); their
#: directories are not kept once read
SPLIT_AT_MOST_BYTES = DIRECTORIES_KEPT_AT_MOST

#: the install schemes pip writes ``NAME.data/SCHEME/...`` into; purelib and platlib are
#: often the same folder, so they are one place here
_SAME_PLACE = {"purelib": "lib", "platlib": "lib"}

#: the places inside the ``data`` scheme (the environment's root) that a data file can reach
_UNDER_DATA = ("lib", "scripts", "headers")

#: data files' path tails a wheel may have before the split stops (each is keyed several
#: times: a wheel of many deep data files must not take our memory); longer data paths stop it
_MAX_TAILS = 20_000
_MAX_DATA_PATH = 1024

#: what a folder entry ``a/`` is keyed as: a file in it no member can name (zipfile ends a
#: name at NUL)
_IN_FOLDER = "\0"

#: places whose folders are keyed too, and how many characters of them a wheel may have
_FOLDER_PLACES = frozenset({"lib", "scripts", "headers", "data"})
_MAX_FOLDER_CHARS = 1 << 22

#: characters of every wheel's keys together before the split stops (each is held until the
#: batches are made, ~1.5 bytes a character: ~25 MB). Real wheels have ~80 a member (pip's
#: 513: 39,000), so 20,000 members ~2 million; bounds per wheel alone let 1,000 small wheels
#: of deep paths hold gigabytes
_MAX_KEY_CHARS = 1 << 24

#: characters of the target's folders one wheel's paths go through (each joined to its root)
#: that are looked up before the split stops: a path of 500 parts goes through 500 folders
#: (real wheels: ~5 a member, ~100 characters each)
_MAX_LOOKED_UP = 1 << 25

#: an entry_points.txt larger than this stops the split unread (it is read before any install)
_MAX_ENTRY_POINTS = 1 << 20

#: a word right before '=': what pip's script maker (distlib) takes for a script's name, in
#: any line of any section, whatever the parser (importlib, pkg_resources, uv) reads there
#: (a whole word only: tried from inside a word too, the search is quadratic in its length)
_SCRIPT_WORD = re.compile(r"(?<![\w.+-])([\w.+-]+)\s*=")

#: names pip writes for a console script "pip" / "easy_install" (pip3, pip3.X, easy_install-3.X)
_SCRIPT_FAMILY = re.compile(r"(pip)(?:\d+(?:\.\d+)?)?|(easy_install)(?:-\d+\.\d+)?")

#: Windows launchers and scripts pip writes beside a script's name
_LAUNCHER = re.compile(r"(?:\.exe|-script\.pyw?)$")

#: files an installer writes into a wheel's dist-info folder (case-folded)
_INSTALLER_MADE = ("installer", "requested", "record", "direct_url.json", "uv_cache.json")

#: the key every wheel that writes a start-up hook has (a ``.pth`` file, ``sitecustomize``)
_HOOK = ("hook", "")
#: modules Python imports as it starts, and those pip 23-26 imports when they are there (on
#: Python 3.9-3.13, logged by a meta path finder: packaging's ``_manylinux``, rich's
#: ``attr``, urllib3's ``socks``, stdlib names newer or other Pythons have); case-folded
_HOOK_MODULES = frozenset(
    {"sitecustomize", "usercustomize", "_manylinux", "attr", "socks", "urllib3_secure_extra"}
    | {"cpickle", "org", "backports", "_colorize", "_suggestions", "_zstd", "_distutils_hack"}
    | {"msvcrt", "nt", "winreg", "_winapi", "pip"}
)
#: files in the environment's root that a starting Python or pip reads (its configuration)
_HOOK_DATA = frozenset({"pyvenv.cfg", "pip.conf", "pip.ini"})
#: scripts that replace the interpreter the next installer run starts
_HOOK_SCRIPT = re.compile(r"(?:python|pypy|graalpy)(?:\d+(?:\.\d+)?)?w?")


def split(
    archives: Sequence[VerifiedArchive],
    *,
    installed: Collection[str],
    at_once: int,
    at_most: int,
    target: Target | None = None,
) -> list[list[VerifiedArchive]]:
    """``archives`` in batches whose wheels write disjoint paths; ``[archives]`` if unsafe.

    ``installed``: the canonical names installed in the target. Batches are as many as
    ``at_once`` (runs side by side) and as needed to keep each to ``at_most`` wheels, but
    none smaller than MIN_PER_BATCH; the order of the archives is kept within each batch.
    Wheels that write a start-up hook come last, in a batch of their own (``split_runs``).
    """
    return split_runs(
        archives, installed=installed, at_once=at_once, at_most=at_most, target=target
    )[0]


def split_runs(
    archives: Sequence[VerifiedArchive],
    *,
    installed: Collection[str] = (),
    at_once: int,
    at_most: int,
    target: Target | None = None,
) -> tuple[list[list[VerifiedArchive]], bool]:
    """``split``'s batches, and whether the last must start once the others have finished.

    That last batch holds the wheels that write a file Python runs as it starts (a ``.pth``
    file, ``sitecustomize``): an installer started after one is written would run it, which
    one installer run never does. ``target``: its installed names count as ``installed``
    (``Target.pip_names`` too), its tags and Python version for ``preparable``.
    """
    whole = [list(archives)], False
    if target is not None:
        installed = {*installed, *target.installed, *target.pip_names}
    count = run_count(len(archives), at_once=at_once, at_most=at_most)
    if count < 2 or any(a.name in installed for a in archives):
        return whole
    if _too_large(archives):
        return whole
    groups = _groups(archives, target)
    if groups is None:
        return whole
    hooked = [indexes for _, indexes, hooks in groups if hooks]  # one run more, a small one
    if len(groups) < 2:
        return whole
    # Largest group first into the lightest batch: near-equal batches by number of files.
    loads = [0] * count
    members: list[list[int]] = [[] for _ in range(count)]
    for weight, indexes, _ in sorted(groups, key=lambda g: (-g[0], g[1][0])):
        if indexes not in hooked:
            lightest = loads.index(min(loads))
            loads[lightest] += weight
            members[lightest].extend(indexes)
    batches = [[archives[i] for i in sorted(batch)] for batch in [*members, *hooked] if batch]
    return batches, bool(hooked)


def _too_large(archives: Sequence[VerifiedArchive]) -> bool:
    """Whether reading every member before a split (``preparable``) costs more than it saves.

    Every member is read first (the benchmark's 40 packages, 23 MB: ~0.27 s on one core), and
    big wheels do not divide: there, pip's two runs took 1.25 s each where one took 1.6 s, and
    with the read and the hook run (``attrs``) after them the split was ~0.2 s slower on a
    quiet machine (faster only where file writes were slow); the split pays for many small ones.
    """
    try:
        return sum(os.stat(a.path).st_size for a in archives) > SPLIT_AT_MOST_BYTES
    except OSError:
        return True


def _groups(
    archives: Sequence[VerifiedArchive], target: Target | None
) -> list[tuple[int, list[int], bool]] | None:
    """(weight, indexes, writes a start-up hook) of wheels joined by a path; None: unreadable.

    None too when their keys together would take our memory (``_MAX_KEY_CHARS``).

    Two wheels of one project are joined too: one installer run refuses them; so are all
    that write a start-up hook.
    """
    parent = list(range(len(archives)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[tuple[str, str], int] = {}
    folders: list[set[tuple[str, str]]] = []
    weights = [0] * len(archives)
    left = _MAX_KEY_CHARS
    for index, archive in enumerate(archives):
        writes = _writes(archive, target)
        if writes is None:
            return None
        left -= sum(len(path) for _, path in writes)
        if left < 0:
            logger.debug("Not split: the wheels' paths are too many or too long together")
            return None
        weights[index] = len(writes) + 10  # the resolver's share, per requirement
        folders.append({key for key in writes if key[0].endswith("/")})
        for place in {*writes - folders[-1], ("project", canonicalize_name(archive.name))}:
            other = owner.setdefault(place, index)
            parent[root(index)] = root(other)
    # A file of one wheel where another has a folder (``a`` and ``a/b.py``): whichever
    # comes second fails half-way, and which one that is must be one run's order.
    for index, inside in enumerate(folders):
        for kind, folder in inside:
            holder = owner.get((kind[:-1], folder))
            if holder is not None:
                parent[root(index)] = root(holder)
    joined: dict[int, list[int]] = {}
    for index in range(len(archives)):
        joined.setdefault(root(index), []).append(index)
    hook = root(owner[_HOOK]) if _HOOK in owner else None
    return [(sum(weights[i] for i in group), group, r == hook) for r, group in joined.items()]


def _writes(archive: VerifiedArchive, target: Target | None) -> set[tuple[str, str]] | None:
    """Where installing this wheel writes: (place, path), normalised; None if unreadable.

    Case-folded because a case-insensitive file system makes ``A.py`` and ``a.py`` one
    file (decomposed: ``NFD``); ``a/../b.py`` is ``b.py`` wherever it is written. A file
    may be keyed in more places than it is written to (never fewer): a needless join only
    costs speed. Anything odd (two entry points files, a huge one, too many or too long
    data paths), or an installer's reason to refuse the wheel (``preparable``), makes it None.
    """
    facts = archive.wheel_facts() if is_wheel(archive.path) else None
    if facts is None or facts.unreadable is not None or not facts.directory_kept:
        return None
    try:
        with facts.opened(archive.path) as wheel:
            # "x/" a folder (uv makes it: keyed as a file in it), "x\\" a file so named (POSIX)
            given = [i for i in wheel.infolist() if not i.filename.endswith("/")]
            folder_names = [i.filename for i in wheel.infolist() if i.filename.endswith("/")]
            reason = refused(wheel, [i.filename for i in given], archive, target)
            if reason is not None:
                logger.debug("Not split: %s may be refused: %s", archive.name, reason)
                return None
            names = [_normal(i.filename) for i in given]
            entry_points = [i for i, n in zip(given, names) if _is_entry_points(n)]
            if len(entry_points) > 1:
                return None
            text = b""
            if entry_points:
                with wheel.open(entry_points[0]) as stream:
                    text = stream.read(_MAX_ENTRY_POINTS + 1)
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, KeyError):
        return None
    scripts = _script_names(text)
    members = folder_names + [i.filename for i in given]
    if scripts is None or entry_points_refused(text.decode("utf-8")) is not None:
        return None
    if _meets_the_targets_own(members, scripts, target):
        return None
    places = {key for name in scripts for key in _script_keys(name)}
    tails = _MAX_TAILS
    for name in [*names, *(_normal(f"{name}{_IN_FOLDER}") for name in folder_names)]:
        places.add(("lib", name))  # also for NAME.data: pip may not take it for the data folder
        keys, tails = _data_keys(name, tails)
        if keys is None:
            return None
        places |= keys
    places |= {key for place, path in places if place == "lib" for key in _made_keys(path)}
    places |= {
        ("project", name) for place, path in places if place == "lib" for name in _claims(path)
    }
    started = _HOOK_MODULES | {m.casefold() for m in (target.startup_modules if target else ())}
    # a script of the interpreter's own name replaces the one each installer run starts
    own = _normal(posixpath.basename(target.python.replace("\\", "/"))) if target else ""
    if any(_is_hook(*place, started, own) for place in places):
        places.add(_HOOK)
    folders = _folders(places)
    # a file where the wheel has a folder ("a" and "a/b.py", "a/", or INSTALLER/): pip and
    # uv fail on whichever comes second, uv before installing any wheel, pip half-way
    if folders is None or any((kind[:-1], path) in places for kind, path in folders):
        return None
    return places | folders


def _meets_the_targets_own(
    members: Sequence[str], scripts: Collection[str], target: Target | None
) -> bool:
    """Whether a file of the wheel goes where the target has a folder, or a folder where a file.

    pip fails on it half-way (one run stops there, a run beside it goes on), uv as it
    installs. Asked of the target's file system itself, which knows its own case rules.
    True too when its paths are too many or too deep to ask about (``_MAX_LOOKED_UP``).
    """
    roots = dict(target.install_paths) if target is not None else {}
    lib = list(dict.fromkeys(roots[kind] for kind in ("purelib", "platlib") if kind in roots))
    found = [(roots["scripts"], name) for name in scripts if "scripts" in roots]
    for member in members:
        top, _, rest = member.partition("/")
        scheme, _, inside = rest.partition("/")
        if not top.endswith(".data"):
            found += [(root, member) for root in lib]
        elif scheme in ("purelib", "platlib"):
            found += [(root, inside) for root in lib]
        elif scheme in roots:  # scripts, data (headers: a folder of the wheel's own)
            found.append((roots[scheme], inside))
    kinds: dict[str, str] = {}  # a folder's path: "folder", "other" or "absent"
    left = _MAX_LOOKED_UP
    for root, path in found:
        parts = [part for part in path.split("/") if part]
        folder = root
        for end in range(1, len(parts) + (path.endswith("/") or not parts)):
            folder = os.path.join(folder, *parts[end - 1 : end])  # root/parts[:end]
            left -= len(folder)
            if left < 0:
                return True
            if folder not in kinds:
                kinds[folder] = _kind(folder)
            if kinds[folder] == "other":
                return True
            if kinds[folder] == "absent" and ".." not in parts:
                break  # nor is anything under it there (Windows takes "a/.." as written)
        else:
            if parts and not path.endswith("/") and os.path.isdir(os.path.join(root, *parts)):
                return True
    return False


def _kind(path: str) -> str:
    """What the target has at ``path``: "folder", "other" (a file, a link...) or "absent"."""
    if os.path.isdir(path):
        return "folder"
    return "other" if os.path.lexists(path) else "absent"


def _folders(places: set[tuple[str, str]]) -> set[tuple[str, str]] | None:
    """The folders the files of ``places`` are in, as ("PLACE/", path); None: too many."""
    found: set[tuple[str, str]] = set()
    left = _MAX_FOLDER_CHARS
    for place, path in places:
        if place not in _FOLDER_PLACES:
            continue
        end = path.find("/")
        while end > 0:
            left -= end
            if left < 0:
                return None
            found.add((f"{place}/", path[:end]))
            end = path.find("/", end + 1)
    return found


def _made_keys(path: str) -> list[tuple[str, str]]:
    """Keys of what the installer writes itself for a site folder ``path`` the wheel has.

    Files it adds to the wheel's dist-info folder, and the bytecode of a module (``pyc``:
    its ``__pycache__/STEM``, whatever the interpreter's tag), which a wheel may ship too.
    """
    folder, _, name = path.rpartition("/")
    if folder.endswith(".dist-info") and "/" not in folder:
        return [("lib", f"{folder}/{made}") for made in _INSTALLER_MADE]
    if name.endswith(".py"):
        return [("pyc", posixpath.join(folder, "__pycache__", name[:-3]))]
    if folder.rpartition("/")[2] == "__pycache__" and name.endswith(".pyc"):
        return [("pyc", f"{folder}/{name.split('.', 1)[0]}")]
    return []


def _claims(path: str) -> list[str]:
    """The project a site folder's ``NAME-...dist-info`` (egg-info, egg) makes pip see installed.

    A wheel may carry another project's: one pip run looks before installing anything, a
    run started after it would remove that "installed" copy by its RECORD (the probe's
    ``pip_name`` reads the target's so).
    """
    named = metadata_project(path.split("/", 1)[0], eggs=True)
    return [] if named is None else [canonicalize_name(named)]


def _is_hook(place: str, path: str, modules: Collection[str], interpreter: str) -> bool:
    """A file that a starting Python or pip runs or reads, or that replaces the interpreter.

    In the site folder ``*.pth`` and ``modules`` (``_HOOK_MODULES``, pip itself, those the
    target's .pth files import), in the root the configuration (``_HOOK_DATA``), in the
    scripts folder ``python``, ``pypy3.X``..., and ``interpreter`` (the target's own name).
    """
    parts = path.split("/")
    if parts[-1] == "externally-managed":  # pip refuses to install beside it
        return True
    if place == "lib":
        pth = len(parts) == 1 and path.endswith(".pth")
        return pth or parts[0].split(".", 1)[0] in modules
    if place == "scripts":
        return _HOOK_SCRIPT.fullmatch(path) is not None or path == interpreter
    # Outside a virtual environment lib/pythonX.Y/ is the standard library itself.
    stdlib = parts[0] in ("lib", "lib64") and not {"site-packages", "dist-packages"} & {*parts[1:3]}
    return place == "data" and (path in _HOOK_DATA or (stdlib and len(parts) > 1))


def _data_keys(name: str, tails: int) -> tuple[set[tuple[str, str]] | None, int]:
    """Where a ``NAME.data/SCHEME/...`` file may be written, and the wheel's tails left.

    None when there are too many tails to key (``tails``: how many are left).
    """
    top, _, rest = name.partition("/")
    scheme, _, inside = rest.partition("/")
    if not top.endswith(".data") or not inside:
        return set(), tails
    place = _SAME_PLACE.get(scheme, scheme)
    if place == "scripts":
        return _script_keys(inside), tails
    if place != "data":
        return {(place, inside)}, tails
    # The environment's root holds site-packages, bin and include: any tail of the path may
    # be one of theirs (``lib/python3.X/site-packages/x.py`` is the ``lib`` file ``x.py``).
    parts = inside.split("/")
    tails -= len(parts)
    if tails < 0 or len(inside) > _MAX_DATA_PATH:
        return None, tails
    keys = {("data", inside)}
    for start in range(len(parts)):
        tail = "/".join(parts[start:])
        keys |= {(under, tail) for under in _UNDER_DATA}
        keys |= _script_keys(tail)
    return keys, tails


def _script_keys(name: str) -> set[tuple[str, str]]:
    """A script's path in bin/ and its file name, less launcher suffixes, pip's versions."""
    whole = _normal(name)
    base = _LAUNCHER.sub("", whole.rsplit("/", 1)[-1])
    family = _SCRIPT_FAMILY.fullmatch(base)
    if family is not None:
        base = family.group(1) or family.group(2)
    return {("scripts", whole), ("scripts", base)}


def _normal(name: str) -> str:
    # Unicode's canonical caseless match: what a case-insensitive file system takes for one
    decomposed = unicodedata.normalize("NFD", name.replace("\\", "/"))
    return posixpath.normpath(unicodedata.normalize("NFD", decomposed.casefold()))


def _is_entry_points(name: str) -> bool:  # a normalised, case-folded name
    top, _, rest = name.partition("/")
    return top.endswith(".dist-info") and rest == "entry_points.txt"


def _script_names(text: bytes) -> set[str] | None:
    """Every name an ``entry_points.txt`` may make a script of; None if unreadable.

    More than the console and GUI scripts: each parser reads sections, comments and
    continuation lines its own way, and pip's script maker takes the last word before '='
    (``sub/x = m:f`` makes ``x``). So every word before an '=' anywhere, and each line's
    text before its first '=' whole.
    """
    if len(text) > _MAX_ENTRY_POINTS:
        return None
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        return None
    names = {match.group(1) for match in _SCRIPT_WORD.finditer(decoded)}
    for line in decoded.splitlines():
        before, equals, _ = line.partition("=")
        # uv trims less than Python's strip() does ("\x1c" is no space to it)
        names.update(n for n in (before.strip(), before.strip(" \t\r\n\f\v")) if equals and n)
    return names
