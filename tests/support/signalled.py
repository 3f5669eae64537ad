"""Running Python in a child with a signal planted in a peep run, and how the run ended.

The script (``-c``) or ``setup.py`` runs peep as users do, with a function of peep's
replaced by one that sends the signal at the moment a test is about.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any


def run_python(*args: str, timeout: float = 60, **options: Any) -> subprocess.CompletedProcess[str]:
    """``python ARGS...`` (this interpreter), its output captured as text; no check of its code.

    ``options`` as ``subprocess.run`` takes them (``cwd``, ``env``, ``preexec_fn``).
    """
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **options,
    )


def assert_ended(done: subprocess.CompletedProcess[str], code: int) -> None:
    """The run exited with ``code`` and showed no traceback."""
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
