"""The files a wheel ships in its ``.data/data`` folder, where an installer puts them.

An installer copies them unchanged into the ``data`` folder of the scheme (a venv's root),
so they can be hashed like the others; some land in site-packages (``.pth`` files, modules).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Sequence

from peep_setuptools.checks.record import RecordEntry
from peep_setuptools.hashes import Digest


def placed_data(
    record: Sequence[RecordEntry], data: str, base: str
) -> tuple[dict[str, Digest], dict[str, Digest], frozenset[str]]:
    """(inside, outside, members) for the RECORD's ``*.data/data/`` files installed at ``data``.

    ``inside``: those that land in ``base`` (site-packages), by their path relative to it;
    ``outside``: the others, by their path relative to ``data``; ``members``: the RECORD
    paths placed. Nothing is placed without a ``data`` folder, or for unsafe paths.
    """
    inside: dict[str, Digest] = {}
    outside: dict[str, Digest] = {}
    members: set[str] = set()
    for entry in record:
        first, _, rest = entry.path.partition("/")
        scheme, _, inner = rest.partition("/")
        if not data or not first.endswith(".data") or scheme != "data" or entry.digest is None:
            continue
        parts = inner.split("/")
        if not inner or inner.startswith("/") or ".." in parts or "\\" in inner:
            continue
        members.add(entry.path)
        path = os.path.normpath(os.path.join(data, *parts))
        relative = os.path.relpath(path, base).replace(os.sep, "/")
        if relative.startswith("../") or relative == "..":
            outside[posixpath.normpath(inner)] = entry.digest
        else:
            inside[relative] = entry.digest
    return inside, outside, frozenset(members)
