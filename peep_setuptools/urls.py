"""URL helpers every stage uses: redaction for messages, credentials, loopback hosts."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit


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
