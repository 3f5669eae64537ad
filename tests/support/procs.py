"""What /proc says of processes, for tests that check none of peep's outlives it (Linux)."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from .peeprun import wait_for


def state(pid: int) -> str:
    """The process's state letter (``T`` stopped, ``Z`` a zombie), or "gone"."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return "gone"


def runs(pid: int) -> bool:
    """Whether ``pid`` runs: a zombie (killed, not yet reaped by init) does not."""
    return state(pid) not in ("Z", "gone")


def parents() -> dict[int, int]:
    """Each process's parent."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            found[int(stat.parent.name)] = int(stat.read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return found


def written_pid(path: Path, timeout: float) -> int | None:
    """The pid a child wrote into ``path`` as it started; None if it did not within ``timeout``."""
    if not wait_for(lambda: path.exists() and path.read_text().strip(), timeout=timeout):
        return None
    return int(path.read_text())


def outlived(pid: int, *, timeout: float = 0.0) -> bool:
    """Whether ``pid`` still runs ``timeout`` seconds on (looked at until then); if so, killed.

    So that a test that finds one of peep's processes outliving it leaves none behind.
    """
    try:
        return not wait_for(lambda: not runs(pid), timeout=timeout)
    finally:
        if runs(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
