"""How ``peep`` ends when its output cannot be written: exit codes, no hang, no traceback."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.signalled import run_python

_ROOT = Path(__file__).resolve().parents[2]
_F_SETPIPE_SZ = 1031  # Linux


def _peep(*args: str) -> list[str]:
    return [sys.executable, "-m", "peep_setuptools", *args]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("option", ["--help", "--version"])
def test_help_that_cannot_be_written_exits_120(option: str, tmp_path: Path) -> None:
    # argparse ends these by SystemExit: they must end as every other run does (_exit), not
    # 0 with the output silently dropped
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            _peep(option), stdout=full, stderr=subprocess.PIPE, text=True, cwd=tmp_path, timeout=60
        )
    assert done.returncode == 120, done.stderr
    assert done.stderr == (
        "peep: error: the output could not all be written (stdout: No space left on device)\n"
    )


def _stuck_pipe() -> tuple[int, int]:
    """A pipe already full, whose reader reads nothing until told: every write waits."""
    read, write = os.pipe()
    fcntl.fcntl(write, _F_SETPIPE_SZ, 4096)
    os.set_blocking(write, False)
    with pytest.raises(BlockingIOError):
        while True:
            os.write(write, b"x" * 4096)
    os.set_blocking(write, True)
    return read, write


def _waiting_to_write(pid: int) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if "pipe_write" in Path(f"/proc/{pid}/wchan").read_text():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="Linux /proc needed")
@pytest.mark.parametrize("both", [False, True], ids=["stdout", "2>&1"])
@pytest.mark.parametrize("command", ["hash", "port"])
@pytest.mark.parametrize(("name", "code"), [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)])
def test_a_signal_while_the_output_waits_for_its_reader_ends_the_run(
    command: str, name: str, code: int, both: bool, tmp_path: Path
) -> None:
    # the run is done, its last output waits for a reader that reads nothing (a stopped
    # pager, a stuck log): a signal ends peep with its code, as at any other time; it hung
    # until the reader read, and a second signal printed a traceback
    reqs = tmp_path / "reqs.txt"
    reqs.write_text("alpha==1.0 --hash=sha256:" + "a" * 64 + "\n")
    args = ["hash", str(_ROOT / "setup.py")] if command == "hash" else ["port", str(reqs)]
    read, write = _stuck_pipe()
    try:
        errors = write if both else subprocess.PIPE
        peep = subprocess.Popen(_peep(*args), stdout=write, stderr=errors, cwd=tmp_path)
        os.close(write)
        write = -1
        assert _waiting_to_write(peep.pid)
        peep.send_signal(getattr(signal, name))
        try:
            peep.wait(timeout=10)
        finally:
            os.set_blocking(read, False)  # the reader reads at last: nothing waits any more
            while peep.poll() is None:
                with contextlib.suppress(BlockingIOError):
                    os.read(read, 1 << 16)
                time.sleep(0.01)
        stderr = peep.stderr.read().decode() if peep.stderr else ""
    finally:
        os.close(read)
        if write != -1:
            os.close(write)
    assert peep.returncode == code, stderr
    assert "Traceback" not in stderr


def test_a_probe_stopped_at_exit_does_not_hold_the_exit(tmp_path: Path) -> None:
    # the interpreter to install into is a wrapper script that runs python as its child;
    # the run fails first (a usage error), and the probe started early is stopped at exit.
    # What the wrapper started holds the probe's pipes open: peep waited for it to end (here
    # a minute; a Ctrl-C then was a traceback)
    spawned = tmp_path / "spawned"
    wrapper = tmp_path / "python"
    wrapper.write_text(f"#!/bin/sh\nsleep 60 &\necho $! > {spawned}\nwait\n")
    wrapper.chmod(0o755)
    reqs = tmp_path / "reqs.txt"
    reqs.write_text("alpha>=1\n")
    argv = _peep("install", "-r", str(reqs), "--python", str(wrapper))
    start = time.monotonic()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    finally:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(spawned.read_text()), signal.SIGKILL)
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert "is not pinned" in done.stderr
    assert time.monotonic() - start < 30


def test_an_exit_handler_that_fails_is_shown_and_the_code_stays(tmp_path: Path) -> None:
    # as Python's own exit: the handler's error is printed and the exit code is the run's
    # (Python 3.9's atexit._run_exitfuncs raises it again: that was a traceback and exit 1)
    code = (
        "import atexit\n"
        "from peep_setuptools import cli\n"
        "atexit.register(lambda: 1 / 0)\n"
        "cli._exit(0)\n"
    )
    done = run_python("-c", code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "ZeroDivisionError" in done.stderr


@pytest.mark.parametrize(("name", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_signal_as_the_exit_begins_is_no_traceback(name: str, code: int, tmp_path: Path) -> None:
    # the run is done; a signal landing as _exit is called (before its own guard) went out
    # of run(): a Ctrl-C was a traceback, and the process died by SIGINT
    script = (
        "import os, signal, sys\n"
        "from peep_setuptools import cli\n"
        "import peep_setuptools.cli.main as m\n"
        "def main():\n"
        "    def profile(frame, event, arg):\n"
        "        if event == 'call' and frame.f_code is cli._exit.__code__:\n"
        "            sys.setprofile(None)\n"
        f"            os.kill(os.getpid(), signal.{name})\n"
        "    sys.setprofile(profile)\n"
        "    return 0\n"
        "m.main = main\n"
        "sys.argv = ['peep', 'hash']\n"
        "cli.run()\n"
    )
    done = run_python("-c", script, cwd=tmp_path)
    assert done.returncode == code, done.stderr
    assert done.stderr == ""
