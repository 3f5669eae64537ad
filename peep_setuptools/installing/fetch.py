"""Fetch and verify requirements: from the verified cache or the index, many at a time.

The middle of the pipeline in ``api``: each requirement becomes a ``Verdict`` on a local
archive or a ``Problem`` saying why there is none.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, TypeVar, Union
from urllib.parse import unquote, urlsplit

from packaging.version import Version

from peep_setuptools.archives import Link, is_wheel
from peep_setuptools.errors import DownloadError, IndexLookupError
from peep_setuptools.frozen import frozen
from peep_setuptools.index.choose import Choice, choose_archive
from peep_setuptools.installing.cache import ArchiveCache, CachedArchive
from peep_setuptools.installing.progress import NoProgress, Progress
from peep_setuptools.installing.verdicts import Problem, Verdict, algorithms_for, verify
from peep_setuptools.requirements.lines import IndexOptions
from peep_setuptools.requirements.spec import ReqLine
from peep_setuptools.target import Target
from peep_setuptools.urls import redact_url

# The HTTP code (index.http, .pages, .download, with http.client, ssl and an HTML parser) is
# imported when something is not in the cache: ~10 ms a warm run would pay for nothing. So is
# ``findings`` (what an index lookup or a download found wrong, in words), and ``placing``.
if TYPE_CHECKING:
    from concurrent.futures import Future

    from peep_setuptools.index.http import HttpClient
    from peep_setuptools.index.pages import IndexClient

logger = logging.getLogger(__name__)

#: seconds an interrupted run waits for its download threads to clean up
_ABORT_GRACE = 5.0

_T = TypeVar("_T")
_R = TypeVar("_R")


class IndexConnection:
    """A run's index client, opened on first use; every copy of its Session shares it."""

    def __init__(self, open_client: Callable[[], IndexClient]) -> None:
        self._open = open_client
        self._lock = threading.Lock()
        self._client: IndexClient | None = None
        self._aborted = False

    def get(self) -> IndexClient:
        """The client, opened now if this is its first use."""
        with self._lock:
            if self._client is None:
                self._client = self._open()
                if self._aborted:  # opened by a worker after Ctrl-C: it fetches nothing
                    self._client.http.abort()
            return self._client

    def abort(self) -> None:
        """``abort()`` the HTTP client: now if it is open, else as soon as it opens."""
        with self._lock:
            self._aborted = True
            client = self._client
        if client is not None:
            client.http.abort()

    def close(self) -> None:
        """Close the HTTP client's idle connections, if it was ever opened."""
        with self._lock:
            client = self._client
        if client is not None:
            client.http.close()


@frozen
class Session:
    """Per-run state shared by the fetch workers."""

    target: Target
    options: IndexOptions
    #: the index client, opened only if something has to be looked up or downloaded
    index: IndexConnection
    workdir: str
    cache: ArchiveCache | None = None
    progress: Progress = field(default_factory=NoProgress)
    #: hand out cached wheels at their cache path (for uv's own cache) instead of a copy;
    #: only for a run whose sole reader of them is ``uv pip install``, which hashes them
    #: again: a file out of the private workdir may be another by the time it is read
    cache_in_place: bool = False
    #: hand out cached wheels under a private second name (a hard link) instead of a copy;
    #: only for a run whose sole reader of them is ``pip install --require-hashes``
    cache_linked: bool = False

    @property
    def client(self) -> IndexClient:
        """The run's index client (opened on first use)."""
        return self.index.get()

    @property
    def http(self) -> HttpClient:
        """The run's HTTP client (opened on first use)."""
        return self.index.get().http


Outcome = Union[Verdict, Problem]


# -- fetching ---------------------------------------------------------------------------------


def fetch_all(session: Session, requirements: Sequence[ReqLine], jobs: int) -> list[Outcome]:
    """Fetch and verify each requirement, ``jobs`` at a time; outcomes in the same order."""
    numbered = list(enumerate(requirements))
    if jobs <= 1 or len(numbered) == 1:
        return [fetch_one(session, i, req) for i, req in numbered]
    # A small cached archive is taken in this thread while the workers fetch the rest: it
    # costs less than handing it to a thread, and workers passing the GIL back and forth at
    # each system call made this stage of a warm run of 40 tiny wheels 12-17 ms, not 4.
    entries = {i: _cached_entry(session, req) for i, req in numbered}
    here = {i for i, entry in entries.items() if _taken_here(entry)}
    small = [(i, req) for i, req in numbered if i in here]
    rest = [(i, req) for i, req in numbered if i not in here]
    outcomes: dict[int, Outcome] = {}

    def take_small() -> None:
        for number, req in small:
            outcomes[number] = _fetch(session, number, req, entries[number])

    threaded = _in_threads(
        lambda item: _fetch(session, *item, entries[item[0]]),
        rest,
        jobs,
        session.index.abort,
        meanwhile=take_small,
    )
    outcomes.update((number, outcome) for (number, _), outcome in zip(rest, threaded))
    return [outcomes[number] for number, _ in numbered]


def _in_threads(
    work: Callable[[_T], _R],
    items: Sequence[_T],
    jobs: int,
    abort: Callable[[], None],
    *,
    meanwhile: Callable[[], None] = lambda: None,
) -> list[_R]:
    """``work(item)`` for each item in ``jobs`` threads; the results in the items' order.

    ``meanwhile`` runs in this thread while they work (an error or Ctrl-C in it aborts them).

    On Ctrl-C (or an error) ``abort`` breaks the calls in flight, queued items are dropped,
    and the threads get a moment to delete their .part files; then the exception goes on.
    Daemon threads, not a ThreadPoolExecutor: its threads are joined at interpreter exit
    without a time limit, so one stuck in a read would keep an interrupted run alive.
    """
    futures: list[Future[_R]] = []
    if items:  # a warm run's small cached archives leave none: no futures module to load
        from concurrent.futures import Future

        futures = [Future() for _ in items]
    queue = collections.deque(zip(items, futures))

    def worker() -> None:
        while True:
            try:
                item, future = queue.popleft()  # atomic: each item goes to one thread
            except IndexError:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(work(item))
            except BaseException as exc:  # handed to the main thread, as an executor does
                future.set_exception(exc)

    try:
        # Started inside the try: a signal between two starts must abort the first ones.
        for n in range(min(jobs, len(items))):
            threading.Thread(target=worker, name=f"peep-fetch_{n}", daemon=True).start()
        meanwhile()
        return [future.result() for future in futures]
    except BaseException:
        abort()
        for future in futures:
            future.cancel()
        if futures:
            from concurrent.futures import wait

            wait(futures, timeout=_ABORT_GRACE)
        raise


def fetch_one(session: Session, number: int, req: ReqLine) -> Outcome:
    """The verdict on one requirement's archive, fetched into folder ``number``, or a Problem."""
    return _fetch(session, number, req, _cached_entry(session, req))


def _fetch(session: Session, number: int, req: ReqLine, entry: CachedArchive | None) -> Outcome:
    """``fetch_one``, given the cache's entry for ``req`` (None: not cached)."""
    try:
        cached = _from_cache(session, number, req, entry) if entry is not None else None
        if cached is not None:
            return cached
        from peep_setuptools.index.download import fetch  # see the imports above
        from peep_setuptools.installing import findings

        link, choice = _find(session, req)
        if link.yanked:
            reason = f": {link.yanked_reason}" if link.yanked_reason else ""
            logger.warning("%s (%s) is yanked on the index%s", link.filename, req.location, reason)
        into = os.path.join(session.workdir, f"{number:04d}")
        fetched = fetch(link, into, session.http, algorithms=algorithms_for(req))
        # -v: the progress line names the source (a log line too printed each file twice)
        session.progress.advance(fetched.filename, fetched.size, redact_url(link.url), cached=False)
        verdict = verify(
            req, fetched.digests, url=redact_url(link.url), path=fetched.path, size=fetched.size
        )
        if verdict.kind == "mismatch" and choice is not None:
            elsewhere = findings.pinned_elsewhere(req, choice, fetched.digests, session.target)
            if elsewhere is not None:
                return Problem(req, elsewhere)
        if verdict.kind == "ok" and session.cache is not None:
            stored = session.cache.store(
                fetched.path,
                fetched.digests["sha256"],
                requires_python=link.requires_python,
                # No second copy of the bytes where the installer hashes them again: uv is
                # handed the cache's file, pip the private name of that same file.
                link=session.cache_in_place or _linked(session, fetched.filename),
            )
            if stored is not None and _in_place(session, fetched.filename):
                # uv then meets the file at the path it will have on every later run too.
                verdict = dataclasses.replace(verdict, path=stored)
                # The workdir's name for it is not used again: removed now, beside the other
                # downloads, not one after another when the run ends (~1 ms each at 400).
                _remove_download(fetched.path)
        return verdict
    except IndexLookupError as exc:
        return Problem(req, str(exc))
    except DownloadError as exc:
        # The URL alone may not say which project it was for (a redirect, a CDN).
        pinned = f"=={req.version}" if req.version else ""
        return Problem(req, f"{req.display_name}{pinned}: {exc}")


def _in_place(session: Session, filename: str) -> bool:
    """Whether this archive is handed out at its cache path: a wheel only.

    ``uv build`` checks no hash: an sdist is built from the private copy that was hashed.
    """
    return session.cache_in_place and is_wheel(filename)


def _linked(session: Session, filename: str) -> bool:
    """Whether this archive is handed out under a second name of the file hashed: a wheel only.

    ``pip wheel`` of an sdist is read from a private copy, as ``uv build``'s is.
    """
    return session.cache_linked and is_wheel(filename)


def _remove_download(path: str) -> None:
    with contextlib.suppress(OSError):  # the workdir goes at the end of the run in any case
        os.remove(path)
        os.rmdir(os.path.dirname(path))


def _find(session: Session, req: ReqLine) -> tuple[Link, Choice | None]:
    from peep_setuptools.installing import findings  # see the imports above
    from peep_setuptools.placing import place_hashes, unplaced_message

    if req.url is not None:
        return Link(req.url, _url_filename(req.url), (), None, False, None, req.url), None
    found = session.client.lookup(req.name)
    choice = _choose(session, req, found.links)
    if choice.link is None:
        if choice.unfit:
            raise IndexLookupError(
                findings.no_fit(req, choice, session.client.where, session.target)
            )
        raise IndexLookupError(findings.not_found(req, found, session.client.where))
    session.client.warn_skipped(found)
    placement = place_hashes(req.digests, choice.files)
    if placement.certain and placement.unplaced:
        where = session.client.where
        message = unplaced_message(
            str(req.location), findings.pinned(req), where, placement.unplaced, choice.files
        )
        logger.warning("Warning: %s", message)
    logger.debug("%s", findings.chosen(req, choice))
    return choice.link, choice


# -- the verified cache ---------------------------------------------------------------------


def _cached_entry(session: Session, req: ReqLine) -> CachedArchive | None:
    """The cache's entry with an allowed hash that fits the target, or None."""
    cache = session.cache
    if cache is None or not req.digests:
        return None
    return _fitting(session, req, cache.lookup(req.digests))


#: a cached archive up to this size is taken (hashed, copied) by fetch_all's own thread
_TAKEN_HERE = 1024 * 1024


def _taken_here(entry: CachedArchive | None) -> bool:
    if entry is None:
        return False
    try:
        return os.stat(entry.path).st_size <= _TAKEN_HERE
    except OSError:  # gone already: the worker that takes it finds that out
        return False


def _from_cache(
    session: Session, number: int, req: ReqLine, entry: CachedArchive
) -> Verdict | None:
    """The verdict on the cached archive ``entry`` (re-hashed on the way out), or None."""
    assert session.cache is not None  # noqa: S101 -- an entry comes from the cache
    into = os.path.join(session.workdir, f"{number:04d}")
    copied = session.cache.take(
        entry,
        into,
        algorithms=algorithms_for(req),
        in_place=_in_place(session, entry.filename),
        link=_linked(session, entry.filename),
    )
    if copied is None:  # unreadable or tampered with: dropped; fetch it again
        return None
    session.progress.advance(copied.filename, copied.size, copied.source, cached=True)
    return verify(
        req,
        copied.digests,
        url=copied.source,
        path=copied.path,
        from_cache=True,
        size=copied.size,
    )


def _fitting(
    session: Session, req: ReqLine, entries: Sequence[CachedArchive]
) -> CachedArchive | None:
    if not entries:
        return None
    if req.url is not None:
        wanted = _url_filename(req.url)
        return next((e for e in entries if e.filename == wanted), None)
    if req.version is None:
        return None
    # The same choice as for index links: tags, Requires-Python, --only-binary.
    by_name = {e.filename: e for e in entries}
    links = [Link(e.path, e.filename, (), e.requires_python) for e in entries]
    link = _choose(session, req, links).link
    return by_name[link.filename] if link is not None else None


def _choose(session: Session, req: ReqLine, links: Sequence[Link]) -> Choice:
    """The archive pip would pick for ``req`` among ``links``: tags, Requires-Python, hashes."""
    assert req.version is not None  # noqa: S101 -- the parser only lets pinned names through
    only = session.options.only_binary
    return choose_archive(
        links,
        name=req.name,
        version=Version(req.version),
        tags=session.target.tags,
        python_version=session.target.python_version,
        allowed=req.digests,
        only_binary=":all:" in only or req.name in only,
    )


def _url_filename(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


# -- after the checks ------------------------------------------------------------------------


def quarantine_mismatched(verdicts: Sequence[Verdict], folder: str) -> None:
    """Move the archives that failed their hash check into ``folder`` (--keep-mismatched)."""
    from peep_setuptools.index.download import quarantine  # see the imports above

    for verdict in verdicts:
        if verdict.kind != "mismatch":
            continue
        try:
            moved = quarantine(verdict.local_path, folder, verdict.actual["sha256"])
        except DownloadError as exc:
            logger.warning("%s", exc)
        else:
            logger.warning("Kept the mismatching archive as %s", moved)


def summary(
    verdicts: Sequence[Verdict], problems: Sequence[Problem], missing_dependencies: int = 0
) -> str:
    """The one-line message of a VerificationFailed: what failed, and that nothing installed."""
    parts = []
    counts = {kind: sum(1 for v in verdicts if v.kind == kind) for kind in ("mismatch", "missing")}
    if counts["mismatch"]:
        parts.append(f"{counts['mismatch']} did not match their hashes")
    if counts["missing"]:
        parts.append(f"{counts['missing']} had no hashes")
    if problems:
        parts.append(f"{len(problems)} could not be found or downloaded")
    if missing_dependencies:
        one = missing_dependencies == 1
        dependencies = (
            f"{missing_dependencies} dependenc{'y is' if one else 'ies are'} missing "
            "from the requirements files"
        )
        if not parts:
            return f"{dependencies}; nothing was installed (--allow-incomplete installs anyway)"
        parts.append(dependencies)
    return "verification failed (" + "; ".join(parts) + "); nothing was installed"
