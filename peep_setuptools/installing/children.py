"""Where the installer's child processes start, and which pip runs in a target without one."""

from __future__ import annotations

import contextlib
import importlib.machinery
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol, TextIO

from peep_setuptools.errors import BackendError, interrupts_deferred, note_lost_output
from peep_setuptools.frozen import frozen
from peep_setuptools.probing import close_streams
from peep_setuptools.probing import start_process as start_process  # ours too
from peep_setuptools.urls import redact_text

if TYPE_CHECKING:
    from peep_setuptools.installing.handoff import VerifiedArchive


def cores(at_most: int) -> int:
    """The machine's cores (1 if unknown), at most ``at_most``: how many children to start."""
    return max(1, min(os.cpu_count() or 1, at_most))


#: sdists built at once: each build backend is one single-threaded process
BUILDS_AT_ONCE = 4
#: pip runs of a split install at once: each is one process, most of it single-threaded
INSTALLS_AT_ONCE = cores(4)


#: below this many wheels a batch costs more (an installer's start-up) than it saves
MIN_PER_BATCH = 8


def run_count(archives: int, *, at_once: int, at_most: int) -> int:
    """How many installer runs ``archives`` wheels are split into (under 2: one run).

    ``at_once`` side by side, and as many as keep each to ``at_most`` wheels, but none
    smaller than MIN_PER_BATCH.
    """
    return min(max(at_once, -(-archives // at_most)), archives // MIN_PER_BATCH)


@frozen
class ChildRun:
    """One installer process: its command, the archives it is given, its environment."""

    command: list[str]
    archives: Sequence[VerifiedArchive]
    env: Mapping[str, str]


def empty_dir(workdir: str) -> str:
    """An empty private folder for the installer to start in.

    ``python -m pip`` and ``pip --python`` put their current directory first on sys.path:
    a ``pip`` package in the caller's directory (a checkout) would run instead of pip.
    """
    folder = os.path.join(workdir, "installer-cwd")
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, 0o700)
    return folder


def absolute(place: str) -> str:
    """A local path made absolute (the installer starts in another folder); URLs as given."""
    return place if "://" in place or place.startswith("file:") else os.path.abspath(place)


def pip_runner() -> str | None:
    """Our pip's ``__pip-runner__.py`` (what ``pip --python`` runs in the other interpreter).

    Found on ``sys.path`` without importing pip; None if this pip has none (then ``--python``
    it is). Not through ``sys.meta_path``: setuptools' distutils shim, asked for "pip" there,
    takes pip to be running and drops ``distutils`` from this process (``setup.py
    peep_install`` runs us inside setuptools). Not from the current directory either
    (``python -m peep_setuptools`` puts it on sys.path): a ``pip`` there is not ours.
    """
    try:
        here = os.getcwd()
    except OSError:  # removed under us: nothing is found there anyway
        here = ""
    path = [p for p in sys.path if os.path.isabs(p) and p != here]
    try:
        spec = importlib.machinery.PathFinder.find_spec("pip", path)
    except (ImportError, ValueError):
        return None
    folders = list(spec.submodule_search_locations or ()) if spec is not None else []
    runners = [os.path.join(os.path.realpath(f), "__pip-runner__.py") for f in folders[:1]]
    return next((path for path in runners if os.path.isfile(path)), None)


class StartedAhead(Protocol):
    """Children started before their command line was known (``warmpip.WarmStarts``)."""

    def take(self, run: ChildRun, cwd: str, out: bool) -> Child | None:
        """A child now running ``run``, or None if none waiting can run it."""


def run_all(
    runs: Sequence[ChildRun],
    *,
    workdir: str,
    action: Literal["install", "build"],
    out: bool,
    at_once: int = 1,
    ahead: StartedAhead | None = None,
) -> None:
    """Run each child, ``at_once`` at a time; raise BackendError if one fails.

    A child started ``ahead`` runs a command it can run; the others start now. An interrupt
    or a signal stops every child still running and waits for it: no installer outlives the
    run. A failed build stops the other builds; a failed install starts no other but lets
    those running finish (a killed installer would leave a package half-written). ``out``:
    the installer's stdout goes to our stderr.
    """
    cwd = empty_dir(workdir)
    waiting = list(runs)
    running: list[Child] = []
    failed: BackendError | None = None
    try:
        while waiting or running:
            while waiting and len(running) < at_once:
                run = waiting.pop(0)
                try:
                    # held as soon as it starts: one started as a signal came would outlive us
                    with interrupts_deferred():
                        started = ahead.take(run, cwd, out) if ahead is not None else None
                        running.append(started or _start(run, cwd, out))
                except OSError as exc:  # a failure like any other: those running may finish
                    failed = BackendError(f"cannot run {run.command[0]}: {exc}")
                    waiting.clear()
                    break
            if not running or (failed is not None and action == "build"):
                break
            child = running[0]
            code = child.wait()  # still in `running`: an interrupt here stops it too
            running.pop(0)
            if code != 0 and failed is None:
                failed = _failure(child.run, code, action)
                waiting.clear()
                if action == "build":
                    break
        if failed is not None:
            raise failed
    finally:
        stop_all(running)  # as subprocess.run does when interrupted, and below it


#: how long the output of an installer that has exited may take to be passed on: more only
#: if a process it started still holds its pipe (that one's output follows in the background).
#: Time spent waiting for our own reader (a pager, a slow log) does not count: the
#: installer's last lines (its error) are never dropped for it.
_DRAIN_SECONDS = 2.0


class _Forwarder:
    """Passes one of a child's streams on, and tells how long it has waited to write."""

    def __init__(self, stream: IO[bytes], fd: int) -> None:
        self.thread = threading.Thread(target=self._run, args=(stream, fd), daemon=True)
        self._lock = threading.Lock()
        self._written_for = 0.0  # seconds spent in writes that have ended
        self._writing_since: float | None = None

    def writing_time(self, now: float) -> float:
        """Seconds spent writing to our side up to ``now``, the write in progress too."""
        with self._lock:
            since = self._writing_since
            return self._written_for + (now - since if since is not None else 0.0)

    def _run(self, stream: IO[bytes], fd: int) -> None:
        """Copy ``stream`` to ``fd`` line by line with URL secrets hidden, up to its end.

        Bytes that are not UTF-8 pass unchanged (surrogateescape). Once ``fd`` cannot be
        written (a reader that left), the rest is read and dropped: the child must not block.
        """
        writable = True
        with stream:
            for line in iter(stream.readline, b""):
                if writable:
                    text = redact_text(line.decode("utf-8", "surrogateescape"))
                    with self._lock:
                        self._writing_since = time.monotonic()
                    writable = _write_all(fd, text.encode("utf-8", "surrogateescape"))
                    with self._lock:
                        self._written_for += time.monotonic() - self._writing_since
                        self._writing_since = None

    def drain(self, exited: float, *, patient: bool) -> None:
        """Wait until all is passed on, or ``_DRAIN_SECONDS`` since ``exited`` (the child's).

        ``patient``: time spent in writes to our side does not count, only waiting for the
        child's (not so once interrupted: a reader that stopped reading must not hold us).
        """
        written_before = self.writing_time(exited)
        while self.thread.is_alive():
            self.thread.join(0.05)
            now = time.monotonic()
            writing = self.writing_time(now) - written_before if patient else 0.0
            if now - exited - writing >= _DRAIN_SECONDS:
                return


@frozen
class Child:
    """A running installer, and what passes its output on."""

    process: subprocess.Popen[bytes]
    forwarders: Sequence[_Forwarder]
    run: ChildRun

    def wait(self, *, patient: bool = True) -> int:
        """Its exit code, once what it printed has been passed on (see ``drain``)."""
        code = self.process.wait()
        exited = time.monotonic()
        for forwarder in self.forwarders:
            forwarder.drain(exited, patient=patient)
        return code

    def drop_unforwarded(self) -> None:
        """Stopped before its output was passed on (``spawn(forward=False)``): drop it."""
        if not any(f.thread.ident for f in self.forwarders):
            close_streams(self.process)


def _start(run: ChildRun, cwd: str, out: bool) -> Child:
    """Start one installer (see ``spawn``)."""
    return Child(*spawn(run.command, run.env, cwd, out), run)


def spawn(
    command: Sequence[str],
    env: Mapping[str, str],
    cwd: str,
    out: bool,
    *,
    fd: int | None = None,
    forward: bool = True,
) -> tuple[subprocess.Popen[bytes], list[_Forwarder]]:
    """Start a child; its stdout and stderr are passed on line by line, redacted.

    An installer prints URLs as it has them: uv an index it cannot reach with its query
    (``?token=``). Each line goes through ``redact_text``, as every message of ours does.
    Where it goes is where the inherited streams went: stdout to our stdout (our stderr if
    ``out``: a JSON report on stdout must not get the installer's chatter), stderr to ours.
    Both going to one place (``out``, a terminal, ``2>&1``), they share one pipe: two
    would be read side by side, and the installer's lines would come out of order.
    ``fd``: a descriptor the child keeps, under the same number. ``forward=False``: what it
    prints waits in its pipes until ``forward`` (one stopped before then shows none of it).
    """
    to = (_fd(sys.stderr, 2) if out else _fd(sys.stdout, 1), _fd(sys.stderr, 2))
    pipe = subprocess.PIPE
    errors = subprocess.STDOUT if _same_file(*to) else pipe
    kept = () if fd is None else (fd,)
    process = start_process(
        command, env=dict(env), stdout=pipe, stderr=errors, cwd=cwd, pass_fds=kept
    )
    try:  # an interrupt before the caller holds it: no one would stop it
        streams = (process.stdout, process.stderr)
        forwarders = [_Forwarder(s, to_fd) for s, to_fd in zip(streams, to) if s is not None]
        if forward:
            start_forwarding(process, forwarders)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process, forwarders


def run_process(
    command: Sequence[str],
    *,
    input: str | None = None,
    timeout: float | None = None,
    **options: Any,  # noqa: ANN401 -- Popen's
) -> subprocess.CompletedProcess[Any]:
    """``subprocess.run(command, input=, timeout=, **options)``, started by ``start_process``.

    As ``run`` does, the child is killed if we are interrupted or it times out while we wait.
    """
    stdin = subprocess.PIPE if input is not None else None
    held: list[subprocess.Popen[Any]] = []  # held as it starts: see start_process
    try:  # not ``with``: an interrupt as Popen.__enter__ began left the child running
        process = start_process(command, started=held.append, stdin=stdin, **options)
        out, err = process.communicate(input, timeout=timeout)
    except BaseException:
        for process in held:
            stop_tree(process)
            process.wait()
            close_streams(process)
        raise
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def stop_tree(process: subprocess.Popen[Any]) -> None:
    """Kill ``process`` and every process below it (pip's build backend, a compiler).

    They are in our process group, which we cannot kill without killing ourselves: a signal
    sent to us alone (``kill PID``, a supervisor) reaches none of them. Each is stopped as it
    is found, so that none starts another meanwhile, then all are killed. Where there is no
    /proc to find them in (or no SIGSTOP), ``process`` alone.
    """
    if process.poll() is not None:  # gone (and now reaped): its pid may be another's
        return
    if not hasattr(signal, "SIGSTOP"):  # Windows: no SIGSTOP nor SIGKILL, and no /proc
        process.kill()
        return
    tree = [process.pid]  # each below one before it
    stopped: set[int] = set()
    interrupted: BaseException | None = None
    while True:
        # an interrupt (a second Ctrl-C; SystemExit, a program's handler's) as we walk or
        # kill: the walk goes on, then it is raised; cut short, it left some stopped and
        # never killed, and some not yet found
        try:
            while _stop_below(tree, stopped):
                pass
            # the last found first: each is killed while its parent, stopped, holds its pid
            # (a parent killed first: init reaps the child, and its pid may be another's)
            while tree:
                with contextlib.suppress(OSError):
                    os.kill(tree[-1], signal.SIGKILL)
                tree.pop()
            break
        except (KeyboardInterrupt, SystemExit) as exc:
            interrupted = interrupted or exc
    if interrupted is not None:
        raise interrupted


def _stop_below(tree: list[int], stopped: set[int]) -> bool:
    """Stop each of ``tree`` not yet stopped, and add those they started; False if none."""
    for pid in tree:
        if pid not in stopped:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGSTOP)
            stopped.add(pid)
    if not os.path.isdir("/proc"):
        return False
    _until_stopped(tree)  # one in the middle of a fork shows its child only once stopped
    try:
        parents = _parents()
    except OSError:  # no descriptor left to list /proc with: those found are killed
        return False
    known = set(tree)
    found = [pid for pid, parent in parents.items() if parent in known and pid not in known]
    tree += found
    return bool(found)


#: how long the processes being stopped may take to stop (one in uninterruptible sleep stops
#: only once it leaves it): past that, they are looked under as they are
_STOPPING_SECONDS = 1.0


def _until_stopped(pids: Sequence[int]) -> None:
    """Wait until each of ``pids`` has stopped (or exited), up to ``_STOPPING_SECONDS``.

    SIGSTOP is sent, not yet received, when ``kill`` returns: a process forking then
    finishes its fork first, and its child may not be in /proc yet as we read it.
    """
    end = time.monotonic() + _STOPPING_SECONDS
    for pid in pids:
        while _state(pid) not in ("T", "t", "Z", "X", "x", "") and time.monotonic() < end:
            time.sleep(0.001)


def _state(pid: int) -> str:
    """A process's state letter from /proc (``T`` stopped, ``Z`` a zombie); "" if gone."""
    try:
        return _stat(f"/proc/{pid}/stat")[0].decode()
    except (OSError, IndexError, UnicodeDecodeError):
        return ""


def _stat(path: str) -> list[bytes]:
    """The fields of a /proc/PID/stat after the command's name (state, parent, ...)."""
    with open(path, "rb") as stat:
        return stat.read().rpartition(b")")[2].split()


def stop_all(children: Sequence[Child]) -> None:
    """``stop_tree`` each child and wait for it; a second interrupt meanwhile stops none less.

    The first interrupt that came meanwhile is raised once all are stopped.
    """
    interrupted: BaseException | None = None
    for child in children:
        try:
            stop_tree(child.process)
            child.wait(patient=False)
        except (KeyboardInterrupt, SystemExit) as exc:  # SystemExit: a program's handler's
            interrupted = interrupted or exc
    if interrupted is not None:
        raise interrupted


def _parents() -> dict[int, int]:
    """Each process's parent, from /proc."""
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(_stat(os.path.join(entry.path, "stat"))[1])
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
    return parents


def start_forwarding(process: subprocess.Popen[bytes], forwarders: Sequence[_Forwarder]) -> None:
    """Start passing a child's output on (``spawn``); if that fails, the child is killed."""
    try:
        for forwarder in forwarders:
            forwarder.thread.start()
    except BaseException:  # no thread left to start (or an interrupt): no child either
        process.kill()
        process.wait()
        raise


def _fd(stream: TextIO, default: int) -> int:
    """The file descriptor under ``stream`` (``default`` if it has none: a StringIO)."""
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return default


def _same_file(one: int, other: int) -> bool:
    """Whether two file descriptors write to the same file (or terminal, or pipe)."""
    if one == other:
        return True
    try:
        first, second = os.fstat(one), os.fstat(other)
    except OSError:
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def _write_all(fd: int, data: bytes) -> bool:
    """Write all of ``data`` to ``fd``; False if it cannot be written."""
    while data:
        try:
            data = data[os.write(fd, data) :]
        except BlockingIOError:  # a non-blocking stream our caller gave us: wait for room
            time.sleep(0.01)
        except OSError as exc:  # a reader gone, or output lost: the run exits 120 then
            note_lost_output(fd, exc)
            return False
    return True


def _failure(run: ChildRun, code: int, action: str) -> BackendError:
    names = ", ".join(a.name for a in run.archives)
    return BackendError(
        f"{' '.join(run.command[:4])} exited {code} while {action}ing {names}; "
        "its output above names the package that failed. The archives were "
        f"verified, but the installer could not {action} them."
    )
