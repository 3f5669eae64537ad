"""A fast static file server for the throughput measurement: ``sendfile``, keep-alive, NODELAY.

Run as its own process (``python benchmarks/fileserver.py DIR``); it prints its base URL on
one line, then serves ``GET /files/<name>`` for every file in DIR until killed. The test
suite's index server copies each file through Python in 64 KiB writes, in a thread of the
benchmark process: fine for correctness, but then the download rate measures that server as
much as peep. Here the kernel copies file to socket (``socket.sendfile``), headers go out in
one write, and each connection has its own thread, so the rate measures the client.
"""

from __future__ import annotations

import os
import socket
import socketserver
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Handler(socketserver.BaseRequestHandler):
    request: socket.socket
    server: _Server

    def handle(self) -> None:
        sock = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = sock.makefile("rb")
        while True:  # one request after another on the same connection (keep-alive)
            line = reader.readline(65536)
            if not line:
                return
            method, _, rest = line.decode("latin-1").partition(" ")
            target = rest.rsplit(" ", 1)[0]
            close = False
            while True:
                header = reader.readline(65536)
                if header in (b"\r\n", b"\n", b""):
                    break
                name, _, value = header.decode("latin-1").partition(":")
                if name.strip().lower() == "connection" and value.strip().lower() == "close":
                    close = True
            path = unquote(urlsplit(target).path)
            name = path.rsplit("/", 1)[-1]
            file = self.server.files.get(name) if path.startswith("/files/") else None
            if file is None or method not in ("GET", "HEAD"):
                sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                continue
            with open(file, "rb") as stream:
                size = os.fstat(stream.fileno()).st_size
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                    f"Content-Length: {size}\r\n\r\n"
                )
                sock.sendall(head.encode("ascii"))
                if method == "GET":
                    sock.sendfile(stream)
            if close:
                return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # eight clients connecting at once must not overflow the backlog
    files: dict[str, Path]


def main(folder: str) -> None:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.files = {p.name: p for p in Path(folder).iterdir() if p.is_file()}
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1])
