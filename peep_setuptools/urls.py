"""URL helpers every stage uses: redaction for messages, credentials, loopback, file: paths."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

_T = TypeVar("_T", bound=type)

# The redaction patterns are text, compiled by ``re`` (and kept in its cache) on first use:
# most runs redact nothing, and compiling them all took ~0.3 ms of every start.

# A URL's scheme in free text, tried only where a run of scheme characters begins (a letter
# inside one would find the same "://" again): trying each letter of a long word from an
# index (a yanked reason) as a scheme took time growing with the square of its length.
_SCHEME = r"(?<![A-Za-z0-9+.-])[0-9+.-]*[A-Za-z][A-Za-z0-9+.-]*://"
# A URL's credentials in free text: ``scheme://USERINFO@``, where the authority ends at the
# first "/", "?", "#" or ASCII blank and USERINFO runs to its last "@". Quotes and brackets do
# not end it: a password may hold them (a repr() of the line, "'" in a password), nor other
# spaces (U+00A0...), which neither pip nor peep split an option line at.
# Also Python's own messages, which quote a URL's netloc alone (urlsplit's "netloc '...'").
_USERINFO_IN_TEXT = rf"(?P<head>{_SCHEME}|netloc ')(?P<userinfo>[^/?#\t\n\v\f\r ]*)@"
# A URL's query in free text (``?token=``, ``&X-Amz-Signature=``, ``?private_token=``): from
# the first "?" after "scheme://" to a blank or "#", or to a quote that closes a string (a
# JSON string's '"', a repr()'s "'": before a blank, ",", ":", ")", "]", "}" or the end; a
# JSON ``\"`` ends nothing). Quotes elsewhere are taken as part of the URL, in its path
# too: a URL with one is no less secret. The path ends at the next "://" too (that URL is
# tried on its own), so no text is read again for each URL in it.
_QUERY_IN_TEXT = (
    rf"(?P<head>{_SCHEME}(?:[^?#\t\n\v\f\r :]|:(?!//))*\?)"
    r"(?P<query>(?:\\.|['\"](?![\t\n\v\f\r ,:)\]}]|$)|[^\\'\"#\t\n\v\f\r ])*)"
)
# One parameter of a query: its name (with "="), then its value up to the next "&".
_PARAMETER = r"(?P<name>[^&=]*=)?(?P<value>[^&]*)"
#: parameters whose values are no secret, and which messages about them must show: pip's own
_PLAIN_PARAMETERS = frozenset(
    f"{name}="
    for name in ("egg", "subdirectory", "md5", "sha1", "sha224", "sha256", "sha384", "sha512")
)


def redact_url(url: str) -> str:
    """Return ``url`` with its secrets hidden: ``user:****@host``, ``****@host``, ``?k=****``.

    A user name without a password is most often a token (``https://TOKEN@host/``), so it
    is hidden whole, as pip does; every value of the query too (``?token=``, a presigned
    link's signature), which pip shows. THE redaction: every message, log line and report
    goes through it.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    if not parts.query and "@" not in parts.netloc:
        return url  # as given: urlunsplit would drop an empty "?" or "#"
    parts = parts._replace(query=_hide_query(parts.query))
    if "@" in parts.netloc:
        userinfo, _, hostport = parts.netloc.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:****@{hostport}" if has_password else f"****@{hostport}"
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


_VARIABLE = r"\$\{[A-Z0-9_]+\}"


def redact_text(text: str) -> str:
    """``text`` (a requirement line, a message) with the secret of every URL in it hidden.

    As ``redact_url``; it needs no URL to parse: quotes and brackets around or inside the
    URL (a repr() in a message, a password with a quote) still leave nothing of the secret.
    """
    text = re.sub(_QUERY_IN_TEXT, lambda m: m.group("head") + _hide_query(m.group("query")), text)
    return re.sub(_USERINFO_IN_TEXT, _hide_userinfo, text)


def redacting_repr(cls: _T) -> _T:
    """Class decorator (below ``@dataclass``): ``repr()`` and ``str()`` hide URL secrets.

    For the values the library returns: a caller printing one (or a value holding it, a
    traceback's locals) must not show an index's ``user:password`` or a token.
    """
    shown: Callable[[object], str] = cls.__repr__  # type: ignore[assignment]  # unbound

    def redacted(self: object) -> str:
        return redact_text(shown(self))

    cls.__repr__ = redacted  # type: ignore[assignment]
    return cls


def _hide_userinfo(match: re.Match[str]) -> str:
    userinfo = match.group("userinfo")
    user, has_password, password = userinfo.partition(":")
    secret = password if has_password else user
    if re.fullmatch(_VARIABLE, secret):  # "${TOKEN}" as written, not its value: no secret
        return match.group(0)
    hidden = f"{user}:****" if has_password else "****"
    return f"{match.group('head')}{hidden}@"


def _hide_query(query: str) -> str:
    """``query`` with each value (a bare parameter: the whole of it) as ``****``, but pip's."""

    def hide(match: re.Match[str]) -> str:
        name, value = match.group("name") or "", match.group("value")
        if not value or name in _PLAIN_PARAMETERS or re.fullmatch(_VARIABLE, value):
            return match.group(0)  # nothing to hide, pip's, or "${TOKEN}" as written
        return f"{name}****"

    return re.sub(_PARAMETER, hide, query)


def url_problem(url: str) -> str | None:
    """Why ``urlsplit`` cannot read ``url`` (in words that quote none of it), or None.

    Its own messages quote the netloc, credentials and all; and a URL it cannot read fails
    wherever it is first split, deep in a run (a traceback, exit 3), not where it was given.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # raises ValueError for a port that is no number or too big
    except ValueError as exc:
        if "NFKC" in str(exc):
            return "its host part has a character that reads as '/', '?', '#', '@' or ':'"
        return redact_text(str(exc))
    return None


def proxy_url(proxy: str) -> str:
    """A proxy as pip and curl read it: ``user:pass@host:3128`` is ``http://user:pass@...``.

    Written so, repr() and messages see its credentials as a URL's and hide them.
    """
    return proxy if not proxy or "://" in proxy else f"http://{proxy}"


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

    local = url2pathname(parts.path)
    # file:////host/share is how Path.as_uri() writes a //host/share path: another host too.
    if is_remote_path(local):
        raise ValueError(f"{url}: file URLs must name a local path")
    return local


def is_remote_path(path: str) -> bool:
    r"""Tell whether ``path`` names another machine: ``//host/...`` (or ``\\host\...``).

    Windows reads such a path as a network share, POSIX leaves a leading ``//`` to the
    system, and pip reads it as the URL ``file://host/...``. peep reads local files only,
    so every reader refuses it rather than guess which of these the user meant.
    """
    if os.name == "nt":
        head = path[:3].replace("\\", "/")
        # \\?\ and \\.\ name long local paths and devices, not hosts.
        return head[:2] == "//" and head[2:3] not in ("/", "?", ".")
    return path[:2] == "//" and path[2:3] != "/"
