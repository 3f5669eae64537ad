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

import configparser
import posixpath
import unicodedata
import zipfile
from collections.abc import Collection, Sequence

from peep_setuptools.archives import is_wheel
from peep_setuptools.installing.handoff import VerifiedArchive

#: below this many wheels a batch costs more (an installer's start-up) than it saves
MIN_PER_BATCH = 8

#: the install schemes pip writes ``NAME.data/SCHEME/...`` into; purelib and platlib are
#: often the same folder, so they are one place here
_SAME_PLACE = {"purelib": "lib", "platlib": "lib"}


def split(
    archives: Sequence[VerifiedArchive],
    *,
    installed: Collection[str],
    at_once: int,
    at_most: int,
) -> list[list[VerifiedArchive]]:
    """``archives`` in batches whose wheels write disjoint paths; ``[archives]`` if unsafe.

    ``installed``: the canonical names installed in the target. Batches are as many as
    ``at_once`` (runs side by side) and as needed to keep each to ``at_most`` wheels, but
    none smaller than MIN_PER_BATCH; the order of the archives is kept within each batch.
    """
    count = min(max(at_once, -(-len(archives) // at_most)), len(archives) // MIN_PER_BATCH)
    if count < 2 or any(a.name in installed for a in archives):
        return [list(archives)]
    groups = _groups([a.path for a in archives])
    if groups is None:
        return [list(archives)]
    # Largest group first into the lightest batch: near-equal batches by number of files.
    loads = [0] * count
    members: list[list[int]] = [[] for _ in range(count)]
    for weight, indexes in sorted(groups, key=lambda g: (-g[0], g[1][0])):
        lightest = loads.index(min(loads))
        loads[lightest] += weight
        members[lightest].extend(indexes)
    return [[archives[i] for i in sorted(batch)] for batch in members if batch]


def _groups(paths: Sequence[str]) -> list[tuple[int, list[int]]] | None:
    """(weight, archive indexes) of wheels joined by a path they write; None if unreadable."""
    parent = list(range(len(paths)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[tuple[str, str], int] = {}
    weights = [0] * len(paths)
    for index, path in enumerate(paths):
        writes = _writes(path)
        if writes is None:
            return None
        weights[index] = len(writes) + 10  # the resolver's share, per requirement
        for place in writes:
            other = owner.setdefault(place, index)
            parent[root(index)] = root(other)
    joined: dict[int, list[int]] = {}
    for index in range(len(paths)):
        joined.setdefault(root(index), []).append(index)
    return [(sum(weights[i] for i in group), group) for group in joined.values()]


def _writes(path: str) -> set[tuple[str, str]] | None:
    """Where installing this wheel writes: (scheme, path), normalised; None if unreadable.

    Case-folded because a case-insensitive file system makes ``A.py`` and ``a.py`` one
    file; ``a/../b.py`` is ``b.py`` wherever it is written. Anything odd (no entry points
    readable, two of them) makes it None: then nothing is split.
    """
    if not is_wheel(path):
        return None
    try:
        with zipfile.ZipFile(path) as wheel:
            given = [n for n in wheel.namelist() if not n.endswith(("/", "\\"))]
            names = [_normal(n) for n in given]
            entry_points = [g for g, n in zip(given, names) if _is_entry_points(n)]
            if len(entry_points) > 1:
                return None
            scripts = _script_names(wheel.read(entry_points[0])) if entry_points else []
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, KeyError):
        return None
    if scripts is None:
        return None
    places = {("scripts", _normal(name)) for name in scripts}
    for name in names:
        top, _, rest = name.partition("/")
        scheme, _, inside = rest.partition("/")
        places.add(("lib", name))  # also for NAME.data: pip may not take it for the data folder
        if top.endswith(".data") and inside:
            place = _SAME_PLACE.get(scheme, scheme)
            if place == "scripts":  # by its file name alone, as the script names are
                inside = inside.rsplit("/", 1)[-1]
            places.add((place, inside))
    return places


def _normal(name: str) -> str:
    return posixpath.normpath(unicodedata.normalize("NFC", name.replace("\\", "/"))).casefold()


def _is_entry_points(name: str) -> bool:  # a normalised, case-folded name
    top, _, rest = name.partition("/")
    return top.endswith(".dist-info") and rest == "entry_points.txt"


def _script_names(text: bytes) -> list[str] | None:
    """The console and GUI script names an ``entry_points.txt`` declares; None if unreadable."""
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text.decode("utf-8"))
    except (UnicodeDecodeError, configparser.Error):
        return None
    sections = ("console_scripts", "gui_scripts")
    return [key.strip() for s in sections if parser.has_section(s) for key in parser[s]]
