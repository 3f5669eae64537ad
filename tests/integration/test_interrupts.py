"""End to end: Ctrl-C (SIGINT) while archives download or after some were verified.

The run must stop promptly (no waiting out ``--timeout`` in worker threads), exit 130,
remove its temp files, leave the cache consistent, install nothing, and the next run
must succeed.
"""

from __future__ import annotations

import signal
import time

import pytest
from support.indexserver import Fault
from support.peeprun import wait_for
from support.procs import outlived, parents, state

from peep_setuptools.errors import INTERRUPTED

pytestmark = pytest.mark.slow

STALL = 25.0  # far longer than the test may take: only an abort ends it early


@pytest.fixture
def reqs(srv_reqs):
    return srv_reqs


def part_files(peep):
    return list(peep.tmpdir.glob("peep-*/*/*.part"))


def interrupted(peep, proc, packages, sig=signal.SIGINT, code=130):
    start = time.monotonic()
    done = peep.interrupt(proc, sig=sig)
    elapsed = time.monotonic() - start
    assert done.returncode == code, (done.stdout, done.stderr)
    assert elapsed < 8, f"took {elapsed:.1f} s to stop after signal {sig}"
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    assert "interrupted" in done.stderr
    peep.assert_no_temp_dirs()
    peep.assert_nothing_installed()
    peep.assert_cache_clean(
        [packages.sha256(k).hex for k in ("alpha-1.0", "delta-1.0", "beta-1.0")]
    )
    return done


# Ctrl-C, what a CI runner sends on cancel (SIGTERM), and a closed terminal (SIGHUP): the
# same cleanup, each with its own exit code (issue 11 item 7).
@pytest.mark.parametrize(
    ("sig", "code", "jobs"),
    [
        (signal.SIGINT, 130, "8"),
        (signal.SIGINT, 130, "1"),
        (signal.SIGTERM, 143, "8"),
        (signal.SIGHUP, 129, "8"),
    ],
    ids=["sigint-8-jobs", "sigint-1-job", "sigterm", "sighup"],
)
def test_a_signal_while_downloading_stops_cleanly(peep, reqs, srv, packages, sig, code, jobs):
    delta = "/files/simple/delta-1.0-py3-none-any.whl"
    srv.set_fault(delta, Fault.stall_mid_body(STALL))
    srv.set_fault("/files/simple/beta-1.0.tar.gz", Fault.stall(STALL))
    proc = peep.spawn(
        *peep.install_args(reqs, "-i", srv.index_url, "--timeout", "60", "--jobs", jobs)
    )
    # Mid-body: a .part file is being written and hashed when the signal arrives.
    assert wait_for(lambda: part_files(peep) or proc.poll() is not None)
    assert proc.poll() is None
    interrupted(peep, proc, packages, sig, code)
    srv.set_fault(delta, None)
    srv.set_fault("/files/simple/beta-1.0.tar.gz", None)
    peep.install(reqs, "-i", srv.index_url, check=0)
    assert peep.installed()["delta"] == "1.0"


def test_sigint_after_some_archives_were_verified(peep, reqs, srv, packages):
    # alpha and delta arrive and verify; beta's server never answers.
    srv.set_fault("/files/simple/beta-1.0.tar.gz", Fault.stall(STALL))
    proc = peep.spawn(*peep.install_args(reqs, "-i", srv.index_url, "--timeout", "60"))

    def two_verified_and_beta_asked() -> bool:
        done = len(list(peep.tmpdir.glob("peep-*/*/*.whl"))) == 2
        return done and bool(srv.requests_to("/files/simple/beta-1.0.tar.gz"))

    assert wait_for(lambda: two_verified_and_beta_asked() or proc.poll() is not None)
    assert proc.poll() is None
    interrupted(peep, proc, packages)
    srv.set_fault("/files/simple/beta-1.0.tar.gz", None)
    peep.install(reqs, "-i", srv.index_url, check=0)
    assert peep.installed()["alpha"] == "1.0"


def test_sigint_while_waiting_for_the_index(peep, reqs, srv, packages):
    srv.set_fault("/simple/alpha/", Fault.stall(STALL))
    proc = peep.spawn(
        *peep.install_args(reqs, "-i", srv.index_url, "--timeout", "60", "--retries", "5")
    )
    assert wait_for(lambda: srv.requests_to("/simple/alpha/") or proc.poll() is not None)
    assert proc.poll() is None
    interrupted(peep, proc, packages)
    # One request only: an interrupted run does not go on retrying.
    assert len(srv.requests_to("/simple/alpha/")) == 1


# A warm run takes small cached archives in its own thread while workers fetch the rest:
# a tampered cache entry makes that thread download it again itself, and a signal arriving
# while it waits on the network (or on a worker) must stop the run just the same.
@pytest.mark.parametrize(
    ("sig", "code", "stalled"),
    [
        (signal.SIGINT, 130, "main"),
        (signal.SIGTERM, 143, "main"),
        (signal.SIGINT, 130, "worker"),
        (signal.SIGHUP, 129, "worker"),
    ],
)
def test_a_signal_in_a_warm_run_that_fetches_too(peep, reqs, srv, packages, sig, code, stalled):
    peep.install(reqs, "-i", srv.index_url, "--dry-run", check=0)  # fills the cache
    alpha = packages.sha256("alpha-1.0").hex
    (cached,) = (peep.cache / "archives" / alpha[:2] / alpha).glob("*.whl")
    cached.write_bytes(b"tampered")  # taken in the calling thread, found bad, fetched there
    beta = packages.sha256("beta-1.0").hex
    for gone in (peep.cache / "archives" / beta[:2] / beta).iterdir():
        gone.unlink()  # a worker fetches it
    alpha_url = f"/files/simple/{packages['alpha-1.0'].name}"
    beta_url = "/files/simple/beta-1.0.tar.gz"
    srv.set_fault(alpha_url if stalled == "main" else beta_url, Fault.stall_mid_body(STALL))
    srv.clear_requests()
    proc = peep.spawn(*peep.install_args(reqs, "-i", srv.index_url, "--timeout", "60"))
    assert wait_for(
        lambda: (
            (srv.requests_to(alpha_url) and srv.requests_to(beta_url) and part_files(peep))
            or proc.poll() is not None
        )
    )
    assert proc.poll() is None
    interrupted(peep, proc, packages, sig, code)
    srv.set_fault(alpha_url, None)
    srv.set_fault(beta_url, None)
    peep.install(reqs, "-i", srv.index_url, check=0)
    assert peep.installed() == {"alpha": "1.0", "beta": "1.0", "delta": "1.0"}


def test_a_signal_while_pip_builds_an_sdist_stops_the_build_backend_too(
    peep, venv, write, tmp_path, monkeypatch
):
    # SIGTERM to peep alone (kill PID, a supervisor) while `pip wheel` runs a (verified)
    # sdist's build backend: peep kills pip and what pip started, and exits 143 (the
    # backend, pip's child, ran on after it; Ctrl-C at a terminal reaches the whole group)
    proc, marks = _building_slowly(peep, write, tmp_path, monkeypatch)
    backend = int(next(marks.iterdir()).name)
    done = peep.interrupt(proc, sig=signal.SIGTERM)
    assert done.returncode == 143, done.stderr
    assert not outlived(backend, timeout=2), "the build backend outlived peep"


def test_ctrl_c_again_and_again_as_peep_stops_a_build_leaves_none_of_its_processes(
    peep, write, tmp_path, monkeypatch
):
    # SIGINT to peep alone, then again every few ms as it stops pip (a second Ctrl-C raises
    # every time): one landing as peep walked /proc left pip stopped and never killed, and
    # what pip started not yet found, running on
    import os
    import time

    proc, _ = _building_slowly(peep, write, tmp_path, monkeypatch)

    tree, grown = {proc.pid}, True
    while grown:
        more = {pid for pid, parent in parents().items() if parent in tree} - tree
        tree, grown = tree | more, bool(more)
    ours = tree - {proc.pid}
    end = time.monotonic() + 5
    while proc.poll() is None and time.monotonic() < end:
        proc.send_signal(signal.SIGINT)
        time.sleep(0.002)
    done = peep.interrupt(proc, sig=signal.SIGINT)
    time.sleep(0.5)
    left = {pid: state(pid) for pid in ours if state(pid) not in ("Z", "gone")}
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert done.returncode == 130, done.stderr
    assert left == {}, "peep's processes outlived it"


def test_under_nohup_a_hangup_stops_neither_peep_nor_its_children(
    peep, write, tmp_path, monkeypatch
):
    # `nohup peep install ...` and the terminal closes: peep's handlers took SIGHUP over,
    # so it ended the run (129), and every child it started had the default
    proc, marks = _building_slowly(peep, write, tmp_path, monkeypatch, wrap=["nohup"])
    backend = int(next(marks.iterdir()).name)
    ignored = _ignored(backend)
    proc.send_signal(signal.SIGHUP)
    time.sleep(1)
    running = proc.poll() is None
    done = peep.interrupt(proc, sig=signal.SIGTERM)
    assert not outlived(backend, timeout=2), "the build backend outlived peep"
    assert ignored & (1 << (signal.SIGHUP - 1)), "the build backend does not ignore SIGHUP"
    assert running, done.stderr
    assert done.returncode == 143, done.stderr


def test_ctrl_c_in_setup_py_peep_install_exits_130(peep, reqs, srv, tmp_path):
    # setuptools turned the KeyboardInterrupt into exit 1 ("interrupted"); SIGTERM was 143
    import subprocess

    srv.set_fault("/simple/alpha/", Fault.stall(STALL))
    project = tmp_path / "project"
    project.mkdir()
    (project / "setup.py").write_text(
        'from setuptools import setup\nsetup(name="x", version="1")\n'
    )
    args = ["-r", reqs, "-i", srv.index_url, "--timeout", "60", "--dry-run"]
    proc = subprocess.Popen(
        [peep.interpreter, "setup.py", "peep_install", *args],
        cwd=project,
        env=peep.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peep.spawned.append(proc)
    assert wait_for(lambda: srv.requests_to("/simple/alpha/") or proc.poll() is not None)
    assert proc.poll() is None
    done = peep.interrupt(proc)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr
    assert f"peep_install: {INTERRUPTED}\n" in done.stderr
    peep.assert_no_temp_dirs()


def _ignored(pid):
    """The signals ``pid`` ignores, as a mask (bit N-1: signal N)."""
    from pathlib import Path

    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return int(line.split()[1], 16)
    raise AssertionError("no SigIgn")


def _building_slowly(peep, write, tmp_path, monkeypatch, wrap=()):
    """peep installing a (verified) sdist whose build backend sleeps, once it is building.

    Each backend process writes its pid into the folder returned with peep's process;
    ``wrap``: the command peep runs behind.
    """
    import support.builders as builders

    from peep_setuptools.hashes import hash_file

    marks = tmp_path / "marks"
    marks.mkdir()
    slow = f"import os, time\nopen({str(marks)!r} + '/' + str(os.getpid()), 'w').close()\n"
    monkeypatch.setattr(builders, "_telltale_code", lambda name, t: slow + "time.sleep(60)\n")
    sdist = builders.make_sdist(tmp_path / "dist", "slowpkg", "1.0", telltale=tmp_path / "t")
    digest = hash_file(str(sdist))["sha256"]
    reqs = write("slow.txt", f"{sdist} {digest.pip_option()}\n")
    proc = peep.spawn(*peep.install_args(reqs, "--no-index"), wrap=wrap)
    assert wait_for(lambda: any(marks.iterdir()), timeout=120)
    return proc, marks
