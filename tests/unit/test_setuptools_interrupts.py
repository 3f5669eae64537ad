"""``setup.py peep_install`` interrupted: peep's exit codes, as ``peep install`` has them."""

from __future__ import annotations

import os
from pathlib import Path

from support.signalled import assert_ended, run_python

# Ctrl-C as the command loads what it runs (~20 ms), before its guard
_SETUP = """
import signal, sys, types
from setuptools import setup
import peep_setuptools.frontend.running as real
class Interrupting(types.ModuleType):
    def __getattribute__(self, name):
        if name == "run_install":
            signal.raise_signal(signal.SIGINT)
        return getattr(real, name)
sys.modules[real.__name__] = Interrupting(real.__name__)
setup(name="x", version="1")
"""


def test_ctrl_c_as_peep_install_loads_exits_130(tmp_path: Path) -> None:
    # setuptools turned it into exit 1 ("interrupted"): the guard began after the imports
    (tmp_path / "setup.py").write_text(_SETUP)
    reqs = tmp_path / "reqs.txt"
    reqs.write_text("alpha==1.0 --hash=sha256:" + "a" * 64 + "\n")
    env = {k: v for k, v in os.environ.items() if k != "PIP_FIND_LINKS"}
    env["PIP_CONFIG_FILE"] = os.devnull
    argv = ["peep_install", "-r", str(reqs), "--dry-run", "-i", "http://127.0.0.1:9/simple"]
    done = run_python("setup.py", *argv, cwd=tmp_path, env=env, timeout=120)
    assert_ended(done, 130)
    assert "peep_install: interrupted; nothing was installed" in done.stderr
