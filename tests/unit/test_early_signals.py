"""A signal before the run begins (while Python imports peep): its exit code, no traceback."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

# The signal arrives where the run has not started: as peep reads its command line, after
# the early handlers are set and before the package is imported.
_SIGNALLED = """
import os, signal, sys
import peep_setuptools.cli as cli
number = getattr(signal, sys.argv[1])
cli._install_target = lambda argv: os.kill(os.getpid(), number)
sys.argv = ["peep", "--version"]
cli.run()
"""


@pytest.mark.parametrize(("name", "code"), [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)])
def test_a_signal_before_the_run_begins_exits_with_its_code(name: str, code: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SIGNALLED, name], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    if name == "SIGINT":
        assert done.stderr == "peep: interrupted; nothing was installed\n"


@pytest.mark.parametrize("name", ["SIGHUP", "SIGTERM"])
def test_one_we_were_started_ignoring_stays_ignored(name: str) -> None:
    # `nohup peep install ...`: a hangup as the terminal closes ended the run (129), and
    # each child we started then had the default (a closed terminal killed pip too)
    number = getattr(signal, name)
    done = subprocess.run(
        [sys.executable, "-c", _SIGNALLED, name],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: signal.signal(number, signal.SIG_IGN),  # as nohup starts us
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("peep")


# The signal arrives as the exit handlers run: as the probe started early, which a run that
# failed first never collected, is stopped.
_AT_EXIT = """
import os, signal, sys
import peep_setuptools.cli as cli
from peep_setuptools import probing
number = getattr(signal, sys.argv[1])
real_close = probing.Running.close
def close(self):
    os.kill(os.getpid(), number)
    real_close(self)
probing.Running.close = close
sys.argv = ["peep", "install", "-r", os.path.join(sys.argv[2], "missing.txt")]
cli.run()
"""


@pytest.mark.parametrize(("name", "code"), [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)])
def test_a_signal_as_the_exit_handlers_run_exits_with_its_code(
    name: str, code: int, tmp_path: Path
) -> None:
    # it was "Exception ignored in atexit callback" and a traceback, the probe was left
    # running, and the run's own code (2) was kept
    done = subprocess.run(
        [sys.executable, "-c", _AT_EXIT, name, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == code, done.stderr
