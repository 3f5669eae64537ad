"""Finding archives: PEP 691 JSON and PEP 503 HTML simple pages, find-links, and choosing one."""

from __future__ import annotations

import json
import logging
import os
import posixpath
import threading
from collections.abc import Iterable, Mapping, Sequence
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, unquote, urldefrag, urljoin, urlsplit

from packaging.utils import NormalizedName, canonicalize_name

from peep_setuptools.archives import Link, parse_filename, safe_filename
from peep_setuptools.errors import DownloadError
from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import Digest, InvalidDigest, open_regular
from peep_setuptools.index.http import HttpClient
from peep_setuptools.index.response import Response
from peep_setuptools.urls import file_url_path, redact_url

logger = logging.getLogger(__name__)

#: Sent with every index request: JSON first, HTML as the fallback (PEP 691).
ACCEPT = (
    "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
)
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
_HTML_TYPES = frozenset({"text/html", "application/vnd.pypi.simple.v1+html"})
#: A hostile or broken index must not make us hold an unbounded page in memory.
MAX_PAGE_SIZE = 50 * 1024 * 1024
#: page scheme -> the link schemes it may offer; never a step down
_ALLOWED_SCHEMES = {
    "https": ("https",),
    "http": ("http", "https"),
    "file": ("file", "http", "https"),
}


def make_link(
    href: str,
    *,
    base: str,
    source: str,
    hashes: Iterable[Digest] = (),
    requires_python: str | None = None,
    yanked: bool = False,
    yanked_reason: str | None = None,
) -> Link | None:
    """Resolve ``href`` against ``base`` and validate it; None if it must be ignored.

    Ignored: unsafe or non-archive filenames, schemes other than http(s)/file, any
    step down from https to http, and file links on pages that are not local; both
    ``base`` and ``source`` (the page's own URL) must allow the link's scheme.
    """
    try:
        url, fragment = urldefrag(urljoin(base, href.strip()))
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    # Checked against the page too: a <base href="file:///"> or "http://" on an https
    # page must not turn its links into local files or plain http.
    for origin in (base, source) if "://" in source else (base,):
        if scheme not in _ALLOWED_SCHEMES.get(urlsplit(origin).scheme.lower(), ()):
            return None
    filename = safe_filename(unquote(posixpath.basename(parts.path)))
    if filename is None:
        return None
    found = list(hashes)
    if fragment:
        found.extend(_fragment_hashes(fragment))
    return Link(
        url=url,
        filename=filename,
        hashes=tuple(dict.fromkeys(found)),
        requires_python=requires_python or None,
        yanked=yanked,
        yanked_reason=yanked_reason if yanked else None,
        source=source,
    )


def _fragment_hashes(fragment: str) -> list[Digest]:
    found = []
    for item in fragment.split("&"):
        algorithm, _, value = item.partition("=")
        digest = _digest(algorithm, value)
        if digest is not None:
            found.append(digest)
    return found


def _digest(algorithm: str, value: str) -> Digest | None:
    # Advertised hashes are hints: a weak, unknown or malformed one is just dropped.
    try:
        return Digest.from_hex(algorithm, value)
    except InvalidDigest:
        return None


# -- PEP 503 HTML ---------------------------------------------------------------------------


class _AnchorParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))
        elif tag == "base" and self.base is None:
            href = dict(attrs).get("href")
            if href:
                self.base = href


def parse_html_page(text: str, *, page_url: str) -> list[Link]:
    """Return the valid archive links of a PEP 503 page (pure; junk is tolerated)."""
    parser = _AnchorParser()
    try:
        parser.feed(text)
        parser.close()
    except (ValueError, AssertionError):
        # Python 3.9's HTMLParser can still raise on some junk; keep what was parsed.
        pass
    base = page_url
    if parser.base:
        try:
            base = urljoin(page_url, parser.base.strip())
        except ValueError:  # a <base> urlsplit cannot read: ignored, as browsers do
            base = page_url
    links = []
    for attrs in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        yanked = "data-yanked" in attrs
        link = make_link(
            href,
            base=base,
            source=page_url,
            requires_python=attrs.get("data-requires-python"),
            yanked=yanked,
            yanked_reason=attrs.get("data-yanked") or None,
        )
        if link is not None:
            links.append(link)
    return links


# -- PEP 691 JSON ---------------------------------------------------------------------------


def parse_json_page(data: bytes | str, *, page_url: str) -> list[Link]:
    """Return the valid archive links of a PEP 691 project page; DownloadError if malformed."""
    where = redact_url(page_url)
    try:
        page = json.loads(data)
    except (ValueError, RecursionError):
        raise DownloadError(f"{where}: the index page is not valid JSON") from None
    if not isinstance(page, dict):
        raise DownloadError(f"{where}: the index page is not a PEP 691 JSON object")
    meta = page.get("meta")
    version = meta.get("api-version") if isinstance(meta, dict) else None
    if not isinstance(version, str) or version.split(".")[0] != "1":
        raise DownloadError(
            f"{where}: unsupported simple API version {version!r}; expected 1.x (PEP 691)"
        )
    files = page.get("files")
    if not isinstance(files, list):
        raise DownloadError(f"{where}: the index page has no 'files' list")
    links = []
    for entry in files:
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            continue
        link = _json_link(entry, page_url)
        if link is not None:
            links.append(link)
    return links


def _json_link(entry: Mapping[str, object], page_url: str) -> Link | None:
    raw_hashes = entry.get("hashes")
    hashes = []
    if isinstance(raw_hashes, dict):
        for algorithm, value in raw_hashes.items():
            if isinstance(algorithm, str) and isinstance(value, str):
                digest = _digest(algorithm, value)
                if digest is not None:
                    hashes.append(digest)
    requires_python = entry.get("requires-python")
    yanked = entry.get("yanked", False)
    return make_link(
        str(entry["url"]),
        base=page_url,
        source=page_url,
        hashes=hashes,
        requires_python=requires_python if isinstance(requires_python, str) else None,
        yanked=bool(yanked) if isinstance(yanked, (bool, str)) else False,
        yanked_reason=yanked if isinstance(yanked, str) and yanked else None,
    )


# -- fetching pages and folders -------------------------------------------------------------


def list_folder(folder: str, *, source: str | None = None) -> list[Link]:
    """Return links to the archive files directly inside ``folder``; DownloadError if unreadable.

    ``source`` is what the links say they came from (default: ``folder``).
    """
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        raise DownloadError(f"cannot list the folder {folder}: {exc.strerror}") from None
    links = []
    root = Path(folder).resolve()
    for name in names:
        if safe_filename(name) is None or not (root / name).is_file():
            continue
        links.append(Link(url=(root / name).as_uri(), filename=name, source=source or folder))
    return links


#: what a project folder of a local index may hold, tried in this order; bandersnatch
#: writes ``index.v1_json`` and ``index.v1_html`` beside ``index.html``
_TREE_PAGES = (
    ("index.v1_json", True),
    ("index.json", True),
    ("index.v1_html", False),
    ("index.html", False),
)


def read_tree_project(index_url: str, project: NormalizedName) -> list[Link]:
    """Return ``project``'s links in a local PEP 503 tree, read as pip reads one.

    The project folder holds a PEP 691 JSON file, an ``index.html``, or just the
    archives. A missing project folder means no files here, as a 404 does. Raises
    DownloadError when the tree itself is missing or a file cannot be read.
    """
    root = os.path.normpath(_file_url_path(index_url, what="index"))
    if not os.path.isdir(root):
        raise DownloadError(f"the index folder {root} does not exist")
    folder = _project_folder(root, project)
    if folder is None:
        return []
    page_url = Path(folder).resolve().as_uri() + "/"
    for name, is_json in _TREE_PAGES:
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            continue
        body = _read_local(path)
        if is_json:
            return parse_json_page(body, page_url=page_url)
        return parse_html_page(body.decode("utf-8", errors="replace"), page_url=page_url)
    return [
        link
        for link in list_folder(folder, source=page_url)
        if _project_of(link.filename) == project
    ]


def _project_folder(root: str, project: NormalizedName) -> str | None:
    """The folder of ``project`` in ``root``: its normalized name, else one spelled otherwise."""
    exact = os.path.join(root, project)
    if os.path.isdir(exact):
        return exact
    try:
        names = sorted(os.listdir(root))
    except OSError as exc:
        raise DownloadError(f"cannot list the index folder {root}: {exc.strerror}") from None
    for name in names:
        if canonicalize_name(name) == project and os.path.isdir(os.path.join(root, name)):
            return os.path.join(root, name)
    return None


def _read_local(path: str) -> bytes:
    try:
        with open_regular(path) as stream:
            body = stream.read(MAX_PAGE_SIZE + 1)
    except OSError as exc:
        raise DownloadError(f"cannot read the index page {path}: {exc.strerror}") from None
    if len(body) > MAX_PAGE_SIZE:
        raise DownloadError(_too_big(Path(path).as_uri()))
    return body


def _project_of(filename: str) -> NormalizedName | None:
    parsed = parse_filename(filename)
    return parsed.name if parsed else None


@frozen
class Found:
    """What the indexes and find-links locations offer for one project."""

    links: tuple[Link, ...]
    #: (source, why) for each index or find-links location that could not be read; the
    #: others were still read. ``source`` is redacted; ``why`` names the URL or path.
    failures: tuple[tuple[str, str], ...] = ()

    @property
    def errors(self) -> str:
        """The failures, for a message."""
        return "; ".join(why for _, why in self.failures)


class IndexClient:
    """Looks projects up on simple indexes and find-links locations; thread-safe."""

    def __init__(
        self, index_urls: Sequence[str], find_links: Sequence[str], http: HttpClient
    ) -> None:
        self.index_urls = tuple(index_urls)
        self.find_links_locations = tuple(find_links)
        self.http = http
        self._lock = threading.Lock()
        # A find-links page lists every project; fetch it once, not once per project.
        self._location_cache: dict[str, list[Link] | DownloadError] = {}
        self._warned: set[str] = set()

    @property
    def where(self) -> str:
        """The indexes and find-links locations, for messages, passwords hidden."""
        names = [redact_url(u) for u in (*self.index_urls, *self.find_links_locations)]
        return ", ".join(names) or "no index (--no-index and no --find-links)"

    def lookup(self, project: NormalizedName) -> Found:
        """Return every archive link offered for ``project``, indexes first, in order.

        As in pip, a 404 (or a project folder missing from a ``file://`` tree) means the
        index has no files for the project, and a source that cannot be read or parsed
        is left out: its error is in ``failures``. The hashes decide what is installed,
        so a file found on another source is as good as one found on this one.
        """
        links: list[Link] = []
        failures: list[tuple[str, str]] = []
        for index_url in self.index_urls:
            try:
                links.extend(self._project_page(index_url, project))
            except DownloadError as exc:
                failures.append(self._failure(index_url, exc))
        for location in self.find_links_locations:
            try:
                offered = self._location(location)
            except DownloadError as exc:
                failures.append(self._failure(location, exc))
                continue
            links.extend(link for link in offered if _project_of(link.filename) == project)
        return Found(tuple(links), tuple(failures))

    def find_links(self, project: NormalizedName) -> list[Link]:
        """Return ``lookup(project).links``, warning once per source that failed.

        Raises DownloadError when a source failed and no other offered anything.
        """
        found = self.lookup(project)
        if found.failures and not found.links:
            raise DownloadError(found.errors)
        self.warn_skipped(found)
        return list(found.links)

    def warn_skipped(self, found: Found) -> None:
        """Warn of each source in ``found.failures`` that was left out, once per run."""
        for source, why in found.failures:
            with self._lock:
                if source in self._warned:
                    continue
                self._warned.add(source)
            logger.warning(
                "Warning: skipped %s, which could not be read (%s); "
                "the requirements found elsewhere are still checked against their hashes",
                source,
                why,
            )

    def _failure(self, source: str, exc: DownloadError) -> tuple[str, str]:
        where = redact_url(source)
        message = str(exc)
        return where, message if where in message else f"{where}: {message}"

    def _project_page(self, index_url: str, project: NormalizedName) -> list[Link]:
        base = index_url if index_url.endswith("/") else index_url + "/"
        if urlsplit(base).scheme.lower() == "file":
            return read_tree_project(base, project)
        page_url = urljoin(base, quote(project) + "/")
        with self.http.open(page_url, accept=ACCEPT, tolerate=(404, 410)) as response:
            if response.status in (404, 410):
                response.discard()  # a small body read to its end keeps the connection
                return []
            return _parse_response(response, page_url=response.url)

    def _location(self, location: str) -> list[Link]:
        with self._lock:
            cached = self._location_cache.get(location)
        if cached is None:
            # A failure is remembered too: one error (and one wait for retries) per run.
            try:
                cached = self._read_location(location)
            except DownloadError as exc:
                cached = exc
            with self._lock:
                self._location_cache[location] = cached
        if isinstance(cached, DownloadError):
            raise cached
        return cached

    def _read_location(self, location: str) -> list[Link]:
        scheme = urlsplit(location).scheme.lower()
        if scheme in ("http", "https"):
            with self.http.open(location, accept="text/html") as response:
                return _parse_response(response, page_url=response.url, assume_html=True)
        if scheme == "file":
            path = _file_url_path(location)
        elif len(scheme) <= 1:  # a plain path, or a Windows drive letter
            path = os.path.abspath(location)
        else:
            raise DownloadError(f"unsupported find-links location {redact_url(location)}")
        if os.path.isdir(path):
            return list_folder(path)
        if not os.path.exists(path):
            raise DownloadError(f"find-links location {path} does not exist")
        page_url = Path(path).resolve().as_uri()
        with self.http.open(page_url) as response:
            return _parse_response(response, page_url=page_url, assume_html=True)


def _file_url_path(url: str, *, what: str = "find-links") -> str:
    try:
        return file_url_path(url)
    except ValueError:
        raise DownloadError(f"{what} file URL {url} must name a local path") from None


def _parse_response(response: Response, *, page_url: str, assume_html: bool = False) -> list[Link]:
    body = _read_capped(response)
    content_type = response.headers.get_content_type().lower()
    if content_type == JSON_TYPE:
        return parse_json_page(body, page_url=page_url)
    if content_type not in _HTML_TYPES and not assume_html:
        raise DownloadError(
            f"{redact_url(page_url)}: unexpected Content-Type {content_type!r} "
            "for a simple index page"
        )
    charset = response.headers.get_content_charset() or "utf-8"
    try:
        text = body.decode(charset, errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    return parse_html_page(text, page_url=page_url)


def _read_capped(response: Response) -> bytes:
    if response.length is not None and response.length > MAX_PAGE_SIZE:
        raise DownloadError(_too_big(response.url))
    chunks = []
    size = 0
    while block := response.read(256 * 1024):
        size += len(block)
        if size > MAX_PAGE_SIZE:
            raise DownloadError(_too_big(response.url))
        chunks.append(block)
    return b"".join(chunks)


def _too_big(url: str) -> str:
    return f"{redact_url(url)}: the index page is larger than {MAX_PAGE_SIZE // 2**20} MB"
