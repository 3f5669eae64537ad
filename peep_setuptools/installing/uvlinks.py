"""Cached wheels handed to uv from a few stable folders of hard links, not a folder each.

uv knows a local wheel it has unpacked before by its path and mtime, so a warm run hands it
the cache's own files (``ArchiveCache.take(in_place=True)``). But uv's time grows with the
number of ``--find-links`` folders times the number of requirements: 400 cached wheels, each
in its own entry's folder, cost it ~0.5 s more than the same wheels in one folder.

So a run's cached wheels are hard-linked into at most ``BUCKETS`` folders under the cache's
``links/``, a project always in the same bucket, each folder named by exactly what it holds
(file names and sha256): the next run with the same wheels hands uv the same paths. A folder
holds nothing else, because uv picks among a folder's files by name and tag, and a stray
wheel of the same version would be picked (and then refused by its hash). Before every use,
each link is checked to be the very file that was just hashed (the same inode) and nothing
else is there; a folder that fails is built again, link by link where another run's uv may
be reading it. Where links cannot be made, the wheels stay in their entries' folders.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Collection, Sequence
from dataclasses import replace

from peep_setuptools.archives import is_wheel
from peep_setuptools.installing.cache import ArchiveCache
from peep_setuptools.installing.handoff import VerifiedArchive

__all__ = ["BUCKETS", "linked"]

#: most folders a run hands to uv; a project's bucket depends on its name only, so a changed
#: pin makes uv unpack again only the wheels that share its folder
BUCKETS = 16
#: a folder no run has used for this long is removed when a new one is made
_UNUSED = 30 * 24 * 3600
#: (file name, cache path, sha256 hex) of one wheel
_Link = tuple[str, str, str]


def linked(archives: Sequence[VerifiedArchive], cache: ArchiveCache) -> tuple[VerifiedArchive, ...]:
    """``archives``, those handed over from the cache moved to their link folders."""
    buckets: dict[int, list[_Link]] = {}
    for archive in archives:
        if _in_cache(archive, cache.root):
            link = (os.path.basename(archive.path), archive.path, archive.digest.hex)
            buckets.setdefault(_bucket(archive.name), []).append(link)
    top = cache.own_folder("links") if buckets else None
    if top is None:
        return tuple(archives)
    moved: dict[str, str] = {}
    used: set[str] = set()
    made = False
    for links in buckets.values():
        folder, new = _folder(sorted(links), top)
        if folder is not None:
            used.add(folder)
            made = made or new
            moved.update((source, os.path.join(folder, name)) for name, source, _ in links)
    if made:  # once a run, and only one that made a folder: a warm run reads no more
        _remove_unused(top, keep=used)
    return tuple(replace(a, path=moved[a.path]) if a.path in moved else a for a in archives)


def _in_cache(archive: VerifiedArchive, root: str) -> bool:
    """A wheel handed over where it lies in the cache (by name and version, not by URL).

    Also one this run stored: uv then meets it on this run at its path of later runs.
    """
    if not (archive.url is None and is_wheel(archive.path)):
        return False
    path = os.path.abspath(archive.path)
    return os.path.commonpath([os.path.abspath(root), path]) == os.path.abspath(root)


def _bucket(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") % BUCKETS


def _folder(links: Sequence[_Link], top: str) -> tuple[str | None, bool]:
    """The folder holding exactly ``links``, checked or made now; and whether it was made.

    None where it cannot be.
    """
    if len({name for name, _, _ in links}) != len(links):
        return None, False  # two files of one name: the handoff refuses them itself
    named = "".join(f"{name} {digest}\n" for name, _, digest in links)
    folder = os.path.join(top, hashlib.sha256(named.encode()).hexdigest()[:32])
    if _holds(folder, links):
        with contextlib.suppress(OSError):
            os.utime(folder)  # in use: not removed as unused
        return folder, False
    return _make(top, folder, links), True


def _holds(folder: str, links: Sequence[_Link]) -> bool:
    """``folder`` is ours alone and holds exactly ``links``, each the cache's own file."""
    found = _entries(folder, [name for name, _, _ in links])
    try:
        # lstat: a symbolic link is never the same file as the one it points to.
        return found is not None and all(
            os.path.samestat(info, os.stat(source)) for info, (_, source, _) in zip(found, links)
        )
    except OSError:
        return False


def _entries(folder: str, names: Sequence[str]) -> list[os.stat_result] | None:
    """Each of ``names`` in ``folder`` (lstat), if it is ours alone and holds just those files."""
    try:
        info = os.lstat(folder)
        if (
            not stat.S_ISDIR(info.st_mode)
            or info.st_uid != os.geteuid()
            or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
            or sorted(os.listdir(folder)) != sorted(names)
        ):
            return None
        found = [os.lstat(os.path.join(folder, name)) for name in names]
    except OSError:
        return None
    return found if all(stat.S_ISREG(entry.st_mode) for entry in found) else None


def _make(top: str, folder: str, links: Sequence[_Link]) -> str | None:
    """Put ``links`` in ``folder``, made aside first; None if the file system will not."""
    try:
        new = tempfile.mkdtemp(prefix=".new-", dir=top)
    except OSError:
        return None
    names = [name for name, _, _ in links]
    try:
        for name, source, _ in links:
            os.link(source, os.path.join(new, name))
        moved = _renamed(new, folder) or (
            not _holds(folder, links) and _put_in(new, folder, names, top)
        )
    except OSError:
        moved = False  # checked below: another run may have made it meanwhile
    if not moved:
        shutil.rmtree(new, ignore_errors=True)
    return folder if _holds(folder, links) else None


def _put_in(new: str, folder: str, names: Sequence[str], top: str) -> bool:
    """Put the links in ``new`` in place of ``folder``'s; True if ``new`` itself went there.

    Another run's uv may be reading a folder of ours that holds the same names (two runs
    at once stored their own downloads of a wheel, the later replacing the earlier): each
    link is replaced by its new one in one step (``os.replace``), so no name is ever
    missing there. Anything else (a file, a symbolic link, a folder others can write or
    with other files) is no folder we handed out: it is taken out of the way whole.
    """
    if _entries(folder, names) is not None:
        for name in names:
            os.replace(os.path.join(new, name), os.path.join(folder, name))
        return False
    _move_aside(folder, top)
    os.rename(new, folder)
    return True


def _renamed(new: str, folder: str) -> bool:
    """Whether ``new`` took the name ``folder`` (False: a folder of that name is there)."""
    if os.path.lexists(folder):
        return False
    try:
        os.rename(new, folder)
    except OSError:
        if os.path.lexists(folder):
            return False
        raise
    return True


def _move_aside(folder: str, top: str) -> None:
    """Take a folder (or file) that failed the check out of the way, and remove it."""
    aside = tempfile.mkdtemp(prefix=".old-", dir=top)
    os.rename(folder, os.path.join(aside, "old"))
    shutil.rmtree(aside, ignore_errors=True)


def _remove_unused(top: str, *, keep: Collection[str]) -> None:
    """Remove the folders (and leftovers of interrupted runs) unused for ``_UNUSED``."""
    now = time.time()
    with contextlib.suppress(OSError), os.scandir(top) as entries:
        for entry in entries:
            if entry.path in keep or not entry.is_dir(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError):
                if now - entry.stat(follow_symlinks=False).st_mtime > _UNUSED:
                    shutil.rmtree(entry.path, ignore_errors=True)
