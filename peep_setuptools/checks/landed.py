"""After an installer said it succeeded: every archive it was given is installed, or not.

An installer can exit 0 having installed nothing: a uv that read its requirements file twice
(0.9.12 with a file name without ``.txt``), a setting of its own that makes it a dry run or
leaves packages out. Such a run must not end in peep's success. One listing of the target's
site folders (``Target.install_paths``) against the archives' names and versions: no
process, no file read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from peep_setuptools.target import Target

__all__ = ["not_installed"]

_DIST_INFO = ".dist-info"


def not_installed(target: Target, given: Iterable[tuple[str, str | None]]) -> list[str]:
    """The ``(name, version)`` pairs given whose distribution the site folders lack.

    A version of None (a URL requirement's file gave none) is found by its name alone.
    Nothing is reported when the target's folders are not known.
    """
    folders = {path for scheme, path in target.install_paths if scheme in ("purelib", "platlib")}
    if not folders:
        return []
    found = _installed(folders)
    missing = []
    for name, version in given:
        versions = found.get(canonicalize_name(name), set())
        if not versions or (version is not None and _version(version) not in versions):
            missing.append(f"{name}=={version}" if version is not None else name)
    return missing


def _installed(folders: Iterable[str]) -> dict[NormalizedName, set[Version | str]]:
    """Each project's installed versions, by the names of the ``.dist-info`` folders."""
    found: dict[NormalizedName, set[Version | str]] = {}
    for folder in folders:
        try:
            entries: Sequence[str] = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            if entry.endswith(_DIST_INFO):
                name, _, version = entry[: -len(_DIST_INFO)].rpartition("-")
                if name:
                    found.setdefault(canonicalize_name(name), set()).add(_version(version))
    return found


def _version(text: str) -> Version | str:
    try:
        return Version(text)  # 1.0 is 1.0.0: equal, and equally hashed
    except InvalidVersion:
        return text
