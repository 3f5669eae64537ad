"""Cleanup that a second signal must not cut short: the run's folder is removed whole."""

from __future__ import annotations

import signal

import pytest

from peep_setuptools.errors import interrupts_deferred


def test_a_ctrl_c_meanwhile_takes_effect_once_the_block_is_done() -> None:
    done = []
    with pytest.raises(KeyboardInterrupt), interrupts_deferred():
        signal.raise_signal(signal.SIGINT)
        done.append("the rest of the cleanup")
    assert done == ["the rest of the cleanup"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_one_ignored_before_stays_ignored() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts_deferred():
            signal.raise_signal(signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_without_a_ctrl_c_nothing_is_raised() -> None:
    with interrupts_deferred():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_sigterm_meanwhile_reaches_its_handler_once_the_block_is_done() -> None:
    from peep_setuptools.errors import Terminated, terminate_like_ctrl_c

    done = []
    with pytest.raises(Terminated), terminate_like_ctrl_c(), interrupts_deferred():
        signal.raise_signal(signal.SIGTERM)
        done.append("the rest of the cleanup")
    assert done == ["the rest of the cleanup"]


def test_an_ignored_hangup_stays_ignored_inside() -> None:
    # under nohup: a child started in the block must ignore SIGHUP as we do
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with interrupts_deferred():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            signal.raise_signal(signal.SIGHUP)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_under_nohup_a_hangup_stays_ignored_in_the_run_and_in_its_children() -> None:
    # terminate_like_ctrl_c turned an ignored SIGHUP into Terminated (exit 129), and a child
    # started meanwhile had the default: it died as the terminal closed
    import subprocess
    import sys

    from peep_setuptools.errors import terminate_like_ctrl_c

    child = "import signal; print(signal.getsignal(signal.SIGHUP) is signal.SIG_IGN)"
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with terminate_like_ctrl_c():
            signal.raise_signal(signal.SIGHUP)
            seen = subprocess.run(
                [sys.executable, "-c", child], capture_output=True, text=True, timeout=60
            )
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert seen.stdout == "True\n"


def test_a_ctrl_c_as_the_handlers_are_put_back_leaves_none_of_ours(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # signal.signal runs the handler of a signal that came before it changes one: a Ctrl-C
    # once SIGINT's was back raised there, and SIGTERM's and SIGHUP's stayed ours, which
    # swallow them (in a program calling peep's api, for as long as it runs)
    before = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGHUP)}
    with pytest.raises(KeyboardInterrupt), interrupts_deferred():
        _signal_once_put_back(monkeypatch, signal.SIGINT, signal.default_int_handler)
    monkeypatch.undo()
    assert {number: signal.getsignal(number) for number in before} == before


def test_a_sigterm_as_terminate_like_ctrl_c_ends_leaves_none_of_its_handlers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the same in terminate_like_ctrl_c: SIGTERM once its handler (peep's early one, which
    # exits) was back left SIGHUP's, which ignores all but the first, in place
    from peep_setuptools.errors import terminate_like_ctrl_c

    def exiting(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    saved = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGHUP)}
    signal.signal(signal.SIGTERM, exiting)
    signal.signal(signal.SIGHUP, exiting)
    try:
        with pytest.raises(SystemExit), terminate_like_ctrl_c():
            _signal_once_put_back(monkeypatch, signal.SIGTERM, exiting)
        monkeypatch.undo()
        assert signal.getsignal(signal.SIGHUP) is exiting
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)  # type: ignore[arg-type]


def _signal_once_put_back(monkeypatch: pytest.MonkeyPatch, number: int, handler: object) -> None:
    """``number`` is sent to us as soon as its handler is set to ``handler`` again."""
    import os

    real = signal.signal

    def put_back(signum: int, new: object) -> object:
        previous = real(signum, new)  # type: ignore[arg-type]
        if signum == number and new is handler:
            os.kill(os.getpid(), number)
        return previous

    monkeypatch.setattr(signal, "signal", put_back)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_as_the_block_begins_leaves_none_of_its_handlers(
    monkeypatch: pytest.MonkeyPatch, number: int
) -> None:
    # signal.signal runs a pending signal's handler before it changes one: a SIGTERM (its
    # handler raising, a program's or terminate_like_ctrl_c's) as SIGTERM's was set went
    # out of the block's start with SIGINT's ours, Ctrl-C swallowed for as long as we ran
    def exiting(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    saved = {n: signal.getsignal(n) for n in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    signal.signal(signal.SIGTERM, exiting)
    signal.signal(signal.SIGHUP, exiting)
    try:
        _signal_as_it_is_set(monkeypatch, number)
        with pytest.raises(SystemExit), interrupts_deferred():
            pass
        monkeypatch.undo()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert signal.getsignal(signal.SIGTERM) is exiting
        assert signal.getsignal(signal.SIGHUP) is exiting
    finally:
        for n, handler in saved.items():
            signal.signal(n, handler)  # type: ignore[arg-type]


def _signal_as_it_is_set(monkeypatch: pytest.MonkeyPatch, number: int) -> None:
    """``number`` is sent to us just before its handler is first set to another."""
    import os

    real = signal.signal
    sent = []

    def setting(signum: int, new: object) -> object:
        if signum == number and not sent:
            sent.append(signum)
            os.kill(os.getpid(), number)
        return real(signum, new)  # type: ignore[arg-type]

    monkeypatch.setattr(signal, "signal", setting)


def test_a_hangup_as_terminate_like_ctrl_c_begins_leaves_none_of_its_handlers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from peep_setuptools.errors import terminate_like_ctrl_c

    def exiting(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    saved = {n: signal.getsignal(n) for n in (signal.SIGTERM, signal.SIGHUP)}
    signal.signal(signal.SIGTERM, exiting)
    signal.signal(signal.SIGHUP, exiting)
    try:
        _signal_as_it_is_set(monkeypatch, signal.SIGHUP)
        with pytest.raises(SystemExit), terminate_like_ctrl_c():
            pass
        monkeypatch.undo()
        assert signal.getsignal(signal.SIGTERM) is exiting
    finally:
        for n, handler in saved.items():
            signal.signal(n, handler)  # type: ignore[arg-type]


def test_a_program_handler_raising_its_own_exception_as_they_are_put_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a program calling the api, its Ctrl-C handler raising an exception of its own: raised
    # as SIGINT's was back, it went out of _put_back with SIGTERM's and SIGHUP's ours
    class Stop(Exception):
        pass

    def stopping(signum: int, frame: object) -> None:
        raise Stop

    before = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGHUP)}
    signal.signal(signal.SIGINT, stopping)
    try:
        with pytest.raises(Stop), interrupts_deferred():
            _signal_once_put_back(monkeypatch, signal.SIGINT, stopping)
        monkeypatch.undo()
        assert {number: signal.getsignal(number) for number in before} == before
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def test_a_program_s_wakeup_fd_is_told_once_of_a_signal_deferred() -> None:
    # asyncio's loop.add_signal_handler is told by the wakeup fd: a Ctrl-C deferred wrote
    # to it as it came and again as it was raised after, its callback ran twice
    import os

    read, write = os.pipe()
    os.set_blocking(read, False)
    os.set_blocking(write, False)
    previous = signal.set_wakeup_fd(write)
    handler = signal.signal(signal.SIGINT, lambda signum, frame: None)
    try:
        with interrupts_deferred():
            signal.raise_signal(signal.SIGINT)
        told = os.read(read, 100)
        assert signal.set_wakeup_fd(previous) == write
    finally:
        signal.set_wakeup_fd(previous)
        signal.signal(signal.SIGINT, handler)
        os.close(read)
        os.close(write)
    assert told == bytes([signal.SIGINT])


def test_in_a_subinterpreter_the_block_just_runs() -> None:
    # signal.signal raises ValueError there (as in another thread, no signal is handled):
    # each start of an installer (run_all) failed with it, in a program calling the api
    # from a subinterpreter (mod_wsgi runs its applications in them)
    interpreters = pytest.importorskip("_xxsubinterpreters")
    import os
    from pathlib import Path

    read, write = os.pipe()
    root = str(Path(__file__).resolve().parents[2])
    code = (
        f"import os, sys\nsys.path.insert(0, {root!r})\n"
        "from peep_setuptools.errors import interrupts_deferred\n"
        "try:\n"
        "    with interrupts_deferred():\n"
        "        ran = 'ran'\n"
        "except Exception as exc:\n"
        "    ran = repr(exc)\n"
        f"os.write({write}, ran.encode())\n"
    )
    interpreter = interpreters.create()
    try:
        interpreters.run_string(interpreter, code)
    finally:
        interpreters.destroy(interpreter)
        os.close(write)
    with os.fdopen(read, "rb") as answer:
        assert answer.read() == b"ran"
