"""How to talk to indexes (``HttpSettings``): a value, importable without the HTTP code.

A run that the verified cache serves alone resolves its settings but never opens a
connection, so it needs this and not ``http`` (with ``http.client`` and ``ssl``).
"""

from __future__ import annotations

from collections.abc import Mapping

from peep_setuptools.frozen import frozen
from peep_setuptools.urls import proxy_url, redacting_repr


@redacting_repr
@frozen
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

    def __post_init__(self) -> None:
        # "user:pass@host:3128" is an http:// proxy to the router (and curl)
        if self.proxies is not None:
            proxies = {
                scheme: url if scheme == "no" else proxy_url(url)
                for scheme, url in self.proxies.items()
            }
            object.__setattr__(self, "proxies", proxies)
