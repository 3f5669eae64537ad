"""peep-setuptools: install Python dependencies only when every archive matches a pinned hash."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "1.0.0.dev0"
__all__ = ["PeepError", "__version__", "hash_files", "install", "port_file"]

if TYPE_CHECKING:
    from peep_setuptools.api import hash_files, install, port_file
    from peep_setuptools.errors import PeepError


def __getattr__(name: str) -> Any:  # noqa: ANN401 -- the re-exported objects vary
    # Lazy, so that setuptools loading our command (for --help-commands) stays cheap.
    if name in ("install", "hash_files", "port_file"):
        from peep_setuptools import api

        return getattr(api, name)
    if name == "PeepError":
        from peep_setuptools.errors import PeepError

        return PeepError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
