"""End to end: the target's pip, started while archives are fetched, runs only once all verified.

It waits in the run's folder with nothing of the run on its command line; a refused archive
or a signal stops it having installed nothing, and no process is left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import packaging
import pytest
from support.builders import clean_env, make_venv, pip_copy, site_packages
from support.indexserver import Fault
from support.peeprun import reading_its_pipe, wait_for

import peep_setuptools
from peep_setuptools.installing.children import ChildRun
from peep_setuptools.installing.warmpip import WarmStarts

pytestmark = pytest.mark.slow

STALL = 25.0


@pytest.fixture
def with_pip(peep, tmp_path):
    """The test's target: a venv with its own pip, which peep starts ahead."""
    peep.venv = make_venv(tmp_path / "target", with_pip=True)
    return peep


@pytest.fixture(params=["its own pip", "our pip by its runner"])
def either(request, peep, tmp_path):
    """A target with its own pip, or one without (peep's pip runs there by its runner)."""
    peep.venv = make_venv(tmp_path / "target", with_pip=request.param == "its own pip")
    return peep


@pytest.fixture
def reqs(srv_reqs):
    return srv_reqs


def _waiting_pips(peep) -> list[tuple[int, list[bytes]]]:
    """The ids and command lines of ``python -c`` processes in one of the run's folders."""
    found = []
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            if os.readlink(cwd).startswith(f"{peep.tmpdir}{os.sep}"):
                words = (cwd.parent / "cmdline").read_bytes().split(b"\0")
                found += [(int(cwd.parent.name), words)] if words[1:2] == [b"-c"] else []
        except OSError:
            continue
    return found


def test_the_pip_started_ahead_waits_showing_nothing_and_a_signal_stops_it(
    either, reqs, srv, telltale
):
    peep = either
    srv.set_fault("/files/simple/beta-1.0.tar.gz", Fault.stall(STALL))
    proc = peep.spawn(*peep.install_args(reqs, "-i", srv.index_url, "--timeout", "60"))
    assert wait_for(lambda: _waiting_pips(peep) or proc.poll() is not None)
    assert proc.poll() is None
    ((_, words),) = _waiting_pips(peep)  # three requirements: one pip
    assert b"install" not in words and not any(srv.index_url.encode() in w for w in words)
    done = peep.interrupt(proc)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    peep.assert_no_temp_dirs()  # no process left in the run's folder either
    peep.assert_nothing_installed("alpha", "beta", "delta")
    assert not telltale.exists()


def test_a_refused_archive_stops_it_having_installed_nothing(
    either, write, packages, srv, telltale
):
    peep = either
    reqs = write(
        "bad.txt",
        f"alpha==1.0 {packages.pip('alpha-1.0')}\n"
        f"beta==1.0 --hash=sha256:{'0' * 64}\n",  # the sdist whose setup.py writes the telltale
    )
    done = peep.install(reqs, "-i", srv.index_url, check=1)
    assert "THE FOLLOWING PACKAGES DIDN'T MATCH THE HASHES" in done.stdout + done.stderr
    peep.assert_no_temp_dirs()
    peep.assert_nothing_installed("alpha", "beta")
    assert not telltale.exists()


def test_it_installs_what_pip_would_and_a_second_run_does_nothing(with_pip, reqs, srv):
    peep = with_pip
    peep.install(reqs, "-i", srv.index_url, check=0)
    got = peep.installed()
    assert {k: got.get(k) for k in ("alpha", "beta", "delta")} == dict.fromkeys(
        ("alpha", "beta", "delta"), "1.0"
    )
    peep.assert_no_temp_dirs()
    check = subprocess.run(
        [str(peep.venv), "-m", "pip", "check"], env=peep.env, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout
    again = peep.install(reqs, "-i", srv.index_url, check=0)
    assert "Nothing to install" in again.stdout + again.stderr


def _on_start(python: Path, code: str) -> None:
    """A line the target runs as it starts (a .pth file of its own)."""
    (site_packages(python) / "zz_on_start.pth").write_text(f"import os, sys; {code}\n")


def test_a_refused_run_shows_nothing_of_the_pip_started_ahead(either, write, packages, srv):
    # what the target prints as it starts is pip's output only once pip is given a run
    peep = either
    _on_start(peep.venv, 'sys.stderr.write("TARGET STARTED\\n")')
    srv.set_fault(f"/files/simple/{packages['alpha-1.0'].name}", Fault.stall(1.0))
    reqs = write("bad.txt", f"alpha==1.0 --hash=sha256:{'0' * 64}\n")
    done = peep.install(reqs, "-i", srv.index_url, check=1)
    assert "TARGET STARTED" not in done.stdout + done.stderr


def test_what_the_targets_start_up_puts_in_its_environment_reaches_pip(
    either, write, packages, srv
):
    # python -m pip runs with what the interpreter's start-up set: here SOURCE_DATE_EPOCH,
    # with which pip writes hash-checked .pyc files (flags 3) instead of timestamped ones
    peep = either
    _on_start(peep.venv, 'os.environ["SOURCE_DATE_EPOCH"] = "1600000000"')
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", srv.index_url, "--compile", check=0)
    (pyc,) = (site_packages(peep.venv) / "alpha" / "__pycache__").glob("__init__.*.pyc")
    assert pyc.read_bytes()[4:8] == b"\x03\x00\x00\x00"


def test_what_a_stopped_pip_started_is_stopped_with_it(with_pip, write, packages, srv, tmp_path):
    # pip's warm-up asks lsb_release (pip's user agent); a run refused meanwhile leaves none
    peep = with_pip
    bin_dir = tmp_path / "slow-bin"
    bin_dir.mkdir()
    (bin_dir / "lsb_release").write_text("#!/bin/sh\nexec sleep 10\n")
    (bin_dir / "lsb_release").chmod(0o755)
    peep.env["PATH"] = f"{bin_dir}{os.pathsep}{peep.env['PATH']}"
    srv.set_fault(f"/files/simple/{packages['alpha-1.0'].name}", Fault.stall(2.0))
    reqs = write("bad.txt", f"alpha==1.0 --hash=sha256:{'0' * 64}\n")
    peep.install(reqs, "-i", srv.index_url, check=1)  # no process left in the run's folder


def test_an_interrupt_while_its_command_is_sent_stops_the_pip_it_went_to(tmp_path):
    # a command longer than a pipe holds waits for the interpreter to read it (here still
    # starting); interrupted there, it must not be left to read half of it, or run any
    python = make_venv(tmp_path / "slow")
    _on_start(python, "import time; time.sleep(20)")
    env = clean_env()
    workdir = tmp_path / "work"
    workdir.mkdir()
    warm = WarmStarts.start([str(python), "-m", "pip"], env, str(workdir), False, 1)
    assert warm is not None
    ((child, _),) = warm._waiting
    run = ChildRun([str(python), "-m", "pip", "--version"], (), {**env, "PIP_X": "x" * 100_000})

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        with pytest.raises(KeyboardInterrupt):
            warm.take(run, str(workdir / "installer-cwd"), False)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        warm.close()
    assert child.process.poll() is not None  # stopped with us, not left sleeping


def test_a_target_whose_pip_cannot_run_fails_as_python_m_pip_does(peep, write, packages, srv):
    # a pip folder without __main__: python -m pip says so in one line, exit 1, no traceback
    python = make_venv(peep.cwd / "broken")
    (site_packages(python) / "pip").mkdir()
    (site_packages(python) / "pip" / "__init__.py").write_text("")
    plain = subprocess.run(
        [str(python), "-m", "pip", "install", "alpha"], env=peep.env, capture_output=True, text=True
    )
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    done = peep.install(reqs, "-i", srv.index_url, python=python, check=1)  # no traceback
    assert plain.returncode == 1 and plain.stderr.strip() in done.stderr


def test_pip_ends_as_python_ends_waiting_for_its_threads(either, write, packages, srv, tmp_path):
    # a thread the target's start-up started (not a daemon): python waits for it as it exits
    peep = either
    mark = tmp_path / "thread-done"
    write_mark = f"(__import__('time').sleep(1), open({str(mark)!r}, 'a').close())"
    _on_start(peep.venv, f"import threading; threading.Thread(target=lambda: {write_mark}).start()")
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", srv.index_url, check=0)
    assert mark.exists()


def test_our_pip_upgraded_while_it_waited_is_the_pip_that_runs(
    peep, write, packages, srv, tmp_path
):
    # peep's own pip (what a target without pip runs, by its runner) upgraded as peep
    # fetches: the run is the new pip's, as it would be started then, not two pips' modules
    ours = make_venv(tmp_path / "peep-env")  # peep's interpreter, its pip a copy to upgrade
    pip = pip_copy(site_packages(ours))
    code = [Path(m.__file__).parent.parent for m in (peep_setuptools, packaging)]
    (site_packages(ours) / "peep-code.pth").write_text("".join(f"{p}\n" for p in code))
    peep.interpreter = str(ours)
    srv.set_fault(f"/files/simple/{packages['alpha-1.0'].name}", Fault.stall(10.0))
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    proc = peep.spawn(*peep.install_args(reqs, "-i", srv.index_url))

    def waiting() -> bool:  # the pip started ahead has imported pip: its fd is its argv[3]
        found = [(pid, words[3]) for pid, words in _waiting_pips(peep) if len(words) > 3]
        return any(fd.isdigit() and reading_its_pipe(pid, int(fd)) for pid, fd in found)

    assert wait_for(waiting)
    upgraded, new = tmp_path / "upgraded-pip-ran", pip / "__init__.py.new"
    new.write_text(f"{(pip / '__init__.py').read_text()}\nopen({str(upgraded)!r}, 'a').close()\n")
    os.replace(new, pip / "__init__.py")
    assert proc.poll() is None  # still fetching
    srv.end_stalls()  # the stall's 10 s are a bound: the upgrade is done
    peep.finish(proc, check=0)
    assert upgraded.exists()
    assert peep.installed().get("alpha") == "1.0"


def test_an_exit_handler_that_fails_ends_pip_as_python_would(either, write, packages, srv):
    # what the target's start-up registered fails at exit: shown, and pip's code stays 0
    # (Python 3.9 raises it again from atexit._run_exitfuncs: the warm pip then exited 1)
    peep = either
    _on_start(peep.venv, "import atexit; atexit.register(lambda: 1 / 0)")
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    argv = peep.argv(*peep.install_args(reqs, "-i", srv.index_url))
    done = subprocess.run(argv, env=peep.env, cwd=peep.cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr  # the traceback is Python's "Exception ignored"
    assert "ZeroDivisionError" in done.stderr
    assert peep.installed()["alpha"] == "1.0"
    peep.assert_no_temp_dirs()
