"""peep-setuptools: install Python dependencies only when every archive matches a pinned hash."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

__version__ = "1.0.0.dev0"

#: name -> the module that defines it; imported on first use, so that setuptools loading
#: our command (for --help-commands) stays cheap
_EXPORTS = {
    "install": "api",
    "verify": "api",
    "verify_environment": "api",
    "hash_files": "api",
    "port_file": "api",
    "InstallOptions": "values",
    "InstallResult": "values",
    "InstalledArchive": "values",
    "InstallerOutput": "values",
    "Verified": "values",
    "EnvironmentCheck": "values",
    "IndexOptions": "requirements.lines",
    "InstallerBackend": "installing.backends",
    "VerifiedArchive": "installing.backends",
    "PeepError": "errors",
    "UsageError": "errors",
    "RequirementsFileError": "errors",
    "MalformedHashError": "errors",
    "ConflictingRequirementsError": "errors",
    "IndexLookupError": "errors",
    "DownloadError": "errors",
    "VerificationFailed": "errors",
    "BackendError": "errors",
    "TargetError": "errors",
}
__all__ = [
    "BackendError",
    "ConflictingRequirementsError",
    "DownloadError",
    "EnvironmentCheck",
    "IndexLookupError",
    "IndexOptions",
    "InstallOptions",
    "InstallResult",
    "InstalledArchive",
    "InstallerBackend",
    "InstallerOutput",
    "MalformedHashError",
    "PeepError",
    "RequirementsFileError",
    "TargetError",
    "UsageError",
    "VerificationFailed",
    "Verified",
    "VerifiedArchive",
    "__version__",
    "hash_files",
    "install",
    "port_file",
    "verify",
    "verify_environment",
]

# A library logs and leaves showing its messages to the program: no "No handlers" warning,
# and the front ends add their own handler to this logger.
logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from peep_setuptools.api import hash_files, install, port_file, verify, verify_environment
    from peep_setuptools.errors import (
        BackendError,
        ConflictingRequirementsError,
        DownloadError,
        IndexLookupError,
        MalformedHashError,
        PeepError,
        RequirementsFileError,
        TargetError,
        UsageError,
        VerificationFailed,
    )
    from peep_setuptools.installing.backends import InstallerBackend, VerifiedArchive
    from peep_setuptools.requirements.lines import IndexOptions
    from peep_setuptools.values import (
        EnvironmentCheck,
        InstalledArchive,
        InstallerOutput,
        InstallOptions,
        InstallResult,
        Verified,
    )


def __getattr__(name: str) -> Any:  # noqa: ANN401 -- the re-exported objects vary
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
