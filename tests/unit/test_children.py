"""Running installer children: several builds side by side, and none outliving a failure."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from peep_setuptools.errors import BackendError
from peep_setuptools.hashes import Digest
from peep_setuptools.installing.children import ChildRun, run_all
from peep_setuptools.installing.handoff import VerifiedArchive


def _archive(name: str) -> VerifiedArchive:
    return VerifiedArchive(name, f"/nowhere/{name}-1.0.tar.gz", Digest("sha256", "0" * 64))


def _python(code: str) -> list[str]:
    return [sys.executable, "-I", "-c", code]


def test_builds_run_side_by_side(tmp_path: Path) -> None:
    # Each child marks that it started, then waits (up to 30 s) for all three marks: they
    # can all finish only if they ran at the same time.
    wait_for_all = (
        "import os, sys, time\n"
        "d, me = sys.argv[1], sys.argv[2]\n"
        "open(os.path.join(d, me), 'w').close()\n"
        "end = time.time() + 30\n"
        "while len(os.listdir(d)) < 3:\n"
        "    assert time.time() < end, 'the others never started'\n"
        "    time.sleep(0.01)\n"
    )
    env = dict(os.environ)
    runs = [ChildRun([*_python(wait_for_all), str(tmp_path), n], [_archive(n)], env) for n in "abc"]
    os.mkdir(tmp_path / "work")
    run_all(runs, workdir=str(tmp_path / "work"), action="build", out=False, at_once=3)
    assert sorted(os.listdir(tmp_path)) == ["a", "b", "c", "work"]


def test_one_failure_stops_the_others_and_names_its_archive(tmp_path: Path) -> None:
    sleeper = (
        "import os, sys, time\n"
        "open(sys.argv[1] + '.tmp', 'w').write(str(os.getpid()))\n"
        "os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
        "time.sleep(60)\n"
    )
    pid_file = tmp_path / "pid"
    fail = (
        "import os, sys, time\n"
        "while not os.path.exists(sys.argv[1]):\n"
        "    time.sleep(0.01)\n"
        "sys.exit(3)\n"
    )
    env = dict(os.environ)
    runs = [
        ChildRun([*_python(fail), str(pid_file)], [_archive("broken")], env),
        ChildRun([*_python(sleeper), str(pid_file)], [_archive("slow")], env),
    ]
    os.mkdir(tmp_path / "work")
    with pytest.raises(BackendError, match=r"exited 3 while building broken;"):
        # the sleeper is still running when its sibling fails: it is stopped, not waited for
        run_all(runs, workdir=str(tmp_path / "work"), action="build", out=False, at_once=2)
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_failed_install_lets_the_running_one_finish_and_starts_no_other(tmp_path: Path) -> None:
    # A killed installer would leave a package half-written; one not yet started is not.
    finisher = "import sys, time\ntime.sleep(0.5)\nopen(sys.argv[1], 'w').close()\n"
    env = dict(os.environ)
    runs = [
        ChildRun([*_python("import sys; sys.exit(1)")], [_archive("broken")], env),
        ChildRun([*_python(finisher), str(tmp_path / "finished")], [_archive("running")], env),
        ChildRun([*_python(finisher), str(tmp_path / "started")], [_archive("waiting")], env),
    ]
    os.mkdir(tmp_path / "work")
    with pytest.raises(BackendError, match=r"exited 1 while installing broken;"):
        run_all(runs, workdir=str(tmp_path / "work"), action="install", out=False, at_once=2)
    assert (tmp_path / "finished").exists()
    assert not (tmp_path / "started").exists()


def test_an_install_that_cannot_start_lets_the_running_one_finish(tmp_path: Path) -> None:
    # The second run's program is missing (or the system has no process left for it): the
    # first, already writing its packages, must not be killed half-way for that.
    finisher = "import sys, time\ntime.sleep(0.5)\nopen(sys.argv[1], 'w').close()\n"
    env = dict(os.environ)
    runs = [
        ChildRun([*_python(finisher), str(tmp_path / "finished")], [_archive("running")], env),
        ChildRun([str(tmp_path / "no-such-installer")], [_archive("unstarted")], env),
    ]
    os.mkdir(tmp_path / "work")
    with pytest.raises(BackendError, match=r"cannot run .*no-such-installer"):
        run_all(runs, workdir=str(tmp_path / "work"), action="install", out=False, at_once=2)
    assert (tmp_path / "finished").exists()
