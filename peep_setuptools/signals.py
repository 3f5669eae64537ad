"""Which signals stop a run.

Stdlib only and cheap to import: the command line sets its first handlers with it before it
imports anything else (``cli._stop_on_termination``), where ``errors`` (which uses it too)
would cost milliseconds with no handler set yet.
"""

from __future__ import annotations

import signal


def termination_signals() -> tuple[int, ...]:
    """SIGTERM and SIGHUP, those this platform has (no SIGHUP on Windows), in that order.

    What stops a run as Ctrl-C does, with its own exit code (``errors.Terminated``).
    """
    numbers = (getattr(signal, name, None) for name in ("SIGTERM", "SIGHUP"))
    return tuple(number for number in numbers if number is not None)


def interrupt_signals() -> tuple[int, ...]:
    """SIGINT, then ``termination_signals()``: every signal that stops a run."""
    return (signal.SIGINT, *termination_signals())
