"""``peep port``'s I/O: read requirement or lock files, and lock requirements into pylock.toml.

``requirements.porting`` and ``lock.write`` are pure; this module feeds them: it reads the
files, and for ``--to pylock`` looks every pinned requirement up on the index as ``install``
would (and hashes files the index gives no usable hash for). ``api.port_file`` is the
public entry point, and imports this module only when called.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from typing import Literal

from peep_setuptools.archives import Link
from peep_setuptools.errors import UsageError
from peep_setuptools.hashes import Algorithm, Digest
from peep_setuptools.index.download import fetch
from peep_setuptools.installing.settings import IndexSettings, resolve_settings
from peep_setuptools.lock import write as lock_write
from peep_setuptools.lock.names import is_lock_file
from peep_setuptools.lock.parse import load_pylock
from peep_setuptools.lock.toreqs import port_lock
from peep_setuptools.requirements import porting
from peep_setuptools.requirements.files import RequirementsSet, load_reqfiles
from peep_setuptools.requirements.lines import IndexOptions

logger = logging.getLogger(__name__)


def port(
    paths: Sequence[str],
    *,
    to: Literal["pip", "peep", "pylock"],
    environ: Mapping[str, str],
    index: IndexOptions,
    cert: str | None,
    timeout: float | None,
    retries: int | None,
    lock_dir: str | None,
) -> str:
    """``api.port_file`` with the install options it uses spelled out; see there."""
    locks = [p for p in paths if is_lock_file(p) or p.endswith(".toml")]
    if locks:
        if len(paths) > 1:
            raise UsageError("peep port reads one lock file at a time, and nothing beside it")
        if to == "pylock":
            raise UsageError(f"{locks[0]} is a lock file already; port it --to pip or --to peep")
        lock = load_pylock(locks[0])
        for warning in lock.warnings:
            logger.warning("%s", warning)
        return port_lock(lock, to=to)
    reqset = load_reqfiles(paths, environ=environ)
    if to != "pylock":
        return porting.port_entries(reqset.entries, to=to)
    settings = resolve_settings(
        environ, reqset.options, index, cert=cert, timeout=timeout, retries=retries
    )
    return _port_to_pylock(reqset, settings, lock_dir=lock_dir)


def _port_to_pylock(
    reqset: RequirementsSet, settings: IndexSettings, *, lock_dir: str | None
) -> str:
    client = settings.open()
    http = client.http
    downloads = itertools.count()
    # last before the try that removes it: a Ctrl-C as the client opened (the HTTP code
    # loading, tens of ms) left the folder behind
    workdir = tempfile.mkdtemp(prefix="peep-port-")

    def hash_link(
        link: Link, algorithms: Sequence[Algorithm]
    ) -> tuple[dict[Algorithm, Digest], int]:
        # Only for files the index gives no usable hash for; the bytes are not kept.
        into = os.path.join(workdir, f"{next(downloads):04d}")
        fetched = fetch(link, into, http, algorithms=algorithms)
        os.unlink(fetched.path)
        return dict(fetched.digests), fetched.size

    try:
        packages = lock_write.pin_requirements(
            reqset.requirements,
            find=client.find_links,
            hash_link=hash_link,
            index_urls=settings.index_urls,
            where=client.where,
            lock_dir=lock_dir,
        )
    finally:
        http.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return lock_write.render_pylock(packages)
