"""After an installer said it succeeded: every archive it was given is installed, or not.

An installer can exit 0 having installed nothing: a uv that read its requirements file twice
(0.9.12 with a file name without ``.txt``), a setting of its own that makes it a dry run or
leaves packages out. Such a run must not end in peep's success. One listing of the target's
site folders (``Target.install_paths``) against the archives' names and versions: no
process, no file read; and one before the installer (``stamps``), for the folders it had to
replace (a dry run left a stale or planted one of the same version, which looked installed).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from peep_setuptools.target import Target

__all__ = ["Stamps", "not_installed", "stamps"]

_DIST_INFO = ".dist-info"

#: each ``.dist-info`` folder's path -> its stamp (``_stamp``)
Stamps = dict[str, tuple[int, ...]]


def stamps(target: Target, names: Iterable[str]) -> Stamps:
    """The ``.dist-info`` folders of ``names`` in the site folders now, before the installer.

    One left as it was is none of the installer's doing: a dry run given a package that
    was there at its version (``--force-reinstall``, ``--verify-installed``) looked
    installed. An installer that installs one makes the folder anew (pip and uv remove
    the old one first) and writes its RECORD: either changes the stamp.
    """
    wanted = {canonicalize_name(name) for name in names}
    return {
        path: _stamp(path)
        for path, name, _ in _dist_infos(_folders(target))
        if canonicalize_name(name) in wanted
    }


def _stamp(path: str) -> tuple[int, ...]:
    """The folder's and its RECORD's inode and ctime (a ctime changes with every write)."""
    stamp: list[int] = []
    for each in (path, os.path.join(path, "RECORD")):
        try:
            stat = os.stat(each)
        except OSError:
            stamp += (-1, -1)
            continue
        stamp += (stat.st_ino, stat.st_ctime_ns)
    return tuple(stamp)


def not_installed(
    target: Target, given: Iterable[tuple[str, str | None]], before: Stamps | None = None
) -> list[str]:
    """The ``(name, version)`` pairs given whose distribution the site folders lack.

    A version of None (a URL requirement's file gave none) is found by its name alone.
    Nothing is reported when the target's folders are not known. ``before``: the folders
    there before the installer ran (``stamps``); one unchanged since does not count.
    """
    folders = _folders(target)
    if not folders:
        return []
    found = _installed(folders, before or {})
    missing = []
    for name, version in given:
        versions = found.get(canonicalize_name(name), set())
        if not versions or (version is not None and _version(version) not in versions):
            missing.append(f"{name}=={version}" if version is not None else name)
    return missing


def _folders(target: Target) -> set[str]:
    return {path for scheme, path in target.install_paths if scheme in ("purelib", "platlib")}


def _dist_infos(folders: Iterable[str]) -> Iterator[tuple[str, str, str]]:
    """Each ``.dist-info`` folder in ``folders``: its path, name and version as spelled."""
    for folder in folders:
        try:
            entries: Sequence[str] = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            if entry.endswith(_DIST_INFO):
                name, _, version = entry[: -len(_DIST_INFO)].rpartition("-")
                if name:
                    yield os.path.join(folder, entry), name, version


def _installed(folders: Iterable[str], before: Stamps) -> dict[NormalizedName, set[Version | str]]:
    """Each project's installed versions, by the names of the ``.dist-info`` folders."""
    found: dict[NormalizedName, set[Version | str]] = {}
    for path, name, version in _dist_infos(folders):
        if path in before and _stamp(path) == before[path]:
            continue  # as it was before the installer ran
        found.setdefault(canonicalize_name(name), set()).add(_version(version))
    return found


def _version(text: str) -> Version | str:
    try:
        return Version(text)  # 1.0 is 1.0.0: equal, and equally hashed
    except InvalidVersion:
        return text
