"""``UvStartedAhead``: given a run's requirements only for the run it was started for."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from peep_setuptools.installing.children import ChildRun, empty_dir
from peep_setuptools.installing.warmuv import LATER, UvStartedAhead

# What stands for uv: it copies what it reads from its ``-r`` file to the file after it.
READER = "import sys; data = open(sys.argv[2]).read(); open(sys.argv[3], 'w').write(data)"


def _command(seen: Path) -> list[str]:
    return [sys.executable, "-c", READER, "-r", LATER, str(seen)]


def _run(seen: Path, reqs: Path, env: dict[str, str]) -> ChildRun:
    return ChildRun([sys.executable, "-c", READER, "-r", str(reqs), str(seen)], (), env)


@pytest.fixture
def workdir(tmp_path: Path) -> str:
    folder = tmp_path / "run"
    folder.mkdir()
    return str(folder)


def test_the_run_it_was_started_for_gets_one_line_naming_its_file(tmp_path, workdir):
    seen, reqs, env = tmp_path / "seen", tmp_path / "reqs.txt", dict(os.environ)
    ahead = UvStartedAhead.start(_command(seen), env, workdir, out=False)
    assert ahead is not None
    child = ahead.take(_run(seen, reqs, env), empty_dir(workdir), False)
    assert child is not None
    assert child.wait() == 0
    assert seen.read_text() == f"-r {reqs}\n"
    ahead.close()  # nothing left to stop


@pytest.mark.parametrize("differs", ["command", "env", "cwd", "out", "spaced file"])
def test_another_run_is_refused_and_close_stops_it_having_read_nothing(tmp_path, workdir, differs):
    seen, reqs, env = tmp_path / "seen", tmp_path / "reqs.txt", dict(os.environ)
    ahead = UvStartedAhead.start(_command(seen), env, workdir, out=False)
    assert ahead is not None
    run = _run(seen, reqs, env)
    cwd, out = empty_dir(workdir), False
    if differs == "command":
        run = ChildRun([*run.command, "--reinstall"], (), env)
    elif differs == "env":
        run = ChildRun(run.command, (), {**env, "UV_EXTRA": "1"})
    elif differs == "cwd":
        cwd = str(tmp_path)
    elif differs == "out":
        out = True
    else:
        run = _run(seen, tmp_path / "a space" / "reqs.txt", env)
    assert ahead.take(run, cwd, out) is None
    process = ahead._waiting[0].process  # type: ignore[index]
    ahead.close()
    assert process.returncode is not None  # stopped and waited for
    assert not seen.exists()  # killed before its pipe closed: it never read, not even ""


def test_a_folder_with_a_space_starts_nothing(tmp_path):
    spaced = tmp_path / "a space"
    spaced.mkdir()
    assert UvStartedAhead.start(_command(tmp_path / "seen"), {}, str(spaced), out=False) is None


def test_one_that_left_before_its_run_came_is_replaced_by_a_fresh_start(tmp_path, workdir):
    seen, reqs, env = tmp_path / "seen", tmp_path / "reqs.txt", dict(os.environ)
    ahead = UvStartedAhead.start(_command(seen), env, workdir, out=False)
    assert ahead is not None
    process = ahead._waiting[0].process  # type: ignore[index]
    process.kill()
    process.wait()
    assert ahead.take(_run(seen, reqs, env), empty_dir(workdir), False) is None
    assert ahead._waiting is None
