"""How the pip backend runs our pip in a target without one: its __pip-runner__.py."""

from __future__ import annotations

import os
import subprocess
import sys

from peep_setuptools.installing.backends import _pip_runner


def test_the_runner_is_our_pips():
    runner = _pip_runner()
    assert runner is not None and os.path.basename(runner) == "__pip-runner__.py"
    assert os.path.isfile(os.path.join(os.path.dirname(runner), "__init__.py"))


def test_finding_it_leaves_setuptools_distutils_alone():
    # `setup.py peep_install` runs us inside setuptools. Asking sys.meta_path for "pip" makes
    # setuptools' distutils shim drop distutils from the process (it takes pip to be running):
    # a later `import distutils` got the stdlib's, and setuptools' commands broke.
    code = (
        "import setuptools\n"
        "from peep_setuptools.installing.backends import _pip_runner\n"
        "assert _pip_runner()\n"
        "import distutils.core\n"
        "assert 'setuptools' in distutils.core.__file__, distutils.core.__file__\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "SETUPTOOLS_USE_DISTUTILS"}
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
