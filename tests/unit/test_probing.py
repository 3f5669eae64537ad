"""The target probe started before the command line imports the rest of the package."""

from __future__ import annotations

import os
import sys

import pytest

from peep_setuptools import probing
from peep_setuptools.cli import _install_target, _installs_with_uv
from peep_setuptools.target import probe


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["install", "-r", "r.txt"], sys.executable),
        (["install", "-r", "r.txt", "--python", "/x/python"], "/x/python"),
        (["install", "--python=/x/python", "-r", "r.txt"], "/x/python"),
        (["install", "--python", "/a", "--python", "/b"], "/b"),  # argparse: the last wins
        (["install", "--", "--python", "/x"], sys.executable),
        (["install", "--python"], sys.executable),
        (["install", "--help"], None),
        (["hash", "a.whl"], None),
        ([], None),
    ],
)
def test_which_interpreter_is_probed_early(argv, expected):
    assert _install_target(argv) == expected


@pytest.mark.parametrize(
    ("argv", "variable", "expected"),
    [
        (["install", "-r", "r.txt"], "", False),
        (["install", "-r", "r.txt", "--installer", "uv"], "", True),
        (["install", "--installer=uv", "-r", "r.txt"], "", True),
        (["install", "-r", "r.txt"], " UV ", True),  # PEEP_INSTALLER, read as options.py does
        (["install", "--installer", "pip"], "uv", False),  # the command line wins
        (["install", "--installer", "uv", "--installer", "pip"], "", False),  # the last wins
        (["install", "--", "--installer", "uv"], "", False),
        (["install", "--installer", "uv", "--dry-run"], "", False),  # it starts no installer
        (["install", "--dry"], "uv", False),  # as argparse reads it
        (["install", "--", "--dry-run"], "uv", True),
    ],
)
def test_which_installer_is_guessed_early(monkeypatch, argv, variable, expected):
    monkeypatch.setenv("PEEP_INSTALLER", variable)
    assert _installs_with_uv(argv) is expected


@pytest.mark.parametrize(
    ("variable", "value"),
    [("UV_NO_CACHE", "1"), ("UV_CACHE_DIR", "relative/cache"), ("PATH", "/nowhere")],
)
def test_uv_is_not_primed_where_its_install_would_not_read_the_answer(
    monkeypatch, no_early_probes, variable, value
):
    """No cache, a cache the install (in another folder) would not find, no uv at all."""
    monkeypatch.setenv(variable, value)
    monkeypatch.setattr(probing.sys, "executable", "/nowhere/python")  # no uv beside it
    probing.prime_uv(sys.executable)
    assert probing._primers == []


@pytest.fixture
def no_early_probes():
    yield
    probing._stop_early()


def test_an_early_probe_is_the_one_probe_collects(no_early_probes):
    probing.start_early(sys.executable)
    early = probing._early[0]
    assert probe(sys.executable) == probe(sys.executable)
    assert probing._early == []
    assert early._cwd is None  # collected, and its directory removed


def test_an_early_probe_of_another_interpreter_is_not_used(no_early_probes):
    probing.start_early(os.path.join("no", "such", "python"))
    assert probe(sys.executable).python
    assert len(probing._early) == 1


def test_an_early_probe_nobody_collects_is_stopped(no_early_probes):
    probing.start_early(sys.executable)
    stray = probing._early[0]
    probing._stop_early()
    assert probing._early == []
    assert stray._cwd is None
    assert stray._process is not None and stray._process.returncode is not None


def test_an_interrupt_as_the_probe_starts_stops_it(monkeypatch, tmp_path):
    # Popen waits for the child's exec: a Ctrl-C raised there (here just after it) went
    # out of Popen with no object to stop the probe by (the early one too: not yet held)
    import signal
    import subprocess

    started = []
    real = subprocess.Popen._execute_child

    def exec_d(self, *args, **options):
        real(self, *args, **options)
        started.append(self.pid)
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(subprocess.Popen, "_execute_child", exec_d)
    with pytest.raises(KeyboardInterrupt):
        probing.Running(sys.executable, "import time; time.sleep(30)", (), isolated=True)
    monkeypatch.undo()
    assert started
    _assert_gone(started[0])


def test_an_interrupt_as_a_script_s_result_is_asked_for_stops_it(monkeypatch):
    # a signal as probing.start returned is raised as result() is called, before its guard
    from peep_setuptools import target

    started = []
    real = probing.start

    def at_the_next_call(frame, event, arg):
        if event == "call":  # where Python runs the handler of a signal come meanwhile
            sys.setprofile(None)
            import signal

            signal.raise_signal(signal.SIGINT)

    def held(*args, **options):
        started.append(real(*args, **options))
        sys.setprofile(at_the_next_call)  # Ctrl-C as it returns
        return started[-1]

    monkeypatch.setattr(probing, "start", held)
    with pytest.raises(KeyboardInterrupt):
        target.run_script(sys.executable, "import time; time.sleep(30)")
    assert started
    _assert_gone(started[0]._process.pid)


def _assert_gone(pid):
    import signal

    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return  # stopped and waited for
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"the probe runs on (reaped: {bool(waited)})")


@pytest.mark.parametrize("which", ["probe", "uv's query"])
def test_an_interrupt_as_start_process_returns_leaves_the_child_held(
    monkeypatch, no_early_probes, tmp_path, which
):
    """The handler runs in the caller as the call returns, before the caller stores it."""
    import signal

    started = []
    real = probing.start_process

    def returning(*args, **options):
        started.append(real(*args, **options))
        signal.raise_signal(signal.SIGINT)  # raised here: the value is never returned

    monkeypatch.setattr(probing, "start_process", returning)
    uv = tmp_path / "uv"  # a uv whose query does not end
    uv.write_text("#!/bin/sh\nexec sleep 30\n")
    uv.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("UV_NO_CACHE", raising=False)
    monkeypatch.delenv("UV_CACHE_DIR", raising=False)
    with pytest.raises(KeyboardInterrupt):
        if which == "probe":
            probing.start_early(sys.executable)
        else:
            probing.prime_uv(sys.executable)
    monkeypatch.undo()
    probing._stop_early()  # what the exit runs
    assert started
    _assert_gone(started[0].pid)
