"""What /proc says of processes, for tests that check none of peep's outlives it (Linux)."""

from __future__ import annotations

from pathlib import Path


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
