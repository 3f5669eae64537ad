"""Other entries in site-packages that claim a project: a second copy's metadata, editables.

Python and the installers take the first ``*.dist-info`` of a name they find; a second one
(another version, case or spelling of the name), an ``.egg-info``, an ``.egg-link`` or an
editable install's ``__editable__.*.pth`` is not the verified wheel's, and no reinstall of
the wheel removes it.
"""

from __future__ import annotations

import os
from collections.abc import Collection

from packaging.utils import NormalizedName, canonicalize_name

_METADATA = ("dist-info", "egg-info")
_METADATA_EGG = (*_METADATA, "egg")


def metadata_project(entry: str, *, eggs: bool = False) -> str | None:
    """The project a ``NAME-VERSION.dist-info`` or ``.egg-info`` entry names, as written.

    NAME is the entry's name up to its first "-": what Python and pip take for installed
    (pip refuses a wheel of "foo" carrying "foobar-1.0.dist-info", uv does not). ``eggs``:
    an ``.egg`` too (a folder on the path). None for any other entry. The target probe's
    ``pip_name`` (``probing.py``) is this rule, spelled in the target itself.
    """
    stem, dot, suffix = entry.rpartition(".")
    if dot and suffix.lower() in (_METADATA_EGG if eggs else _METADATA):
        return stem.split("-", 1)[0]
    return None


def claimed(entry: str) -> str | None:
    """The project an entry of site-packages names, if it is metadata or an editable's .pth."""
    named = metadata_project(entry)
    if named is not None:
        return named
    if entry.lower().endswith(".egg-link"):
        return entry[: -len(".egg-link")]
    if entry.startswith("__editable__.") and entry.endswith(".pth"):
        return entry[len("__editable__.") : -len(".pth")].split("-")[0]
    return None  # a project's own .pth files are in its RECORD


def claiming(base: str, name: NormalizedName, own: Collection[str]) -> list[str]:
    """The entries of ``base`` besides ``own`` that name ``name`` (relative paths)."""
    try:
        entries = os.listdir(base)
    except OSError:
        return []
    return sorted(
        e
        for e in entries
        if e not in own and (c := claimed(e)) is not None and canonicalize_name(c) == name
    )
