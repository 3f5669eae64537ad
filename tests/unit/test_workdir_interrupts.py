"""A signal as a run's ``peep-*`` folder is made: the folder goes with the run."""

from __future__ import annotations

from pathlib import Path

from support.signalled import assert_ended, run_python

#: an index nothing listens on: nothing is fetched before the interrupt
_INDEX = "http://127.0.0.1:9/simple"

_PORT = """
import signal, sys
from peep_setuptools import cli
from peep_setuptools.installing.settings import IndexSettings
real = IndexSettings.open
def opening(self):  # Ctrl-C as the client opens (the HTTP code loads: tens of ms)
    signal.raise_signal(signal.SIGINT)
    return real(self)
IndexSettings.open = opening
sys.argv = ["peep", *sys.argv[1:]]
cli.run()
"""


def test_ctrl_c_as_port_opens_its_client_leaves_no_folder(tmp_path: Path) -> None:
    # peep port --to pylock made its folder, then opened the index client outside the try
    # that removes it: a Ctrl-C then left peep-port-* in TMPDIR
    reqs = _reqs(tmp_path)
    _interrupted_leaves_no_folder(tmp_path, _PORT, ["port", "--to", "pylock", "-i", _INDEX, reqs])


def _reqs(tmp_path: Path) -> str:
    reqs = tmp_path / "reqs.txt"
    reqs.write_text("alpha==1.0 --hash=sha256:" + "a" * 64 + "\n")
    return str(reqs)


def _interrupted_leaves_no_folder(tmp_path: Path, script: str, argv: list[str]) -> None:
    """``script`` runs peep with ``argv`` and a Ctrl-C: exit 130, nothing left in TMPDIR."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"TMPDIR": str(tmp), "PIP_CONFIG_FILE": "/dev/null", "PATH": "/usr/bin:/bin"}
    done = run_python("-c", script, *argv, cwd=tmp_path, env=env)
    assert_ended(done, 130)
    assert "interrupted" in done.stderr
    assert sorted(p.name for p in tmp.iterdir()) == []


_INSTALL = """
import signal, sys
from peep_setuptools import cli
from peep_setuptools.installing import fetch
class Connection(fetch.IndexConnection):
    def __init__(self, *args, **kwargs):  # Ctrl-C as the index client is made
        signal.raise_signal(signal.SIGINT)
        super().__init__(*args, **kwargs)
fetch.IndexConnection = Connection
sys.argv = ["peep", *sys.argv[1:]]
cli.run()
"""


def test_ctrl_c_as_install_makes_its_index_client_leaves_no_folder(tmp_path: Path) -> None:
    # the run's folder was made first, then the index client, outside the try that removes
    # the folder: a signal in between left peep-* in TMPDIR
    argv = ["install", "--dry-run", "-i", _INDEX, "-r", _reqs(tmp_path)]
    _interrupted_leaves_no_folder(tmp_path, _INSTALL, argv)
