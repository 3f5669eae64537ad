"""A small thread-safe HTTP(S) client on ``http.client``: keep-alive, retries, auth, proxies."""

from __future__ import annotations

import base64
import contextlib
import email.message
import http.client
import mimetypes
import netrc
import os
import select
import socket
import ssl
import threading
import urllib.request
import weakref
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO, Callable, Union
from urllib.parse import SplitResult, quote, unquote, urljoin, urlsplit, urlunsplit

from peep_setuptools.errors import DownloadError, UsageError
from peep_setuptools.urls import file_url_path, is_loopback, redact_url, strip_credentials

MAX_REDIRECTS = 10
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_BACKOFF_CAP = 2.0
_MAX_IDLE_PER_ORIGIN = 8
# Small error bodies are read to the end so that the connection can be reused.
_DRAIN_LIMIT = 64 * 1024

_PATH_SAFE = "/%:@!$&'()*+,;=~"
_Connection = Union[http.client.HTTPConnection, http.client.HTTPSConnection]
#: (scheme, host, port, proxy URL or "") of a pooled connection
_PoolKey = tuple[str, str, int, str]
_Origin = tuple[str, str, int]


@dataclass(frozen=True)
class HttpSettings:
    """How to talk to indexes; the caller resolves precedence (``--cert`` > PIP_CERT > ...)."""

    #: CA bundle; None means the system store (which honours SSL_CERT_FILE / SSL_CERT_DIR)
    cert: str | None = None
    #: seconds allowed for each socket operation
    timeout: float = 15.0
    #: extra attempts after a connection error, timeout, 5xx or 429
    retries: int = 5
    #: ``host`` or ``host:port``: may use plain http, and https without verification
    trusted_hosts: tuple[str, ...] = ()
    #: None means ``$NETRC``, else ``~/.netrc`` if it exists
    netrc_path: str | None = None
    #: None means ``peep-setuptools/<version>``
    user_agent: str | None = None
    #: scheme -> proxy URL plus an optional ``no`` entry; None reads the environment
    proxies: Mapping[str, str] | None = None
    #: first pause between attempts, doubled each time and capped at 2 s
    backoff: float = 0.25


def check_redirect(source: str, target: str) -> str | None:
    """Return why a redirect from ``source`` to ``target`` is refused, or None if allowed."""
    src, dst = urlsplit(source).scheme.lower(), urlsplit(target).scheme.lower()
    if dst not in ("http", "https"):
        return f"refusing redirect to a {dst or 'relative'} URL"
    if src == "https" and dst == "http":
        return f"refusing redirect from https to http ({redact_url(target)})"
    return None


class Response:
    """An open response body; read it in blocks, then close it (or use ``with``)."""

    def __init__(
        self,
        *,
        url: str,
        status: int,
        reason: str,
        headers: email.message.Message,
        body: BinaryIO | http.client.HTTPResponse,
        timeout: float,
        release: Callable[[bool], None] | None = None,
    ) -> None:
        #: the final URL, after redirects
        self.url = url
        self.status = status
        self.reason = reason
        self.headers = headers
        self._body = body
        self._timeout = timeout
        self._release = release
        self._received = 0
        self._eof = False
        self._closed = False
        self.length: int | None = _content_length(headers)

    def read(self, n: int = -1) -> bytes:
        """Read up to ``n`` bytes (all if negative); b"" at the end; DownloadError on failure."""
        self._check_open()
        if self._eof or n == 0:
            return b""
        try:
            data = self._read_raw(n)
        except (OSError, http.client.HTTPException) as exc:
            raise self._read_error(exc) from None
        self._count(len(data), at_end=not data or n < 0)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Fill ``buffer`` as far as the body goes; return the byte count, 0 at the end.

        For large bodies: one reusable buffer, no new bytes object per block. Raises
        DownloadError on failure, as ``read`` does.
        """
        self._check_open()
        if self._eof or not len(buffer):
            return 0
        body = self._body
        try:
            if isinstance(body, http.client.HTTPResponse):
                count = body.readinto(buffer)
            else:
                data = body.read(len(buffer))
                count = len(data)
                buffer[:count] = data
        except (OSError, http.client.HTTPException) as exc:
            raise self._read_error(exc) from None
        self._count(count, at_end=not count)
        return count

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("read from a closed response")

    def _read_error(self, exc: BaseException) -> DownloadError:
        if isinstance(exc, socket.timeout):
            return self._error(f"timed out after {self._timeout:g} s while reading")
        if isinstance(exc, ssl.SSLError):
            return self._error(f"TLS error while reading: {exc.reason or exc}")
        return self._error(f"connection lost while reading: {_describe(exc)}")

    def _count(self, count: int, *, at_end: bool) -> None:
        """Add ``count`` bytes read; check them against Content-Length."""
        self._received += count
        if self.length is not None and self._received > self.length:
            raise self._error(f"received more than the {self.length} bytes announced")
        if at_end:
            self._eof = True
            if self.length is not None and self._received < self.length:
                raise self._error(f"received {self._received} of {self.length} bytes")

    def _read_raw(self, n: int) -> bytes:
        body = self._body
        if isinstance(body, http.client.HTTPResponse) and n < 0:
            # read() without a size raises IncompleteRead on a short body; read in
            # blocks instead so that the count check below reports it uniformly.
            chunks = []
            while block := body.read(64 * 1024):
                chunks.append(block)
            return b"".join(chunks)
        return body.read(n)

    @property
    def received(self) -> int:
        """Bytes of body read so far."""
        return self._received

    def _error(self, reason: str) -> DownloadError:
        self.close()
        return DownloadError(f"could not fetch {redact_url(self.url)}: {reason}")

    def close(self) -> None:
        """Release the connection: back to the pool if the body was read to its end."""
        if self._closed:
            return
        self._closed = True
        body = self._body
        reusable = (
            isinstance(body, http.client.HTTPResponse)
            and body.isclosed()
            and not body.will_close
            and (self.length is None or self._received == self.length)
        )
        body.close()
        if self._release is not None:
            self._release(reusable)

    def discard(self) -> None:
        """Drop the body, reading a small one to the end so the connection stays usable."""
        if self._closed:
            return
        if self.length is not None and self.length <= _DRAIN_LIMIT:
            try:
                while self.read(_DRAIN_LIMIT):
                    pass
            except DownloadError:
                return
        self.close()

    def __enter__(self) -> Response:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _content_length(headers: email.message.Message) -> int | None:
    value = headers.get("Content-Length")
    if value is None or headers.get("Transfer-Encoding"):
        return None
    try:
        length = int(value.strip())
    except ValueError:
        return None
    return length if length >= 0 else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host name ({exc.strerror})"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "server closed the connection without a response"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0] if text.strip() else type(exc).__name__


class _NoDelayHTTPConnection(http.client.HTTPConnection):
    # Without TCP_NODELAY a keep-alive request waits ~40 ms on delayed ACKs.
    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _NoDelayHTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _RetryableError(Exception):
    """An attempt failed in a way that may go away if tried again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str
    port: int
    #: what goes on the request line: a path, or an absolute URI through an http proxy
    request_path: str
    #: the proxy URL (without credentials) or ""
    proxy: str
    proxy_auth: str | None


class HttpClient:
    """Fetches ``http``, ``https`` and ``file`` URLs; safe to share between threads."""

    def __init__(self, settings: HttpSettings | None = None) -> None:
        self.settings = settings or HttpSettings()
        self._lock = threading.Lock()
        self._idle: dict[_PoolKey, list[_Connection]] = {}
        self._contexts: dict[bool, ssl.SSLContext] = {}
        self._credentials: dict[_Origin, tuple[str, str]] = {}
        self._netrc: netrc.netrc | None = None
        self._netrc_loaded = False
        self._trusted = {host.lower() for host in self.settings.trusted_hosts}
        self._aborted = threading.Event()
        # Every connection we opened, so that abort() can break reads blocked in them.
        self._connections: weakref.WeakSet[_Connection] = weakref.WeakSet()
        # Imported here: the package's __init__ may still be loading when this module is.
        from peep_setuptools import __version__

        self._user_agent = self.settings.user_agent or f"peep-setuptools/{__version__}"

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

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
        self._aborted.set()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            sock = conn.sock
            if sock is not None:
                # shutdown() wakes a recv() blocked in another thread; close() would not.
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self.close()

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
        parts = _split(url)
        if parts.scheme == "file":
            return _open_file(url)
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

    def is_trusted(self, host: str, port: int | None) -> bool:
        """Tell whether ``host`` (or ``host:port``) was given as a trusted host."""
        host = host.lower()
        return host in self._trusted or (port is not None and f"{host}:{port}" in self._trusted)

    # -- one URL, with retries ----------------------------------------------------------

    def _get(self, url: str, accept: str | None) -> Response:
        target = self._target(url)
        headers = {
            "User-Agent": self._user_agent,
            "Accept": accept or "*/*",
            # We hash exactly the bytes served; never let a server compress them.
            "Accept-Encoding": "identity",
        }
        auth = self._auth_for(url, target)
        if auth is not None:
            headers["Authorization"] = _basic(*auth)
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

    def _send(self, target: _Target, headers: Mapping[str, str]) -> Response:
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
                f"could not fetch {redact_url(target.url)}: {_describe(exc)}"
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
            raise _RetryableError(_describe(exc)) from None

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

    def _acquire(self, key: _PoolKey, target: _Target) -> tuple[_Connection, bool]:
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

    def _connect(self, target: _Target) -> _Connection:
        conn = self._new_connection(target)
        with self._lock:
            self._connections.add(conn)
        return conn

    def _new_connection(self, target: _Target) -> _Connection:
        timeout = self.settings.timeout
        if target.proxy:
            proxy = urlsplit(target.proxy)
            host, port = proxy.hostname or "", proxy.port or 80
        else:
            host, port = target.host, target.port
        if target.scheme == "http":
            return _NoDelayHTTPConnection(host, port, timeout=timeout)
        verify = not self.is_trusted(target.host, target.port)
        conn = _NoDelayHTTPSConnection(host, port, timeout=timeout, context=self._context(verify))
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
                raise UsageError(
                    f"cannot load the CA bundle {cert}: {_describe(exc)}; check --cert or PIP_CERT"
                ) from None
            if not verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._contexts[verify] = context
            return context

    # -- URLs, proxies, credentials -----------------------------------------------------

    def _target(self, url: str) -> _Target:
        parts = _split(url)
        scheme = parts.scheme
        if scheme not in ("http", "https"):
            raise DownloadError(f"could not fetch {redact_url(url)}: unsupported URL scheme")
        host = parts.hostname or ""
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise DownloadError(f"could not fetch {redact_url(url)}: invalid port") from None
        if not host:
            raise DownloadError(f"could not fetch {redact_url(url)}: no host name")
        if scheme == "http" and not is_loopback(host) and not self.is_trusted(host, port):
            raise DownloadError(
                f"could not fetch {redact_url(url)}: refusing plain http to {host}; "
                f"use https, or mark the host trusted with --trusted-host {host}"
            )
        # Links come from pages written by others: quote stray spaces and the like
        # (keeping existing escapes) so that http.client accepts the request line.
        path = quote(parts.path or "/", safe=_PATH_SAFE)
        query = quote(parts.query, safe=_PATH_SAFE + "?")
        if query:
            path += "?" + query
        proxy_url = self._proxy_for(scheme, host)
        if not proxy_url:
            return _Target(url, scheme, host, port, path, "", None)
        proxy = _split(proxy_url if "://" in proxy_url else "http://" + proxy_url)
        if proxy.scheme != "http":
            raise DownloadError(
                f"could not fetch {redact_url(url)}: only http:// proxies are supported, "
                f"not {redact_url(proxy_url)}"
            )
        proxy_auth = None
        if proxy.username is not None:
            proxy_auth = _basic(unquote(proxy.username), unquote(proxy.password or ""))
        bare_proxy = strip_credentials(urlunsplit(proxy))
        if scheme == "http":
            # An http proxy gets the absolute URI; https goes through a CONNECT tunnel.
            netloc = parts.netloc.rpartition("@")[2]
            path = urlunsplit(("http", netloc, path.partition("?")[0], query, ""))
        return _Target(url, scheme, host, port, path, bare_proxy, proxy_auth)

    def _proxy_for(self, scheme: str, host: str) -> str | None:
        if is_loopback(host):
            return None
        configured = self.settings.proxies
        if configured is None:
            proxies = urllib.request.getproxies()
            if not proxies.get(scheme) or urllib.request.proxy_bypass(host):
                return None
            return proxies[scheme]
        proxy = configured.get(scheme)
        if not proxy or _bypassed(host, configured.get("no", "")):
            return None
        return proxy

    def _auth_for(self, url: str, target: _Target) -> tuple[str, str] | None:
        parts = _split(url)
        origin: _Origin = (target.scheme, target.host.lower(), target.port)
        if parts.username is not None:
            creds = (unquote(parts.username), unquote(parts.password or ""))
            with self._lock:
                # Remembered per origin, as pip does: other URLs on that host need them too.
                self._credentials[origin] = creds
            return creds
        with self._lock:
            remembered = self._credentials.get(origin)
        if remembered is not None:
            return remembered
        return self._netrc_credentials(target.host)

    def _netrc_credentials(self, host: str) -> tuple[str, str] | None:
        with self._lock:
            if not self._netrc_loaded:
                self._netrc_loaded = True
                self._netrc = _load_netrc(self.settings.netrc_path)
            entries = self._netrc
        if entries is None:
            return None
        found = entries.authenticators(host)
        if found is None:
            return None
        login, _account, password = found
        return (login or "", password or "")


def _bypassed(host: str, no_proxy: str) -> bool:
    """Apply a ``no_proxy`` list: ``*``, or names matching the host or one of its parents."""
    host = host.lower().rstrip(".")
    for entry in no_proxy.replace(",", " ").split():
        entry = entry.lower().lstrip(".").rstrip(".")
        if entry == "*":
            return True
        entry = entry.partition(":")[0] if entry.count(":") == 1 else entry
        if entry and (host == entry or host.endswith("." + entry)):
            return True
    return False


def _split(url: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError:
        raise DownloadError(f"invalid URL: {redact_url(url)}") from None


def _basic(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _load_netrc(path: str | None) -> netrc.netrc | None:
    if path is None:
        path = os.environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
    if not os.path.isfile(path):
        return None
    try:
        return netrc.netrc(path)
    except (OSError, netrc.NetrcParseError):
        # As pip and requests do, an unreadable .netrc means "no credentials".
        return None


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


def _open_file(url: str) -> Response:
    try:
        path = file_url_path(url)
    except ValueError:
        raise DownloadError(f"could not open {url}: file URLs must name a local path") from None
    try:
        stream = open(path, "rb")  # noqa: SIM115 (closed by Response.close)
    except OSError as exc:
        raise DownloadError(f"could not open {url}: {_describe(exc)}") from None
    headers = http.client.HTTPMessage()
    with contextlib.suppress(OSError):
        headers["Content-Length"] = str(os.fstat(stream.fileno()).st_size)
    content_type, _ = mimetypes.guess_type(path)
    if content_type:
        headers["Content-Type"] = content_type
    return Response(url=url, status=200, reason="OK", headers=headers, body=stream, timeout=0.0)
