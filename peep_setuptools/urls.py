"""URL helpers every stage uses: redaction for messages, credentials, loopback, file: paths."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote, urlsplit, urlunsplit

_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")


def redact_url(url: str) -> str:
    """Return ``url`` with its secret hidden, as pip does: ``user:****@host``, ``****@host``.

    A user name without a password is most often a token (``https://TOKEN@host/``), so it
    is hidden whole. THE redaction: every message, log line and report goes through it.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    if "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, has_password, _ = userinfo.partition(":")
    netloc = f"{user}:****@{hostport}" if has_password else f"****@{hostport}"
    return urlunsplit(parts._replace(netloc=netloc))


def redact_text(text: str) -> str:
    """``text`` (a requirement line, a message) with every URL in it passed through redact_url."""
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)


def strip_credentials(url: str) -> str:
    """Return ``url`` without its ``user:pass@`` part."""
    return split_credentials(url)[0]


def split_credentials(url: str) -> tuple[str, str, tuple[str, str | None] | None]:
    """``(url without credentials, host name, (user, password or None) or None)``.

    The user and password are percent-decoded, as pip sends them.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return url, "", None
    if "@" not in parts.netloc:
        return url, host, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, has_password, password = userinfo.partition(":")
    bare = urlunsplit(parts._replace(netloc=hostport))
    return bare, host, (unquote(user), unquote(password) if has_password else None)


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
    # urllib.request costs http.client, ssl and email to import: only file: URLs need it.
    from urllib.request import url2pathname

    return url2pathname(parts.path)
