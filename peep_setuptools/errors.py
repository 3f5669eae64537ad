"""The one exception tree of peep-setuptools; each message is written for the user."""

from __future__ import annotations

from typing import ClassVar

#: Exit codes shared by every front end.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130


class PeepError(Exception):
    """Base of every error a user can cause; ``str()`` is the whole message."""

    exit_code: ClassVar[int] = EXIT_FAILED


class UsageError(PeepError):
    """The command line, or a setup.cfg option, is wrong."""

    exit_code = EXIT_USAGE


class RequirementsFileError(PeepError):
    """A requirements file cannot be read or has a syntax error (``file:line: reason``)."""

    exit_code = EXIT_USAGE


class MalformedHashError(PeepError):
    """A hash value that can never match; exit 1, as peep did."""

    exit_code = EXIT_FAILED


class ConflictingRequirementsError(RequirementsFileError):
    """Two lines pin one project to different versions, or share no allowed hash."""


class IndexLookupError(PeepError):
    """A project or version could not be found on the configured indexes."""


class DownloadError(PeepError):
    """An archive or index page could not be fetched (network, HTTP status, TLS)."""


class CacheError(PeepError):
    """The archive cache could not be used."""


class VerificationFailed(PeepError):
    """Hashes were missing or did not match; the front ends render the report."""

    def __init__(self, message: str, report: str) -> None:
        super().__init__(message)
        self.report = report


class BackendError(PeepError):
    """The installer (pip or uv) failed or could not be run."""


class TargetError(PeepError):
    """The target interpreter could not be inspected."""
