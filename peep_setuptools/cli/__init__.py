"""The ``peep`` command: every argparse parser and every print of the package."""

from __future__ import annotations

import atexit
import contextlib
import gc
import io
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from peep_setuptools.signals import interrupt_signals, set_handlers, termination_signals


def run() -> NoReturn:
    """The ``peep`` command and ``python -m peep_setuptools``.

    ``peep install`` probes its target interpreter first thing; the probe is started before
    the rest of the package is imported, so that both run at once.
    """
    _standard_streams()
    _stop_on_termination()
    began = False
    try:
        python = _install_target(sys.argv[1:])
        if python is not None:
            from peep_setuptools.probing import start_early

            start_early(python, uv=_installs_with_uv(sys.argv[1:]))
        # Importing the package makes tens of thousands of objects and no garbage: the cyclic
        # collector would walk them all at each of its passes. They are moved out of its
        # sight once made; the objects of the run itself are collected as usual.
        gc.disable()
        try:
            from peep_setuptools.cli.main import main
        finally:
            gc.freeze()
            gc.enable()
        began = True
        code = main()
    except KeyboardInterrupt:  # before the run began (it handles its own), or as it ended
        _interrupted(began)
        code = 130
    except SystemExit as exc:  # argparse's usage, --help, --version; SIGTERM/SIGHUP (above)
        if not isinstance(exc.code, int):
            raise
        if isinstance(exc, _Ended):  # a line, as for a Ctrl-C (there was none)
            _interrupted(began)
        code = exc.code
    while True:  # a signal as _exit begins, before its own guard (a traceback): its code
        try:
            _exit(code)
        except KeyboardInterrupt:
            code = 130
        except SystemExit as exc:  # SIGTERM, SIGHUP (_exit_for)
            code = exc.code if isinstance(exc.code, int) else code


def _exit(code: int) -> NoReturn:
    """End the process with ``code`` as Python's exit does, less the interpreter's teardown.

    Threads are waited for, exit handlers run and the output flushed; the freeing of every
    module one by one is skipped (~5 ms of a warm run: benchmarks/RESULTS.md). So is the
    interpreter's own check for a Ctrl-C it saw: CPython takes a KeyboardInterrupt that was
    caught after it landed in ``exec`` of a string (dataclasses make their methods so, as a
    module loads mid-run) for one never handled, and ended ``python -m peep_setuptools`` by
    SIGINT (-2), not with 130 (one interrupted run in four of tests/integration/test_warm_pip).
    """
    # The output first, so that a reader that reads nothing is found out here and not in
    # an exit handler (logging's flushes them too); a signal while it waits ends the wait
    # (_ReaderMayLeave drops the rest) and the run takes its code.
    try:
        _flush()
    except KeyboardInterrupt:
        code = 130
    except SystemExit as exc:  # SIGTERM, SIGHUP (_exit_for)
        code = exc.code if isinstance(exc.code, int) else code
    seen = _signals_noted()  # from here on: raised in an exit handler, one was a traceback
    threading = sys.modules.get("threading")
    if threading is not None:
        threading._shutdown()  # what Python's exit calls first
    with contextlib.suppress(Exception):  # Python 3.9 raises again what a handler raised
        atexit._run_exitfuncs()  # each shown as Python's exit shows it
    _flush()
    # what noted a loss imported it (the run may have ended before the package was imported)
    lost: list[str] = getattr(sys.modules.get("peep_setuptools.errors"), "LOST_OUTPUT", [])
    if lost:  # a run that failed keeps its own code
        from peep_setuptools.errors import EXIT_OUTPUT_LOST

        with contextlib.suppress(Exception):
            sys.stderr.write(f"peep: error: the output could not all be written ({lost[0]})\n")
            sys.stderr.flush()
        code = code or EXIT_OUTPUT_LOST
    os._exit(128 + seen[0] if seen else code)  # a signal as we ended: its code, as above


def _signals_noted() -> list[int]:
    """From now on SIGINT, SIGTERM and SIGHUP are noted in the list returned, not raised.

    Raised in an exit handler, one was shown with a traceback ("Exception ignored in atexit
    callback") and cut that handler short (the probe nobody collected ran on). One ignored
    stays ignored.
    """
    seen: list[int] = []

    def note(signum: int, frame: object) -> None:
        seen.append(signum)

    def came(exc: BaseException) -> None:  # one that came just before (signal.signal runs it)
        if isinstance(exc, KeyboardInterrupt):
            seen.append(signal.SIGINT)
        elif isinstance(exc, SystemExit):  # SIGTERM, SIGHUP (_exit_for)
            seen.append(exc.code - 128 if isinstance(exc.code, int) else signal.SIGTERM)
        else:
            raise exc

    for number in interrupt_signals():
        if signal.getsignal(number) is not signal.SIG_IGN:
            set_handlers({number: note}, came)
    return seen


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # _ReaderMayLeave keeps why it could not
            stream.flush()


def _stop_on_termination() -> None:
    """Until the run takes them over, SIGTERM and SIGHUP end peep with 143 and 129.

    While Python imports the package nothing has started that needs cleaning up, and a
    signal would otherwise end the process without its exit code (-15). One we were started
    ignoring (``nohup``) stays ignored: in us, and in every child (it keeps SIG_IGN at exec).
    """
    for number in termination_signals():
        if signal.getsignal(number) is not signal.SIG_IGN:
            signal.signal(number, _exit_for)


class _Ended(SystemExit):
    """SIGTERM or SIGHUP where the run does not handle it (``_stop_on_termination``)."""


def _exit_for(signum: int, frame: object) -> NoReturn:
    raise _Ended(128 + signum)


def _interrupted(began: bool) -> None:
    if began:  # the run may have ended: what it did, it said
        sys.stderr.write("peep: interrupted\n")
    else:
        sys.stderr.write("peep: interrupted; nothing was installed\n")


def _standard_streams() -> None:
    """Our stdin, stdout and stderr as peep needs them, whatever it was started with.

    A closed one (``peep ... >&-``) becomes /dev/null: Python leaves ``sys.stdout`` None
    then (every print of ours would fail: exit 3), and the next file opened would get its
    descriptor (what the installer prints would be written there). stdout and stderr drop
    what is written once their reader has left (``_ReaderMayLeave``).
    """
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: this one
        if fd == 0:
            sys.stdin = sys.stdin or open(0, closefd=False)  # noqa: SIM115
            continue
        old = getattr(sys, name) or open(fd, "w", closefd=False)  # noqa: SIM115
        new = io.TextIOWrapper(
            io.BufferedWriter(_ReaderMayLeave(fd, "w", closefd=False)),
            encoding=old.encoding,
            errors=old.errors,
            line_buffering=old.line_buffering,
            write_through=getattr(old, "write_through", False),
        )
        setattr(sys, name, new)


class _ReaderMayLeave(io.FileIO):
    """Descriptor 1 or 2; once it cannot be written, /dev/null.

    Its reader gone (EPIPE: ``peep ... | head -1``) is no error. Anything else (a full disk,
    a terminal gone: EIO) is kept in ``errors.LOST_OUTPUT``, and the exit is 120, as
    Python's own exit is when it cannot flush its output (``_exit``). Either way what is
    written there from then on, ours or the installer's, is dropped and the run goes on:
    stopping it at a message (exit 3, as it was) could leave an install half done. A signal
    while a write waits for a reader that reads nothing (a stopped pager) drops the rest
    too: it is raised, and nothing waits for that reader again (peep hung, whatever the
    signal).
    """

    def write(self, data: Any, /) -> int:  # noqa: ANN401 -- any buffer, as FileIO.write takes
        try:
            return super().write(data)
        except OSError as exc:
            from peep_setuptools.errors import note_lost_output  # (before main: not yet)

            note_lost_output(self.fileno(), exc)
            self._drop()
            return super().write(data)
        except BaseException:  # a signal, raised as the write waited (EINTR), or just after
            if not _writable(self.fileno()):  # still waiting for its reader: not again
                self._drop(twin=True)  # 2>&1: the message of that signal must not wait either
            raise

    def _drop(self, *, twin: bool = False) -> None:
        mine = os.fstat(self.fileno())
        null = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            with contextlib.suppress(OSError):
                other = os.fstat(fd)
                same = (other.st_dev, other.st_ino) == (mine.st_dev, mine.st_ino)
                if fd == self.fileno() or (twin and same):
                    os.dup2(null, fd)
        os.close(null)


def _writable(fd: int) -> bool:
    """Whether ``fd`` can be written now without waiting (a file, a pipe with room)."""
    import select  # (rarely needed)

    try:
        return bool(select.select([], [fd], [], 0)[1])
    except (OSError, ValueError):
        return True  # as if: what follows finds out


def _installs_with_uv(argv: Sequence[str]) -> bool:
    """Whether ``peep install`` will install with uv, by a plain reading (a guess, as below).

    Not with --dry-run (or what argparse takes for it): uv would start the target with its
    site and .pth files (``probing.prime_uv``) in a run that starts no installer.
    """
    before = argv[: argv.index("--")] if "--" in argv else argv
    if any(arg.startswith("--dr") and "--dry-run".startswith(arg) for arg in before):
        return False
    chosen = _last_value(argv, "--installer", os.environ.get("PEEP_INSTALLER", ""))
    return chosen.strip().lower() == "uv"


def _install_target(argv: Sequence[str]) -> str | None:
    """The interpreter ``peep install`` will probe, by a plain reading of ``argv``; or None.

    A guess only: argparse decides. A probe of another interpreter than the one asked for
    is never used (``probing.start`` matches the command exactly) and is stopped at exit.
    """
    if not argv or argv[0] != "install" or "-h" in argv or "--help" in argv:
        return None
    return _last_value(argv, "--python", sys.executable)


def _last_value(argv: Sequence[str], option: str, default: str) -> str:
    """The last ``OPTION VALUE`` or ``OPTION=VALUE`` before ``--``; else ``default``."""
    value = default
    for at, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == option and at + 1 < len(argv):
            value = argv[at + 1]
        elif arg.startswith(f"{option}="):
            value = arg.partition("=")[2]
    return value
