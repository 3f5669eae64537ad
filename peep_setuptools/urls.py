"""URL helpers every stage uses: redaction for messages, credentials, loopback, file: paths."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit
from urllib.request import url2pathname


def redact_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``****`` (``user:****@host``), as pip does."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    if "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, has_password, _ = userinfo.partition(":")
    netloc = f"{user}:****@{hostport}" if has_password else f"{userinfo}@{hostport}"
    return urlunsplit(parts._replace(netloc=netloc))


def strip_credentials(url: str) -> str:
    """Return ``url`` without its ``user:pass@`` part."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` is localhost or a loopback address; pip deems those secure."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def file_url_path(url: str) -> str:
    """Return the local path a ``file:`` URL names.

    Raises ValueError if the URL names another host (``file://server/share``): peep reads
    local files only, so such a URL is refused rather than read from this machine's disk.
    """
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ValueError(f"{url}: file URLs must name a local path")
    return url2pathname(parts.path)
