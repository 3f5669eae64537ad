"""pip started while we fetch and verify, each waiting for the command line it will run.

A pip run spends ~0.2 s importing its install command before it reads a requirement
(benchmarks/RESULTS.md): most of a run at a few dozen wheels. A warm start spends that while
we fetch. The target's interpreter runs ``_WAITING``: it imports pip's install command, then
blocks reading a command line and an environment from a pipe only we hold. What it gets is
exactly what ``python -m pip`` would have been started with, and only once every archive
verified; then it runs pip as ``python -m pip`` does. In a target without pip it is our pip,
run as ``python __pip-runner__.py`` runs it (``children.pip_runner``): imported from beside
the runner only, and the runner itself run as the main script once the run is given. If
pip's files changed meanwhile (an upgrade: what it imports next would be another pip's), it
execs the run as it would have started instead. One never given a command reads the end of
its pipe (or is killed) and exits, having run nothing of pip's but imports.

While it waits it is a process group of its own, so that stopping it stops what it started
too (pip's warm-up runs ``lsb_release``), and what it prints waits in its pipes: one stopped
shows nothing. Given its run, it joins our process group again, as ``python -m pip`` is in,
and keeps what its start-up put in its environment (a ``.pth`` file, ``sitecustomize``):
only the variables its run has otherwise than its start (pip's, ``NETRC``) are changed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Mapping, Sequence

from peep_setuptools.errors import interrupts_deferred
from peep_setuptools.installing.children import (
    Child,
    ChildRun,
    empty_dir,
    spawn,
    start_forwarding,
    stop_all,
)

__all__ = ["WarmStarts"]

# Runs in the target's interpreter (Python 3.9+). The warm-up names modules of pip's own; in a
# pip without one, the run only takes longer. Once pip is done, only the interpreter's own
# teardown is left (~50 ms of freeing pip's modules; it writes nothing): the exit skips it,
# as it is, with its threads waited for, the exit handlers run and the output flushed.
_WAITING = r"""
import os, signal, sys
interrupt = signal.getsignal(signal.SIGINT)  # ignored if we were started ignoring it
if interrupt is not signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # interrupted while waiting: no traceback
try:
    os.setpgid(0, 0)  # a group of its own while it waits: stopped with what it starts
except OSError:
    pass
runner = sys.argv[2] if len(sys.argv) > 2 else None
if runner is None:
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # as python -m pip does: never a pip from the current folder
else:
    # as `python runner` has them: its folder first (where -c put ""; nothing under
    # PYTHONSAFEPATH), and pip only from beside it (a finder as the runner's own, which it
    # adds again: no other pip is ever imported)
    if sys.path and sys.path[0] == "":
        sys.path[0] = os.path.dirname(runner)
    from importlib.machinery import PathFinder
    class _RunnersPip:
        @classmethod
        def find_spec(cls, fullname, path=None, target=None):
            if fullname != "pip":
                return None
            root = os.path.dirname(os.path.dirname(runner))
            spec = PathFinder.find_spec(fullname, [root], target)
            if spec is None:
                raise ImportError("no pip beside " + runner)
            return spec
    sys.meta_path.insert(0, _RunnersPip)
for name in (
    "pip._internal.commands.install",
    "pip._internal.resolution.resolvelib.resolver",
    "pip._internal.operations.install.wheel",
):
    try:
        __import__(name)
    except Exception:
        pass
try:  # what pip's user agent asks the system (lsb_release, uname), kept for pip's asking
    from pip._vendor import distro
    distro.name(), distro.version(), distro.codename()
except Exception:
    pass
def files():
    # what pip's later imports read, and the runner: one changed by then (pip upgraded, its
    # runner gone) would run two pips' modules, or fail otherwise than python would
    found = []
    for path in (getattr(sys.modules.get("pip"), "__file__", None), runner):
        try:
            status = os.stat(path)
            found.append((status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns))
        except Exception:
            found.append(None)
    return found
imported = files()
chunks, fd = [], int(sys.argv[1])
while True:
    chunk = os.read(fd, 1 << 16)
    if not chunk:
        break
    chunks.append(chunk)
if not chunks:
    sys.exit(0)
import json, runpy
try:
    given = json.loads(b"".join(chunks))
except ValueError:  # cut short: the sender was killed as it wrote
    sys.exit(1)
try:
    os.setpgid(0, given["group"])  # back in the sender's group, as python -m pip is
except OSError:
    pass
for name in given["unset"]:
    os.environ.pop(name, None)
os.environ.update(given["set"])
sys.argv = [runner or "pip", *given["argv"]]
signal.signal(signal.SIGINT, interrupt)  # as python -m pip starts with it
if files() != imported:  # pip's files changed: this process becomes the run as started cold
    os.close(fd)
    program = [runner] if runner else ["-m", "pip"]
    os.execv(sys.executable, [sys.executable, *program, *given["argv"]])
del chunks, chunk, given, fd, files, imported  # what runs, runs in this namespace
interrupted = False
try:
    if runner is None:
        # what python -m runs: its messages (a pip without __main__), its __main__ module
        runpy._run_module_as_main("pip")
    else:
        # what `python runner` runs: the file as it is now, as the main module
        with open(runner, "rb") as source:
            script = compile(source.read(), runner, "exec", dont_inherit=True)
        globals().update(__file__=runner, __cached__=None)
        exec(script, globals())
    code = 0
except SystemExit as stop:
    code = stop.code
except BaseException as error:  # shown as python shows what it ran: without this script
    error.__traceback__ = error.__traceback__.tb_next
    sys.excepthook(type(error), error, error.__traceback__)
    code, interrupted = 1, isinstance(error, KeyboardInterrupt)
import atexit, os, signal, sys  # ours again, whatever the runner named so
if code is not None and not isinstance(code, int):
    sys.stderr.write("%s\n" % (code,))
    code = 1
threading = sys.modules.get("threading")
if threading is not None:
    threading._shutdown()  # as the interpreter's exit does: its threads end first
try:  # each handler's error shown as Python's exit shows it; 3.9 raises the last again
    atexit._run_exitfuncs()
except Exception:
    pass
for stream in (sys.stdout, sys.stderr):
    try:
        stream.flush()
    except Exception:
        pass
if interrupted:  # as python ends on an interrupt nothing caught: killed by it
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
os._exit(code or 0)
"""

#: what the waiting interpreter takes from its command's environment; everything else (what
#: Python reads as it starts: PYTHON*, locale) must be what it was started with
_GIVEN_LATE = ("PIP_", "NETRC")


class WarmStarts:
    """Interpreters of one ``python -m pip`` program, waiting for their command lines."""

    def __init__(self, program: Sequence[str], env: Mapping[str, str], cwd: str, out: bool) -> None:
        self._program = list(program)
        self._env = dict(env)
        self._cwd = cwd
        self._out = out
        self._waiting: list[tuple[Child, int]] = []
        #: those handed a run: whoever took one waits for it, unless interrupted first
        self._given: list[Child] = []

    @classmethod
    def start(
        cls, program: Sequence[str], env: Mapping[str, str], workdir: str, out: bool, count: int
    ) -> WarmStarts | None:
        """``count`` waiting interpreters of ``program``, ``python -m pip`` or ``python runner``.

        The runner is our pip's ``__pip-runner__.py`` (a target without pip). None if
        ``program`` is not of that form, or none could start (then each run starts
        as it would have). ``out``: the children's stdout goes to our stderr (``spawn``).
        """
        if os.name != "posix" or _runner_args(program) is None or count < 1:
            return None
        cwd = empty_dir(workdir)
        # pip's variables all come with the run, in its order: pip applies two names of
        # one option (PIP_TIMEOUT, PIP_DEFAULT_TIMEOUT) in the environment's order
        warm = cls(program, _at_start(env), cwd, out)
        try:
            for _ in range(count):
                if not warm._start_one():
                    break
        except BaseException:  # an interrupt: none is left running
            warm.close()
            raise
        return warm if warm._waiting else None

    def _start_one(self) -> bool:
        """Start one more waiting interpreter; False if it cannot start."""
        given, ours = os.pipe()
        runner = _runner_args(self._program) or []
        command = [self._program[0], "-c", _WAITING, str(given), *runner]
        placeholder = ChildRun(command, (), self._env)  # replaced by the run it is given
        try:
            # held (for close) as soon as it starts, the signals waiting meanwhile: one
            # between would leave it running after we exit (it leaves on its own, later)
            with interrupts_deferred():
                started = spawn(command, self._env, self._cwd, self._out, fd=given, forward=False)
                self._waiting.append((Child(*started, placeholder), ours))
        except BaseException as exc:
            os.close(given)
            if any(o == ours for _, o in self._waiting):  # held already: close() stops it
                raise
            os.close(ours)  # one started and not held reads the end and leaves
            if isinstance(exc, OSError):
                return False
            raise
        os.close(given)
        return True

    def take(self, run: ChildRun, cwd: str, out: bool) -> Child | None:
        """A waiting interpreter, given ``run``; None if none is left or ``run`` is not ours.

        ``run`` is ours when it is ``program`` with arguments, to go where we send the
        output, in the folder they wait in, and with the environment they started with
        but for pip's own variables.
        """
        program = self._program
        if run.command[: len(program)] != program or out != self._out:
            return None
        if _at_start(run.env) != _at_start(self._env) or cwd != self._cwd:
            return None
        given = json.dumps(
            {
                "argv": run.command[len(program) :],
                # only pip's variables differ (``_at_start``): the rest is as it started
                "set": {k: v for k, v in run.env.items() if self._env.get(k) != v},
                "unset": [k for k in self._env if k not in run.env],
                "group": os.getpgrp(),
            }
        ).encode()
        while self._waiting:
            child, ours = self._waiting[0]
            try:
                # its output first: one blocked writing it would never read a long command
                start_forwarding(child.process, child.forwarders)
                _write_all(ours, given)
            except BaseException as exc:  # gone (killed, a broken interpreter), or interrupted
                self._stop(child, ours)
                if isinstance(exc, OSError):
                    continue  # another one
                raise
            self._given.append(child)  # first: an interrupt between the two finds it
            self._waiting.pop(0)
            os.close(ours)
            return Child(child.process, child.forwarders, run)
        return None

    def close(self) -> None:
        """Stop every interpreter still waiting (it has run nothing) and wait for it.

        One handed its run that no one waited for (an interrupt came before its taker held
        it) is stopped too: it would install after we stopped. A second interrupt meanwhile
        stops none less; the first is raised once all are stopped.
        """
        interrupted: BaseException | None = None
        while self._waiting:
            try:
                self._stop(*self._waiting[-1])
            except (KeyboardInterrupt, SystemExit) as exc:  # SystemExit: a program's handler's
                interrupted = interrupted or exc
        # back in our group: each with what it started
        stop_all([child for child in self._given if child.process.poll() is None])
        self._given.clear()
        if interrupted is not None:
            raise interrupted

    def _stop(self, child: Child, ours: int) -> None:
        """Stop one waiting interpreter: what it was given so far, it never runs.

        With it goes what it started (its process group), and what it printed that no one
        passed on.
        """
        with interrupts_deferred():  # not left half stopped: its pipe open, not killed
            self._waiting.remove((child, ours))
            with contextlib.suppress(OSError):  # not yet in a group of its own: itself only
                os.killpg(child.process.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                child.process.kill()  # first: a message cut short is never read
            os.close(ours)
        child.wait(patient=False)
        child.drop_unforwarded()


def _runner_args(program: Sequence[str]) -> list[str] | None:
    """``_WAITING``'s arguments after its pipe: [] or ``[runner]``; None if it cannot run it.

    ``program`` is ``python -m pip`` or ``python runner`` (our pip's ``__pip-runner__.py``).
    """
    if list(program[1:]) == ["-m", "pip"]:
        return []
    if len(program) == 2 and os.path.basename(program[1]) == "__pip-runner__.py":
        return [program[1]]
    return None


def _at_start(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if not k.startswith(_GIVEN_LATE)}


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
