"""fetch's worker threads: results in order, and Ctrl-C never waits on a stuck worker."""

from __future__ import annotations

import textwrap
import threading
import time

import pytest
from support.signalled import run_python

from peep_setuptools.index.http import HttpClient
from peep_setuptools.index.pages import IndexClient
from peep_setuptools.installing.fetch import IndexConnection, _in_threads

# Ctrl-C arrives while the first item runs and the threads are still being started;
# every call then blocks forever, deaf to the abort (as a socket abort() did not reach).
STUCK_RUN = textwrap.dedent(
    """
    import os, signal, threading
    from peep_setuptools.installing import fetch

    fetch._ABORT_GRACE = 0.5
    calls, aborts = [], []

    def work(n):
        calls.append(n)
        if n == 0:
            os.kill(os.getpid(), signal.SIGINT)
        threading.Event().wait()

    try:
        fetch._in_threads(work, range(20), 4, lambda: aborts.append(1))
    except KeyboardInterrupt:
        print("interrupted", len(aborts), len(calls) <= 4)
    """
)


def test_results_keep_the_items_order() -> None:
    def work(n: int) -> int:
        time.sleep(0.01 * (n % 3))
        return n * n

    assert _in_threads(work, range(12), 4, lambda: None) == [n * n for n in range(12)]


def test_an_error_aborts_the_others_and_is_raised() -> None:
    aborted = threading.Event()

    def work(n: int) -> int:
        if n == 0:
            raise ValueError("boom")
        aborted.wait(10)  # ends when the failure aborts the run
        return n

    with pytest.raises(ValueError, match="boom"):
        _in_threads(work, range(3), 3, aborted.set)
    assert aborted.is_set()


def test_interrupted_run_exits_without_waiting_for_stuck_workers() -> None:
    start = time.monotonic()
    done = run_python("-c", STUCK_RUN, timeout=30)
    assert done.stdout.split() == ["interrupted", "1", "True"], done.stderr
    assert done.returncode == 0
    assert time.monotonic() - start < 15


def test_meanwhile_runs_in_the_calling_thread_beside_the_workers() -> None:
    ran_in: list[int] = []
    results = _in_threads(
        lambda n: n + 1,
        range(5),
        2,
        lambda: None,
        meanwhile=lambda: ran_in.append(threading.get_ident()),
    )
    assert results == [1, 2, 3, 4, 5]
    assert ran_in == [threading.get_ident()]
    assert _in_threads(lambda n: n, [], 4, lambda: None, meanwhile=lambda: None) == []


def test_an_error_in_meanwhile_aborts_the_workers() -> None:
    aborted = threading.Event()

    def meanwhile() -> None:
        raise ValueError("here")

    with pytest.raises(ValueError, match="here"):
        _in_threads(lambda n: aborted.wait(10), range(2), 2, aborted.set, meanwhile=meanwhile)
    assert aborted.is_set()


def test_the_index_client_opens_on_first_use_and_an_abort_reaches_it_later() -> None:
    opened: list[IndexClient] = []

    def open_client() -> IndexClient:
        opened.append(IndexClient([], [], HttpClient()))
        return opened[-1]

    index = IndexConnection(open_client)
    index.close()  # nothing to close, and nothing opened for it
    assert opened == []
    index.abort()  # Ctrl-C before any worker needed the index
    client = index.get()
    assert index.get() is client and opened == [client]
    assert client.http.aborted  # a worker starting after the abort fetches nothing
