"""End to end: attacks on the performance changes (pip runner, early probe, cache links).

Each test reproduces one way past the promise; what it plants must never run and what it
offers must never be installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.builders import installed, make_venv

pytestmark = pytest.mark.slow

_PLANTED_PIP = "import pathlib\npathlib.Path({marker!r}).write_text('planted pip ran')\n"


def plant_pip(folder: Path, marker: Path) -> None:
    """A ``pip`` package in ``folder`` that, run in any way, writes ``marker``."""
    pip = folder / "pip"
    pip.mkdir(parents=True)
    code = _PLANTED_PIP.format(marker=str(marker))
    for name in ("__init__.py", "__main__.py", "__pip-runner__.py"):
        (pip / name).write_text(code)


@pytest.mark.parametrize("with_pip", [True, False], ids=["target-pip", "our-pip"])
def test_a_pip_planted_in_the_current_directory_never_runs(
    peep, write, packages, index, tmp_path, with_pip
):
    """The installer child runs in a folder of its own: ``python -m pip`` (a target with pip)
    and ``pip --python`` put the current directory first on sys.path."""
    marker = tmp_path / "planted-ran"
    plant_pip(peep.cwd, marker)
    peep.venv = make_venv(tmp_path / "target", with_pip=with_pip)
    reqs = write("alpha.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, check=0)
    assert not marker.exists()
    assert installed(peep.venv).get("alpha") == "1.0"
