"""End to end: the target's pip, started while archives are fetched, runs only once all verified.

It waits in the run's folder with nothing of the run on its command line; a refused archive
or a signal stops it having installed nothing, and no process is left behind.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support.builders import make_venv
from support.indexserver import Fault
from support.peeprun import wait_for

pytestmark = pytest.mark.slow

STALL = 25.0


@pytest.fixture
def with_pip(peep, tmp_path):
    """The test's target: a venv with its own pip, which peep starts ahead."""
    peep.venv = make_venv(tmp_path / "target", with_pip=True)
    return peep


@pytest.fixture
def reqs(srv_reqs):
    return srv_reqs


def _waiting_pips(peep) -> list[list[bytes]]:
    """The command lines of ``python -c`` processes in one of the run's folders."""
    found = []
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            if os.readlink(cwd).startswith(f"{peep.tmpdir}{os.sep}"):
                words = (cwd.parent / "cmdline").read_bytes().split(b"\0")
                found += [words] if words[1:2] == [b"-c"] else []
        except OSError:
            continue
    return found


def test_the_pip_started_ahead_waits_showing_nothing_and_a_signal_stops_it(
    with_pip, reqs, srv, telltale
):
    peep = with_pip
    srv.set_fault("/files/simple/beta-1.0.tar.gz", Fault.stall(STALL))
    proc = peep.spawn(*peep.install_args(reqs, "-i", srv.index_url, "--timeout", "60"))
    assert wait_for(lambda: _waiting_pips(peep) or proc.poll() is not None)
    assert proc.poll() is None
    (words,) = _waiting_pips(peep)  # three requirements: one pip
    assert b"install" not in words and not any(srv.index_url.encode() in w for w in words)
    done = peep.interrupt(proc)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    peep.assert_no_temp_dirs()  # no process left in the run's folder either
    peep.assert_nothing_installed("alpha", "beta", "delta")
    assert not telltale.exists()


def test_a_refused_archive_stops_it_having_installed_nothing(
    with_pip, write, packages, srv, telltale
):
    peep = with_pip
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
