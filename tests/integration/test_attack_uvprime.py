"""Attacks on uv's query started with the probe (probing.prime_uv): what it runs, and where.

It may only ask the interpreter the run targets, by the uv the install runs, and never
outlive the run.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from support.builders import installed, site_packages
from support.peeprun import wait_for
from support.procs import outlived, written_pid
from support.uvwrap import logging_uv, needs_uv

pytestmark = [
    pytest.mark.slow,
    needs_uv,
]

UV = ("--installer", "uv")


def _finds(log: Path) -> list[list[str]]:
    """The arguments of each ``uv python find`` the wrapper saw."""
    lines = [line.split()[1:] for line in log.read_text().splitlines()] if log.exists() else []
    return [words for words in lines if words[:2] == ["python", "find"]]


def test_uv_on_a_relative_path_entry_is_the_one_the_shell_would_run(
    peep, venv, write, packages, srv, tmp_path
):
    """PATH=.:... with uv in the current folder: that uv, by its absolute name (not /uv)."""
    log = logging_uv(peep, tmp_path)
    folder = tmp_path / "uv-wrapper"
    peep.env["PATH"] = os.pathsep.join([".", *peep.env["PATH"].split(os.pathsep)[1:]])
    peep.cwd = folder
    reqs = write("wheels.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", srv.index_url, *UV, check=0)
    assert [words[-1] for words in _finds(log)] == [str(venv)]
    assert installed(venv)["alpha"] == "1.0"


def test_a_python_found_on_a_relative_path_entry_is_not_primed(
    peep, venv, write, packages, srv, tmp_path
):
    """PATH=bin:...: 'bin/python3' from the folder uv runs in (/) is another interpreter."""
    log = logging_uv(peep, tmp_path)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python3").symlink_to(venv)
    peep.env["PATH"] = os.pathsep.join(["bin", peep.env["PATH"]])
    reqs = write("wheels.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep(*peep.install_args(reqs, "-i", srv.index_url, *UV, python=Path("python3")))
    assert all(os.path.isabs(words[-1]) for words in _finds(log)), _finds(log)


def test_a_target_that_is_a_folder_is_not_primed(peep, venv, write, packages, srv, tmp_path):
    """uv takes a folder for an environment and would run the interpreter inside it."""
    log = logging_uv(peep, tmp_path)
    reqs = write("wheels.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    folder = venv.parent.parent  # the venv's own folder: bin/python in it
    peep.install(reqs, "-i", srv.index_url, *UV, python=folder, check=1)
    assert _finds(log) == []


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z"
    except OSError:
        return True


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
@pytest.mark.parametrize("after", [0.0, 0.15, 0.6, 1.5])
def test_a_signal_while_uvs_query_runs_stops_it(
    peep, venv, write, packages, srv, tmp_path, sig, after
):
    """A query that does not end; a signal as it starts, while we fetch, or as we wait for it."""
    log = logging_uv(peep, tmp_path, before_exec='[ "$1" = python ] && exec sleep 60')
    reqs = write("wheels.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    proc = peep.spawn(*peep.install_args(reqs, "-i", srv.index_url, *UV))
    assert wait_for(lambda: _finds(log) or proc.poll() is not None)  # it started
    time.sleep(after)
    done = peep.interrupt(proc, sig=sig)
    assert done.returncode == 128 + sig, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    pids = [int(line.split()[0]) for line in log.read_text().splitlines()] if log.exists() else []
    assert all(_gone(pid) for pid in pids)
    peep.assert_no_temp_dirs()
    if done.returncode != 0:
        peep.assert_nothing_installed("alpha")


@pytest.mark.parametrize("how", ["fails", "SIGTERM"])
def test_the_interpreter_uvs_query_started_does_not_outlive_the_run(
    peep, venv, write, packages, srv, tmp_path, how
):
    """The target's start-up hangs (a .pth of its own): uv's query waits for it, and is killed."""
    marker = tmp_path / "query-pid"
    line = f"import os, time; open({str(marker)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    (site_packages(venv) / "slow.pth").write_text(line + "\n")
    bad = f"alpha==1.0 --hash=sha256:{'0' * 64}\n"
    reqs = write("reqs.txt", bad if how == "fails" else f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    proc = peep.spawn(*peep.install_args(reqs, "-i", srv.index_url, *UV))
    pid = written_pid(marker, timeout=20)
    assert pid is not None  # uv's query started the target, its site and .pth files
    if how == "SIGTERM":
        done = peep.interrupt(proc, sig=signal.SIGTERM)
        assert done.returncode == 143, done.stderr
    else:
        (done,) = peep.finish(proc, check=1)
    assert "Traceback" not in done.stdout + done.stderr
    assert not outlived(pid, timeout=2)


@pytest.mark.parametrize("ahead", [True, False])
def test_an_installer_that_left_a_planted_dist_info_as_it_was_fails_the_run(
    peep, venv, write, packages, srv, tmp_path, ahead
):
    """alpha 1.0 there (not what was pinned), reinstalled: the installer, a dry run, kept it."""
    if not ahead:
        peep.env["UV_NO_CACHE"] = "1"
    site = site_packages(venv)
    (site / "alpha-1.0.dist-info").mkdir()
    (site / "alpha-1.0.dist-info" / "METADATA").write_text("Name: alpha\nVersion: 1.0\n\n")
    (site / "alpha.py").write_text("PLANTED = True\n")
    logging_uv(peep, tmp_path, before_exec='[ "$1" = pip ] && exit 0')
    reqs = write("wheels.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    done = peep.install(reqs, "-i", srv.index_url, "--force-reinstall", *UV, check=1)
    assert "exited 0 but did not install alpha==1.0" in done.stderr


def test_a_relative_home_is_not_where_uvs_query_writes_its_cache(
    peep, venv, write, packages, srv, tmp_path
):
    """uv's cache under a relative HOME: from / (where the query runs) a folder made at the root."""
    home = f"peep-attack-home-{os.getpid()}-{tmp_path.name}"
    for name in ("UV_CACHE_DIR", "XDG_CACHE_HOME"):
        peep.env.pop(name, None)
    peep.env["HOME"] = home
    reqs = write("wheels.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    try:
        peep(*peep.install_args(reqs, "-i", srv.index_url, *UV))
        assert not (Path(os.sep) / home).exists()
    finally:
        shutil.rmtree(Path(os.sep) / home, ignore_errors=True)


def test_a_dry_run_does_not_start_uvs_query(peep, venv, write, packages, srv, tmp_path):
    """It installs nothing: uv would have started the target with its site and .pth files."""
    log = logging_uv(peep, tmp_path)
    reqs = write("wheels.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", srv.index_url, *UV, "--dry-run", check=0)
    assert _finds(log) == []
    peep.install(reqs, "-i", srv.index_url, *UV, check=0)
    assert [words[-1] for words in _finds(log)] == [str(venv)]
