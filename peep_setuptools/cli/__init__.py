"""The ``peep`` command: every argparse parser and every print of the package."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from typing import NoReturn


def run() -> NoReturn:
    """The ``peep`` command and ``python -m peep_setuptools``.

    ``peep install`` probes its target interpreter first thing; the probe is started before
    the rest of the package is imported, so that both run at once.
    """
    _open_standard_streams()
    python = _install_target(sys.argv[1:])
    if python is not None:
        from peep_setuptools.probing import start_early

        start_early(python)
    # Importing the package makes tens of thousands of objects and no garbage: the cyclic
    # collector would walk them all at each of its passes, and once more at exit. They are
    # moved out of its sight once made (with the exit below, a no-op went from ~100 to ~91
    # ms); the objects of the run itself are collected as usual.
    gc.disable()
    try:
        from peep_setuptools.cli.main import main
    finally:
        gc.freeze()
        gc.enable()
    code = main()
    # Nor is anything collected at exit: the system takes the memory back. Buffers are
    # still flushed and exit handlers still run.
    gc.freeze()
    sys.exit(code)


def _open_standard_streams() -> None:
    """A closed stdin, stdout or stderr (``peep ... >&-``) becomes /dev/null.

    Python leaves ``sys.stdout`` None then (every print of ours would fail: exit 3), and the
    next file opened would get descriptor 1: what the installer prints would be written
    there. Its messages are dropped, as a shell's own commands drop them.
    """
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: this one
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, "r" if fd == 0 else "w", closefd=False))  # noqa: SIM115


def _install_target(argv: Sequence[str]) -> str | None:
    """The interpreter ``peep install`` will probe, by a plain reading of ``argv``; or None.

    A guess only: argparse decides. A probe of another interpreter than the one asked for
    is never used (``probing.start`` matches the command exactly) and is stopped at exit.
    """
    if not argv or argv[0] != "install" or "-h" in argv or "--help" in argv:
        return None
    python = sys.executable
    for at, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--python" and at + 1 < len(argv):
            python = argv[at + 1]
        elif arg.startswith("--python="):
            python = arg.partition("=")[2]
    return python
