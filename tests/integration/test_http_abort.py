"""HttpClient.abort() (Ctrl-C): a request blocked at any stage in another thread fails at once.

Each stage waits far longer than the test allows (timeout 30 s): only the abort can end it.
A raw loopback server plays the stalls (no response, a body that stops after a
``Connection: close`` header, no TLS handshake); a full listen queue stalls a connect().
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from support.httpclient import http_settings

from peep_setuptools.errors import DownloadError
from peep_setuptools.index.http import HttpClient

TIMEOUT = 30.0


class RawServer:
    """Accepts connections and answers each with ``reply`` (maybe b""), then stays silent."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.accepted: list[socket.socket] = []
        self.requested = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/simple/x/"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(conn)
            if self.reply:
                conn.recv(65536)
                conn.sendall(self.reply)
            self.requested.set()

    def close(self) -> None:
        self.listener.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[HttpClient]:
    """A long timeout and 5 retries: only an abort may end a request early."""
    with HttpClient(http_settings(tmp_path, timeout=TIMEOUT, retries=5)) as c:
        yield c


def fetch(client: HttpClient, url: str) -> bytes:
    with client.open(url) as response:
        return response.read()


def aborted_in_time(client: HttpClient, future: Future[bytes]) -> None:
    """Abort ``client``; the request of ``future`` must fail within 3 s.

    ("cancelled" before a response; a body cut short reads as "received 3 of 1000 bytes".)
    """
    time.sleep(0.3)  # let the request reach its stall
    assert not future.done()
    start = time.monotonic()
    client.abort()
    with pytest.raises(DownloadError):
        future.result(timeout=10)
    assert time.monotonic() - start < 3


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(b"", id="no-response"),
        # http.client hands the socket from the connection to the response here
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\nabc",
            id="connection-close-body-stalls",
        ),
        pytest.param(b"HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\nabc", id="http-1.0-body"),
    ],
)
def test_abort_wakes_a_stalled_request(client: HttpClient, reply: bytes) -> None:
    server = RawServer(reply)
    try:
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(fetch, client, server.url)
            assert server.requested.wait(5)
            aborted_in_time(client, future)
    finally:
        server.close()


def test_abort_wakes_a_stalled_tls_handshake(client: HttpClient) -> None:
    server = RawServer(b"")  # accepts, then never says a word of TLS
    try:
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(fetch, client, server.url.replace("http:", "https:"))
            assert server.requested.wait(5)
            aborted_in_time(client, future)
    finally:
        server.close()


def test_abort_wakes_a_stalled_connect(client: HttpClient) -> None:
    # A listener that never accepts, its queue filled: the kernel drops the next SYN.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers = []
    for _ in range(8):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(address)
        fillers.append(filler)
    try:
        probe = socket.socket()
        probe.settimeout(0.5)
        if probe.connect_ex(address) == 0:
            probe.close()
            pytest.skip("this kernel completes connects to a full listen queue")
        probe.close()
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(fetch, client, f"http://127.0.0.1:{address[1]}/simple/x/")
            aborted_in_time(client, future)
    finally:
        for sock in (*fillers, listener):
            sock.close()


def test_no_socket_is_opened_after_abort(client: HttpClient) -> None:
    server = RawServer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    try:
        client.abort()
        start = time.monotonic()
        with pytest.raises(DownloadError, match="cancelled"):
            fetch(client, server.url)
        assert time.monotonic() - start < 1
        time.sleep(0.2)
        assert server.accepted == []
    finally:
        server.close()
