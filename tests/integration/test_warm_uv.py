"""End to end: uv, started while archives are fetched, reads its requirements once all verified.

It waits reading its pipe (``/dev/fd/N``, by a name in the run's folder) with nothing of
the run on its command line; it is given the run's requirements file only if the run is the
one it was started for.
A refused archive or a signal stops it having read nothing, and no process is left behind.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from support.builders import installed, make_venv
from support.indexserver import Fault
from support.peeprun import wait_for
from support.uvwrap import installs as _installs
from support.uvwrap import logging_uv as _logging_uv
from support.uvwrap import needs_uv
from support.uvwrap import started_ahead as _ahead

from peep_setuptools.installing.warmuv import GIVEN

pytestmark = [
    pytest.mark.slow,
    needs_uv,
]

STALL = 25.0
UV = ("--installer", "uv")


def _gone(pid: int) -> bool:
    """Not running (a zombie no one waited for would still be there)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z"
    except OSError:
        return True


def test_it_installs_wheels_in_one_run_and_a_second_run_does_nothing(
    peep, venv, write, packages, srv, tmp_path
):
    reqs = write(
        "wheels.txt",
        f"alpha==1.0 {packages.pip('alpha-1.0')}\ndelta==1.0 {packages.pip('delta-1.0')}\n",
    )
    log = _logging_uv(peep, tmp_path)
    peep.install(reqs, "-i", srv.index_url, *UV, check=0)
    ((_, words),) = _installs(log)
    assert _ahead(words)
    assert srv.index_url not in " ".join(words)
    assert (installed(venv)["alpha"], installed(venv)["delta"]) == ("1.0", "1.0")
    done = peep.install(reqs, "-i", srv.index_url, *UV, check=0)
    assert "Nothing to install" in done.stdout + done.stderr
    again = make_venv(tmp_path / "again")  # warm: from the cache, handed over in place
    peep.install(reqs, "-i", srv.index_url, *UV, python=again, check=0)
    assert [_ahead(w) for _, w in _installs(log)] == [True, True]
    assert installed(again)["delta"] == "1.0"
    peep.assert_no_temp_dirs()


def test_the_uv_started_ahead_waits_reading_nothing_and_a_signal_stops_it(
    peep, srv_reqs, srv, telltale, tmp_path
):
    log = _logging_uv(peep, tmp_path)
    srv.set_fault("/files/simple/beta-1.0.tar.gz", Fault.stall(STALL))
    proc = peep.spawn(*peep.install_args(srv_reqs, "-i", srv.index_url, "--timeout", "60", *UV))
    assert wait_for(lambda: _installs(log) or proc.poll() is not None)
    ((pid, words),) = _installs(log)
    assert proc.poll() is None and not _gone(pid)
    assert _ahead(words)
    done = peep.interrupt(proc)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert _gone(pid)
    peep.assert_no_temp_dirs()
    peep.assert_nothing_installed("alpha", "beta", "delta")
    assert not telltale.exists()


def test_a_refused_archive_stops_it_having_installed_nothing(
    peep, write, packages, srv, telltale, tmp_path
):
    log = _logging_uv(peep, tmp_path)
    reqs = write(
        "bad.txt",
        f"alpha==1.0 {packages.pip('alpha-1.0')}\nbeta==1.0 --hash=sha256:{'0' * 64}\n",
    )
    done = peep.install(reqs, "-i", srv.index_url, *UV, check=1)
    assert "THE FOLLOWING PACKAGES DIDN'T MATCH THE HASHES" in done.stdout + done.stderr
    ((pid, _),) = _installs(log)  # started ahead, never given a run
    assert _gone(pid)
    peep.assert_no_temp_dirs()
    peep.assert_nothing_installed("alpha", "beta")
    assert not telltale.exists()


def test_an_sdist_is_built_once_verified_and_its_wheel_goes_to_the_uv_started_ahead(
    peep, venv, srv_reqs, srv, telltale, tmp_path
):
    log = _logging_uv(peep, tmp_path)
    peep.install(srv_reqs, "-i", srv.index_url, *UV, check=0)
    ((_, words),) = _installs(log)
    assert _ahead(words)
    assert "beta==1.0 --hash=sha256:" in log.read_text()  # its wheel, from a folder of ours
    assert installed(venv)["beta"] == "1.0"
    assert "beta ran" in telltale.read_text()  # built by ``uv build``, once verified
    peep.assert_no_temp_dirs()


@pytest.mark.parametrize("where", ["TMPDIR", "PEEP_CACHE_DIR"])
def test_a_folder_uvs_requirements_parser_would_split_stays_on_its_command_line(
    peep, venv, write, packages, srv, tmp_path, where
):
    spaced = tmp_path / "with space" / where.lower()
    spaced.mkdir(parents=True)
    peep.env[where] = str(spaced)
    log = _logging_uv(peep, tmp_path)
    reqs = write("wheels.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", srv.index_url, *UV, check=0)
    again = make_venv(tmp_path / "again")
    peep.install(reqs, "-i", srv.index_url, *UV, python=again, check=0)
    ahead = [_ahead(w) for _, w in _installs(log)]
    if where == "TMPDIR":  # the run's folder: no uv started ahead
        assert ahead == [False, False]
    else:  # the cache's folders: the warm run's --find-links on the command line
        assert ahead[0] and not ahead[1]
        assert f"--find-links {spaced}" in log.read_text()  # in its arguments
        assert "read:" not in log.read_text().splitlines()[-1]
    assert installed(again)["alpha"] == "1.0"


def test_uvs_find_links_variable_offers_it_nothing(peep, venv, write, packages, srv, tmp_path):
    """--no-config keeps UV_FIND_LINKS: a folder there (here one uv cannot read) is not given."""
    peep.env["UV_FIND_LINKS"] = str(tmp_path / "no such folder")
    reqs = write("wheels.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", srv.index_url, *UV, check=0)
    assert installed(venv)["alpha"] == "1.0"


def test_a_folder_named_with_a_variable_uv_would_expand_is_never_named_in_a_file(
    peep, venv, write, packages, srv, tmp_path
):
    """uv expands ``${NAME}`` in the paths of a requirements file: the pipe's ``-r`` line
    would name another file (here one planted where the variable leads, offering delta)."""
    peep.env["TMPDIR"] = str(tmp_path / "t${PEEP_ATK_PART}")
    Path(peep.env["TMPDIR"]).mkdir()
    peep.env["PEEP_ATK_PART"] = "-elsewhere"
    plant = (
        'if [ -n "$copy" ]; then\n'
        "  named=\"$(sed -n 's/^-r //p' \"$copy\" | sed 's/[$]{PEEP_ATK_PART}/-elsewhere/')\"\n"
        '  mkdir -p "$(dirname "$named")"\n'
        f"  printf '%s\\n' '--find-links {packages.files['delta-1.0'].parent}'"
        f" 'delta==1.0 {packages.pip('delta-1.0')}' > \"$named\"\n"
        "fi"
    )
    log = _logging_uv(peep, tmp_path, before_exec=plant)
    reqs = write("wheels.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", srv.index_url, *UV, check=0)
    assert installed(venv).get("alpha") == "1.0"
    assert "delta" not in installed(venv)
    assert [_ahead(w) for _, w in _installs(log)] != [True]


@pytest.mark.parametrize("where", ["TMPDIR", "PEEP_CACHE_DIR"])
def test_a_folder_whose_name_is_not_utf8_fails_as_uv_does_not_as_a_bug(
    peep, venv, write, packages, srv, tmp_path, where
):
    """A requirements file cannot name it (exit 3, a traceback); uv takes no such argument."""
    odd = tmp_path / os.fsdecode(b"not-utf8-\xff")
    odd.mkdir()
    peep.env[where] = str(odd)
    reqs = write("wheels.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    done = peep.install(reqs, "-i", srv.index_url, *UV, check=1)
    assert "invalid UTF-8" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    peep.assert_nothing_installed("alpha")


@pytest.mark.parametrize("variable", ["UV_OVERRIDE", "UV_EXCLUDE"])
def test_uvs_override_and_exclude_variables_change_nothing_pinned(
    peep, venv, write, packages, srv, tmp_path, variable
):
    """An override (its own hash and all) would install an archive never pinned; an exclude
    would leave a pinned one out while peep says it is installed."""
    other = packages.files["alpha-2.0"]
    line = f"alpha @ {other.as_uri()} {packages.pip('alpha-2.0')}"
    value = line if variable == "UV_OVERRIDE" else "alpha"
    peep.env[variable] = str(write("uv-variable.txt", value))
    reqs = write("wheels.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", srv.index_url, *UV, check=0)
    assert installed(venv).get("alpha") == "1.0"


def test_a_uv_without_a_cache_is_not_started_ahead_it_would_leave_its_throwaway_one(
    peep, write, packages, srv, tmp_path
):
    """UV_NO_CACHE: uv makes a cache in TMPDIR before it reads; killed, it leaves it there."""
    peep.env["UV_NO_CACHE"] = "1"
    reqs = write(
        "bad.txt",
        f"alpha==1.0 {packages.pip('alpha-1.0')}\nbeta==1.0 --hash=sha256:{'0' * 64}\n",
    )
    peep.install(reqs, "-i", srv.index_url, *UV, check=1)
    assert os.listdir(peep.tmpdir) == []
    peep.assert_nothing_installed("alpha", "beta")


@pytest.mark.parametrize(
    "setting", ['[pip]\ntarget = "{elsewhere}"\n', 'exclude-dependencies = ["alpha"]\n']
)
def test_uvs_config_file_variable_is_not_read_by_a_pinned_run(
    peep, venv, write, packages, srv, tmp_path, setting
):
    """--no-config still reads UV_CONFIG_FILE: its target installed elsewhere than the
    environment peep checked, its excludes left a pinned package out (both exit 0)."""
    elsewhere = tmp_path / "elsewhere"
    peep.env["UV_CONFIG_FILE"] = str(write("uv.toml", setting.format(elsewhere=elsewhere)))
    reqs = write("wheels.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", srv.index_url, *UV, check=0)
    assert installed(venv).get("alpha") == "1.0"
    assert not elsewhere.exists()


def test_a_uv_that_cannot_read_its_pipe_leaves_the_run_to_a_fresh_one_and_says_nothing(
    peep, venv, write, packages, srv, tmp_path
):
    """No /dev/fd (here a uv that says so and exits): its error is not the run's."""
    folder = tmp_path / "no-dev-fd"
    folder.mkdir()
    (folder / "uv").write_text(
        f'#!/bin/sh\ncase "$*" in *"/{GIVEN} "*)\n'
        '  echo "error: cannot read /dev/fd" >&2; exit 2;;\nesac\n'
        f"exec '{Path(sys.executable).parent / 'uv'}' \"$@\"\n"
    )
    (folder / "uv").chmod(0o755)
    peep.env["PATH"] = os.pathsep.join([str(folder), peep.env["PATH"]])
    reqs = write("wheels.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    done = peep.install(reqs, "-i", srv.index_url, *UV, check=0)
    assert "cannot read" not in done.stdout + done.stderr
    assert installed(venv)["alpha"] == "1.0"


def test_a_uv_that_reads_an_extensionless_requirements_file_twice_gets_it_whole(
    peep, venv, write, packages, srv, tmp_path
):
    """uv 0.9.12 reads a ``-r`` file with no extension once to see if it is a script, then
    again: a bare /dev/fd/N was then empty, and it installed nothing (exit 0)."""
    folder = tmp_path / "uv-0.9.12"
    folder.mkdir()
    (folder / "uv").write_text(
        "#!/bin/sh\nfor a; do\n"
        '  if [ "$r" = -r ]; then case "$a" in *.txt|*.in) ;; *) cat "$a" >/dev/null;; esac; fi\n'
        '  r="$a"\ndone\n'
        f"exec '{Path(sys.executable).parent / 'uv'}' \"$@\"\n"
    )
    (folder / "uv").chmod(0o755)
    peep.env["PATH"] = os.pathsep.join([str(folder), peep.env["PATH"]])
    reqs = write("wheels.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", srv.index_url, *UV, check=0)
    assert installed(venv).get("alpha") == "1.0"


@pytest.mark.parametrize("ahead", [True, False])
def test_an_installer_that_exits_0_having_installed_nothing_fails_the_run(
    peep, venv, write, packages, srv, tmp_path, ahead
):
    """As uv 0.9.12 did reading a pipe twice, or an installer a setting made a dry run."""
    if not ahead:
        peep.env["UV_NO_CACHE"] = "1"  # no uv started ahead: the plain run
    _logging_uv(peep, tmp_path, before_exec='[ "$1" = pip ] && exit 0')
    reqs = write("wheels.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    done = peep.install(reqs, "-i", srv.index_url, *UV, check=1)
    assert "exited 0 but did not install alpha==1.0" in done.stderr
    peep.assert_nothing_installed("alpha")


def test_uv_asks_the_target_about_itself_beside_our_start_up_and_the_install_reads_the_answer(
    peep, venv, write, packages, srv, tmp_path
):
    """``uv python find`` with the probe (probing.prime_uv): the install skips its own query."""
    log = _logging_uv(peep, tmp_path)
    peep.env["RUST_LOG"] = "uv_python=trace"
    reqs = write("wheels.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    done = peep.install(reqs, "-i", srv.index_url, *UV, check=0)
    python = str(venv)
    assert any(words[:2] == ["python", "find"] and words[-1] == python for _, words in _runs(log))
    assert f"skipping query of: {python}" in done.stderr
    assert "Querying interpreter executable" not in done.stderr
    assert installed(venv)["alpha"] == "1.0"


def test_a_query_that_does_not_end_delays_the_install_2_s_and_is_stopped_at_exit(
    peep, venv, write, packages, srv, tmp_path
):
    """With the interpreter it queries (here a sleep it started): a process group of its own."""
    log = tmp_path / "uv-argv"
    query = f'[ "$1" = python ] && {{ sleep 60 & echo "$! query" >> {log}; wait; exit 1; }}'
    assert _logging_uv(peep, tmp_path, before_exec=query) == log
    reqs = write("wheels.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", srv.index_url, *UV, check=0)
    primers = [pid for pid, words in _runs(log) if words[:2] in (["python", "find"], ["query"])]
    assert len(primers) == 2
    assert all(_gone(pid) for pid in primers)
    assert installed(venv)["alpha"] == "1.0"
    peep.install(write("bad.txt", "alpha==1.0\n"), *UV, check=1)  # no hash: it fails early
    assert all(_gone(pid) for pid, _ in _runs(log))


def _runs(log: Path) -> list[tuple[int, list[str]]]:
    """Each uv run the wrapper saw start: its process id and arguments."""
    lines = [line.split() for line in log.read_text().splitlines()]
    return [(int(pid), words) for pid, *words in lines if words[:1] != ["read:"]]
