"""uv started while we fetch, reading its requirements from a pipe we write once all verified.

``uv pip install`` reads its requirements file before the interpreter or any link (only its
cache is set up, and locked shared, first): started with ``-r /dev/fd/N`` as the archives are
fetched, it has its start-up behind it when they are verified (benchmarks/RESULTS.md). It
is then given one line, ``-r`` and the run's own requirements file, in a single write
shorter than ``PIPE_BUF`` (never read cut short), and only if the run's command line,
environment and folder are the ones it started with. Otherwise, and when the run ends
without it, it is stopped having read nothing: killed before the pipe closes, so it never
reads an empty file either.
"""

from __future__ import annotations

import contextlib
import os
import select
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
from peep_setuptools.installing.sources import plain_path
from peep_setuptools.probing import primed, uv_cache_off

__all__ = ["GIVEN", "LATER", "UvStartedAhead"]

#: the ``-r`` value of the command a ``UvStartedAhead`` starts (its pipe instead)
LATER = "<given once verified>"

#: the name in the run's folder of the pipe a ``UvStartedAhead`` reads (``/dev/fd/N``)
GIVEN = "requirements-given-once-verified.txt"


class UvStartedAhead:
    """One ``uv pip install`` started before its requirements are known (``take``, ``close``)."""

    def __init__(self, command: Sequence[str], env: Mapping[str, str], cwd: str, out: bool) -> None:
        self._command = list(command)
        self._env = dict(env)
        self._cwd = cwd
        self._out = out
        self._waiting: tuple[Child, int] | None = None

    @classmethod
    def start(
        cls, command: Sequence[str], env: Mapping[str, str], workdir: str, out: bool
    ) -> UvStartedAhead | None:
        """``command``, its ``-r`` value ``LATER``, started now; None if it cannot start."""
        if os.name != "posix" or command.count(LATER) != 1 or not plain_path(workdir):
            return None
        if uv_cache_off(env):
            return None  # it makes its throwaway cache first: one killed leaves it behind
        ahead = cls(command, env, empty_dir(workdir), out)
        given, ours = os.pipe()
        # The pipe by a name ending in .txt: uv reads such a file once, as requirements; one
        # without an extension uv 0.9.12 reads twice (a script?), the second time empty.
        named = os.path.join(workdir, GIVEN)
        started = [named if word == LATER else word for word in command]
        placeholder = ChildRun(started, (), ahead._env)  # replaced by the run it is given
        try:
            os.symlink(f"/dev/fd/{given}", named)  # uv's own descriptor, where uv opens it
            # held as soon as it starts: a signal between would leave it waiting after we exit
            with interrupts_deferred():
                process, forwarders = spawn(
                    started, ahead._env, ahead._cwd, out, fd=given, forward=False
                )
                ahead._waiting = (Child(process, forwarders, placeholder), ours)
        except OSError:
            os.close(ours)
            return None
        except BaseException:
            if ahead._waiting is None:
                os.close(ours)  # it reads the end and installs nothing
            ahead.close()
            raise
        finally:
            os.close(given)
        return ahead

    def take(self, run: ChildRun, cwd: str, out: bool) -> Child | None:
        """The waiting uv, given ``run``'s requirements; None if it is not for ``run``."""
        if self._waiting is None or cwd != self._cwd or out != self._out or run.env != self._env:
            return None
        at = self._command.index(LATER)
        command = list(run.command)
        if len(command) != len(self._command) or command[at - 1] != "-r":
            return None
        reqs, command[at] = command[at], LATER
        line = f"-r {reqs}\n".encode()
        if command != self._command or not plain_path(reqs) or len(line) > select.PIPE_BUF:
            return None
        child, ours = self._waiting
        # Its query of the target, started with the probe (prime_uv) and left to end: uv
        # queries afresh if it is not there yet, as it reads these requirements.
        primed()
        if child.process.poll() is not None:  # it could not read (no /dev/fd): keep its words
            self.close()
            return None
        try:
            start_forwarding(child.process, child.forwarders)
            os.write(ours, line)  # all or nothing: shorter than PIPE_BUF, into an empty pipe
        except OSError:  # gone already (killed, or failed to start): the run starts afresh
            self.close()
            return None
        self._waiting = None  # first: an interrupt between the two finds it with its taker
        os.close(ours)
        return Child(child.process, child.forwarders, run)

    def close(self) -> None:
        """Stop the uv if it is still waiting (it has read nothing) and wait for it."""
        if self._waiting is None:
            return
        child, ours = self._waiting
        try:
            stop_all([child])  # killed before the pipe closes: no empty file is ever read
        finally:
            self._waiting = None
            with contextlib.suppress(OSError):
                os.close(ours)
            child.drop_unforwarded()
