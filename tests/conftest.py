"""Settings for the whole suite; the end-to-end fixtures are in integration/conftest.py."""

from __future__ import annotations

import os
import signal

import pytest


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("PEEP_TESTS", "1")
    # A suite started as a background job (`cmd &` in a script) inherits SIGINT ignored, and
    # so would every peep we start: Python keeps an inherited SIG_IGN, and the Ctrl-C tests
    # would wait for an interrupt that never comes. A handler here is reset to the default in
    # each child at exec, so the children get SIGINT as a terminal would send it.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # Under nohup, the same for SIGHUP (peep keeps an ignored one ignored): still ignored
    # here, by a handler, which each child has the default for.
    for number in (signal.SIGHUP, signal.SIGTERM):
        if signal.getsignal(number) is signal.SIG_IGN:
            signal.signal(number, lambda signum, frame: None)
