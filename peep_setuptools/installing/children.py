"""Where the installer's child processes start, and which pip runs in a target without one."""

from __future__ import annotations

import contextlib
import importlib.machinery
import os
import sys


def empty_dir(workdir: str) -> str:
    """An empty private folder for the installer to start in.

    ``python -m pip`` and ``pip --python`` put their current directory first on sys.path:
    a ``pip`` package in the caller's directory (a checkout) would run instead of pip.
    """
    folder = os.path.join(workdir, "installer-cwd")
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, 0o700)
    return folder


def absolute(place: str) -> str:
    """A local path made absolute (the installer starts in another folder); URLs as given."""
    return place if "://" in place or place.startswith("file:") else os.path.abspath(place)


def pip_runner() -> str | None:
    """Our pip's ``__pip-runner__.py`` (what ``pip --python`` runs in the other interpreter).

    Found on ``sys.path`` without importing pip; None if this pip has none (then ``--python``
    it is). Not through ``sys.meta_path``: setuptools' distutils shim, asked for "pip" there,
    takes pip to be running and drops ``distutils`` from this process (``setup.py
    peep_install`` runs us inside setuptools). Not from the current directory either
    (``python -m peep_setuptools`` puts it on sys.path): a ``pip`` there is not ours.
    """
    try:
        here = os.getcwd()
    except OSError:  # removed under us: nothing is found there anyway
        here = ""
    path = [p for p in sys.path if os.path.isabs(p) and p != here]
    try:
        spec = importlib.machinery.PathFinder.find_spec("pip", path)
    except (ImportError, ValueError):
        return None
    folders = list(spec.submodule_search_locations or ()) if spec is not None else []
    runners = [os.path.join(os.path.realpath(f), "__pip-runner__.py") for f in folders[:1]]
    return next((path for path in runners if os.path.isfile(path)), None)
