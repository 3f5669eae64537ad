"""Where a request goes and as whom: the plain-http rule, proxies, and credentials.

Credentials come from the URL (remembered per origin, as pip does) or from ``.netrc``.
"""

from __future__ import annotations

import base64
import netrc
import os
import threading
import urllib.request
from collections.abc import Mapping
from urllib.parse import SplitResult, quote, unquote, urlsplit, urlunsplit

from peep_setuptools.errors import DownloadError
from peep_setuptools.frozen import frozen
from peep_setuptools.urls import is_loopback, redact_url, strip_credentials

_PATH_SAFE = "/%:@!$&'()*+,;=~"
_Origin = tuple[str, str, int]


@frozen
class Route:
    """One request's destination: the origin, the request line, and any proxy."""

    url: str
    scheme: str
    host: str
    port: int
    #: what goes on the request line: a path, or an absolute URI through an http proxy
    request_path: str
    #: the proxy URL (without credentials) or ""
    proxy: str
    proxy_auth: str | None


class Router:
    """Routes URLs and finds their credentials; safe to share between threads."""

    def __init__(
        self,
        *,
        trusted_hosts: tuple[str, ...] = (),
        proxies: Mapping[str, str] | None = None,
        netrc_path: str | None = None,
    ) -> None:
        self._trusted = {host.lower() for host in trusted_hosts}
        self._proxies = proxies
        self._netrc_path = netrc_path
        self._lock = threading.Lock()
        self._credentials: dict[_Origin, tuple[str, str]] = {}
        self._netrc: netrc.netrc | None = None
        self._netrc_loaded = False

    def is_trusted(self, host: str, port: int | None) -> bool:
        """Tell whether ``host`` (or ``host:port``) was given as a trusted host."""
        host = host.lower()
        return host in self._trusted or (port is not None and f"{host}:{port}" in self._trusted)

    def route(self, url: str) -> Route:
        """Where ``url`` goes; raises DownloadError for a URL we must not fetch."""
        parts = split_url(url)
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
            return Route(url, scheme, host, port, path, "", None)
        proxy = split_url(proxy_url if "://" in proxy_url else "http://" + proxy_url)
        if proxy.scheme != "http":
            raise DownloadError(
                f"could not fetch {redact_url(url)}: only http:// proxies are supported, "
                f"not {redact_url(proxy_url)}"
            )
        proxy_auth = None
        if proxy.username is not None:
            proxy_auth = basic_auth(unquote(proxy.username), unquote(proxy.password or ""))
        bare_proxy = strip_credentials(urlunsplit(proxy))
        if scheme == "http":
            # An http proxy gets the absolute URI; https goes through a CONNECT tunnel.
            netloc = parts.netloc.rpartition("@")[2]
            path = urlunsplit(("http", netloc, path.partition("?")[0], query, ""))
        return Route(url, scheme, host, port, path, bare_proxy, proxy_auth)

    def _proxy_for(self, scheme: str, host: str) -> str | None:
        if is_loopback(host):
            return None
        configured = self._proxies
        if configured is None:
            proxies = urllib.request.getproxies()
            if not proxies.get(scheme) or urllib.request.proxy_bypass(host):
                return None
            return proxies[scheme]
        proxy = configured.get(scheme)
        if not proxy or _bypassed(host, configured.get("no", "")):
            return None
        return proxy

    def credentials(self, url: str, target: Route) -> tuple[str, str] | None:
        """The (user, password) to send to ``target``'s origin, or None."""
        parts = split_url(url)
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
                self._netrc = _load_netrc(self._netrc_path)
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


def split_url(url: str) -> SplitResult:
    """``urlsplit``, raising DownloadError for an invalid URL."""
    try:
        return urlsplit(url)
    except ValueError:
        raise DownloadError(f"invalid URL: {redact_url(url)}") from None


def basic_auth(user: str, password: str) -> str:
    """The ``Authorization`` header value for HTTP Basic authentication."""
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
