"""A signal as ``start_process`` returns: the child it started is held, and stopped.

Python runs a signal's handler where the call returns, in the caller, before the caller
stores the value: a KeyboardInterrupt there left the child running with no one to stop it.
Each caller gives ``started=`` a list that holds it from inside the call.
"""

from __future__ import annotations

import os
import signal
import sys

import pytest

from peep_setuptools.installing import bytecode, children


def _returning(real, started):
    def start(*args, **options):
        started.append(real(*args, **options))
        signal.raise_signal(signal.SIGINT)  # as the call returns

    return start


def _assert_gone(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return  # stopped and waited for
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the child runs on")


def test_a_process_run_to_its_end(monkeypatch):
    started: list = []
    monkeypatch.setattr(children, "start_process", _returning(children.start_process, started))
    with pytest.raises(KeyboardInterrupt):
        children.run_process([sys.executable, "-c", "import time; time.sleep(30)"])
    monkeypatch.undo()
    _assert_gone(started[0].pid)


def test_the_bytecode_compiler(monkeypatch, tmp_path):
    started: list = []
    monkeypatch.setattr(bytecode, "start_process", _returning(bytecode.start_process, started))
    with pytest.raises(KeyboardInterrupt):
        bytecode.Compiler.start(sys.executable, dict(os.environ), cwd=str(tmp_path))
    monkeypatch.undo()
    _assert_gone(started[0].pid)
