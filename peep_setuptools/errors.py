"""The one exception tree of peep-setuptools; each message is written for the user."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any, ClassVar

from peep_setuptools.signals import interrupt_signals, set_handlers, termination_signals
from peep_setuptools.urls import redact_text

#: Exit codes shared by every front end.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130
#: SIGTERM and SIGHUP: 128 + the signal's number, as a shell reports a process killed by it
EXIT_TERMINATED = 143
EXIT_HANGUP = 129
#: the run succeeded but its output could not all be written (``LOST_OUTPUT``), as Python's
#: own exit when it cannot flush its output
EXIT_OUTPUT_LOST = 120

#: what an interrupted install says after the front end's name: an installer already
#: running when it came may have written part of a package (README, "Security model")
INTERRUPTED = "interrupted; nothing was installed unless the installer had already started"

#: why stdout or stderr could not be written (a full disk, a terminal gone: EIO), by us or
#: by a child's output passed on (``installing.children``); the ``peep`` command exits 120
LOST_OUTPUT: list[str] = []


def note_lost_output(fd: int, exc: OSError) -> None:
    """Keep why ``fd`` could not be written; its reader gone (EPIPE) is no error."""
    if not isinstance(exc, BrokenPipeError):
        name = {1: "stdout", 2: "stderr"}.get(fd, f"descriptor {fd}")
        LOST_OUTPUT.append(f"{name}: {exc.strerror or exc}")


class PeepError(Exception):
    """Base of every error a user can cause; ``str()`` is the whole message.

    Its text never holds a URL's credentials, whoever wrote the message: they are hidden
    here, as the message is made (``redact_text``), not where it is shown.
    """

    exit_code: ClassVar[int] = EXIT_FAILED

    def __init__(self, *args: object) -> None:
        super().__init__(*(redact_text(a) if isinstance(a, str) else a for a in args))


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


class VerificationFailed(PeepError):
    """Hashes were missing or did not match, or archives could not be had.

    ``verdicts`` are the ``installing.verdicts.Verdict`` values the report judges (each says
    ``ok``, ``missing`` or ``mismatch``) and ``problems`` its ``Problem`` values; ``report``
    is peep's text, rendered from them, which the front ends print. ``verified`` is the
    run's ``values.Verified``: every verdict and problem, the missing dependencies and the
    lines that would pin them (when --strict's build step fails, the verification the run
    had passed; None when raised by other code).
    """

    #: a ``values.Verified`` (typed loosely: the bottom layer cannot name it)
    verified: Any

    def __init__(
        self,
        message: str,
        report: str,
        *,
        verdicts: Sequence[object] = (),
        problems: Sequence[object] = (),
        verified: object = None,
    ) -> None:
        super().__init__(message)
        self.report = redact_text(report)
        self.verdicts = tuple(verdicts)
        self.problems = tuple(problems)
        self.verified = verified


class BackendError(PeepError):
    """The installer (pip or uv) failed or could not be run."""


class TargetError(PeepError):
    """The target interpreter could not be inspected."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: the run stops exactly as on Ctrl-C, with its own exit code.

    A KeyboardInterrupt, so that every cleanup written for Ctrl-C (aborting downloads,
    removing the workdir, killing a child installer) runs for these signals too.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """128 + the signal's number: 143 for SIGTERM, 129 for SIGHUP."""
        return 128 + self.signum


def interrupted_exit_code(exc: KeyboardInterrupt) -> int:
    """130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    return exc.exit_code if isinstance(exc, Terminated) else EXIT_INTERRUPTED


@contextmanager
def terminate_like_ctrl_c() -> Iterator[None]:
    """While it lasts, SIGTERM (a CI cancel) and SIGHUP stop the run as Ctrl-C does.

    The first such signal raises Terminated in the main thread; later ones are ignored, so
    that the cleanup the first one started is not itself interrupted. Outside the main
    thread (signals cannot be handled there) it does nothing. One we were started ignoring
    (``nohup``) stays ignored, in us and in every child we start meanwhile.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if not received:
            received.append(signum)
            raise Terminated(signum)

    saved = {}
    try:  # one pending as a handler is set is raised there: those set already are put back
        for number in termination_signals():
            if _ours_to_take(number):
                saved[number] = signal.signal(number, handler)
        yield
    finally:
        raised = _put_back(saved)
        if raised is not None:
            raise raised


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ctrl-C, SIGTERM or SIGHUP while the block runs takes effect once it ends.

    For what must not be cut short: a second Ctrl-C as the run's folder was removed left
    part of it behind; one between starting a child and holding it (to stop it later) left
    it running after we exited. Each signal seen is raised again afterwards, in order, to
    the handler it would have met (KeyboardInterrupt, ``terminate_like_ctrl_c``'s, ignored,
    or the default). Only in the main thread, where Python runs signal handlers; a child
    started meanwhile has the default, or ignores what we ignore.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    seen: list[int] = []
    saved = {}
    wakeup = -1
    try:  # one pending as a handler is set is raised there: those set already are put back
        with contextlib.suppress(ValueError):  # a subinterpreter: handles no signal either
            for number in interrupt_signals():
                # one ignored stays ignored, in us and in a child started meanwhile (nohup)
                if _ours_to_take(number):
                    saved[number] = signal.signal(number, lambda signum, frame: seen.append(signum))
            # a program's wakeup fd (asyncio's) is told of a signal as it comes: not of one
            # deferred, told as it is raised again (twice: one Ctrl-C was two to its loop)
            wakeup = signal.set_wakeup_fd(-1)
        yield
    finally:
        if wakeup != -1:
            with contextlib.suppress(OSError, ValueError):  # closed meanwhile: not ours
                signal.set_wakeup_fd(wakeup)
        raised = _put_back(saved)
        for number in dict.fromkeys(seen):  # now, as each would have been
            signal.raise_signal(number)
        if raised is not None:
            raise raised


def _put_back(saved: dict[int, Any]) -> BaseException | None:
    """Each signal's handler as it was; what a handler first raised meanwhile, or None.

    The others are put back all the same (``set_handlers``); the caller raises it after.
    """
    raised: list[BaseException] = []
    set_handlers(saved, raised.append)
    return raised[0] if raised else None


def _ours_to_take(number: int) -> bool:
    """Whether to set a handler of ours for ``number`` (and put the one there back after).

    Not one ignored: it stays ignored (``nohup``). Nor one set outside Python (None): it
    could not be put back (``signal.signal`` takes no None; ``_put_back`` would try forever).
    """
    return signal.getsignal(number) not in (signal.SIG_IGN, None)
