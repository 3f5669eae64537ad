"""A small thread-safe HTTP(S) client on ``http.client``: connection pool, redirects, retries.

Where a request goes and as whom (proxies, credentials) is ``index.routes``; the open
body it returns is ``index.response``.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import os
import select
import socket
import ssl
import threading
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Union
from urllib.parse import urljoin, urlsplit

from peep_setuptools.errors import DownloadError, UsageError
from peep_setuptools.index.httpsettings import HttpSettings
from peep_setuptools.index.response import Closing, Response, describe_error, open_file
from peep_setuptools.index.routes import Route, Router, basic_auth, split_url
from peep_setuptools.urls import redact_url, strip_credentials

MAX_REDIRECTS = 10
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_BACKOFF_CAP = 2.0
_MAX_IDLE_PER_ORIGIN = 8

#: (scheme, host, port, proxy URL or "") of a pooled connection
_PoolKey = tuple[str, str, int, str]


def check_redirect(source: str, target: str) -> str | None:
    """Return why a redirect from ``source`` to ``target`` is refused, or None if allowed."""
    src, dst = urlsplit(source).scheme.lower(), urlsplit(target).scheme.lower()
    if dst not in ("http", "https"):
        return f"refusing redirect to a {dst or 'relative'} URL"
    if src == "https" and dst == "http":
        return f"refusing redirect from https to http ({redact_url(target)})"
    return None


class _Cancelled(OSError):
    """A socket was about to be opened after ``abort()``."""


_Register = Callable[[socket.socket], None]


def _open_socket(
    register: _Register, address: tuple[str, int], timeout: float, source: object = None
) -> socket.socket:
    """``socket.create_connection``, with each socket registered before it connects.

    So abort() can break a connect() that hangs (shutdown() ends it), not only a read.
    """
    host, port = address
    error: OSError = OSError(f"no address found for {host}")
    for family, kind, proto, _, sockaddr in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            register(sock)
            sock.settimeout(timeout)
            sock.connect(sockaddr)
        except _Cancelled:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return sock
    raise error


class _HTTPConnection(http.client.HTTPConnection):
    """A connection whose sockets ``HttpClient.abort()`` reaches (http.client sets NODELAY)."""

    def __init__(self, host: str, port: int, *, timeout: float, register: _Register) -> None:
        super().__init__(host, port, timeout=timeout)
        self._create_connection = functools.partial(_open_socket, register)


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float,
        register: _Register,
        context: ssl.SSLContext,
        server_hostname: str,
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._create_connection = functools.partial(_open_socket, register)
        self._register = register
        self._tls = context
        self._server_hostname = server_hostname

    def connect(self) -> None:
        # HTTPSConnection.connect, with the TLS socket registered before its handshake:
        # wrapping detaches the registered plain socket, and a handshake can stall too.
        http.client.HTTPConnection.connect(self)  # TCP, and the proxy's CONNECT if any
        tls = self._tls.wrap_socket(
            self.sock, server_hostname=self._server_hostname, do_handshake_on_connect=False
        )
        self.sock = tls
        self._register(tls)
        tls.do_handshake()


_Connection = Union[_HTTPConnection, _HTTPSConnection]


class _RetryableError(Exception):
    """An attempt failed in a way that may go away if tried again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HttpClient(Closing):
    """Fetches ``http``, ``https`` and ``file`` URLs; safe to share between threads."""

    def __init__(self, settings: HttpSettings | None = None) -> None:
        self.settings = settings or HttpSettings()
        self._lock = threading.Lock()
        self._idle: dict[_PoolKey, list[_Connection]] = {}
        self._contexts: dict[bool, ssl.SSLContext] = {}
        self._router = Router(
            trusted_hosts=self.settings.trusted_hosts,
            proxies=self.settings.proxies,
            netrc_path=self.settings.netrc_path,
        )
        self._aborted = threading.Event()
        # Every socket we opened (tracked from before it connects, and still after a
        # ``Connection: close`` response took it from its connection), for abort().
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        # Imported here: the package's __init__ may still be loading when this module is.
        from peep_setuptools import __version__

        self._user_agent = self.settings.user_agent or f"peep-setuptools/{__version__}"

    def close(self) -> None:
        """Close every idle pooled connection."""
        with self._lock:
            pools, self._idle = self._idle, {}
        for conns in pools.values():
            for conn in conns:
                conn.close()

    def abort(self) -> None:
        """Make every request in flight, in any thread, fail now; later ones fail at once.

        For Ctrl-C: worker threads blocked in a read must not keep the process alive
        until their timeouts run out.
        """
        with self._lock:  # the lock _register takes: each socket is shut here or refused there
            self._aborted.set()
            sockets = list(self._sockets)
        for sock in sockets:
            # shutdown() wakes a recv() or connect() blocked in another thread; close()
            # would not. A socket detached into its TLS socket raises EBADF: that one is
            # in the set too.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.close()

    def _register(self, sock: socket.socket) -> None:
        """Add ``sock`` to the sockets abort() shuts down; _Cancelled if it already ran."""
        with self._lock:
            if self._aborted.is_set():
                raise _Cancelled("cancelled")
            self._sockets.add(sock)

    @property
    def aborted(self) -> bool:
        """Tell whether ``abort()`` was called."""
        return self._aborted.is_set()

    def pause(self, seconds: float, url: str) -> None:
        """Wait ``seconds`` before a retry; DownloadError at once if the client is aborted."""
        if self._aborted.wait(seconds):
            raise DownloadError(f"could not fetch {redact_url(url)}: cancelled")

    def attempts(self, url: str) -> Iterator[int]:
        """Number the attempts at one request: 0, then 1 to ``retries``, each after a pause.

        The one retry policy of requests and downloads: the first pause is
        ``settings.backoff``, doubled each time up to 2 s; a pause raises DownloadError
        ("cancelled") once the client is aborted.
        """
        delay = self.settings.backoff
        for attempt in range(self.retries + 1):
            if attempt:
                self.pause(delay, url)
                delay = min(delay * 2, _BACKOFF_CAP)
            yield attempt

    @property
    def retries(self) -> int:
        """How many times a failed attempt is tried again."""
        return max(self.settings.retries, 0)

    def gave_up(self, reason: str) -> str:
        """``reason`` for a last failure, saying how often it was retried."""
        return f"{reason} ({self.retries} retries)" if self.retries else reason

    # -- public -----------------------------------------------------------------------

    def open(
        self, url: str, *, accept: str | None = None, tolerate: Collection[int] = ()
    ) -> Response:
        """GET ``url``, following redirects; return the open 2xx response.

        Statuses in ``tolerate`` (e.g. 404 for an index page) are returned instead of
        raised. Raises DownloadError for other statuses, network and TLS failures.
        """
        parts = split_url(url)
        if parts.scheme == "file":
            return open_file(url)
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            response = self._get(current, accept)
            location = response.headers.get("Location")
            if response.status in _REDIRECTS and location:
                response.discard()
                # Credentials in a Location header are not honoured; they arrive by origin.
                target = strip_credentials(urljoin(strip_credentials(current), location.strip()))
                refusal = check_redirect(current, target)
                if refusal:
                    raise DownloadError(f"could not fetch {redact_url(url)}: {refusal}")
                current = target
                continue
            if 200 <= response.status < 300 or response.status in tolerate:
                return response
            response.discard()
            raise DownloadError(
                f"could not fetch {redact_url(current)}: "
                f"HTTP {response.status} {response.reason}".rstrip()
            )
        raise DownloadError(
            f"could not fetch {redact_url(url)}: more than {MAX_REDIRECTS} redirects"
        )

    # -- one URL, with retries ----------------------------------------------------------

    def _get(self, url: str, accept: str | None) -> Response:
        target = self._router.route(url)
        headers = {
            "User-Agent": self._user_agent,
            "Accept": accept or "*/*",
            # We hash exactly the bytes served; never let a server compress them.
            "Accept-Encoding": "identity",
        }
        auth = self._router.credentials(url, target)
        if auth is not None:
            headers["Authorization"] = basic_auth(*auth)
        if target.proxy_auth is not None and target.scheme == "http":
            headers["Proxy-Authorization"] = target.proxy_auth
        if self.aborted:
            raise DownloadError(f"could not fetch {redact_url(url)}: cancelled")
        reason = ""
        for _attempt in self.attempts(url):
            try:
                response = self._send(target, headers)
            except _RetryableError as exc:
                reason = exc.reason
                continue
            if response.status >= 500 or response.status == 429:
                reason = f"HTTP {response.status} {response.reason}".rstrip()
                response.discard()
                continue
            return response
        raise DownloadError(f"could not fetch {redact_url(url)}: {self.gave_up(reason)}")

    def _send(self, target: Route, headers: Mapping[str, str]) -> Response:
        key: _PoolKey = (target.scheme, target.host, target.port, target.proxy)
        conn, reused = self._acquire(key, target)
        try:
            try:
                conn.request("GET", target.request_path, headers=dict(headers))
                raw = conn.getresponse()
            except (
                http.client.RemoteDisconnected,
                ConnectionResetError,
                BrokenPipeError,
                http.client.BadStatusLine,
            ):
                if not reused or self.aborted:
                    raise
                # The server dropped an idle keep-alive connection; that is no failure.
                conn.close()
                conn = self._connect(target)
                conn.request("GET", target.request_path, headers=dict(headers))
                raw = conn.getresponse()
        except ssl.SSLCertVerificationError as exc:
            conn.close()
            raise DownloadError(
                f"could not fetch {redact_url(target.url)}: {describe_error(exc)}"
            ) from None
        except ssl.SSLError as exc:
            conn.close()
            if isinstance(exc, ssl.SSLEOFError):
                raise _RetryableError("TLS connection closed unexpectedly") from None
            raise DownloadError(
                f"could not fetch {redact_url(target.url)}: TLS error: {exc.reason or exc}"
            ) from None
        except socket.timeout:
            conn.close()
            raise _RetryableError(f"timed out after {self.settings.timeout:g} s") from None
        except http.client.InvalidURL as exc:
            conn.close()
            raise DownloadError(f"invalid URL {redact_url(target.url)}: {exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise _RetryableError(describe_error(exc)) from None

        def release(reusable: bool) -> None:
            if reusable and not _has_pending_data(conn):
                self._put_back(key, conn)
            else:
                conn.close()

        return Response(
            url=target.url,
            status=raw.status,
            reason=raw.reason,
            headers=raw.headers,
            body=raw,
            timeout=self.settings.timeout,
            release=release,
        )

    # -- connections --------------------------------------------------------------------

    def _acquire(self, key: _PoolKey, target: Route) -> tuple[_Connection, bool]:
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop(), True
        return self._connect(target), False

    def _put_back(self, key: _PoolKey, conn: _Connection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < _MAX_IDLE_PER_ORIGIN:
                idle.append(conn)
                return
        conn.close()

    def _connect(self, target: Route) -> _Connection:
        timeout = self.settings.timeout
        if target.proxy:
            proxy = urlsplit(target.proxy)
            host, port = proxy.hostname or "", proxy.port or 80
        else:
            host, port = target.host, target.port
        if target.scheme == "http":
            return _HTTPConnection(host, port, timeout=timeout, register=self._register)
        verify = not self._router.is_trusted(target.host, target.port)
        conn = _HTTPSConnection(
            host,
            port,
            timeout=timeout,
            register=self._register,
            context=self._context(verify),
            # through a proxy, the tunnel's far end: the index itself
            server_hostname=target.host,
        )
        if target.proxy:
            tunnel_headers = {}
            if target.proxy_auth is not None:
                tunnel_headers["Proxy-Authorization"] = target.proxy_auth
            conn.set_tunnel(target.host, target.port, headers=tunnel_headers)
        return conn

    def _context(self, verify: bool) -> ssl.SSLContext:
        with self._lock:
            context = self._contexts.get(verify)
            if context is not None:
                return context
            cert = self.settings.cert
            try:
                if cert is not None and os.path.isdir(cert):
                    context = ssl.create_default_context(capath=cert)
                else:
                    context = ssl.create_default_context(cafile=cert)
            except (OSError, ssl.SSLError) as exc:
                reason = describe_error(exc)
                raise UsageError(
                    f"cannot load the CA bundle {cert}: {reason}; check --cert or PIP_CERT"
                ) from None
            if not verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._contexts[verify] = context
            return context


def _has_pending_data(conn: _Connection) -> bool:
    # Bytes waiting after a complete response mean the server sent more than it
    # announced; such a connection must not be reused.
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
