"""The target probe started before the command line imports the rest of the package."""

from __future__ import annotations

import os
import sys

import pytest

from peep_setuptools import probing
from peep_setuptools.cli import _install_target
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
