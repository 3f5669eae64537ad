"""uv behind a logging wrapper: what each uv run was started with, and what it read."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from peep_setuptools.installing.warmuv import GIVEN

__all__ = ["installs", "logging_uv", "needs_uv", "requirements_of", "started_ahead"]

#: the mark of a test that runs uv: skipped where uv (a test extra) is not installed
needs_uv = pytest.mark.skipif(
    shutil.which("uv", path=str(Path(sys.executable).parent)) is None,
    reason="uv (a test extra) is not installed",
)

_WRAPPER = """#!/bin/sh
echo "$$ $*" >> '{log}'
n=$#
for a in "$@"; do
  case "$a" in
    */{given})  # started ahead: its requirements come once peep verified every archive
      copy="$(mktemp '{folder}/read.XXXXXX')"
      cat "$a" > "$copy"
      a="$copy"
      included="$(sed -n 's/^-r //p' "$copy")"
      echo "$$ read: $(cat "$copy" ${{included:+"$included"}} | tr '\\n' ' ')" >> '{log}'
      ;;
  esac
  set -- "$@" "$a"
done
shift $n
{before_exec}
exec '{real}' "$@"
"""


def logging_uv(peep: Any, tmp_path: Path, *, before_exec: str = "") -> Path:
    """Put the wrapper first on peep's PATH; return its log.

    Each run appends ``PID ARGS`` as it starts. One started ahead (``-r .../GIVEN``) then
    waits for its requirements as uv would, appends ``PID read: TEXT`` (the line peep gave,
    and the file it names), and runs uv on a copy. ``before_exec``: shell run just before uv.
    """
    log = tmp_path / "uv-argv"
    folder = tmp_path / "uv-wrapper"
    folder.mkdir()
    real = Path(sys.executable).parent / "uv"
    real_uv = str(real) if real.exists() else shutil.which("uv")
    wrapper = folder / "uv"
    wrapper.write_text(
        _WRAPPER.format(log=log, folder=folder, real=real_uv, before_exec=before_exec, given=GIVEN)
    )
    wrapper.chmod(0o755)
    peep.env["PATH"] = os.pathsep.join([str(folder), peep.env["PATH"]])
    return log


def installs(log: Path) -> list[tuple[int, list[str]]]:
    """Each ``uv pip install`` the wrapper saw start: its process id and arguments."""
    runs = []
    for line in log.read_text().splitlines() if log.exists() else []:
        pid, *words = line.split()
        runs += [(int(pid), words)] if words[:2] == ["pip", "install"] else []
    return runs


def requirements_of(words: list[str]) -> str:
    """The ``-r`` value of a uv command line."""
    return words[words.index("-r") + 1]


def started_ahead(words: list[str]) -> bool:
    """Whether a uv command line is one started ahead (its ``-r``: the pipe, named)."""
    return requirements_of(words).endswith(f"/{GIVEN}")
