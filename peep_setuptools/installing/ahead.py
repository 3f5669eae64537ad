"""The installers started while we fetch: pip's (``warmpip``) and uv's (``warmuv``)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from peep_setuptools.installing.backends import InstallerBackend, PipBackend, UvBackend
from peep_setuptools.requirements.spec import ReqLine
from peep_setuptools.target import Target

if TYPE_CHECKING:
    from peep_setuptools.installing.warmpip import WarmStarts
    from peep_setuptools.installing.warmuv import UvStartedAhead

__all__ = ["started_ahead"]


@contextlib.contextmanager
def started_ahead(
    backend: InstallerBackend, target: Target, workdir: str, to_fetch: Sequence[ReqLine]
) -> Iterator[InstallerBackend]:
    """``backend``, with the installers it starts now to install ``to_fetch`` (about) later.

    pip's (``warmpip.py``), uv's (``warmuv.py``); those not handed a run by the end are
    stopped, having run nothing.
    """
    if not isinstance(backend, (PipBackend, UvBackend)) or backend.warm is not None:
        yield backend
        return
    names = [req.name for req in to_fetch]
    warm: WarmStarts | UvStartedAhead | None = backend.start_ahead(target, workdir, names)
    try:
        yield backend if warm is None else dataclasses.replace(backend, warm=warm)
    finally:
        if warm is not None:
            warm.close()
