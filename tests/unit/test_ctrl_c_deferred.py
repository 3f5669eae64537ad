"""Cleanup that a second Ctrl-C must not cut short: the run's folder is removed whole."""

from __future__ import annotations

import signal

import pytest

from peep_setuptools.errors import ctrl_c_deferred


def test_a_ctrl_c_meanwhile_takes_effect_once_the_block_is_done() -> None:
    done = []
    with pytest.raises(KeyboardInterrupt), ctrl_c_deferred():
        signal.raise_signal(signal.SIGINT)
        done.append("the rest of the cleanup")
    assert done == ["the rest of the cleanup"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_one_ignored_before_stays_ignored() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with ctrl_c_deferred():
            signal.raise_signal(signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_without_a_ctrl_c_nothing_is_raised() -> None:
    with ctrl_c_deferred():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
