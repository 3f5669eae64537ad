"""Wheels built from verified sdists, cached so that the next install skips the build.

The last step before installing: each verified sdist is swapped for a wheel built from it, taken
from the cache when one was built before (keyed by the sdist's sha256 and the target's best tag),
else built now by the installer and stored.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import replace

from packaging.utils import canonicalize_name

from peep_setuptools.archives import is_wheel, parse_filename
from peep_setuptools.hashes import hash_file
from peep_setuptools.installing.backends import (
    BuildIndex,
    InstallerBackend,
    VerifiedArchive,
    WheelBuilder,
)
from peep_setuptools.installing.cache import ArchiveCache
from peep_setuptools.target import Target

logger = logging.getLogger(__name__)


def with_built_wheels(
    archives: Sequence[VerifiedArchive],
    backend: InstallerBackend,
    cache: ArchiveCache | None,
    *,
    target: Target,
    workdir: str,
    build_index: BuildIndex,
    in_place: bool = False,
    link: bool = False,
) -> tuple[VerifiedArchive, ...]:
    """Swap each verified sdist for a wheel built from it, from the cache or built now.

    Wheels are keyed by the sdist's sha256 and the target's best tag. Without a cache they
    are built all the same: then the install itself needs no index (``handoff.py``). Only a
    backend that cannot build wheels gets the sdists. ``in_place`` and ``link``: a cached
    wheel is handed out as the run's other archives are (``fetch.Session``).
    """
    sdists = [a for a in archives if not is_wheel(a.path)]
    if not sdists or not isinstance(backend, WheelBuilder):
        _note_sdists(sdists)
        return tuple(archives)
    tag = str(target.tags[0]) if target.tags else "none"
    wheels: dict[str, VerifiedArchive] = {}
    to_build = []
    for number, sdist in enumerate(sdists):
        entry = cache.built_wheel(sdist.digest, tag, backend.name) if cache is not None else None
        into = os.path.join(workdir, "cached-wheels", f"{number:04d}")
        copied = None
        if cache is not None and entry is not None:
            copied = cache.take(entry, into, in_place=in_place, link=link)
        if copied is None:
            to_build.append(sdist)
            continue
        logger.debug("Using the wheel built earlier from %s: %s", sdist.path, copied.source)
        wheels[sdist.path] = replace(sdist, path=copied.path, digest=copied.digests["sha256"])
    if to_build:
        _note_sdists(to_build)
        built = backend.build_wheels(
            to_build, target=target, workdir=workdir, build_index=build_index
        )
        by_project = {_wheel_project(path): path for path in built}
        for sdist in to_build:
            path = by_project.get(canonicalize_name(sdist.name))
            if path is None:  # not ours to guess: the installer gets the sdist
                continue
            digest = hash_file(path)["sha256"]
            if cache is not None:
                stored = cache.store_built_wheel(
                    sdist.digest, tag, backend.name, path, digest, link=in_place
                )
                # As for downloads (fetch.py): uv meets it at the path of every later run.
                path = stored if in_place and stored is not None else path
            wheels[sdist.path] = replace(sdist, path=path, digest=digest)
    return tuple(wheels.get(a.path, a) for a in archives)


def _wheel_project(path: str) -> str:
    parsed = parse_filename(os.path.basename(path))
    return parsed.name if parsed is not None and parsed.kind == "wheel" else ""


def _note_sdists(archives: Sequence[VerifiedArchive]) -> None:
    sdists = [a.name for a in archives if not is_wheel(a.path)]
    if sdists:
        logger.warning(
            "Note: building the sdists of %s makes the installer fetch their build dependencies "
            "(such as setuptools) from the index WITHOUT hash checking; use --only-binary :all: "
            "to install wheels only.",
            ", ".join(sdists),
        )
