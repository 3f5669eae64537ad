"""Which signals stop a run, and setting their handlers though one comes meanwhile.

Stdlib only and cheap to import: the command line sets its first handlers with it before it
imports anything else (``cli._stop_on_termination``), where ``errors`` (which uses it too)
would cost milliseconds with no handler set yet.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Mapping
from typing import Any


def termination_signals() -> tuple[int, ...]:
    """SIGTERM and SIGHUP, those this platform has (no SIGHUP on Windows), in that order.

    What stops a run as Ctrl-C does, with its own exit code (``errors.Terminated``).
    """
    numbers = (getattr(signal, name, None) for name in ("SIGTERM", "SIGHUP"))
    return tuple(number for number in numbers if number is not None)


def interrupt_signals() -> tuple[int, ...]:
    """SIGINT, then ``termination_signals()``: every signal that stops a run."""
    return (signal.SIGINT, *termination_signals())


def set_handlers(handlers: Mapping[int, Any], raised: Callable[[BaseException], None]) -> None:
    """Set each signal's handler to the one given, in order, whatever comes meanwhile.

    ``signal.signal`` first runs the handlers of signals that came before it (and changes
    nothing if one raises): what one raises goes to ``raised`` (which may raise it again),
    and the handler is set again until it is. Given up after one raise, a Ctrl-C as SIGINT's
    was put back left SIGTERM's ours: a SIGTERM swallowed ever after.
    """
    for number, handler in handlers.items():
        while signal.getsignal(number) is not handler:
            try:
                signal.signal(number, handler)
            except BaseException as exc:  # raised by a handler that ran (a program's: any)
                raised(exc)
