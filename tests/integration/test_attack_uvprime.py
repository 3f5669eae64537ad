"""Attacks on uv's query started with the probe (probing.prime_uv): what it runs, and where.

It may only ask the interpreter the run targets, by the uv the install runs, and never
outlive the run.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from support.builders import installed
from support.uvwrap import logging_uv

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("uv", path=str(Path(sys.executable).parent)) is None,
        reason="uv (a test extra) is not installed",
    ),
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
