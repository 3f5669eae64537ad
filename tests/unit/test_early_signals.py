"""A signal before the run begins (while Python imports peep): its exit code, no traceback."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from support.procs import outlived, written_pid
from support.signalled import assert_ended, run_python

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
    done = run_python("-c", _SIGNALLED, name)
    assert_ended(done, code)
    assert done.stdout == ""
    # one line, whatever the signal (SIGTERM and SIGHUP ended peep without a word)
    assert done.stderr == "peep: interrupted; nothing was installed\n"


@pytest.mark.parametrize("name", ["SIGHUP", "SIGTERM"])
def test_one_we_were_started_ignoring_stays_ignored(name: str) -> None:
    # `nohup peep install ...`: a hangup as the terminal closes ended the run (129), and
    # each child we started then had the default (a closed terminal killed pip too)
    number = getattr(signal, name)
    done = run_python(
        "-c",
        _SIGNALLED,
        name,
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
    done = run_python("-c", _AT_EXIT, name, str(tmp_path), cwd=tmp_path)
    assert_ended(done, code)


# The signal arrives as the early probe has started, before start_early holds it.
_PROBE_STARTED = """
import os, signal, sys
import peep_setuptools.cli as cli
from peep_setuptools import probing
real_init = probing.Running.__init__
def init(self, *args, **kwargs):
    real_init(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGTERM)
probing.Running.__init__ = init
sys.argv = ["peep", "install", "--python", sys.argv[1], "-r", "missing.txt"]
cli.run()
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="Linux /proc needed")
def test_a_signal_as_the_early_probe_starts_stops_it(tmp_path: Path) -> None:
    # Running() had returned, start_early had not held it yet: nothing stopped it at exit
    # (here a target that never answers: it ran on after peep)
    assert not _probe_outlives_peep(tmp_path, _PROBE_STARTED), "the early probe outlived peep"


def _probe_outlives_peep(tmp_path: Path, script: str) -> bool:
    """Run ``script`` (a SIGTERM at some point of the probe's start): is the probe alive?

    The target is a shell script that never answers; peep must exit 143 either way.
    """
    pid_file = tmp_path / "pid"
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    python.chmod(0o755)
    done = run_python("-c", script, str(python), cwd=tmp_path)
    pid = written_pid(pid_file, timeout=3)  # none: killed before it got there
    alive = pid is not None and outlived(pid)
    assert done.returncode == 143, done.stderr
    return alive


# The signal arrives as the run takes the early probe over, before run_script holds it.
_PROBE_TAKEN = """
import os, signal, sys
import peep_setuptools.cli as cli
from peep_setuptools import probing
class Early(list):
    def remove(self, item):
        super().remove(item)
        os.kill(os.getpid(), signal.SIGTERM)
probing._early = Early()
sys.argv = ["peep", "install", "--dry-run", "--python", sys.argv[1], "-r", "reqs.txt"]
cli.run()
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="Linux /proc needed")
def test_a_signal_as_the_early_probe_is_taken_over_stops_it(tmp_path: Path) -> None:
    # out of the early ones, not yet returned to run_script: nothing stopped it
    (tmp_path / "reqs.txt").write_text("alpha==1.0 --hash=sha256:" + "a" * 64 + "\n")
    assert not _probe_outlives_peep(tmp_path, _PROBE_TAKEN), "the probe outlived peep"
