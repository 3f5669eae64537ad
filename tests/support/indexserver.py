"""A loopback PEP 503 / PEP 691 package index with fault injection, for integration tests.

Stdlib only.  Usage::

    with IndexServer() as server:
        url = server.add_file("Foo", tmp_path / "foo-1.0.tar.gz")
        server.set_fault("/simple/foo/", Fault.status(503, times=2))
        ... use server.index_url ...

Everything is bounded in time: handlers time out idle connections, stalls wake up
when the server stops, and ``stop()`` always returns.
"""

from __future__ import annotations

import contextlib
import email.message
import hashlib
import html
import json
import pathlib
import re
import selectors
import shutil
import socket
import ssl
import struct
import threading
import time
import urllib.parse
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Literal

from packaging.utils import canonicalize_name

__all__ = ["ConnectProxy", "Fault", "IndexServer", "RequestRecord"]

FaultKind = Literal[
    "status",
    "close_mid_body",
    "short_body",
    "long_body",
    "stall",
    "html_error_page_200",
    "redirect",
    "headers",
    "stall_mid_body",
]
#: a stall never lasts longer than this, whatever the test asks
MAX_STALL = 30.0
TreeLayout = Literal["html", "json", "bare"]
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_V1_TYPE = "application/vnd.pypi.simple.v1+html"


@dataclass(frozen=True)
class Fault:
    """A misbehaviour for one path; ``times=None`` means every request, else the first N."""

    kind: FaultKind
    code: int = 500
    seconds: float = 0.0
    location: str = ""
    times: int | None = None
    #: extra response headers, for ``headers``
    extra_headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def status(cls, code: int, times: int | None = None) -> Fault:
        """Answer with HTTP ``code`` (and a small body), then serve normally."""
        return cls("status", code=code, times=times)

    @classmethod
    def close_mid_body(cls, times: int | None = None) -> Fault:
        """Send the headers and half the body, then reset the connection."""
        return cls("close_mid_body", times=times)

    @classmethod
    def short_body(cls, times: int | None = None) -> Fault:
        """Announce the full Content-Length, send one byte less, then close."""
        return cls("short_body", times=times)

    @classmethod
    def long_body(cls, times: int | None = None) -> Fault:
        """Announce the real Content-Length but send extra junk after the body, then close."""
        return cls("long_body", times=times)

    @classmethod
    def stall(cls, seconds: float, times: int | None = None) -> Fault:
        """Wait ``seconds`` (at most MAX_STALL) before answering."""
        return cls("stall", seconds=min(seconds, MAX_STALL), times=times)

    @classmethod
    def html_error_page_200(cls, times: int | None = None) -> Fault:
        """Answer 200 with an HTML error page instead of the content (a captive portal)."""
        return cls("html_error_page_200", times=times)

    @classmethod
    def headers(cls, *pairs: tuple[str, str], times: int | None = None) -> Fault:
        """Serve normally, adding these response headers (e.g. a hostile Content-Disposition)."""
        return cls("headers", extra_headers=tuple(pairs), times=times)

    @classmethod
    def stall_mid_body(cls, seconds: float, times: int | None = None) -> Fault:
        """Send the headers and half the body, wait ``seconds`` (at most MAX_STALL), close."""
        return cls("stall_mid_body", seconds=min(seconds, MAX_STALL), times=times)

    @classmethod
    def redirect(cls, location: str, code: int = 302, times: int | None = None) -> Fault:
        """Redirect to ``location`` (absolute, or relative to the server)."""
        return cls("redirect", code=code, location=location, times=times)


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it."""

    method: str
    #: the request target; absolute-URI targets (proxy requests) are kept as sent
    path: str
    headers: email.message.Message = field(compare=False)
    #: the client's (host, port): equal ports mean one kept-alive connection
    peer: tuple[str, int] = ("", 0)

    def header(self, name: str) -> str | None:
        """Return a header's value (case-insensitive), or None."""
        return self.headers.get(name)


@dataclass(frozen=True)
class _File:
    project: str
    path: pathlib.Path
    requires_python: str | None
    yanked: str | bool | None
    fragment: str | None
    sha256: str


class IndexServer:
    """Serves ``/<index>/``, ``/<index>/<project>/`` and ``/files/<index>/<name>``."""

    def __init__(
        self, *, ssl_context: ssl.SSLContext | None = None, host: str = "127.0.0.1"
    ) -> None:
        self._ssl_context = ssl_context
        #: the name of 127.0.0.1 in its URLs ("localhost": another origin than the default)
        self.host = host
        self._lock = threading.Lock()
        self._files: dict[str, dict[str, list[_File]]] = {}
        self._blobs: dict[str, _File] = {}
        self._pages: dict[str, tuple[bytes, str]] = {}
        self._faults: dict[str, Fault] = {}
        #: set: stalls and latency wait no more (stop, or end_stalls)
        self._waking = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[RequestRecord] = []
        self.latency = 0.0
        #: False: answer HTML even to clients that prefer PEP 691 JSON (an old index)
        self.json_api = True
        self.url = ""
        self.index_url = ""

    @classmethod
    def signed_by(cls, ca: Any, *, host: str = "127.0.0.1") -> IndexServer:
        """An HTTPS index whose certificate, for 127.0.0.1 and localhost, ``ca`` issued.

        ``ca`` is a ``trustme.CA`` (the ``ca`` fixture).
        """
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return cls(ssl_context=context, host=host)

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> IndexServer:
        """Bind a free port on 127.0.0.1 and serve from a daemon thread."""
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _Handler)
        server.index = self
        server.ssl_context = self._ssl_context
        self._server = server
        port = server.server_address[1]
        scheme = "https" if self._ssl_context else "http"
        self.url = f"{scheme}://{self.host}:{port}"
        self.index_url = self.url + "/simple/"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; returns promptly even with stalled handlers."""
        self._waking.set()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> IndexServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- content ------------------------------------------------------------------------

    def add_file(
        self,
        project: str,
        path: pathlib.Path,
        *,
        requires_python: str | None = None,
        yanked: str | bool | None = None,
        advertised_hash: str | None = "auto",
        index: str = "simple",
    ) -> str:
        """List ``path`` for ``project`` on ``/<index>/``; return the URL the file is served at.

        ``advertised_hash``: "auto" adds ``#sha256=<real>``, None no fragment, else that
        string is the fragment (e.g. a wrong hash, or ``md5=...``).
        """
        path = pathlib.Path(path)
        sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        fragment = f"sha256={sha256}" if advertised_hash == "auto" else advertised_hash
        entry = _File(project, path, requires_python, yanked, fragment, sha256)
        with self._lock:
            per_index = self._files.setdefault(index, {})
            per_index.setdefault(canonicalize_name(project), []).append(entry)
            self._blobs[f"/files/{index}/{path.name}"] = entry
        return f"{self.url}/files/{index}/{urllib.parse.quote(path.name)}"

    def export_tree(
        self, root: pathlib.Path, *, index: str = "simple", layout: TreeLayout = "html"
    ) -> str:
        """Write ``/<index>/`` as a local PEP 503 tree under ``root``; return its file:// URL.

        Each project folder gets its archives and, by ``layout``: an ``index.html``
        ("html"), a PEP 691 ``index.v1_json`` as bandersnatch writes ("json"), or
        nothing else ("bare", a folder listing as pip reads a find-links folder).
        """
        root.mkdir(parents=True, exist_ok=True)
        with self._lock:
            projects = {name: list(files) for name, files in self._files.get(index, {}).items()}
        for project, files in projects.items():
            folder = root / project
            folder.mkdir(exist_ok=True)
            for f in files:
                shutil.copyfile(f.path, folder / f.path.name)
            if layout == "html":
                anchors = "".join(
                    f'<a href="{html.escape(_tree_href(f))}"{_tree_attrs(f)}>'
                    f"{html.escape(f.path.name)}</a><br/>\n"
                    for f in files
                )
                (folder / "index.html").write_bytes(_html_doc(f"Links for {project}", anchors))
            elif layout == "json":
                entries = [_tree_json(f) for f in files]
                body = {"meta": {"api-version": "1.0"}, "name": project, "files": entries}
                (folder / "index.v1_json").write_text(json.dumps(body))
        return root.resolve().as_uri() + "/"

    def set_page(self, path: str, body: bytes, content_type: str = "text/html") -> None:
        """Serve ``body`` at ``path`` (any path, including generated ones)."""
        with self._lock:
            self._pages[path] = (body, content_type)

    def set_fault(self, path: str, fault: Fault | None) -> None:
        """Misbehave on ``path`` (None clears the fault)."""
        with self._lock:
            if fault is None:
                self._faults.pop(path, None)
            else:
                self._faults[path] = fault

    def end_stalls(self) -> None:
        """Answer the stalled requests now, and later ones without waiting (stalls, latency)."""
        self._waking.set()

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self.requests.clear()

    def requests_to(self, path: str) -> list[RequestRecord]:
        """The recorded requests whose target path (without query) is ``path``."""
        with self._lock:
            return [r for r in self.requests if urllib.parse.unquote(_path_only(r.path)) == path]

    # -- used by the handler ------------------------------------------------------------

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            fault = self._faults.get(path)
            if fault is None or fault.times is None:
                return fault
            if fault.times <= 1:
                del self._faults[path]
            else:
                self._faults[path] = replace(fault, times=fault.times - 1)
            return fault

    def _wait(self, seconds: float) -> None:
        self._waking.wait(min(seconds, MAX_STALL))

    def _resolve(self, path: str, accept: str) -> tuple[int, bytes, str] | _File | None:
        with self._lock:
            page = self._pages.get(path)
            if page is not None:
                return 200, page[0], page[1]
            blob = self._blobs.get(path)
            if blob is not None:
                return blob
            parts = path.strip("/").split("/")
            if path.endswith("/") and len(parts) == 1 and parts[0] in self._files:
                return self._project_list(parts[0], accept)
            if path.endswith("/") and len(parts) == 2 and parts[0] in self._files:
                index, project = parts
                files = self._files[index].get(canonicalize_name(project))
                if files is not None:
                    if project != canonicalize_name(project):
                        return 301, b"", f"/{index}/{canonicalize_name(project)}/"
                    return self._project_page(index, project, files, accept)
        return None

    def _project_list(self, index: str, accept: str) -> tuple[int, bytes, str]:
        names = sorted(self._files[index])
        if _wants_json(accept):
            body = {"meta": {"api-version": "1.0"}, "projects": [{"name": n} for n in names]}
            return 200, json.dumps(body).encode(), JSON_TYPE
        anchors = "".join(f'<a href="{html.escape(n)}/">{html.escape(n)}</a>\n' for n in names)
        return 200, _html_doc("Simple index", anchors), _html_type(accept)

    def _project_page(
        self, index: str, project: str, files: list[_File], accept: str
    ) -> tuple[int, bytes, str]:
        if _wants_json(accept):
            entries = []
            for f in files:
                entry: dict[str, object] = {
                    "filename": f.path.name,
                    "url": f"../../files/{index}/{urllib.parse.quote(f.path.name)}",
                    "hashes": _json_hashes(f.fragment),
                }
                if f.requires_python is not None:
                    entry["requires-python"] = f.requires_python
                if f.yanked is not None and f.yanked is not False:
                    entry["yanked"] = f.yanked
                entries.append(entry)
            body = {"meta": {"api-version": "1.0"}, "name": project, "files": entries}
            return 200, json.dumps(body).encode(), JSON_TYPE
        anchors = []
        for f in files:
            href = f"../../files/{index}/{urllib.parse.quote(f.path.name)}"
            if f.fragment:
                href += "#" + f.fragment
            attrs = f'href="{html.escape(href)}"'
            if f.requires_python is not None:
                attrs += f' data-requires-python="{html.escape(f.requires_python)}"'
            if f.yanked is True:
                attrs += " data-yanked"
            elif isinstance(f.yanked, str):
                attrs += f' data-yanked="{html.escape(f.yanked)}"'
            anchors.append(f"<a {attrs}>{html.escape(f.path.name)}</a><br/>\n")
        return 200, _html_doc(f"Links for {project}", "".join(anchors)), _html_type(accept)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: clients opening eight or more connections at once
    # (peep's fetch workers, uv) overflowed it, and a dropped SYN is resent after 1 s
    request_queue_size = 128
    index: IndexServer
    ssl_context: ssl.SSLContext | None

    def server_bind(self) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().server_bind()

    def get_request(self) -> tuple[socket.socket, object]:
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            # The handshake happens on first read, in the handler thread, not here.
            sock = self.ssl_context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            )
        with self._open_lock:
            self._open.add(sock)
        return sock, addr

    def shutdown_request(self, request: socket.socket | tuple[bytes, socket.socket]) -> None:
        with self._open_lock:
            if isinstance(request, socket.socket):
                self._open.discard(request)
        super().shutdown_request(request)

    def close_all(self) -> None:
        with self._open_lock:
            socks, self._open = list(self._open), set()
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients hanging up (on purpose, in fault tests) is not worth a traceback.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    # An idle keep-alive connection is dropped after this many seconds.
    timeout = 10

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, *, head: bool) -> None:
        index = self.server.index
        peer = (str(self.client_address[0]), int(self.client_address[1]))
        index._record(RequestRecord(self.command, self.path, self.headers, peer))
        if index.latency:
            index._wait(index.latency)
        # Paths are matched percent-decoded: set_fault("/files/simple/a b-1.0.zip", ...).
        path = urllib.parse.unquote(_path_only(self.path))
        fault = index._take_fault(path)
        if fault is not None and fault.kind == "stall":
            index._wait(fault.seconds)
            fault = None
        if fault is not None and fault.kind == "status":
            self._send(fault.code, f"error {fault.code}\n".encode(), "text/plain", head=head)
            return
        if fault is not None and fault.kind == "redirect":
            self._send(fault.code, b"", "text/plain", head=head, location=fault.location)
            return
        if fault is not None and fault.kind == "html_error_page_200":
            body = _html_doc("Error", "<h1>Service unavailable, try again later</h1>")
            self._send(200, body, "text/html", head=head)
            return
        accept = self.headers.get("Accept", "") if index.json_api else "text/html"
        found = index._resolve(path, accept)
        if found is None:
            self._send(404, b"not found\n", "text/plain", head=head)
            return
        if isinstance(found, _File):
            self._send_file(found, fault, head=head)
            return
        status, body, content_type = found
        if status in (301, 302):
            self._send(status, b"", "text/plain", head=head, location=content_type)
        elif fault is not None and fault.kind != "headers":
            self._send_faulty(body, content_type, fault)
        else:
            self._send(
                status,
                body,
                content_type,
                head=head,
                extra=fault.extra_headers if fault is not None else (),
            )

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        *,
        head: bool,
        location: str | None = None,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if location is not None:
            self.send_header("Location", location)
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _send_file(self, entry: _File, fault: Fault | None, *, head: bool) -> None:
        if fault is not None and fault.kind != "headers":
            self._send_faulty(entry.path.read_bytes(), "application/octet-stream", fault)
            return
        size = entry.path.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        for name, value in fault.extra_headers if fault is not None else ():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            with entry.path.open("rb") as stream:
                shutil.copyfileobj(stream, self.wfile, 64 * 1024)

    def _send_faulty(self, body: bytes, content_type: str, fault: Fault) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if fault.kind == "close_mid_body":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            # SO_LINGER 0: close with a reset, as a crashing server would.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif fault.kind == "short_body":
            self.wfile.write(body[:-1])
        elif fault.kind == "long_body":
            self.wfile.write(body + b"JUNK" * 64)
        elif fault.kind == "stall_mid_body":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.server.index._wait(fault.seconds)
        self.close_connection = True


def _path_only(target: str) -> str:
    if "://" in target:  # an absolute-URI request, as sent to a proxy
        target = urllib.parse.urlsplit(target).path or "/"
    return target.split("?", 1)[0].split("#", 1)[0]


def _accept_quality(accept: str) -> dict[str, float]:
    qualities: dict[str, float] = {}
    for item in accept.split(","):
        media, *params = (p.strip() for p in item.split(";"))
        quality = 1.0
        for param in params:
            match = re.fullmatch(r"q=([0-9.]+)", param)
            if match:
                try:
                    quality = float(match.group(1))
                except ValueError:
                    quality = 0.0
        if media:
            qualities[media.lower()] = quality
    return qualities


def _wants_json(accept: str) -> bool:
    q = _accept_quality(accept)
    json_q = max(q.get(JSON_TYPE, 0.0), q.get("application/vnd.pypi.simple.latest+json", 0.0))
    html_q = max(q.get(HTML_V1_TYPE, 0.0), q.get("text/html", 0.0), q.get("*/*", 0.0))
    return json_q > 0 and json_q >= html_q


def _html_type(accept: str) -> str:
    q = _accept_quality(accept)
    if q.get(HTML_V1_TYPE, 0.0) > q.get("text/html", 0.0):
        return HTML_V1_TYPE
    return "text/html; charset=utf-8"


def _html_doc(title: str, body: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">'
        f"<title>{html.escape(title)}</title></head>\n<body>\n{body}</body></html>\n"
    ).encode()


def _tree_href(f: _File) -> str:
    href = urllib.parse.quote(f.path.name)
    return href + "#" + f.fragment if f.fragment else href


def _tree_attrs(f: _File) -> str:
    if f.requires_python is None:
        return ""
    return f' data-requires-python="{html.escape(f.requires_python)}"'


def _tree_json(f: _File) -> dict[str, object]:
    entry: dict[str, object] = {
        "filename": f.path.name,
        "url": urllib.parse.quote(f.path.name),
        "hashes": _json_hashes(f.fragment),
    }
    if f.requires_python is not None:
        entry["requires-python"] = f.requires_python
    return entry


def _json_hashes(fragment: str | None) -> dict[str, str]:
    if not fragment or "=" not in fragment:
        return {}
    algorithm, _, value = fragment.partition("=")
    return {algorithm: value}


def wait_until(predicate: Callable[[], object], timeout: float = 5.0) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout`` passes; return the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = bool(predicate())
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.01)


class ConnectProxy:
    """A loopback HTTPS proxy: answers ``CONNECT`` by tunnelling to ``target_port``.

    Whatever host the client asks for, the tunnel goes to 127.0.0.1:``target_port``,
    so tests can use a made-up host name. ``requests`` holds each CONNECT's header block.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.requests: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self) -> ConnectProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        client.settimeout(5)
        with client:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            self.requests.append(head.decode("latin-1"))
            if not head.startswith(b"CONNECT "):
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            with socket.create_connection(("127.0.0.1", self.target_port), timeout=5) as up:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                _pipe_both_ways(client, up, self._stopping)


def _pipe_both_ways(a: socket.socket, b: socket.socket, stopping: threading.Event) -> None:
    with selectors.DefaultSelector() as selector:
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        while not stopping.is_set():
            for key, _ in selector.select(timeout=0.05):
                source = key.fileobj
                assert isinstance(source, socket.socket)
                try:
                    data = source.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                key.data.sendall(data)
